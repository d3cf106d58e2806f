// Edits on the canvas itself: connecting (refused with a reason when the rules say no),
// moving, deleting, renaming in place, copy/paste (clipboard.js), "Tidy up" (the server
// lays the graph out), and the keyboard shortcuts for them.
(function () {
  "use strict";
  const S = window.Stagecraft;
  const Vue = window.Vue;
  const isTyping = (t) => t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName));

  // useEdits(ctx) -> handlers for the canvas events, the toolbar and the keyboard.
  function useEdits(ctx) {
    const { state, graph, canvasApi, readOnly } = ctx;
    const G = S.canvas.graph;
    const plural = (n) => `${n} ${n === 1 ? "node" : "nodes"}`;

    // A connection from a decision's or split's path handle continues that path (`branch`).
    function connect({ source, target, sourceHandle }) {
      if (readOnly.value) return;
      const from = ctx.nodeById(source);
      const branch = G.isBranching(from) ? sourceHandle : null;
      const problem = G.connectionProblem(graph, source, target, branch);
      if (problem) { ctx.showToast(problem, "error"); return; }
      const edge = { id: G.edgeId(source, target), source, target };
      if (branch) edge.branch = branch;
      graph.edges.push(edge);
      ctx.syncFlow();
      ctx.commit();
    }
    // A path removed (or Otherwise turned off): its connection goes too.
    function removePathEdges(nodeId, branchId) {
      const before = graph.edges.length;
      graph.edges = graph.edges.filter((e) => !(e.source === nodeId && e.branch === branchId));
      if (graph.edges.length !== before) ctx.syncFlow();
    }
    function moved(list) {
      let changed = false;
      for (const { id, position } of list) {
        const n = ctx.nodeById(id);
        if (n && (n.position.x !== position.x || n.position.y !== position.y)) { n.position = { x: position.x, y: position.y }; changed = true; }
      }
      if (changed) ctx.commit();
    }
    function pullPositions() {  // after keyboard moves (arrow keys) inside Vue Flow
      const pos = canvasApi.positions();
      moved(Object.entries(pos).map(([id, position]) => ({ id, position })));
    }
    function deleteSelection() {
      if (readOnly.value) return;
      const nodeIds = new Set(canvasApi.selectedNodeIds());
      const edgeIds = new Set(canvasApi.selectedEdgeIds());
      if (!nodeIds.size && !edgeIds.size) return;
      graph.nodes = graph.nodes.filter((n) => !nodeIds.has(n.id));
      graph.edges = graph.edges.filter((e) => !edgeIds.has(e.id) && !nodeIds.has(e.source) && !nodeIds.has(e.target));
      if (nodeIds.has(state.panelId)) state.panelId = null;
      ctx.syncFlow();
      ctx.commit();
    }
    function finishRename(id, value) {
      if (state.editingId !== id) return;
      state.editingId = null;
      const n = ctx.nodeById(id);
      if (!n) return;
      if (n.kind === "note") n.text = value; else n.name = String(value).trim() || n.name;
      ctx.commit();
    }
    function copySelection() {
      const n = S.clipboard.copy(G.serialize(graph), canvasApi.selectedNodeIds());
      if (n) ctx.showToast(`Copied ${plural(n)}`);
    }
    function pasteClipboard() {
      if (readOnly.value) return;
      const pasted = S.clipboard.paste(ctx.newId, 40);
      if (!pasted) return;
      // Land the pasted group in free space, near where the copy would have gone.
      const shift = S.canvas.place.groupShift(pasted.nodes, canvasApi.boxes());
      for (const n of pasted.nodes) n.position = { x: canvasApi.snap(n.position.x + shift.x), y: canvasApi.snap(n.position.y + shift.y) };
      for (const n of pasted.nodes) graph.nodes.push(G.normNode(n));
      for (const e of pasted.edges) graph.edges.push(G.normEdge(e));
      ctx.syncFlow();
      ctx.commit();
      Vue.nextTick(() => canvasApi.select(pasted.nodes.map((n) => n.id)));
      ctx.showToast(`Pasted ${plural(pasted.nodes.length)}`);
    }
    async function tidyUp() {
      if (readOnly.value) return;
      try {
        const { graph: laid } = await S.api("POST", `/campaigns/${ctx.CID}/layout`, { graph: G.serialize(graph) });
        const pos = Object.fromEntries(laid.nodes.map((n) => [n.id, n.position]));
        for (const n of graph.nodes) if (pos[n.id]) n.position = { x: canvasApi.snap(pos[n.id].x), y: canvasApi.snap(pos[n.id].y) };
        ctx.syncFlow();
        ctx.commit();
        setTimeout(() => canvasApi.fitView(), 50);
      } catch (err) { ctx.showToast(`Tidy up failed: ${err.message}`, "error"); }
    }

    // ---- keyboard (document-wide; not while typing or while a dialog is open)
    function onKey(ev) {
      if (ev.key === "Escape") {
        state.menu = false;
        if (state.editingId) { state.editingId = null; return; }
        // Escape closes the side panel (not while a dialog or a menu has the keyboard) and gives focus back to the node.
        if (state.panelId && !document.querySelector("dialog[open]")) {
          const id = state.panelId;
          state.panelId = null;
          canvasApi.clearSelection();
          Vue.nextTick(() => document.querySelector(`.vue-flow__node[data-id="${CSS.escape(id)}"]`)?.focus());
          return;
        }
      }
      if (isTyping(ev.target) || document.querySelector("dialog[open]")) return;
      const mod = ev.ctrlKey || ev.metaKey;
      const k = ev.key.toLowerCase();
      if (mod && k === "z" && !ev.shiftKey) { ev.preventDefault(); ctx.undo(); }
      else if (mod && ((k === "z" && ev.shiftKey) || k === "y")) { ev.preventDefault(); ctx.redo(); }
      else if (mod && k === "c") { copySelection(); }
      else if (mod && k === "v") { ev.preventDefault(); pasteClipboard(); }
      else if (mod && k === "a") { ev.preventDefault(); canvasApi.selectAll(); }
      else if (!mod && (ev.key === "Delete" || ev.key === "Backspace")) { ev.preventDefault(); deleteSelection(); }
    }
    function onKeyUp(ev) { if (!isTyping(ev.target) && ev.key.startsWith("Arrow")) pullPositions(); }

    return { connect, removePathEdges, moved, deleteSelection, finishRename, copySelection, pasteClipboard, tidyUp, onKey, onKeyUp };
  }

  S.canvas = Object.assign(S.canvas || {}, { useEdits });
})();
