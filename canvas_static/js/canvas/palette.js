// The palette: Sequence, Decision, Split and Note, then the goal types grouped, searchable
// by whole words ("tag" finds "Tag applied", not "Stage"). An item is added by dragging it
// onto the canvas (dropped where released, snapped to the grid), or from the keyboard
// (Enter or Space) or by double-click: then it goes to the nearest free spot near the centre
// of the view, and keyboard users land in its panel.
(function () {
  "use strict";
  const S = window.Stagecraft;
  const Vue = window.Vue;

  // Does every word of the query start a word of the text? ("tag" → "Tag applied", not "Stage").
  function matches(text, query) {
    const words = String(text || "").toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
    const wanted = String(query || "").toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
    return wanted.every((q) => words.some((w) => w.startsWith(q)));
  }

  // Catalog items (goal or step types) matching `query`, grouped: [{name, items}].
  function groupItems(items, query) {
    const groups = new Map();
    for (const it of items) {
      if (query && query.trim() && !matches(`${it.label} ${it.help} ${it.group}`, query)) continue;
      if (!groups.has(it.group)) groups.set(it.group, []);
      groups.get(it.group).push(it);
    }
    return Array.from(groups, ([name, list]) => ({ name, items: list }));
  }

  const BASICS = {
    sequence: "Sequence steps email emails task tasks delay",
    decision: "Decision diamond branch if rules condition path paths",
    split: "Split A/B test random weight percent path paths",
    note: "Note comment sticky",
  };

  // usePalette(ctx) -> {goalGroups, showBasics, paletteDragStart, addNode, addAtCenter, paletteKey}
  function usePalette(ctx) {
    const { state, graph, canvasApi, readOnly, goalTypes } = ctx;
    const goalGroups = Vue.computed(() => groupItems(state.catalog.goals, state.search));
    const showBasics = Vue.computed(() => {
      const q = state.search.trim();
      return Object.fromEntries(Object.entries(BASICS).map(([k, words]) => [k, !q || matches(words, q)]));
    });
    function paletteDragStart(ev, item) {
      ev.dataTransfer.setData("application/x-stagecraft", JSON.stringify(item));
      ev.dataTransfer.effectAllowed = "copy";
    }

    function newNode(item, position) {
      if (item.kind === "goal") {
        const spec = goalTypes.value[item.type];
        if (!spec) return null;
        return { id: ctx.newId("goal"), kind: "goal", type: item.type, name: "", config: S.forms.defaults(spec.fields), position };
      }
      if (item.kind === "sequence") return { id: ctx.newId("sequence"), kind: "sequence", name: "", steps: [], position };
      if (item.kind === "decision") {
        const id = ctx.newId("decision");
        return { id, kind: "decision", name: "", mode: "first", otherwise: true, position,
                 branches: [{ id: ctx.newId("path"), label: "Path 1", rules: { all: [{ field: "tags", op: "has", value: "" }] } }] };
      }
      if (item.kind === "split") {
        const a = ctx.newId("path");
        let b = ctx.newId("path");
        while (b === a) b = ctx.newId("path");
        return { id: ctx.newId("split"), kind: "split", name: "", position,
                 branches: [{ id: a, label: "A", weight: 50 }, { id: b, label: "B", weight: 50 }] };
      }
      if (item.kind === "note") return { id: ctx.newId("note"), kind: "note", text: "", position };
      return null;
    }

    // Add a palette item at flow position `pos`; select it and open its panel (or, for a
    // note, its text editor). `opts.focusPanel` moves the keyboard into the panel. Returns the id.
    function addNode(item, pos, opts) {
      if (readOnly.value) return null;
      const position = { x: canvasApi.snap(pos.x), y: canvasApi.snap(pos.y) };
      const node = newNode(item, position);
      if (!node) return null;
      graph.nodes.push(node);
      ctx.syncFlow();
      ctx.commit();
      Vue.nextTick(() => {
        canvasApi.select([node.id]);
        state.panelId = node.kind === "note" ? null : node.id;
        state.panelTab = "paths";
        if (node.kind === "note") state.editingId = node.id;
        else if (opts && opts.focusPanel) ctx.focusPanel();
      });
      return node.id;
    }
    // Near the centre of the view, in the nearest free spot.
    function addAtCenter(item, opts) {
      const r = document.querySelector(".cv-stage").getBoundingClientRect();
      const p = canvasApi.project(r.left + r.width / 2 - 120, r.top + r.height / 2 - 50);
      const spot = S.canvas.place.freeSpot({ x: canvasApi.snap(p.x), y: canvasApi.snap(p.y) }, canvasApi.boxes());
      return addNode(item, spot, opts);
    }
    // Enter or Space on a palette item adds it and moves the keyboard into its panel.
    function paletteKey(ev, item) {
      if (ev.key !== "Enter" && ev.key !== " ") return;
      ev.preventDefault();
      addAtCenter(item, { focusPanel: true });
    }

    return { goalGroups, showBasics, paletteDragStart, addNode, addAtCenter, paletteKey };
  }

  S.canvas = Object.assign(S.canvas || {}, { usePalette, groupItems, paletteMatches: matches });
})();
