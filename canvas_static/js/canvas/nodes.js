// The canvas's node components (goal, sequence, note; decisions and splits are in
// branch_nodes.js). They read what they show from the injected `canvas` object (catalog
// types, validation issues, live counts, the server's config summaries) and render user
// strings through text interpolation only. An unnamed node shows its type and summary
// (never the type twice).
(function () {
  "use strict";
  const S = window.Stagecraft;
  const { ScIcon, flow } = S;

  const NodeMixin = {
    components: { ScIcon, FlowHandle: flow.FlowHandle },
    inject: ["canvas"],
    props: ["id", "data", "selected", "dragging"],
    computed: {
      issues() { return this.canvas.issuesByNode[this.id] || []; },
      errorCount() { return this.issues.filter((i) => i.severity !== "warning").length; },
      issueText() { return this.issues.map((i) => i.message).join("\n"); },
      stats() { return this.canvas.stats[this.id] || null; },
      editing() { return this.canvas.editingId === this.id; },
      ro() { return this.canvas.readOnly; },
    },
    methods: {
      commitRename(ev) { this.canvas.finishRename(this.id, ev.target.value); },
      cancelRename() { this.canvas.editingId = null; },
      showIssues() { this.canvas.focusNode(this.id, { openPanel: true }); },
      focusInput(el) {
        // A freshly added node stays visibility:hidden until Vue Flow has measured it, and a
        // hidden element can't take focus: retry for a few frames.
        if (!el || el.dataset.focused) return;
        el.dataset.focused = "1";
        let tries = 0;
        const attempt = () => {
          if (!el.isConnected) return;
          el.focus();
          if (document.activeElement === el) { if (el.select) el.select(); return; }
          if (++tries < 20) requestAnimationFrame(attempt);
        };
        attempt();
      },
    },
  };

  // The summary line of a goal: the server's text (undefined until its first reply).
  const GoalNode = {
    name: "GoalNode", mixins: [NodeMixin],
    computed: {
      spec() { return this.canvas.goalTypes[this.data.type] || { label: this.data.type, icon: "flag" }; },
      summary() { return this.canvas.summaries[this.id]; },
      entry() { return !this.canvas.hasIncoming[this.id]; },
    },
    template: `
      <div class="sc-node sc-goal" :class="{ 'is-selected': selected, 'has-errors': errorCount, 'has-warnings': !errorCount && issues.length }"
           :data-node-id="id" data-kind="goal" :data-type="data.type">
        <flow-handle kind="in" :connectable="!ro" />
        <span v-if="entry" class="sc-entry" title="Entry goal: achieving it starts the campaign">Start</span>
        <div class="sc-node-main">
          <span class="sc-node-icon"><sc-icon :name="spec.icon" :size="18" /></span>
          <div class="sc-node-text">
            <div class="sc-node-kind">{{ spec.label }}</div>
            <input v-if="editing" class="sc-rename nodrag nowheel" :value="data.name" :ref="focusInput" aria-label="Node name"
                   @keydown.enter.prevent="commitRename" @keydown.esc.prevent="cancelRename" @blur="commitRename" />
            <div v-else-if="data.name" class="sc-node-name" :title="data.name">{{ data.name }}</div>
            <div class="sc-node-summary" :class="{ missing: summary === '', loading: summary === undefined }">{{ summary === undefined ? '…' : summary || 'Not configured yet' }}</div>
          </div>
        </div>
        <button v-if="issues.length" type="button" class="sc-badge nodrag" :class="errorCount ? 'error' : 'warning'"
                :title="issueText" :aria-label="issues.length + ' problem(s): ' + issueText" @click.stop="showIssues">{{ issues.length }}</button>
        <div v-if="stats" class="sc-node-stats" aria-label="Live counts">
          <span class="stat satisfied" title="Contacts who achieved this goal"><b>{{ stats.satisfied || 0 }}</b> achieved</span>
        </div>
        <flow-handle kind="out" :connectable="!ro" />
      </div>`,
  };

  // The summary line of a sequence: its first step's server text, else that step's label.
  const SequenceNode = {
    name: "SequenceNode", mixins: [NodeMixin],
    computed: {
      steps() { return this.data.steps || []; },
      chips() {
        return this.steps.slice(0, 4).map((s) => ({ id: s.id, icon: (this.canvas.stepTypes[s.type] || {}).icon || "dot",
          label: (this.canvas.stepTypes[s.type] || {}).label || s.type,
          bad: (this.canvas.issuesByStep[s.id] || []).some((i) => i.severity !== "warning") }));
      },
      // Per email step: sent, opened, clicked (unique), unsubscribed, bounced (GET /campaigns/{id}/stats).
      emailRows() {
        const all = this.canvas.emailStats || {};
        return this.steps.filter((s) => s.type === "send_email").map((s, i) => ({
          id: s.id, label: (this.canvas.summaries[s.id] || `Email ${i + 1}`),
          ...{ sent: 0, opened: 0, clicked: 0, unsubscribed: 0, bounced: 0 }, ...(all[s.id] || {}) }));
      },
      summary() {
        if (!this.steps.length) return "";
        const first = this.steps[0];
        return this.canvas.summaries[first.id] || (this.canvas.stepTypes[first.type] || {}).label || first.type;
      },
    },
    template: `
      <div class="sc-node sc-sequence" :class="{ 'is-selected': selected, 'has-errors': errorCount, 'has-warnings': !errorCount && issues.length }"
           :data-node-id="id" data-kind="sequence">
        <flow-handle kind="in" :connectable="!ro" />
        <div class="sc-node-main">
          <span class="sc-node-icon"><sc-icon name="list" :size="18" /></span>
          <div class="sc-node-text">
            <div class="sc-node-kind">Sequence · <span class="sc-step-count">{{ steps.length }} {{ steps.length === 1 ? 'step' : 'steps' }}</span></div>
            <input v-if="editing" class="sc-rename nodrag nowheel" :value="data.name" :ref="focusInput" aria-label="Node name"
                   @keydown.enter.prevent="commitRename" @keydown.esc.prevent="cancelRename" @blur="commitRename" />
            <div v-else-if="data.name" class="sc-node-name" :title="data.name">{{ data.name }}</div>
            <div class="sc-node-summary" :class="{ missing: !summary }">{{ summary || 'No steps yet — open to add some' }}</div>
          </div>
        </div>
        <div v-if="chips.length" class="sc-chips">
          <span v-for="c in chips" :key="c.id" class="sc-chip" :class="{ bad: c.bad }" :title="c.label"><sc-icon :name="c.icon" :size="12" /></span>
          <span v-if="steps.length > 4" class="sc-chip more">+{{ steps.length - 4 }}</span>
        </div>
        <button v-if="issues.length" type="button" class="sc-badge nodrag" :class="errorCount ? 'error' : 'warning'"
                :title="issueText" :aria-label="issues.length + ' problem(s): ' + issueText" @click.stop="showIssues">{{ issues.length }}</button>
        <div v-if="stats" class="sc-node-stats" aria-label="Live counts">
          <span class="stat active" title="Active"><b>{{ stats.active || 0 }}</b> active</span>
          <span class="stat waiting" title="Waiting on a timer"><b>{{ stats.waiting || 0 }}</b> waiting</span>
          <span class="stat completed" title="Completed"><b>{{ stats.completed || 0 }}</b> done</span>
          <span class="stat stopped" title="Stopped"><b>{{ stats.stopped || 0 }}</b> stopped</span>
        </div>
        <template v-if="stats"><div v-for="e in emailRows" :key="e.id" class="sc-email-stats" :data-step-id="e.id"
             :aria-label="e.label + ': ' + e.sent + ' sent, ' + e.opened + ' opened, ' + e.clicked + ' clicked, ' + e.unsubscribed + ' unsubscribed, ' + e.bounced + ' bounced'">
          <span class="sc-email-name" :title="e.label">{{ e.label }}</span>
          <span class="stat" title="Sent"><b data-stat="sent">{{ e.sent }}</b> sent</span>
          <span class="stat" title="Opened (unique)"><b data-stat="opened">{{ e.opened }}</b> opened</span>
          <span class="stat" title="Clicked (unique)"><b data-stat="clicked">{{ e.clicked }}</b> clicked</span>
          <span class="stat" title="Unsubscribed"><b data-stat="unsubscribed">{{ e.unsubscribed }}</b> unsub.</span>
          <span class="stat" title="Bounced"><b data-stat="bounced">{{ e.bounced }}</b> bounced</span>
        </div></template>
        <flow-handle kind="out" :connectable="!ro" />
      </div>`,
  };

  const NoteNode = {
    name: "NoteNode", mixins: [NodeMixin],
    template: `
      <div class="sc-node sc-note" :class="{ 'is-selected': selected }" :data-node-id="id" data-kind="note">
        <textarea v-if="editing" class="sc-note-edit nodrag nowheel" :value="data.text" :ref="focusInput" aria-label="Note text"
                  @keydown.esc.prevent="cancelRename" @blur="commitRename"></textarea>
        <div v-else class="sc-note-text">{{ data.text || 'Double-click to write a note' }}</div>
      </div>`,
  };

  S.canvas = Object.assign(S.canvas || {}, { nodeTypes: { goal: GoalNode, sequence: SequenceNode, note: NoteNode } });
})();
