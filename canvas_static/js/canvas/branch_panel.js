// The side panel of a decision or split: its paths (a decision's rules, a split's weights
// as percentages) and the Test tab, which asks the server (POST …/nodes/<id>/evaluate, the
// runtime's own evaluation) which path(s) a real or made-up contact would take and why each
// rule passed or failed; the paths it takes light up on the canvas. Text interpolation only.
(function () {
  "use strict";
  const S = window.Stagecraft;
  const { ScIcon } = S;

  // The paths of a decision: mode, each path's name and rules, Otherwise.
  const ScDecisionPaths = {
    name: "ScDecisionPaths",
    components: { ScIcon, ScRuleGroup: S.canvas.ScRuleGroup },
    inject: ["canvas"],
    props: { node: { type: Object, required: true }, readOnly: Boolean },
    emits: ["input", "commit"],
    computed: {
      issues() { return this.canvas.issuesByNode[this.node.id] || []; },
    },
    methods: {
      problems(branchId) {
        const out = {};
        for (const i of this.issues) if (i.branch_id === branchId && i.rule) out[i.rule] = i.message.replace(/^(Path “[^”]*”|path \d+|Path \d+): /, "");
        return out;
      },
      pathIssues(branchId) { return this.issues.filter((i) => i.branch_id === branchId && !i.rule); },
      summary(b) { return this.canvas.summaries[`${this.node.id}:${b.id}`]; },
      changed(commit) { this.$emit("input"); if (commit) this.$emit("commit"); },
      setMode(mode) { this.node.mode = mode; this.changed(true); },
      addPath() {
        const id = this.canvas.newId("path");
        this.node.branches.push({ id, label: `Path ${this.node.branches.length + 1}`, rules: { all: [{ field: "tags", op: "has", value: "" }] } });
        this.changed(true);
        this.$nextTick(() => this.$el.querySelector(`[data-branch-id="${id}"] .path-label`)?.focus());
      },
      removePath(i) {
        const [gone] = this.node.branches.splice(i, 1);
        this.canvas.removePathEdges(this.node.id, gone.id);
        this.changed(true);
      },
      movePath(i, delta) {
        const to = i + delta;
        if (to < 0 || to >= this.node.branches.length) return;
        const [b] = this.node.branches.splice(i, 1);
        this.node.branches.splice(to, 0, b);
        this.changed(true);
        this.$nextTick(() => this.$el.querySelector(`[data-branch-id="${b.id}"] .path-${delta < 0 ? "up" : "down"}`)?.focus());
      },
      setOtherwise(ev) {
        this.node.otherwise = ev.target.checked;
        if (!this.node.otherwise) this.canvas.removePathEdges(this.node.id, "otherwise");
        this.changed(true);
      },
    },
    template: `
      <div class="branch-editor">
        <fieldset class="path-mode">
          <legend>A contact takes</legend>
          <label class="sc-check"><input type="radio" name="mode" value="first" :checked="node.mode !== 'all'" :disabled="readOnly" @change="setMode('first')">
            the first path whose rules it matches, in this order</label>
          <label class="sc-check"><input type="radio" name="mode" value="all" :checked="node.mode === 'all'" :disabled="readOnly" @change="setMode('all')">
            every path whose rules it matches</label>
        </fieldset>
        <ol class="path-list">
          <li v-for="(b, i) in node.branches" :key="b.id" class="path-row" :data-branch-id="b.id">
            <div class="path-head">
              <span class="path-num">{{ i + 1 }}</span>
              <input class="path-label" v-model="b.label" :placeholder="'Path ' + (i + 1)" :aria-label="'Name of path ' + (i + 1)"
                     :disabled="readOnly" @input="changed(false)" @change="changed(true)">
              <span class="step-actions" v-if="!readOnly">
                <button type="button" class="mini path-up" :disabled="i === 0" :aria-label="'Move path ' + (b.label || i + 1) + ' up'" @click="movePath(i, -1)"><sc-icon name="chevron-up" :size="14" /></button>
                <button type="button" class="mini path-down" :disabled="i === node.branches.length - 1" :aria-label="'Move path ' + (b.label || i + 1) + ' down'" @click="movePath(i, 1)"><sc-icon name="chevron-down" :size="14" /></button>
                <button type="button" class="mini path-remove" :aria-label="'Remove path ' + (b.label || i + 1)" @click="removePath(i)"><sc-icon name="trash" :size="14" /></button>
              </span>
            </div>
            <p class="path-summary" :class="{ missing: summary(b) === '' }">{{ summary(b) === undefined ? '…' : summary(b) || 'Rules not complete yet' }}</p>
            <ul v-if="pathIssues(b.id).length" class="panel-issues"><li v-for="(p, n) in pathIssues(b.id)" :key="n" :class="p.severity">{{ p.message }}</li></ul>
            <sc-rule-group :group="b.rules" :id-prefix="'rule-' + node.id + '-' + b.id" :read-only="readOnly" :problems="problems(b.id)"
                           @input="changed(false)" @commit="changed(true)" />
          </li>
        </ol>
        <button v-if="!readOnly" type="button" class="add-step-btn add-path" @click="addPath"><sc-icon name="plus" /> Add path</button>
        <label class="sc-check path-otherwise"><input type="checkbox" :checked="node.otherwise" :disabled="readOnly" @change="setOtherwise">
          Otherwise: a path for contacts that match none</label>
        <p class="sc-help">{{ node.otherwise ? 'Contacts matching no path take Otherwise.' : 'Without Otherwise, contacts matching no path leave the campaign here (their history says why).' }}</p>
      </div>`,
  };

  // The paths of a split: a name and a weight each, shown as a share of all contacts.
  const ScSplitPaths = {
    name: "ScSplitPaths",
    components: { ScIcon },
    inject: ["canvas"],
    props: { node: { type: Object, required: true }, readOnly: Boolean },
    emits: ["input", "commit"],
    computed: {
      total() { return this.node.branches.reduce((a, b) => a + Math.max(Number(b.weight) || 0, 0), 0); },
    },
    methods: {
      share(b) { return this.total ? Math.round((1000 * Math.max(Number(b.weight) || 0, 0)) / this.total) / 10 : 0; },
      changed(commit) { this.$emit("input"); if (commit) this.$emit("commit"); },
      setWeight(b, ev, commit) {
        const n = parseInt(ev.target.value, 10);
        b.weight = Number.isNaN(n) ? 0 : n;
        this.changed(commit);
      },
      addPath() {
        const id = this.canvas.newId("path");
        const letter = String.fromCharCode(65 + (this.node.branches.length % 26));
        this.node.branches.push({ id, label: letter, weight: 1 });
        this.changed(true);
        this.$nextTick(() => this.$el.querySelector(`[data-branch-id="${id}"] .path-label`)?.focus());
      },
      removePath(i) {
        const [gone] = this.node.branches.splice(i, 1);
        this.canvas.removePathEdges(this.node.id, gone.id);
        this.changed(true);
      },
    },
    template: `
      <div class="branch-editor">
        <p class="sc-help">Contacts are divided in proportion to the weights (any whole numbers). Each contact always takes the same path.</p>
        <ol class="path-list">
          <li v-for="(b, i) in node.branches" :key="b.id" class="path-row split-row" :data-branch-id="b.id">
            <input class="path-label" v-model="b.label" :placeholder="'Path ' + (i + 1)" :aria-label="'Name of path ' + (i + 1)"
                   :disabled="readOnly" @input="changed(false)" @change="changed(true)">
            <label class="path-weight">Weight
              <input type="number" min="0" step="1" :value="b.weight" :disabled="readOnly" @input="setWeight(b, $event, false)" @change="setWeight(b, $event, true)"></label>
            <output class="path-share" :aria-label="'Share of path ' + (b.label || i + 1)">{{ share(b) }}%</output>
            <button v-if="!readOnly" type="button" class="mini path-remove" :aria-label="'Remove path ' + (b.label || i + 1)" @click="removePath(i)"><sc-icon name="trash" :size="14" /></button>
          </li>
        </ol>
        <button v-if="!readOnly" type="button" class="add-step-btn add-path" @click="addPath"><sc-icon name="plus" /> Add path</button>
      </div>`,
  };

  // The Test tab: pick a contact or type one, see the path(s) and each rule's outcome.
  const ScBranchTest = {
    name: "ScBranchTest",
    components: { ScIcon },
    inject: ["canvas"],
    props: { node: { type: Object, required: true } },
    data() {
      return { who: "contact", query: "", found: [], contact: null, searching: false, busy: false, error: "", result: null,
               made: { tags: "", fields: "", value: "", stage: "", opened: false, clicked: false } };
    },
    computed: {
      isSplit() { return this.node.kind === "split"; },
      fieldLabels() { return Object.fromEntries((this.canvas.catalog.rule_fields || []).map((f) => [f.name, f.label])); },
      opLabels() { return this.canvas.catalog.rule_ops || {}; },
      stageGroups() { return (this.canvas.lookups.pipelines || []).map((p) => ({ id: p.id, name: p.name, stages: p.stages || [] })); },
    },
    watch: { "node.id"() { this.result = null; this.canvas.setTested(null); } },
    beforeUnmount() { this.canvas.setTested(null); },
    methods: {
      async search() {
        const q = this.query.trim();
        if (!q) { this.found = []; return; }
        this.searching = true;
        try { this.found = await S.api("GET", `/contacts?q=${encodeURIComponent(q)}&limit=8`); }
        catch (err) { this.error = err.message; }
        finally { this.searching = false; }
      },
      pick(c) { this.contact = c; this.found = []; this.query = ""; },
      madeUp() {
        const fields = {};
        for (const line of this.made.fields.split("\n")) {
          const at = line.indexOf("=");
          if (at < 1) continue;
          const key = line.slice(0, at).trim(), raw = line.slice(at + 1).trim();
          fields[key] = raw !== "" && !Number.isNaN(Number(raw)) ? Number(raw) : raw;
        }
        const body = { tags: this.made.tags.split(",").map((t) => t.trim()).filter(Boolean), fields,
                       email_opened: this.made.opened, email_clicked: this.made.clicked };
        const opp = {};
        if (this.made.value !== "" && this.made.value !== null) opp.value = Number(this.made.value);
        if (this.made.stage) {
          opp.stage_id = Number(this.made.stage);
          const p = (this.canvas.lookups.pipelines || []).find((x) => (x.stages || []).some((st) => st.id === opp.stage_id));
          if (p) opp.pipeline_id = p.id;
        }
        if (Object.keys(opp).length) body.opportunity = opp;
        return body;
      },
      async run() {
        this.error = "";
        if ((this.who === "contact" || this.isSplit) && !this.contact) { this.error = "Pick a contact to test with."; return; }
        this.busy = true;
        try {
          if (!(await this.canvas.flushSave())) { this.error = "The draft isn't saved yet; try again in a moment."; return; }
          const body = this.who === "contact" || this.isSplit ? { contact_id: this.contact.id } : { contact: this.madeUp() };
          this.result = await S.api("POST", `/campaigns/${this.canvas.campaignId}/nodes/${encodeURIComponent(this.node.id)}/evaluate`, body);
          this.canvas.setTested({ nodeId: this.node.id, taken: this.result.branches.filter((b) => b.taken).map((b) => b.id) });
          this.$nextTick(() => this.$refs.verdict?.focus());
        } catch (err) {
          this.result = null;
          this.canvas.setTested(null);
          const details = err.details && err.details.errors;
          this.error = details && details.length ? `${err.message}: ${details.map((d) => d.message).join("; ")}` : err.message;
        } finally { this.busy = false; }
      },
      show(v) {
        if (v === null || v === undefined || v === "") return "nothing";
        if (Array.isArray(v)) return v.length ? v.join(", ") : "no tags";
        if (v === true) return "yes";
        if (v === false) return "no";
        return String(v);
      },
      wanted(r) {
        if (["empty", "not_empty"].includes(r.op)) return "";
        return ` ${this.canvas.ruleValueName(r.field, r.value)}`;
      },
      state(b) { return b.taken ? "Taken" : b.matched ? "Matches" : this.isSplit ? "Not this one" : "No match"; },
    },
    template: `
      <div class="branch-test">
        <fieldset v-if="!isSplit" class="test-who">
          <legend>Test with</legend>
          <label class="sc-check"><input type="radio" value="contact" v-model="who"> a contact</label>
          <label class="sc-check"><input type="radio" value="made" v-model="who"> a made-up contact</label>
        </fieldset>
        <p v-else class="sc-help">A split divides contacts by their id: pick one to see the path it takes.</p>
        <div v-if="who === 'contact' || isSplit" class="test-contact">
          <label class="sc-label" for="test-search">Contact</label>
          <div class="test-search-row">
            <input id="test-search" type="search" v-model="query" placeholder="Name or email" autocomplete="off" @keydown.enter.prevent="search">
            <button type="button" class="test-search-btn" @click="search">Search</button>
          </div>
          <ul v-if="found.length" class="test-found">
            <li v-for="c in found" :key="c.id"><button type="button" class="linklike test-pick" @click="pick(c)">{{ c.name }} <small>{{ c.email }}</small></button></li>
          </ul>
          <p v-else-if="searching" class="muted">Searching…</p>
          <p v-if="contact" class="test-chosen">Testing <b>{{ contact.name }}</b> <small>{{ contact.email }}</small></p>
        </div>
        <div v-else class="test-made sc-form">
          <div class="sc-field"><label class="sc-label" for="test-tags">Tags</label>
            <input id="test-tags" type="text" v-model="made.tags" placeholder="vip, newsletter"><p class="sc-help">Separate tags with commas.</p></div>
          <div class="sc-field"><label class="sc-label" for="test-fields">Custom fields</label>
            <textarea id="test-fields" rows="2" v-model="made.fields" placeholder="company_size = 500"></textarea><p class="sc-help">One per line: name = value.</p></div>
          <div class="sc-field"><label class="sc-label" for="test-value">Deal value</label><input id="test-value" type="number" step="any" v-model="made.value"></div>
          <div class="sc-field"><label class="sc-label" for="test-stage">Deal stage</label>
            <select id="test-stage" v-model="made.stage"><option value="">No deal stage</option>
              <optgroup v-for="g in stageGroups" :key="g.id" :label="g.name"><option v-for="st in g.stages" :key="st.id" :value="String(st.id)">{{ st.name }}</option></optgroup>
            </select></div>
          <label class="sc-check"><input type="checkbox" v-model="made.opened"> Opened an email of this campaign</label>
          <label class="sc-check"><input type="checkbox" v-model="made.clicked"> Clicked a link in an email of this campaign</label>
        </div>
        <button type="button" class="primary test-run" :disabled="busy" @click="run"><sc-icon name="beaker" /> {{ busy ? 'Testing…' : 'Test' }}</button>
        <p v-if="error" class="form-error" role="alert">{{ error }}</p>
        <div v-if="result" class="test-result">
          <p class="test-verdict" ref="verdict" tabindex="-1" role="status">
            <b v-if="result.left">Leaves the campaign.</b>
            <b v-else>Goes to {{ result.branches.filter(b => b.taken).map(b => b.label).join(' and ') }}.</b>
            {{ result.reason }}</p>
          <ul class="test-paths">
            <li v-for="b in result.branches" :key="b.id" class="test-path" :class="{ taken: b.taken, matched: b.matched }" :data-branch-id="b.id">
              <div class="test-path-head"><b>{{ b.label }}</b> <span class="test-state">{{ state(b) }}</span>
                <small v-if="b.weight !== null && b.weight !== undefined">weight {{ b.weight }}</small></div>
              <ul v-if="b.rules.length" class="test-rules">
                <li v-for="(r, n) in b.rules" :key="n" class="test-rule" :class="r.result ? 'pass' : 'fail'">
                  <span class="test-mark" aria-hidden="true">{{ r.result ? '✓' : '✗' }}</span>
                  <span class="visually-hidden">{{ r.result ? 'Passed:' : 'Failed:' }}</span>
                  {{ fieldLabels[r.field] || r.field }} {{ opLabels[r.op] || r.op }}{{ wanted(r) }}
                  <small class="test-actual">— the contact has {{ show(r.actual) }}</small>
                </li>
              </ul>
            </li>
          </ul>
        </div>
      </div>`,
  };

  S.canvas = Object.assign(S.canvas || {}, { ScDecisionPaths, ScSplitPaths, ScBranchTest });
})();
