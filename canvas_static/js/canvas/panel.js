// The side panel of the selected goal, sequence, decision or split (its name, config form,
// a sequence's steps: add, reorder by buttons or drag, remove; a decision's or split's paths
// and Test tab in branch_panel.js), and the problems drawer that focuses the node (and
// step) an issue is about. Escape closes the panel (edits.js).
(function () {
  "use strict";
  const S = window.Stagecraft;
  const Vue = window.Vue;
  const STEP = "application/x-stagecraft-step", NEW_STEP = "application/x-stagecraft-newstep";

  // usePanel(ctx) -> the panel's and drawer's computed values and handlers.
  function usePanel(ctx) {
    const { state, canvasApi, readOnly, goalTypes, stepTypes, issuesByStep } = ctx;

    const panelNode = Vue.computed(() => (state.panelId ? ctx.nodeById(state.panelId) : null));
    Vue.watch(canvasApi.selectedNodes, (ids) => {
      if (ids.length === 1) {
        if (state.panelId !== ids[0]) { state.panelId = ids[0]; state.openStepId = null; state.addingStep = false; state.panelTab = "paths"; }
      }
      else state.panelId = null;  // none, or a multi-selection
    });
    const panelSpec = Vue.computed(() => (panelNode.value?.kind === "goal" ? goalTypes.value[panelNode.value.type] : null));
    const stepGroups = Vue.computed(() => S.canvas.groupItems(state.catalog.steps, state.stepSearch));

    function addStep(type, index) {
      const n = panelNode.value;
      const spec = stepTypes.value[type];
      if (!n || n.kind !== "sequence" || !spec || readOnly.value) return;
      const step = { id: ctx.newId("step"), type, config: S.forms.defaults(spec.fields) };
      if (index === undefined || index === null) n.steps.push(step); else n.steps.splice(index, 0, step);
      state.openStepId = step.id;
      state.addingStep = false;
      ctx.commit();
    }
    function moveStep(index, delta) {
      const n = panelNode.value;
      const to = index + delta;
      if (!n || to < 0 || to >= n.steps.length) return;
      const [s] = n.steps.splice(index, 1);
      n.steps.splice(to, 0, s);
      ctx.commit();
      // keep the keyboard on the button that moved the step
      Vue.nextTick(() => document.querySelector(`[data-step-id="${s.id}"] .step-${delta < 0 ? "up" : "down"}`)?.focus());
    }
    function removeStep(index) {
      const n = panelNode.value;
      if (!n) return;
      n.steps.splice(index, 1);
      ctx.commit();
    }

    // Drag a step row to reorder, or a step type from the step palette to insert it.
    let dragStepFrom = null;
    function stepDragStart(ev, index) {
      dragStepFrom = index;
      ev.dataTransfer.effectAllowed = "move";
      ev.dataTransfer.setData(STEP, String(index));
    }
    function stepDragOver(ev) {
      const types = Array.from(ev.dataTransfer.types || []);
      if (types.includes(STEP) || types.includes(NEW_STEP)) ev.preventDefault();
    }
    function stepDrop(ev, index) {
      const newType = ev.dataTransfer.getData(NEW_STEP);
      ev.preventDefault();
      if (newType) { addStep(newType, index); return; }
      const from = dragStepFrom;
      dragStepFrom = null;
      const n = panelNode.value;
      if (from === null || !n || from === index) return;
      const [s] = n.steps.splice(from, 1);
      n.steps.splice(from < index ? index - 1 : index, 0, s);
      ctx.commit();
    }
    function newStepDragStart(ev, type) { ev.dataTransfer.setData(NEW_STEP, type); ev.dataTransfer.effectAllowed = "copy"; }

    // The server's summary of a step: undefined until known, "" when not configured.
    const stepSummary = (s) => ctx.summaries[s.id];
    const stepIssues = (s) => issuesByStep.value[s.id] || [];
    const hasMerge = (s) => (stepTypes.value[s.type]?.fields || []).some((f) => f.widget === "merge_text");

    // A decision's or split's paths changed: edge labels follow, then the edit is recorded.
    function commitPaths() { ctx.syncFlow(); ctx.commit(); }
    // Put the keyboard in the panel (after adding a node from the keyboard): its name field.
    function focusPanel() {
      let tries = 0;
      const attempt = () => {
        const el = document.querySelector(".cv-panel .panel-name");
        if (el) { el.focus(); return; }
        if (++tries < 20) requestAnimationFrame(attempt);
      };
      Vue.nextTick(attempt);
    }
    const PANEL_KINDS = { goal: "Goal", sequence: "Sequence", decision: "Decision", split: "Split" };
    const panelKind = Vue.computed(() => {
      const n = panelNode.value;
      if (!n) return "";
      return n.kind === "goal" ? `Goal · ${panelSpec.value ? panelSpec.value.label : n.type}` : PANEL_KINDS[n.kind] || n.kind;
    });
    const panelIcon = Vue.computed(() => {
      const n = panelNode.value;
      if (!n) return "dot";
      return { goal: panelSpec.value?.icon || "flag", sequence: "list", decision: "diamond", split: "split" }[n.kind] || "dot";
    });

    // ---- problems drawer
    function focusNode(id, opts) {
      if (!ctx.nodeById(id)) return;
      canvasApi.select([id]);
      state.panelId = id;
      canvasApi.center(id);
      if (opts && opts.stepId) state.openStepId = opts.stepId;
    }
    const allIssues = Vue.computed(() => [...state.issues.errors, ...state.issues.warnings]);
    const issueNodeName = (i) => {
      const n = i.node_id ? ctx.nodeById(i.node_id) : null;
      if (!n) return "Campaign";
      if (n.kind === "goal") return n.name || goalTypes.value[n.type]?.label || "Goal";
      return n.name || PANEL_KINDS[n.kind] || n.kind;
    };

    return { panelNode, panelSpec, panelKind, panelIcon, commitPaths, focusPanel, stepGroups, addStep, moveStep, removeStep, stepDragStart, stepDragOver, stepDrop,
             newStepDragStart, stepSummary, stepIssues, hasMerge, focusNode, allIssues, issueNodeName };
  }

  S.canvas = Object.assign(S.canvas || {}, { usePanel });
})();
