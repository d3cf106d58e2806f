// The one-line summaries of goals and steps ("Moved into Qualified · Sales") come from the
// server (POST /catalog/summaries), which owns the catalog and knows the names of stages,
// pipelines and users; so do a decision's paths' rules ("Tags has “vip”", keyed "node:path"). On load the canvas asks once for every goal and step; after an edit
// (debounced) it asks only for the items whose type or config changed since it last asked.
// A reply older than a newer request for the same item is ignored, and until a reply comes
// the last known text stays. A text of "" means the config is incomplete.
(function () {
  "use strict";
  const S = window.Stagecraft;
  const Vue = window.Vue;
  const DEBOUNCE = 150;
  const BATCH = 5000;  // the most items the endpoint takes in one request

  const signature = (item) => JSON.stringify([item.type, item.config]);

  // useSummaries(ctx) -> {summaries, loadSummaries, refreshSummaries}
  //   summaries: reactive {node or step id: text}; an id is missing until its first reply.
  function useSummaries(ctx) {
    const summaries = Vue.reactive({});
    const asked = new Map();   // key -> signature of the config last asked about
    const newest = new Map();  // key -> number of the newest request that includes it
    let requests = 0, timer = null;

    function items() {  // every goal and step of the graph, as the endpoint wants them
      const out = [];
      for (const n of ctx.graph.nodes) {
        if (n.kind === "goal") out.push({ key: n.id, type: n.type, config: n.config });
        else if (n.kind === "sequence") for (const s of n.steps) out.push({ key: s.id, type: s.type, config: s.config });
        else if (n.kind === "decision") for (const b of n.branches) out.push({ key: `${n.id}:${b.id}`, type: "rules", config: { rules: b.rules } });
      }
      return out;
    }
    async function send(list) {
      const n = ++requests;
      for (const item of list) { newest.set(item.key, n); asked.set(item.key, signature(item)); }
      let res;
      try {
        res = await S.api("POST", "/catalog/summaries", { items: list });
      } catch (_e) {
        // keep showing the last known texts; the next edit asks again
        for (const item of list) if (newest.get(item.key) === n) asked.delete(item.key);
        return;
      }
      for (const [key, text] of Object.entries(res.summaries || {})) if (newest.get(key) === n) summaries[key] = text;
    }
    // Ask about every item not asked about in its present form (all of them on load).
    function loadSummaries() {
      clearTimeout(timer);
      const changed = items().filter((item) => asked.get(item.key) !== signature(item));
      for (let i = 0; i < changed.length; i += BATCH) send(changed.slice(i, i + BATCH));
    }
    function refreshSummaries() {
      clearTimeout(timer);
      timer = setTimeout(loadSummaries, DEBOUNCE);
    }

    return { summaries, loadSummaries, refreshSummaries };
  }

  S.canvas = Object.assign(S.canvas || {}, { useSummaries });
})();
