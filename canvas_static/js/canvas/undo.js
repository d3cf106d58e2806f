// Undo/redo on the canvas: history.js keeps snapshots of the serialised graph (commit()
// in autosave.js pushes one per finished edit); undo and redo restore one into the live
// graph, sync Vue Flow to it and save it like any other edit.
(function () {
  "use strict";
  const S = window.Stagecraft;

  // useUndo(ctx) -> {undo, redo, refreshHistoryFlags}
  function useUndo(ctx) {
    const { state, graph, history, readOnly } = ctx;
    const { normNode, normEdge } = S.canvas.graph;
    const refreshHistoryFlags = () => { state.canUndo = history.canUndo; state.canRedo = history.canRedo; };

    function restore(snap) {
      const data = JSON.parse(snap);
      graph.nodes = data.nodes.map(normNode);
      graph.edges = data.edges.map(normEdge);
      if (state.panelId && !ctx.nodeById(state.panelId)) state.panelId = null;
      ctx.syncFlow();
      ctx.touch();
      refreshHistoryFlags();
    }
    // Commit first, so an edit still in progress (e.g. typing in the panel) is a step of its own.
    function undo() { if (readOnly.value) return; ctx.commit(); const s = history.undo(); if (s) restore(s); }
    function redo() { if (readOnly.value) return; const s = history.redo(); if (s) restore(s); }

    return { undo, redo, refreshHistoryFlags };
  }

  S.canvas = Object.assign(S.canvas || {}, { useUndo });
})();
