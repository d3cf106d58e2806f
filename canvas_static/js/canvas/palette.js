// The palette: goal types grouped and searchable, plus Sequence and Note. An item is added
// by dragging it onto the canvas (dropped where released, snapped to the grid), or from
// the keyboard (Enter) or by double-click (added near the centre of the view).
(function () {
  "use strict";
  const S = window.Stagecraft;
  const Vue = window.Vue;

  // Catalog items (goal or step types) matching `query`, grouped: [{name, items}].
  function groupItems(items, query) {
    const q = (query || "").trim().toLowerCase();
    const groups = new Map();
    for (const it of items) {
      if (q && !`${it.label} ${it.help} ${it.group}`.toLowerCase().includes(q)) continue;
      if (!groups.has(it.group)) groups.set(it.group, []);
      groups.get(it.group).push(it);
    }
    return Array.from(groups, ([name, list]) => ({ name, items: list }));
  }

  // usePalette(ctx) -> {goalGroups, showBasics, paletteDragStart, addNode, addAtCenter}
  function usePalette(ctx) {
    const { state, graph, canvasApi, readOnly, goalTypes } = ctx;
    const goalGroups = Vue.computed(() => groupItems(state.catalog.goals, state.search));
    const showBasics = Vue.computed(() => {
      const q = state.search.trim().toLowerCase();
      return { sequence: !q || "sequence steps email task delay".includes(q), note: !q || "note comment".includes(q) };
    });
    function paletteDragStart(ev, item) {
      ev.dataTransfer.setData("application/x-stagecraft", JSON.stringify(item));
      ev.dataTransfer.effectAllowed = "copy";
    }

    // Add a palette item at flow position `pos`; select it and open its panel (or, for a
    // note, its text editor). Returns the new node's id.
    function addNode(item, pos) {
      if (readOnly.value) return null;
      const position = { x: canvasApi.snap(pos.x), y: canvasApi.snap(pos.y) };
      let node;
      if (item.kind === "goal") {
        const spec = goalTypes.value[item.type];
        if (!spec) return null;
        node = { id: ctx.newId("goal"), kind: "goal", type: item.type, name: spec.label, config: S.forms.defaults(spec.fields), position };
      } else if (item.kind === "sequence") {
        node = { id: ctx.newId("sequence"), kind: "sequence", name: "New sequence", steps: [], position };
      } else if (item.kind === "note") {
        node = { id: ctx.newId("note"), kind: "note", text: "", position };
      } else return null;
      graph.nodes.push(node);
      ctx.syncFlow();
      ctx.commit();
      Vue.nextTick(() => {
        canvasApi.select([node.id]);
        state.panelId = node.kind === "note" ? null : node.id;
        if (node.kind === "note") state.editingId = node.id;
      });
      return node.id;
    }
    function addAtCenter(item) {
      const r = document.querySelector(".cv-stage").getBoundingClientRect();
      const p = canvasApi.project(r.left + r.width / 2 - 110, r.top + r.height / 2 - 40);
      const jitter = (graph.nodes.length % 5) * 20;  // repeated adds don't stack exactly
      addNode(item, { x: p.x + jitter, y: p.y + jitter });
    }

    return { goalGroups, showBasics, paletteDragStart, addNode, addAtCenter };
  }

  S.canvas = Object.assign(S.canvas || {}, { usePalette, groupItems });
})();
