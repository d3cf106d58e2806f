// The campaign canvas page: the shared state and helpers every canvas module works on
// (`ctx`), the modules composed over it (js/canvas/*.js: autosave, undo, edits, palette,
// panel, publish, campaign, live, summaries), loading the campaign, and the mount.
// Vue Flow is reached only through Stagecraft.flow (flow_adapter.js). User strings render as text only.
"use strict";
Stagecraft.page("canvas-app", ({ root: mount, api, ScIcon, flow, forms, createHistory, canvas: C }) => {
  const Vue = window.Vue;
  const CID = Number(mount.dataset.campaignId);
  const FLOW_ID = `campaign-${CID}`;
  const G = C.graph;

  // The context of the canvas modules: state, graph and shared helpers. Each use*() adds its
  // functions to it, and the modules call one another through it at call time.
  function createContext() {
    const canvasApi = flow.useCanvas(FLOW_ID);
    const graph = Vue.reactive({ nodes: [], edges: [] });
    const state = Vue.reactive({
      loading: true, loadError: "",
      campaign: { id: CID, name: mount.dataset.campaignName || "", status: mount.dataset.campaignStatus || "draft" },
      catalog: { goals: [], steps: [], merge_fields: [] },
      lookups: { pipelines: [], users: [], tags: [], forms: [], links: [] },
      issues: { errors: [], warnings: [] }, validated: false,
      stats: {}, branchStats: {}, emailStats: {}, tested: null, live: "connecting", panelTab: "paths",
      editingId: null, panelId: null, drawer: false, menu: false,
      search: "", stepSearch: "", addingStep: false, openStepId: null,
      save: "saved", saveError: "", minimap: null, canUndo: false, canRedo: false,
      toast: null, publish: null, versions: null, busy: false, imported: null,
    });
    const issuesOf = (field) => Vue.computed(() => {
      const out = {};
      for (const i of [...state.issues.errors, ...state.issues.warnings]) if (i[field]) (out[i[field]] ||= []).push(i);
      return out;
    });
    let toastTimer = null;
    const nodeById = (id) => graph.nodes.find((n) => n.id === id);
    const flowEdges = () => graph.edges.map((e) => G.toFlowEdge(e, nodeById));
    return {
      CID, FLOW_ID, canvasApi, graph, state, history: createHistory(100),
      readOnly: Vue.computed(() => state.campaign.status === "archived"),
      goalTypes: Vue.computed(() => Object.fromEntries(state.catalog.goals.map((g) => [g.type, g]))),
      stepTypes: Vue.computed(() => Object.fromEntries(state.catalog.steps.map((s) => [s.type, s]))),
      issuesByNode: issuesOf("node_id"),
      issuesByStep: issuesOf("step_id"),
      hasIncoming: Vue.computed(() => Object.fromEntries(graph.edges.map((e) => [e.target, true]))),
      nodeById,
      newId: (kind) => G.newId(graph, kind),
      flowEdges,
      syncFlow: () => canvasApi.sync(graph.nodes.map(G.toFlowNode), flowEdges()),
      snapshot: () => JSON.stringify(G.serialize(graph)),
      applyValidation(result) {
        state.issues = { errors: result.errors || [], warnings: result.warnings || [] };
        state.validated = true;
      },
      showToast(message, kind) {
        state.toast = { message, kind: kind || "info", at: Date.now() };
        clearTimeout(toastTimer);
        toastTimer = setTimeout(() => { state.toast = null; }, kind === "error" ? 6000 : 3500);
      },
    };
  }

  // A campaign opens at a readable zoom (node text at least 11 px: the smallest is 11.5 px
  // at zoom 1): all of it when it fits at READABLE_ZOOM or more (up to the fit cap), else
  // its top-left (entry) corner at READABLE_ZOOM. Fit view (bottom-left) shows everything.
  const READABLE_ZOOM = 0.96;
  function openingView(graph, canvasApi) {
    if (canvasApi.fitZoom() >= READABLE_ZOOM) return null;  // it all fits, readably: fit view
    const xs = graph.nodes.map((n) => n.position.x), ys = graph.nodes.map((n) => n.position.y);
    const minX = Math.min(...xs), minY = Math.min(...ys);
    return { x: 48 - minX * READABLE_ZOOM, y: 48 - minY * READABLE_ZOOM, zoom: READABLE_ZOOM };
  }

  const App = {
    components: { FlowCanvas: flow.FlowCanvas, ScIcon, ScConfigForm: forms.ScConfigForm, ScPreview: forms.ScPreview,
                  ScDecisionPaths: C.ScDecisionPaths, ScSplitPaths: C.ScSplitPaths, ScBranchTest: C.ScBranchTest },
    setup() {
      const ctx = createContext();
      for (const use of [C.useAutosave, C.useUndo, C.useEdits, C.usePalette, C.usePanel, C.usePublish, C.useCampaign,
                         C.useLive, C.useSummaries]) Object.assign(ctx, use(ctx));
      // How a rule shows a value: stages, pipelines and users by name (the Test tab).
      const ruleValueName = (field, value) => {
        const pipelines = state.lookups.pipelines || [];
        if (field === "opportunity.stage_id") {
          for (const p of pipelines) for (const st of p.stages || []) if (st.id === value) return st.name;
        } else if (field === "opportunity.pipeline_id") {
          const p = pipelines.find((x) => x.id === value);
          if (p) return p.name;
        } else if (field === "contact.owner_id" || field === "opportunity.owner_id") {
          const u = (state.lookups.users || []).find((x) => x.id === value);
          if (u) return u.name || u.username;
        }
        if (value === true) return "yes";
        if (value === false) return "no";
        return typeof value === "string" ? `“${value}”` : String(value);
      };
      const { state, graph, canvasApi, readOnly } = ctx;

      // ---- what the node components read (provided, not passed through Vue Flow)
      Vue.provide("canvas", Vue.reactive({
        catalog: Vue.toRef(state, "catalog"), lookups: Vue.toRef(state, "lookups"), stats: Vue.toRef(state, "stats"),
        editingId: Vue.toRef(state, "editingId"), summaries: ctx.summaries, readOnly, goalTypes: ctx.goalTypes,
        stepTypes: ctx.stepTypes, issuesByNode: ctx.issuesByNode, issuesByStep: ctx.issuesByStep, hasIncoming: ctx.hasIncoming,
        finishRename: ctx.finishRename, focusNode: ctx.focusNode,
        branchStats: Vue.toRef(state, "branchStats"), tested: Vue.toRef(state, "tested"), campaignId: CID,
        setTested: (t) => { state.tested = t; }, newId: ctx.newId, removePathEdges: ctx.removePathEdges,
        flushSave: ctx.flushSave, ruleValueName, emailStats: Vue.toRef(state, "emailStats"),
        // The link goal offers the links of the saved draft's emails: save first, then ask.
        refreshLinks: async () => {
          try { await ctx.flushSave(); state.lookups.links = await api("GET", `/campaigns/${CID}/links`); } catch (_e) { /* keep the list */ }
        },
      }));

      async function load() {
        try {
          const [campaign, catalog, pipelines, users, tags, forms, links] = await Promise.all([
            api("GET", `/campaigns/${CID}`), api("GET", "/catalog"),
            api("GET", "/pipelines").catch(() => []), api("GET", "/users").catch(() => []), api("GET", "/tags").catch(() => []),
            api("GET", "/forms").catch(() => []), api("GET", `/campaigns/${CID}/links`).catch(() => []),
          ]);
          window.performance?.mark?.("canvas-data");
          state.catalog = catalog;
          state.lookups = { pipelines, users, tags, forms, links };
          const { draft, ...summary } = campaign;
          Object.assign(state.campaign, summary);
          graph.nodes = (draft.nodes || []).map(G.normNode);
          graph.edges = (draft.edges || []).map(G.normEdge);
          if (draft.ui) graph.ui = G.clone(draft.ui);
          ctx.history.reset(ctx.snapshot());
          ctx.loadSummaries();
          state.loading = false;
          await Vue.nextTick();
          canvasApi.load(graph.nodes.map(G.toFlowNode), ctx.flowEdges());
          let vp = null;
          try { vp = JSON.parse(localStorage.getItem(`stagecraft.viewport.${CID}`) || "null"); } catch (_e) { vp = null; }
          if (vp && graph.nodes.length) canvasApi.setViewport(vp);
          else if (graph.nodes.length) {
            const corner = openingView(graph, canvasApi);
            if (corner) canvasApi.setViewport(corner); else setTimeout(() => canvasApi.fitView({ duration: 0 }), 30);
          }
          if (!readOnly.value && graph.nodes.length) api("POST", `/campaigns/${CID}/validate`).then(ctx.applyValidation).catch(() => {});
          const missing = sessionStorage.getItem(`stagecraft.missing.${CID}`);
          if (missing) { sessionStorage.removeItem(`stagecraft.missing.${CID}`); state.imported = JSON.parse(missing); }
          ctx.fetchStats();
          ctx.connectLive();
          document.body.dataset.canvasReady = "1";
          window.performance?.mark?.("canvas-ready");
        } catch (err) {
          state.loadError = err.message || "Could not load the campaign";
          state.loading = false;
        }
      }
      Vue.onMounted(() => {
        document.addEventListener("keydown", ctx.onKey);
        document.addEventListener("keyup", ctx.onKeyUp);
        document.addEventListener("click", (ev) => { if (!ev.target.closest(".cv-menu")) state.menu = false; });
        load();
      });

      // A tiny test/bench hook: read-only views of the model.
      window.__stagecraftCanvas = { serialize: () => G.serialize(graph), nodeCount: () => graph.nodes.length, api: canvasApi,
                                    overview: () => canvasApi.overview() };

      const minimapDefault = () => graph.nodes.length <= flow.VISIBLE_ONLY_ABOVE;
      return {
        ...ctx, nodeTypes: { ...C.nodeTypes, ...C.branchNodeTypes }, ruleValueName,
        showMinimap: Vue.computed(() => (state.minimap === null ? minimapDefault() : state.minimap)),
        toggleMinimap: () => { state.minimap = !(state.minimap === null ? minimapDefault() : state.minimap); },
        minimapColor: (type) => ({ goal: "#7048e8", sequence: "#1c7ed6", decision: "#d9480f", split: "#0b7285", note: "#f2c94c" }[type] || "#adb5bd"),
        onNodeDblclick: (id) => { if (!readOnly.value) state.editingId = id; },
        onNodeClick: (id, ev) => { if (!(ev && (ev.shiftKey || ev.ctrlKey || ev.metaKey))) state.panelId = id; },
        onPaneClick: () => { state.menu = false; },
        // Tabs: the arrow keys move between Paths and Test.
        tabKey: (ev) => {
          if (ev.key !== "ArrowRight" && ev.key !== "ArrowLeft") return;
          ev.preventDefault();
          state.panelTab = state.panelTab === "test" ? "paths" : "test";
          Vue.nextTick(() => document.getElementById(state.panelTab === "test" ? "tab-test" : "tab-paths")?.focus());
        },
        onViewport: (v) => { try { localStorage.setItem(`stagecraft.viewport.${CID}`, JSON.stringify(v)); } catch (_e) { /* full */ } },
      };
    },
    template: window.StagecraftCanvasTemplate,
  };

  Vue.createApp(App).mount(mount);
});
