// The canvas's graph model, pure and Vue-free: normalising nodes and edges as the API
// stores them, serialising with a stable key order (so history snapshots compare as
// strings), mapping to Vue Flow's node/edge shape, fresh ids, connection rules, and the
// paths of decisions and splits (an edge leaving one names its path in `branch`).
(function () {
  "use strict";
  const clone = (v) => JSON.parse(JSON.stringify(v));

  function normNode(n) {
    const base = { id: String(n.id), kind: n.kind, position: { x: Number(n.position?.x || 0), y: Number(n.position?.y || 0) } };
    if (n.ui) base.ui = clone(n.ui);
    if (n.kind === "goal") return { ...base, type: n.type, name: n.name || "", config: clone(n.config || {}) };
    if (n.kind === "decision") {
      return { ...base, name: n.name || "", mode: n.mode === "all" ? "all" : "first", otherwise: !!n.otherwise,
               branches: (n.branches || []).map((b) => ({ id: String(b.id), label: b.label || "", rules: clone(b.rules || { all: [] }) })) };
    }
    if (n.kind === "split") {
      return { ...base, name: n.name || "", branches: (n.branches || []).map((b) => ({ id: String(b.id), label: b.label || "",
                                                                                      weight: Number.isFinite(Number(b.weight)) ? Math.trunc(Number(b.weight)) : 0 })) };
    }
    if (n.kind === "sequence") {
      return { ...base, name: n.name || "", steps: (n.steps || []).map((s) => {
        const step = { id: String(s.id), type: s.type, config: clone(s.config || {}) };
        if (s.ui) step.ui = clone(s.ui);
        return step;
      }) };
    }
    return { ...base, text: n.text || "" };
  }
  const edgeId = (s, t) => `e_${s}_${t}`;
  function normEdge(e) {
    const out = { id: e.id || edgeId(e.source, e.target), source: String(e.source), target: String(e.target) };
    if (e.branch) out.branch = String(e.branch);
    if (e.ui) out.ui = clone(e.ui);
    return out;
  }

  // The JSON the API stores (stable key order so snapshots compare as strings).
  function serialize(graph) {
    const out = { nodes: graph.nodes.map((n) => {
      const o = { id: n.id, kind: n.kind };
      if (n.kind === "goal") Object.assign(o, { type: n.type, name: n.name, config: clone(n.config) });
      else if (n.kind === "decision") Object.assign(o, { name: n.name, mode: n.mode, otherwise: n.otherwise,
        branches: n.branches.map((b) => ({ id: b.id, label: b.label, rules: clone(b.rules) })) });
      else if (n.kind === "split") Object.assign(o, { name: n.name, branches: n.branches.map((b) => ({ id: b.id, label: b.label, weight: b.weight })) });
      else if (n.kind === "sequence") Object.assign(o, { name: n.name, steps: n.steps.map((s) => {
        const st = { id: s.id, type: s.type, config: clone(s.config) };
        if (s.ui) st.ui = clone(s.ui);
        return st;
      }) });
      else o.text = n.text;
      o.position = { x: n.position.x, y: n.position.y };
      if (n.ui) o.ui = clone(n.ui);
      return o;
    }), edges: graph.edges.map((e) => {
      const o = { id: e.id, source: e.source, target: e.target };
      if (e.branch) o.branch = e.branch;
      if (e.ui) o.ui = clone(e.ui);
      return o;
    }) };
    if (graph.ui) out.ui = clone(graph.ui);
    return out;
  }
  const BRANCHING = ["decision", "split"];
  const isBranching = (n) => !!n && BRANCHING.includes(n.kind);
  // A path's label as the canvas shows it ("Path 2" when unnamed, "Otherwise" for the catch-all).
  function pathLabel(node, branchId) {
    if (!node) return branchId;
    if (branchId === "otherwise" && node.kind === "decision") return "Otherwise";
    const i = (node.branches || []).findIndex((b) => b.id === branchId);
    if (i < 0) return branchId;
    return node.branches[i].label || `Path ${i + 1}`;
  }
  // The handles (paths) of a decision or split, in order: [{id, label}] (Otherwise last).
  function paths(node) {
    const out = (node.branches || []).map((b, i) => ({ id: b.id, label: b.label || `Path ${i + 1}` }));
    if (node.kind === "decision" && node.otherwise) out.push({ id: "otherwise", label: "Otherwise" });
    return out;
  }
  const toFlowNode = (n) => ({ id: n.id, type: n.kind, position: { x: n.position.x, y: n.position.y }, data: n });
  // An edge leaving a path starts at that path's handle and is labelled with it.
  function toFlowEdge(e, nodeById) {
    const out = { id: e.id, source: e.source, target: e.target };
    if (e.branch) {
      out.sourceHandle = e.branch;
      out.label = pathLabel(nodeById ? nodeById(e.source) : null, e.branch);
      out.class = "sc-path-edge";
    }
    return out;
  }

  // A node or step id unused anywhere in the graph, e.g. "seq_k3j9x1".
  function newId(graph, kind) {
    const prefix = { goal: "goal", sequence: "seq", note: "note", step: "step", decision: "dec", split: "split",
                     path: "p" }[kind] || "n";
    const used = new Set(graph.nodes.map((n) => n.id));
    for (const n of graph.nodes) for (const s of n.steps || []) used.add(s.id);
    let id;
    do { id = `${prefix}_${Math.random().toString(36).slice(2, 8)}`; } while (used.has(id));
    return id;
  }

  function reaches(graph, from, to) {  // is there a path from → to?
    const out = new Map();
    for (const e of graph.edges) { if (!out.has(e.source)) out.set(e.source, []); out.get(e.source).push(e.target); }
    const seen = new Set([from]);
    const stack = [from];
    while (stack.length) {
      const cur = stack.pop();
      if (cur === to) return true;
      for (const nxt of out.get(cur) || []) if (!seen.has(nxt)) { seen.add(nxt); stack.push(nxt); }
    }
    return false;
  }
  // Why a connection is refused, or null when it is fine. `branch` is the path handle it leaves from.
  function connectionProblem(graph, source, target, branch) {
    const byId = new Map(graph.nodes.map((n) => [n.id, n]));
    const a = byId.get(source), b = byId.get(target);
    if (!a || !b) return "Connect two goals or sequences.";
    if (a.kind === "note" || b.kind === "note") return "Notes can't be connected.";
    if (source === target) return "A node can't connect to itself.";
    if (a.kind === "goal" && b.kind === "goal") return "A goal can't lead straight to another goal: put a sequence between them.";
    if (isBranching(a) && b.kind === "goal") return `A ${a.kind}'s paths lead to sequences, decisions or splits, not to a goal.`;
    if (isBranching(a) && !branch) return "Connect from one of the paths on the right of the " + a.kind + ".";
    if (isBranching(a) && graph.edges.some((e) => e.source === source && e.branch === branch)) {
      return `The path “${pathLabel(a, branch)}” already leads somewhere: remove that connection first.`;
    }
    if (graph.edges.some((e) => e.source === source && e.target === target)) return "These two are already connected.";
    if (reaches(graph, target, source)) return "That connection would make a loop: campaigns must flow one way.";
    return null;
  }

  const S = (window.Stagecraft = window.Stagecraft || {});
  S.canvas = Object.assign(S.canvas || {}, {
    graph: { clone, normNode, normEdge, edgeId, serialize, toFlowNode, toFlowEdge, newId, connectionProblem, isBranching,
             pathLabel, paths },
  });
})();
