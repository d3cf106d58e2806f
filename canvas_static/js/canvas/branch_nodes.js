// The decision and split nodes on the canvas: a diamond-headed card with one labelled
// out-port per path (Otherwise last), each path's live count, and — after a test in the
// panel's Test tab — the path(s) the tested contact takes, lit. Text through interpolation only.
(function () {
  "use strict";
  const S = window.Stagecraft;
  const { ScIcon, flow } = S;

  const BranchMixin = {
    components: { ScIcon, FlowHandle: flow.FlowHandle },
    inject: ["canvas"],
    props: ["id", "data", "selected", "dragging"],
    computed: {
      issues() { return this.canvas.issuesByNode[this.id] || []; },
      errorCount() { return this.issues.filter((i) => i.severity !== "warning").length; },
      issueText() { return this.issues.map((i) => i.message).join("\n"); },
      stats() { return this.canvas.stats[this.id] || null; },
      counts() { return this.canvas.branchStats[this.id] || null; },
      ro() { return this.canvas.readOnly; },
      paths() { return S.canvas.graph.paths(this.data); },
      lit() { const t = this.canvas.tested; return t && t.nodeId === this.id ? t.taken : null; },
      pathIssues() {
        const out = {};
        for (const i of this.issues) if (i.branch_id) (out[i.branch_id] ||= []).push(i);
        return out;
      },
    },
    methods: {
      showIssues() { this.canvas.focusNode(this.id, { openPanel: true }); },
      pathClass(p) {
        return { "is-lit": this.lit && this.lit.includes(p.id), "is-dim": this.lit && !this.lit.includes(p.id),
                 bad: (this.pathIssues[p.id] || []).some((i) => i.severity !== "warning") };
      },
    },
  };

  const HEAD = `
        <div class="sc-node-main">
          <span class="sc-node-icon sc-diamond" aria-hidden="true"><sc-icon :name="icon" :size="16" /></span>
          <div class="sc-node-text">
            <div class="sc-node-kind">{{ kindLabel }}</div>
            <div class="sc-node-name" :title="data.name">{{ data.name || fallbackName }}</div>
          </div>
        </div>`;
  const TAIL = `
        <p v-if="!paths.length" class="sc-node-summary missing sc-paths-empty">No paths yet — open to add some</p>
        <button v-if="issues.length" type="button" class="sc-badge nodrag" :class="errorCount ? 'error' : 'warning'"
                :title="issueText" :aria-label="issues.length + ' problem(s): ' + issueText" @click.stop="showIssues">{{ issues.length }}</button>
        <div v-if="stats" class="sc-node-stats" aria-label="Live counts">
          <span class="stat passed" title="Contacts sent down a path"><b>{{ stats.passed || 0 }}</b> passed</span>
          <span v-if="data.kind === 'decision'" class="stat left" title="Contacts that matched no path and left"><b>{{ stats.left || 0 }}</b> left</span>
        </div>`;

  // A decision: one row (and out-port) per path, in the order "first match" tries them.
  const DecisionNode = {
    name: "DecisionNode", mixins: [BranchMixin],
    computed: {
      icon() { return "diamond"; },
      kindLabel() { return this.data.mode === "all" ? "Decision · every match" : "Decision · first match"; },
      fallbackName() { return "Decision"; },
    },
    template: `
      <div class="sc-node sc-branching sc-decision" :class="{ 'is-selected': selected, 'has-errors': errorCount, 'has-warnings': !errorCount && issues.length }"
           :data-node-id="id" data-kind="decision">
        <flow-handle kind="in" :connectable="!ro" />
        ${HEAD}
        <ul class="sc-paths">
          <li v-for="p in paths" :key="p.id" class="sc-path" :class="pathClass(p)" :data-branch-id="p.id">
            <span class="sc-path-label" :title="p.label">{{ p.label }}</span>
            <span v-if="counts" class="sc-path-count" :title="'Contacts who took ' + p.label">{{ counts[p.id] || 0 }}</span>
            <flow-handle kind="out" :handle-id="p.id" :label="'Path ' + p.label" :connectable="!ro" />
          </li>
        </ul>
        ${TAIL}
      </div>`,
  };

  // A split: one row per path with its share of the weights.
  const SplitNode = {
    name: "SplitNode", mixins: [BranchMixin],
    computed: {
      icon() { return "split"; },
      kindLabel() { return "Split · by weight"; },
      fallbackName() { return "Split"; },
      shares() {
        const ws = (this.data.branches || []).map((b) => Math.max(Number(b.weight) || 0, 0));
        const total = ws.reduce((a, b) => a + b, 0);
        return Object.fromEntries((this.data.branches || []).map((b, i) => [b.id, total ? Math.round((1000 * ws[i]) / total) / 10 : 0]));
      },
    },
    template: `
      <div class="sc-node sc-branching sc-split" :class="{ 'is-selected': selected, 'has-errors': errorCount, 'has-warnings': !errorCount && issues.length }"
           :data-node-id="id" data-kind="split">
        <flow-handle kind="in" :connectable="!ro" />
        ${HEAD}
        <ul class="sc-paths">
          <li v-for="p in paths" :key="p.id" class="sc-path" :class="pathClass(p)" :data-branch-id="p.id">
            <span class="sc-path-label" :title="p.label">{{ p.label }}</span>
            <span class="sc-path-share">{{ shares[p.id] }}%</span>
            <span v-if="counts" class="sc-path-count" :title="'Contacts who took ' + p.label">{{ counts[p.id] || 0 }}</span>
            <flow-handle kind="out" :handle-id="p.id" :label="'Path ' + p.label" :connectable="!ro" />
          </li>
        </ul>
        ${TAIL}
      </div>`,
  };

  S.canvas = Object.assign(S.canvas || {}, { branchNodeTypes: { decision: DecisionNode, split: SplitNode } });
})();
