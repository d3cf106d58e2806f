// Copy/paste of selected nodes and the edges between them, through localStorage so
// a selection copied in one campaign pastes into another (same browser).
(function () {
  "use strict";
  const KEY = "stagecraft.clipboard.v1";
  const clone = (v) => JSON.parse(JSON.stringify(v));

  // copy(graph, nodeIds) -> number of nodes copied
  function copy(graph, nodeIds) {
    const ids = new Set(nodeIds);
    const nodes = graph.nodes.filter((n) => ids.has(n.id)).map(clone);
    if (!nodes.length) return 0;
    const edges = graph.edges.filter((e) => ids.has(e.source) && ids.has(e.target)).map(clone);
    localStorage.setItem(KEY, JSON.stringify({ nodes, edges, pastes: 0 }));
    return nodes.length;
  }

  // paste(newId, offset) -> {nodes, edges} with fresh node/step/edge ids, shifted by
  // offset × (pastes so far + 1) so repeated pastes don't stack; null if empty.
  function paste(newId, offset) {
    let data;
    try { data = JSON.parse(localStorage.getItem(KEY) || "null"); } catch (_e) { data = null; }
    if (!data || !Array.isArray(data.nodes) || !data.nodes.length) return null;
    data.pastes = (data.pastes || 0) + 1;
    localStorage.setItem(KEY, JSON.stringify(data));
    const shift = (offset || 40) * data.pastes;
    const map = new Map();
    const nodes = data.nodes.map((n) => {
      const copy = clone(n);
      copy.id = newId(n.kind);
      map.set(n.id, copy.id);
      copy.position = { x: (n.position?.x || 0) + shift, y: (n.position?.y || 0) + shift };
      if (Array.isArray(copy.steps)) copy.steps = copy.steps.map((s) => ({ ...s, id: newId("step") }));
      return copy;
    });
    const edges = (data.edges || []).map((e) => {
      const source = map.get(e.source), target = map.get(e.target);
      const edge = { id: `e_${source}_${target}`, source, target };
      if (e.branch) edge.branch = e.branch;  // a decision's path, copied with the decision
      return edge;
    });
    return { nodes, edges };
  }

  const has = () => { try { return !!JSON.parse(localStorage.getItem(KEY) || "null")?.nodes?.length; } catch (_e) { return false; } };

  window.Stagecraft = Object.assign(window.Stagecraft || {}, { clipboard: { copy, paste, has, KEY } });
})();
