// The one module that touches Vue Flow (VueFlowCore, MiniMap, Controls, Background).
// Everything else talks to `Stagecraft.flow`: a <flow-canvas> component that emits
// library-neutral events, a <flow-handle> for node ports, and useCanvas(id), the
// imperative API (sync nodes/edges, selection, viewport, screen→flow projection).
// Moving to @xyflow/vue 2 later should only touch this file.
(function () {
  "use strict";
  const Vue = window.Vue;
  const Core = window.VueFlowCore;
  const { VueFlow, Handle, Position, MarkerType, useVueFlow } = Core;
  const MiniMap = window.VueFlowMiniMap.MiniMap;
  const Controls = window.VueFlowControls.Controls;
  const Background = window.VueFlowBackground.Background;

  const GRID = 20;
  const VISIBLE_ONLY_ABOVE = 500;
  const EDGE_DEFAULTS = { type: "smoothstep", markerEnd: { type: MarkerType.ArrowClosed, width: 18, height: 18 } };

  // A node port: kind "in" (target, left) or "out" (source, right).
  const FlowHandle = {
    name: "FlowHandle",
    components: { Handle },
    props: { kind: { type: String, required: true }, connectable: { type: Boolean, default: true } },
    template: `<Handle :type="kind === 'in' ? 'target' : 'source'"
                       :position="kind === 'in' ? left : right"
                       :connectable="connectable"
                       :class="'sc-handle sc-handle-' + kind" />`,
    setup() { return { left: Position.Left, right: Position.Right }; },
  };

  // <flow-canvas id node-types node-count read-only minimap minimap-color @connect @moved
  //              @node-click @node-dblclick @pane-click @drop-item @ready @viewport>
  const FlowCanvas = {
    name: "FlowCanvas",
    components: { VueFlow, MiniMap, Controls, Background },
    props: {
      id: { type: String, required: true },
      nodeTypes: { type: Object, required: true },
      nodeCount: { type: Number, default: 0 },
      readOnly: { type: Boolean, default: false },
      minimapColor: { type: Function, default: null },
      minimap: { type: Boolean, default: true },
    },
    emits: ["connect", "moved", "node-click", "node-dblclick", "pane-click", "drop-item", "ready", "viewport"],
    setup(props, { emit }) {
      const onlyVisible = Vue.computed(() => props.nodeCount > VISIBLE_ONLY_ABOVE);
      const types = Vue.markRaw(Object.fromEntries(
        Object.entries(props.nodeTypes).map(([k, v]) => [k, Vue.markRaw(v)])));
      const store = useVueFlow(props.id);
      const moved = (nodes) => emit("moved", (nodes || []).map((n) => ({ id: n.id, position: { x: n.position.x, y: n.position.y } })));
      const onDragOver = (event) => {
        if (props.readOnly) return;
        if (Array.from(event.dataTransfer?.types || []).includes("application/x-stagecraft")) {
          event.preventDefault();
          event.dataTransfer.dropEffect = "copy";
        }
      };
      const onDrop = (event) => {
        const raw = event.dataTransfer?.getData("application/x-stagecraft");
        if (!raw || props.readOnly) return;
        event.preventDefault();
        let item;
        try { item = JSON.parse(raw); } catch (_e) { return; }
        const p = store.screenToFlowCoordinate({ x: event.clientX, y: event.clientY });
        emit("drop-item", item, { x: p.x, y: p.y });
      };
      return {
        props, onlyVisible, types, onDragOver, onDrop, GRID,
        snapGrid: [GRID, GRID],
        edgeDefaults: EDGE_DEFAULTS,
        multiKeys: ["Shift", "Meta", "Control"],
        onConnect: (c) => emit("connect", { source: c.source, target: c.target }),
        onDragStop: (e) => moved(e.nodes && e.nodes.length ? e.nodes : [e.node]),
        onSelDragStop: (e) => moved(e.nodes),
        onNodeClick: (e) => emit("node-click", e.node.id, e.event),
        onNodeDbl: (e) => emit("node-dblclick", e.node.id, e.event),
        onPaneClick: (e) => emit("pane-click", e),
        onInit: () => emit("ready"),
        onMoveEnd: () => emit("viewport", store.getViewport()),
        nodeColor: (n) => (props.minimapColor ? props.minimapColor(n.type, n.data) : "#adb5bd"),
      };
    },
    template: `
      <div class="flow-wrap" @dragover="onDragOver" @drop="onDrop">
        <VueFlow :id="props.id" :node-types="types" :default-edge-options="edgeDefaults"
                 :snap-to-grid="true" :snap-grid="snapGrid" :only-render-visible-elements="onlyVisible"
                 :delete-key-code="null" :multi-selection-key-code="multiKeys" selection-key-code="Shift"
                 :zoom-on-double-click="false" :min-zoom="0.1" :max-zoom="2"
                 :nodes-draggable="!props.readOnly" :nodes-connectable="!props.readOnly"
                 :elevate-edges-on-select="true"
                 @connect="onConnect" @node-drag-stop="onDragStop" @selection-drag-stop="onSelDragStop"
                 @node-click="onNodeClick" @node-double-click="onNodeDbl" @pane-click="onPaneClick"
                 @init="onInit" @move-end="onMoveEnd">
          <Background :gap="GRID" :size="1.2" pattern-color="#c8ced9" />
          <MiniMap v-if="props.minimap" pannable zoomable :node-color="nodeColor" :node-stroke-width="0" mask-color="rgba(240,242,246,.7)" />
          <Controls :show-interactive="false" position="bottom-left" />
        </VueFlow>
      </div>`,
  };

  // The imperative side, bound to one canvas id. Call from a component's setup().
  function useCanvas(id) {
    const store = useVueFlow(id);
    const api = {
      GRID,
      snap: (v) => Math.round(v / GRID) * GRID,
      // Replace everything (first load / big changes): fastest path.
      load(nodes, edges) {
        // Vue Flow counts a node without measured dimensions as visible, so with
        // only-render-visible-elements every node would still render once on open.
        // An estimate (deliberately fractional, so the real measurement always
        // replaces it and computes the handle bounds) keeps off-screen nodes unrendered.
        store.setNodes(nodes.map((n) => ({ ...n, dimensions: { width: 239.5, height: n.type === "note" ? 79.5 : 95.5 } })));
        store.setEdges(edges);
      },
      // Make the canvas match `nodes` / `edges` (by id), keeping selection and internals.
      sync(nodes, edges) {
        const wantNodes = new Map(nodes.map((n) => [n.id, n]));
        const goneNodes = store.getNodes.value.filter((n) => !wantNodes.has(n.id)).map((n) => n.id);
        if (goneNodes.length) store.removeNodes(goneNodes, true);
        const addNodes = [];
        for (const n of nodes) {
          const cur = store.findNode(n.id);
          if (!cur) { addNodes.push(n); continue; }
          if (cur.data !== n.data) cur.data = n.data;
          if (cur.type !== n.type) cur.type = n.type;
          if (cur.position.x !== n.position.x || cur.position.y !== n.position.y) cur.position = { x: n.position.x, y: n.position.y };
        }
        if (addNodes.length) store.addNodes(addNodes);
        const wantEdges = new Map(edges.map((e) => [e.id, e]));
        const goneEdges = store.getEdges.value.filter((e) => !wantEdges.has(e.id)).map((e) => e.id);
        if (goneEdges.length) store.removeEdges(goneEdges);
        const addEdges = edges.filter((e) => !store.findEdge(e.id));
        if (addEdges.length) store.addEdges(addEdges);
      },
      selectedNodeIds: () => store.getSelectedNodes.value.map((n) => n.id),
      selectedEdgeIds: () => store.getSelectedEdges.value.map((e) => e.id),
      selectedNodes: Vue.computed(() => store.getSelectedNodes.value.map((n) => n.id)),
      select(nodeIds, edgeIds) {
        store.removeSelectedElements();
        const nodes = (nodeIds || []).map((i) => store.findNode(i)).filter(Boolean);
        const edges = (edgeIds || []).map((i) => store.findEdge(i)).filter(Boolean);
        if (nodes.length) store.addSelectedNodes(nodes);
        if (edges.length) store.addSelectedEdges(edges);
      },
      selectAll() { store.addSelectedNodes(store.getNodes.value); },
      clearSelection() { store.removeSelectedElements(); },
      project: (clientX, clientY) => store.screenToFlowCoordinate({ x: clientX, y: clientY }),
      fitView: (opts) => store.fitView({ padding: 0.12, duration: 250, maxZoom: 1.1, ...(opts || {}) }),
      zoomIn: () => store.zoomIn({ duration: 150 }),
      zoomOut: () => store.zoomOut({ duration: 150 }),
      center(nodeId) {
        const n = store.findNode(nodeId);
        if (!n) return;
        const w = n.dimensions?.width || 220, h = n.dimensions?.height || 80;
        const zoom = Math.max(store.getViewport().zoom, 0.9);
        store.setCenter(n.computedPosition.x + w / 2, n.computedPosition.y + h / 2, { zoom, duration: 300 });
      },
      viewport: () => store.getViewport(),
      setViewport: (v) => store.setViewport(v),
      panBy: (dx, dy) => store.panBy({ x: dx, y: dy }),
      nodeSize(nodeId) {
        const n = store.findNode(nodeId);
        return n ? { width: n.dimensions?.width || 0, height: n.dimensions?.height || 0 } : null;
      },
      // Live DOM positions (during a drag the model is updated only on drop).
      positions: () => Object.fromEntries(store.getNodes.value.map((n) => [n.id, { x: n.position.x, y: n.position.y }])),
    };
    return api;
  }

  window.Stagecraft = Object.assign(window.Stagecraft || {}, {
    flow: { FlowCanvas, FlowHandle, useCanvas, GRID, VISIBLE_ONLY_ABOVE },
  });
})();
