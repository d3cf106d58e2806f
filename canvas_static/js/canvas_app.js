// The campaign canvas: palette, nodes, connections, configuration panel, autosave,
// validation badges, publish/versions, live counts, export.  Vue Flow is reached only
// through Stagecraft.flow (flow_adapter.js).  User strings render as text only.
(function () {
  "use strict";
  const Vue = window.Vue;
  const S = window.Stagecraft;
  const { api, ScIcon, flow, createHistory, clipboard, forms } = S;
  const mount = document.getElementById("canvas-app");
  if (!mount) return;
  const CID = Number(mount.dataset.campaignId);
  const FLOW_ID = `campaign-${CID}`;
  const SAVE_DELAY = 800;
  const clone = (v) => JSON.parse(JSON.stringify(v));
  const isTyping = (t) => t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName));

  // ---------------------------------------------------------------- graph model --
  function normNode(n) {
    const base = { id: String(n.id), kind: n.kind, position: { x: Number(n.position?.x || 0), y: Number(n.position?.y || 0) } };
    if (n.ui) base.ui = clone(n.ui);
    if (n.kind === "goal") return { ...base, type: n.type, name: n.name || "", config: clone(n.config || {}) };
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
    if (e.ui) out.ui = clone(e.ui);
    return out;
  }
  // The JSON the API stores (stable key order so snapshots compare as strings).
  function serialize(graph) {
    const out = { nodes: graph.nodes.map((n) => {
      const o = { id: n.id, kind: n.kind };
      if (n.kind === "goal") Object.assign(o, { type: n.type, name: n.name, config: clone(n.config) });
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
      if (e.ui) o.ui = clone(e.ui);
      return o;
    }) };
    if (graph.ui) out.ui = clone(graph.ui);
    return out;
  }
  const toFlowNode = (n) => ({ id: n.id, type: n.kind, position: { x: n.position.x, y: n.position.y }, data: n });
  const toFlowEdge = (e) => ({ id: e.id, source: e.source, target: e.target });

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
  // Why a connection is refused, or null when it is fine.
  function connectionProblem(graph, source, target) {
    const byId = new Map(graph.nodes.map((n) => [n.id, n]));
    const a = byId.get(source), b = byId.get(target);
    if (!a || !b) return "Connect two goals or sequences.";
    if (a.kind === "note" || b.kind === "note") return "Notes can't be connected.";
    if (source === target) return "A node can't connect to itself.";
    if (a.kind === "goal" && b.kind === "goal") return "A goal can't lead straight to another goal: put a sequence between them.";
    if (graph.edges.some((e) => e.source === source && e.target === target)) return "These two are already connected.";
    if (reaches(graph, target, source)) return "That connection would make a loop: campaigns must flow one way.";
    return null;
  }

  // ------------------------------------------------------------------ node views --
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

  const GoalNode = {
    name: "GoalNode", mixins: [NodeMixin],
    computed: {
      spec() { return this.canvas.goalTypes[this.data.type] || { label: this.data.type, icon: "flag" }; },
      summary() { return forms.summarize(this.data.type, this.data.config, this.canvas.lookups); },
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
            <div v-else class="sc-node-name" :title="data.name">{{ data.name || spec.label }}</div>
            <div class="sc-node-summary" :class="{ missing: !summary }">{{ summary || 'Not configured yet' }}</div>
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

  const SequenceNode = {
    name: "SequenceNode", mixins: [NodeMixin],
    computed: {
      steps() { return this.data.steps || []; },
      chips() {
        return this.steps.slice(0, 4).map((s) => ({ id: s.id, icon: (this.canvas.stepTypes[s.type] || {}).icon || "dot",
          label: (this.canvas.stepTypes[s.type] || {}).label || s.type,
          bad: (this.canvas.issuesByStep[s.id] || []).some((i) => i.severity !== "warning") }));
      },
      summary() {
        if (!this.steps.length) return "";
        const first = this.steps[0];
        return forms.summarize(first.type, first.config, this.canvas.lookups) || (this.canvas.stepTypes[first.type] || {}).label || first.type;
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
            <div v-else class="sc-node-name" :title="data.name">{{ data.name || 'Sequence' }}</div>
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

  // -------------------------------------------------------------------- the app --
  const App = {
    components: { FlowCanvas: flow.FlowCanvas, ScIcon, ScConfigForm: forms.ScConfigForm, ScPreview: forms.ScPreview },
    setup() {
      const canvasApi = flow.useCanvas(FLOW_ID);
      const graph = Vue.reactive({ nodes: [], edges: [] });
      const history = createHistory(100);
      const state = Vue.reactive({
        loading: true, loadError: "",
        campaign: { id: CID, name: mount.dataset.campaignName || "", status: mount.dataset.campaignStatus || "draft" },
        catalog: { goals: [], steps: [], merge_fields: [] },
        lookups: { pipelines: [], users: [], tags: [] },
        issues: { errors: [], warnings: [] }, validated: false,
        stats: {}, live: "connecting",
        editingId: null, panelId: null, drawer: false, menu: false,
        search: "", stepSearch: "", addingStep: false, openStepId: null,
        save: "saved", saveError: "", minimap: null, canUndo: false, canRedo: false,
        toast: null, publish: null, versions: null, busy: false, imported: null,
      });
      const readOnly = Vue.computed(() => state.campaign.status === "archived");
      const goalTypes = Vue.computed(() => Object.fromEntries(state.catalog.goals.map((g) => [g.type, g])));
      const stepTypes = Vue.computed(() => Object.fromEntries(state.catalog.steps.map((s) => [s.type, s])));
      const issuesByNode = Vue.computed(() => {
        const out = {};
        for (const i of [...state.issues.errors, ...state.issues.warnings]) if (i.node_id) (out[i.node_id] ||= []).push(i);
        return out;
      });
      const issuesByStep = Vue.computed(() => {
        const out = {};
        for (const i of [...state.issues.errors, ...state.issues.warnings]) if (i.step_id) (out[i.step_id] ||= []).push(i);
        return out;
      });
      const hasIncoming = Vue.computed(() => Object.fromEntries(graph.edges.map((e) => [e.target, true])));
      const nodeById = (id) => graph.nodes.find((n) => n.id === id);

      // ---- sync, history, autosave
      const syncFlow = () => canvasApi.sync(graph.nodes.map(toFlowNode), graph.edges.map(toFlowEdge));
      const snapshot = () => JSON.stringify(serialize(graph));
      const refreshHistoryFlags = () => { state.canUndo = history.canUndo; state.canRedo = history.canRedo; };
      let saveTimer = null, saving = null, dirtySince = 0, savedUpTo = 0, edits = 0, retryDelay = 1000;

      function touch() {
        if (readOnly.value) return;
        edits += 1;
        if (!dirtySince) dirtySince = edits;
        if (state.save !== "retrying") state.save = "pending";
        clearTimeout(saveTimer);
        saveTimer = setTimeout(saveNow, SAVE_DELAY);
      }
      function commit() {
        if (history.push(snapshot())) touch();
        refreshHistoryFlags();
      }
      async function saveNow() {
        clearTimeout(saveTimer);
        if (saving) { await saving; if (savedUpTo < edits) return saveNow(); return; }
        if (savedUpTo >= edits) { state.save = "saved"; return; }
        const upTo = edits;
        const body = serialize(graph);
        state.save = "saving";
        saving = (async () => {
          try {
            const result = await api("PUT", `/campaigns/${CID}/draft`, { graph: body });
            savedUpTo = Math.max(savedUpTo, upTo);
            retryDelay = 1000;
            applyValidation(result);
            state.saveError = "";
            state.campaign.has_unpublished_changes = true;
            if (savedUpTo >= edits) { state.save = "saved"; dirtySince = 0; }
            else { clearTimeout(saveTimer); saveTimer = setTimeout(saveNow, SAVE_DELAY); }
          } catch (err) {
            state.saveError = err.message || "network error";
            if (err.status === 400 || err.status === 403 || err.status === 409 || err.status === 422) {
              state.save = "failed";  // the server refuses this graph; retrying won't help
              showToast(`Save refused: ${err.message}`, "error");
            } else {
              state.save = "retrying";
              saveTimer = setTimeout(saveNow, retryDelay);
              retryDelay = Math.min(retryDelay * 2, 30000);
            }
          }
        })();
        try { await saving; } finally { saving = null; }
      }
      async function flushSave() {
        for (let i = 0; i < 5 && (savedUpTo < edits || saving); i++) await saveNow();
        return savedUpTo >= edits;
      }
      window.addEventListener("beforeunload", (ev) => {
        if (savedUpTo < edits || saving) { ev.preventDefault(); ev.returnValue = "Changes are still being saved."; return ev.returnValue; }
        return undefined;
      });

      function applyValidation(result) {
        state.issues = { errors: result.errors || [], warnings: result.warnings || [] };
        state.validated = true;
      }

      function restore(snap) {
        const data = JSON.parse(snap);
        graph.nodes = data.nodes.map(normNode);
        graph.edges = data.edges.map(normEdge);
        if (state.panelId && !nodeById(state.panelId)) state.panelId = null;
        syncFlow();
        touch();
        refreshHistoryFlags();
      }
      function undo() { if (readOnly.value) return; commit(); const s = history.undo(); if (s) restore(s); }
      function redo() { if (readOnly.value) return; const s = history.redo(); if (s) restore(s); }

      // ---- ids
      function newId(kind) {
        const prefix = { goal: "goal", sequence: "seq", note: "note", step: "step" }[kind] || "n";
        const used = new Set(graph.nodes.map((n) => n.id));
        for (const n of graph.nodes) for (const s of n.steps || []) used.add(s.id);
        let id;
        do { id = `${prefix}_${Math.random().toString(36).slice(2, 8)}`; } while (used.has(id));
        return id;
      }

      // ---- toast
      let toastTimer = null;
      function showToast(message, kind) {
        state.toast = { message, kind: kind || "info", at: Date.now() };
        clearTimeout(toastTimer);
        toastTimer = setTimeout(() => { state.toast = null; }, kind === "error" ? 6000 : 3500);
      }

      // ---- edits
      function addNode(item, pos) {
        if (readOnly.value) return null;
        const position = { x: canvasApi.snap(pos.x), y: canvasApi.snap(pos.y) };
        let node;
        if (item.kind === "goal") {
          const spec = goalTypes.value[item.type];
          if (!spec) return null;
          node = { id: newId("goal"), kind: "goal", type: item.type, name: spec.label, config: forms.defaults(spec.fields), position };
        } else if (item.kind === "sequence") {
          node = { id: newId("sequence"), kind: "sequence", name: "New sequence", steps: [], position };
        } else if (item.kind === "note") {
          node = { id: newId("note"), kind: "note", text: "", position };
        } else return null;
        graph.nodes.push(node);
        syncFlow();
        commit();
        Vue.nextTick(() => { canvasApi.select([node.id]); state.panelId = node.kind === "note" ? null : node.id; if (node.kind === "note") state.editingId = node.id; });
        return node.id;
      }
      function addAtCenter(item) {
        const el = document.querySelector(".cv-stage");
        const r = el.getBoundingClientRect();
        const p = canvasApi.project(r.left + r.width / 2 - 110, r.top + r.height / 2 - 40);
        const jitter = (graph.nodes.length % 5) * 20;
        addNode(item, { x: p.x + jitter, y: p.y + jitter });
      }
      function connect({ source, target }) {
        if (readOnly.value) return;
        const problem = connectionProblem(graph, source, target);
        if (problem) { showToast(problem, "error"); return; }
        graph.edges.push({ id: edgeId(source, target), source, target });
        syncFlow();
        commit();
      }
      function moved(list) {
        let changed = false;
        for (const { id, position } of list) {
          const n = nodeById(id);
          if (n && (n.position.x !== position.x || n.position.y !== position.y)) { n.position = { x: position.x, y: position.y }; changed = true; }
        }
        if (changed) commit();
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
        syncFlow();
        commit();
      }
      function finishRename(id, value) {
        if (state.editingId !== id) return;
        state.editingId = null;
        const n = nodeById(id);
        if (!n) return;
        if (n.kind === "note") n.text = value; else n.name = String(value).trim() || n.name;
        commit();
      }
      function copySelection() {
        const n = clipboard.copy(serialize(graph), canvasApi.selectedNodeIds());
        if (n) showToast(`Copied ${n} ${n === 1 ? "node" : "nodes"}`);
      }
      function pasteClipboard() {
        if (readOnly.value) return;
        const pasted = clipboard.paste(newId, 40);
        if (!pasted) return;
        for (const n of pasted.nodes) graph.nodes.push(normNode(n));
        for (const e of pasted.edges) graph.edges.push(normEdge(e));
        syncFlow();
        commit();
        Vue.nextTick(() => canvasApi.select(pasted.nodes.map((n) => n.id)));
        showToast(`Pasted ${pasted.nodes.length} ${pasted.nodes.length === 1 ? "node" : "nodes"}`);
      }
      async function tidyUp() {
        if (readOnly.value) return;
        try {
          const { graph: laid } = await api("POST", `/campaigns/${CID}/layout`, { graph: serialize(graph) });
          const pos = Object.fromEntries(laid.nodes.map((n) => [n.id, n.position]));
          for (const n of graph.nodes) if (pos[n.id]) n.position = { x: canvasApi.snap(pos[n.id].x), y: canvasApi.snap(pos[n.id].y) };
          syncFlow();
          commit();
          setTimeout(() => canvasApi.fitView(), 50);
        } catch (err) { showToast(`Tidy up failed: ${err.message}`, "error"); }
      }

      // ---- panel (selected node) & steps
      const panelNode = Vue.computed(() => (state.panelId ? nodeById(state.panelId) : null));
      Vue.watch(canvasApi.selectedNodes, (ids) => {
        if (ids.length === 1) { if (state.panelId !== ids[0]) { state.panelId = ids[0]; state.openStepId = null; state.addingStep = false; } }
        else state.panelId = null;  // none, or a multi-selection
      });
      const panelSpec = Vue.computed(() => (panelNode.value?.kind === "goal" ? goalTypes.value[panelNode.value.type] : null));
      const stepGroups = Vue.computed(() => group(state.catalog.steps, state.stepSearch));
      function addStep(type, index) {
        const n = panelNode.value;
        const spec = stepTypes.value[type];
        if (!n || n.kind !== "sequence" || !spec || readOnly.value) return;
        const step = { id: newId("step"), type, config: forms.defaults(spec.fields) };
        if (index === undefined || index === null) n.steps.push(step); else n.steps.splice(index, 0, step);
        state.openStepId = step.id;
        state.addingStep = false;
        commit();
      }
      function moveStep(index, delta) {
        const n = panelNode.value;
        const to = index + delta;
        if (!n || to < 0 || to >= n.steps.length) return;
        const [s] = n.steps.splice(index, 1);
        n.steps.splice(to, 0, s);
        commit();
        Vue.nextTick(() => document.querySelector(`[data-step-id="${s.id}"] .step-${delta < 0 ? "up" : "down"}`)?.focus());
      }
      function removeStep(index) {
        const n = panelNode.value;
        if (!n) return;
        n.steps.splice(index, 1);
        commit();
      }
      let dragStepFrom = null;
      function stepDragStart(ev, index) {
        dragStepFrom = index;
        ev.dataTransfer.effectAllowed = "move";
        ev.dataTransfer.setData("application/x-stagecraft-step", String(index));
      }
      function stepDragOver(ev) {
        const types = Array.from(ev.dataTransfer.types || []);
        if (types.includes("application/x-stagecraft-step") || types.includes("application/x-stagecraft-newstep")) ev.preventDefault();
      }
      function stepDrop(ev, index) {
        const newType = ev.dataTransfer.getData("application/x-stagecraft-newstep");
        ev.preventDefault();
        if (newType) { addStep(newType, index); return; }
        const from = dragStepFrom;
        dragStepFrom = null;
        const n = panelNode.value;
        if (from === null || !n || from === index) return;
        const [s] = n.steps.splice(from, 1);
        n.steps.splice(from < index ? index - 1 : index, 0, s);
        commit();
      }
      function newStepDragStart(ev, type) { ev.dataTransfer.setData("application/x-stagecraft-newstep", type); ev.dataTransfer.effectAllowed = "copy"; }
      const stepSummary = (s) => forms.summarize(s.type, s.config, state.lookups);
      const stepIssues = (s) => issuesByStep.value[s.id] || [];
      const hasMerge = (s) => (stepTypes.value[s.type]?.fields || []).some((f) => f.widget === "merge_text");

      // ---- palette
      function group(items, query) {
        const q = (query || "").trim().toLowerCase();
        const groups = new Map();
        for (const it of items) {
          if (q && !`${it.label} ${it.help} ${it.group}`.toLowerCase().includes(q)) continue;
          if (!groups.has(it.group)) groups.set(it.group, []);
          groups.get(it.group).push(it);
        }
        return Array.from(groups, ([name, list]) => ({ name, items: list }));
      }
      const goalGroups = Vue.computed(() => group(state.catalog.goals, state.search));
      const showBasics = Vue.computed(() => {
        const q = state.search.trim().toLowerCase();
        return { sequence: !q || "sequence steps email task delay".includes(q), note: !q || "note comment".includes(q) };
      });
      function paletteDragStart(ev, item) {
        ev.dataTransfer.setData("application/x-stagecraft", JSON.stringify(item));
        ev.dataTransfer.effectAllowed = "copy";
      }

      // ---- validation drawer / focusing
      function focusNode(id, opts) {
        if (!nodeById(id)) return;
        canvasApi.select([id]);
        state.panelId = id;
        canvasApi.center(id);
        if (opts && opts.stepId) state.openStepId = opts.stepId;
      }
      const allIssues = Vue.computed(() => [...state.issues.errors, ...state.issues.warnings]);
      const issueNodeName = (i) => {
        const n = i.node_id ? nodeById(i.node_id) : null;
        if (!n) return "Campaign";
        return n.kind === "goal" ? (n.name || goalTypes.value[n.type]?.label || "Goal") : (n.name || "Sequence");
      };

      // ---- campaign header actions
      const statusLabel = Vue.computed(() => ({ draft: "Draft", live: "Live", paused: "Paused", archived: "Archived" }[state.campaign.status] || state.campaign.status));
      const saveLabel = Vue.computed(() => ({ saved: "All changes saved", pending: "Unsaved changes…", saving: "Saving…",
        retrying: "Save failed — retrying", failed: "Save failed" }[state.save]));
      async function refreshCampaign() {
        const c = await api("GET", `/campaigns/${CID}`);
        const { draft, ...summary } = c;
        Object.assign(state.campaign, summary);
        return draft;
      }
      async function renameCampaign(ev) {
        const name = ev.target.value.trim();
        if (!name || name === state.campaign.name) { ev.target.value = state.campaign.name; return; }
        try { await api("PATCH", `/campaigns/${CID}`, { name }); state.campaign.name = name; document.title = `${name} · Stagecraft`; }
        catch (err) { ev.target.value = state.campaign.name; showToast(err.message, "error"); }
      }
      async function openPublish() {
        state.busy = true;
        try {
          if (!(await flushSave())) { showToast("Can't publish until the draft is saved.", "error"); return; }
          const res = await api("POST", `/campaigns/${CID}/publish?dry_run=1`);
          state.publish = { diff: res.diff, warnings: res.warnings || [], error: "" };
          Vue.nextTick(() => document.getElementById("publish-dialog")?.showModal());
        } catch (err) {
          if (err.code === "invalid_graph") {
            applyValidation(err.details || {});
            state.drawer = true;
            showToast("Fix the problems listed before publishing.", "error");
          } else showToast(err.message, "error");
        } finally { state.busy = false; }
      }
      async function confirmPublish() {
        state.busy = true;
        try {
          const res = await api("POST", `/campaigns/${CID}/publish`);
          document.getElementById("publish-dialog")?.close();
          state.publish = null;
          await refreshCampaign();
          showToast(`Published version ${res.version}. The campaign is ${res.status}.`);
          fetchStats();
        } catch (err) {
          if (state.publish) state.publish.error = err.message;
          if (err.code === "invalid_graph") applyValidation(err.details || {});
        } finally { state.busy = false; }
      }
      const closeDialog = (id) => { document.getElementById(id)?.close(); };
      async function openVersions() {
        try {
          const list = await api("GET", `/campaigns/${CID}/versions`);
          state.versions = list;
          Vue.nextTick(() => document.getElementById("versions-dialog")?.showModal());
        } catch (err) { showToast(err.message, "error"); }
      }
      async function rollback(number) {
        if (!window.confirm(`Publish version ${number} again as a new version? Contacts continue where their step still exists.`)) return;
        try {
          const res = await api("POST", `/campaigns/${CID}/versions/${number}/rollback`);
          closeDialog("versions-dialog");
          await refreshCampaign();
          showToast(`Rolled back: version ${number} is live again as version ${res.version}.`);
          fetchStats();
        } catch (err) { showToast(err.message, "error"); }
      }
      async function setPaused(paused) {
        try {
          const res = await api("POST", `/campaigns/${CID}/${paused ? "pause" : "resume"}`);
          Object.assign(state.campaign, res);
          showToast(paused ? "Campaign paused: no new contacts start, timers wait." : "Campaign resumed.");
        } catch (err) { showToast(err.message, "error"); }
      }
      async function exportJson() {
        state.menu = false;
        try {
          await flushSave();
          const data = await api("GET", `/campaigns/${CID}/export`);
          const blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
          const a = document.createElement("a");
          a.href = URL.createObjectURL(blob);
          a.download = `${(state.campaign.name || "campaign").replace(/[^\w-]+/g, "_")}.stagecraft.json`;
          document.body.append(a);
          a.click();
          a.remove();
          setTimeout(() => URL.revokeObjectURL(a.href), 1000);
        } catch (err) { showToast(err.message, "error"); }
      }
      async function duplicate() {
        state.menu = false;
        try {
          await flushSave();
          const c = await api("POST", `/campaigns/${CID}/duplicate`);
          window.location.href = `/campaigns/${c.id}`;
        } catch (err) { showToast(err.message, "error"); }
      }
      function pickImport() { state.menu = false; document.getElementById("import-file")?.click(); }
      async function importFile(ev) {
        const file = ev.target.files && ev.target.files[0];
        ev.target.value = "";
        if (!file) return;
        try {
          const data = JSON.parse(await file.text());
          const c = await api("POST", "/campaigns/import", data);
          const missing = c.missing_references || [];
          if (missing.length) sessionStorage.setItem(`stagecraft.missing.${c.id}`, JSON.stringify(missing));
          window.location.href = `/campaigns/${c.id}`;
        } catch (err) { showToast(`Import failed: ${err.message}`, "error"); }
      }

      // ---- live counts
      let statsTimer = null;
      async function fetchStats() {
        try {
          const res = await api("GET", `/campaigns/${CID}/stats`);
          state.stats = res.nodes || {};
        } catch (_e) { /* counts are best-effort; next hint retries */ }
      }
      const statsSoon = () => { clearTimeout(statsTimer); statsTimer = setTimeout(fetchStats, 250); };
      function connectLive() {
        if (typeof window.io !== "function") { state.live = "off"; return; }
        const socket = window.io({ withCredentials: true, transports: ["websocket", "polling"] });
        socket.on("connect", () => {
          socket.emit("join", { room: `campaign:${CID}` }, (ack) => { state.live = ack && ack.ok ? "live" : "off"; });
          statsSoon();  // we may have missed hints while away
        });
        socket.on("disconnect", () => { state.live = "connecting"; });
        socket.on("connect_error", () => { state.live = "connecting"; });
        socket.on("stats", statsSoon);
        socket.on("campaign_published", () => { refreshCampaign().catch(() => {}); statsSoon(); });
        socket.on("campaign_status", (p) => { if (p && p.status) state.campaign.status = p.status; });
        window.__stagecraftSocket = socket;
      }

      // ---- keyboard
      function onKey(ev) {
        if (ev.key === "Escape") { state.menu = false; if (state.editingId) state.editingId = null; }
        if (isTyping(ev.target) || document.querySelector("dialog[open]")) return;
        const mod = ev.ctrlKey || ev.metaKey;
        const k = ev.key.toLowerCase();
        if (mod && k === "z" && !ev.shiftKey) { ev.preventDefault(); undo(); }
        else if (mod && ((k === "z" && ev.shiftKey) || k === "y")) { ev.preventDefault(); redo(); }
        else if (mod && k === "c") { copySelection(); }
        else if (mod && k === "v") { ev.preventDefault(); pasteClipboard(); }
        else if (mod && k === "a") { ev.preventDefault(); canvasApi.selectAll(); }
        else if (!mod && (ev.key === "Delete" || ev.key === "Backspace")) { ev.preventDefault(); deleteSelection(); }
      }
      function onKeyUp(ev) { if (!isTyping(ev.target) && ev.key.startsWith("Arrow")) pullPositions(); }

      function onNodeDblclick(id) { if (!readOnly.value) state.editingId = id; }
      function onNodeClick(id, ev) { if (!(ev && (ev.shiftKey || ev.ctrlKey || ev.metaKey))) state.panelId = id; }
      function onPaneClick() { state.menu = false; }
      function onViewport(v) { try { localStorage.setItem(`stagecraft.viewport.${CID}`, JSON.stringify(v)); } catch (_e) { /* full */ } }
      const minimapColor = (type) => ({ goal: "#7048e8", sequence: "#1c7ed6", note: "#f2c94c" }[type] || "#adb5bd");

      // ---- provide to node components
      Vue.provide("canvas", Vue.reactive({
        catalog: Vue.toRef(state, "catalog"), lookups: Vue.toRef(state, "lookups"), stats: Vue.toRef(state, "stats"),
        editingId: Vue.toRef(state, "editingId"), readOnly, goalTypes, stepTypes, issuesByNode, issuesByStep, hasIncoming,
        finishRename, focusNode,
      }));

      // Big campaigns open at a readable zoom on their top-left (entry) corner rather than
      // zoomed out over everything: only the visible nodes render, so this is what keeps
      // opening and panning fast (the minimap gives the overview).
      function openingView() {
        const stage = document.querySelector(".cv-stage")?.getBoundingClientRect() || { width: 1000, height: 700 };
        const xs = graph.nodes.map((n) => n.position.x), ys = graph.nodes.map((n) => n.position.y);
        const minX = Math.min(...xs), minY = Math.min(...ys);
        const w = Math.max(...xs) - minX + 260, h = Math.max(...ys) - minY + 120;
        const zoom = Math.max(0.6, Math.min(1, stage.width / w, stage.height / h));
        return { x: 40 - minX * zoom, y: 40 - minY * zoom, zoom };
      }

      // ---- load
      async function load() {
        try {
          const [campaign, catalog, pipelines, users, tags] = await Promise.all([
            api("GET", `/campaigns/${CID}`), api("GET", "/catalog"),
            api("GET", "/pipelines").catch(() => []), api("GET", "/users").catch(() => []), api("GET", "/tags").catch(() => []),
          ]);
          window.performance?.mark?.("canvas-data");
          state.catalog = catalog;
          state.lookups = { pipelines, users, tags };
          const { draft, ...summary } = campaign;
          Object.assign(state.campaign, summary);
          graph.nodes = (draft.nodes || []).map(normNode);
          graph.edges = (draft.edges || []).map(normEdge);
          if (draft.ui) graph.ui = clone(draft.ui);
          history.reset(snapshot());
          state.loading = false;
          await Vue.nextTick();
          canvasApi.load(graph.nodes.map(toFlowNode), graph.edges.map(toFlowEdge));
          let vp = null;
          try { vp = JSON.parse(localStorage.getItem(`stagecraft.viewport.${CID}`) || "null"); } catch (_e) { vp = null; }
          if (vp && graph.nodes.length) canvasApi.setViewport(vp);
          else if (graph.nodes.length > flow.VISIBLE_ONLY_ABOVE) canvasApi.setViewport(openingView());
          else if (graph.nodes.length) setTimeout(() => canvasApi.fitView({ duration: 0 }), 30);
          if (!readOnly.value && graph.nodes.length) api("POST", `/campaigns/${CID}/validate`).then(applyValidation).catch(() => {});
          const missing = sessionStorage.getItem(`stagecraft.missing.${CID}`);
          if (missing) { sessionStorage.removeItem(`stagecraft.missing.${CID}`); state.imported = JSON.parse(missing); }
          fetchStats();
          connectLive();
          document.body.dataset.canvasReady = "1";
          window.performance?.mark?.("canvas-ready");
        } catch (err) {
          state.loadError = err.message || "Could not load the campaign";
          state.loading = false;
        }
      }
      Vue.onMounted(() => {
        document.addEventListener("keydown", onKey);
        document.addEventListener("keyup", onKeyUp);
        document.addEventListener("click", (ev) => { if (!ev.target.closest(".cv-menu")) state.menu = false; });
        load();
      });

      // A tiny test/bench hook: read-only views of the model.
      window.__stagecraftCanvas = { serialize: () => serialize(graph), nodeCount: () => graph.nodes.length, api: canvasApi };

      return {
        showMinimap: Vue.computed(() => (state.minimap === null ? graph.nodes.length <= flow.VISIBLE_ONLY_ABOVE : state.minimap)),
        toggleMinimap: () => { state.minimap = !(state.minimap === null ? graph.nodes.length <= flow.VISIBLE_ONLY_ABOVE : state.minimap); },
        state, graph, readOnly, nodeTypes: { goal: GoalNode, sequence: SequenceNode, note: NoteNode },
        FLOW_ID, goalGroups, showBasics, stepGroups, goalTypes, stepTypes, panelNode, panelSpec, allIssues,
        issuesByNode, issuesByStep, statusLabel, saveLabel, minimapColor,
        paletteDragStart, addNode, addAtCenter, connect, moved, onNodeDblclick, onNodeClick, onPaneClick, onViewport,
        undo, redo, deleteSelection, copySelection, pasteClipboard, tidyUp, commit, touch,
        addStep, moveStep, removeStep, stepDragStart, stepDragOver, stepDrop, newStepDragStart, stepSummary, stepIssues, hasMerge,
        focusNode, issueNodeName, renameCampaign, openPublish, confirmPublish, closeDialog, openVersions, rollback, setPaused,
        exportJson, duplicate, pickImport, importFile, fitView: () => canvasApi.fitView(), zoomIn: () => canvasApi.zoomIn(), zoomOut: () => canvasApi.zoomOut(),
        startRename: (id) => { state.editingId = id; },
        fmtDate: (iso) => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }) : ""),
        diffCount: (d) => (d ? ["nodes", "steps"].reduce((a, k) => a + d[k].added.length + d[k].removed.length + d[k].changed.length, 0) + d.edges.added.length + d.edges.removed.length : 0),
      };
    },
    template: window.StagecraftCanvasTemplate,
  };

  Vue.createApp(App).mount(mount);
})();
