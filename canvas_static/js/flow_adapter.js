// The one module that touches Vue Flow (VueFlowCore, MiniMap, Background).
// Everything else talks to `Stagecraft.flow`: a <flow-canvas> component that emits
// library-neutral events, a <flow-handle> for node ports (a decision has one out-port per
// path, each with its own id), and useCanvas(id), the imperative API (sync nodes/edges,
// selection, viewport, screen→flow projection).
// Big campaigns zoomed far out are drawn as a level-of-detail overview on one <canvas>
// (coloured boxes and lines) instead of a thousand node components: fitting all of a
// 1,000-node campaign and panning it stay fast. Zooming back in shows the real nodes.
// Moving to @xyflow/vue 2 later should only touch this file.
(function () {
  "use strict";
  const Vue = window.Vue;
  const Core = window.VueFlowCore;
  const { VueFlow, Handle, Position, MarkerType, Panel, useVueFlow, getRectOfNodes, getTransformForBounds } = Core;
  const MiniMap = window.VueFlowMiniMap.MiniMap;
  const Background = window.VueFlowBackground.Background;

  const GRID = 20;
  const VISIBLE_ONLY_ABOVE = 500;
  const MIN_ZOOM = 0.05, MAX_ZOOM = 2, FIT_MAX_ZOOM = 1.1, FIT_PADDING = 0.12;
  // Below LOD_ZOOM a campaign of more than LOD_ABOVE nodes is drawn as an overview; above LOD_EXIT the nodes return.
  const LOD_ABOVE = VISIBLE_ONLY_ABOVE, LOD_ZOOM = 0.4, LOD_EXIT = 0.45;
  const LOD_COLORS = { goal: "#7048e8", sequence: "#1c7ed6", decision: "#d9480f", split: "#0b7285", note: "#e0b400" };
  const EST = { width: 239.5, height: 95.5, note: 79.5 };
  const EDGE_DEFAULTS = { type: "smoothstep", markerEnd: { type: MarkerType.ArrowClosed, width: 16, height: 16, color: "#98a2b3" },
                          pathOptions: { offset: 24, borderRadius: 10 } };

  // Level-of-detail state per canvas id (useVueFlow hands out a fresh wrapper per call, so it can't live there).
  const LOD = new Map();
  function lodOf(id) {
    if (!LOD.has(id)) LOD.set(id, { on: false, ref: Vue.shallowRef(false), redraw: null });
    return LOD.get(id);
  }

  // A node port: kind "in" (target, left) or "out" (source, right). `handleId` names one of several
  // out-ports (a decision's paths); `label` is its accessible name.
  const FlowHandle = {
    name: "FlowHandle",
    components: { Handle },
    props: { kind: { type: String, required: true }, connectable: { type: Boolean, default: true },
             handleId: { type: String, default: null }, label: { type: String, default: null } },
    template: `<Handle :id="handleId || undefined" :type="kind === 'in' ? 'target' : 'source'"
                       :position="kind === 'in' ? left : right"
                       :connectable="connectable" :title="label || undefined"
                       :class="['sc-handle', 'sc-handle-' + kind, handleId ? 'sc-handle-path' : '']" :data-handle="handleId || kind" />`,
    setup() { return { left: Position.Left, right: Position.Right }; },
  };

  // Zoom in / out / fit, with names for screen readers (Vue Flow's own buttons have none) and the
  // fit capped at FIT_MAX_ZOOM like every other fit on the canvas.
  const FlowControls = {
    name: "FlowControls",
    components: { Panel },
    emits: ["zoom-in", "zoom-out", "fit"],
    template: `
      <Panel position="bottom-left" class="sc-controls" role="group" aria-label="Zoom">
        <button type="button" class="sc-control" aria-label="Zoom in" title="Zoom in" @click="$emit('zoom-in')">
          <svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 5v14M5 12h14" /></svg></button>
        <button type="button" class="sc-control" aria-label="Zoom out" title="Zoom out" @click="$emit('zoom-out')">
          <svg viewBox="0 0 24 24" aria-hidden="true"><path d="M5 12h14" /></svg></button>
        <button type="button" class="sc-control" aria-label="Fit the whole campaign in view" title="Fit view" @click="$emit('fit')">
          <svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 9V4h5M15 4h5v5M20 15v5h-5M9 20H4v-5" /></svg></button>
      </Panel>`,
  };

  // The overview drawing of a big campaign at small zoom: one pass over nodes and edges.
  function drawOverview(canvas, store) {
    const wrap = canvas.parentElement;
    if (!wrap) return;
    const dpr = window.devicePixelRatio || 1;
    const w = wrap.clientWidth, h = wrap.clientHeight;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr);
      canvas.style.width = `${w}px`; canvas.style.height = `${h}px`;
    }
    const g = canvas.getContext("2d");
    const { x: vx, y: vy, zoom } = store.viewport.value;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    const boxes = new Map();
    for (const n of store.nodes.value) {
      const p = n.computedPosition || n.position;
      const nw = n.dimensions?.width || EST.width, nh = n.dimensions?.height || (n.type === "note" ? EST.note : EST.height);
      boxes.set(n.id, { x: vx + p.x * zoom, y: vy + p.y * zoom, w: nw * zoom, h: nh * zoom, type: n.type, selected: n.selected });
    }
    g.strokeStyle = "#a5adba";
    g.lineWidth = 1;
    g.beginPath();
    for (const e of store.edges.value) {
      const a = boxes.get(e.source), b = boxes.get(e.target);
      if (!a || !b) continue;
      const x1 = a.x + a.w, y1 = a.y + a.h / 2, x2 = b.x, y2 = b.y + b.h / 2;
      if ((x1 < 0 && x2 < 0) || (x1 > w && x2 > w) || (y1 < 0 && y2 < 0) || (y1 > h && y2 > h)) continue;
      g.moveTo(x1, y1);
      g.lineTo(x2, y2);
    }
    g.stroke();
    for (const box of boxes.values()) {
      if (box.x + box.w < 0 || box.y + box.h < 0 || box.x > w || box.y > h) continue;
      g.fillStyle = LOD_COLORS[box.type] || "#868e96";
      g.fillRect(box.x, box.y, Math.max(box.w, 2), Math.max(box.h, 2));
      if (box.selected) { g.strokeStyle = "#3b5bdb"; g.lineWidth = 2; g.strokeRect(box.x - 2, box.y - 2, box.w + 4, box.h + 4); }
    }
  }

  // <flow-canvas id node-types node-count read-only minimap minimap-color @connect @moved
  //              @node-click @node-dblclick @pane-click @drop-item @ready @viewport>
  const FlowCanvas = {
    name: "FlowCanvas",
    components: { VueFlow, MiniMap, Background, FlowControls },
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
      const api = useCanvas(props.id);
      const overview = Vue.ref(null);
      const lodState = lodOf(props.id);
      let frame = 0;
      const redraw = () => {
        if (frame || !lodState.on) return;
        frame = requestAnimationFrame(() => { frame = 0; if (lodState.on && overview.value) drawOverview(overview.value, store); });
      };
      lodState.redraw = redraw;
      Vue.watch(() => store.viewport.value, (vp) => {
        api.updateLevelOfDetail(vp.zoom);
        redraw();
      }, { deep: true });
      Vue.watch(() => props.nodeCount, () => api.updateLevelOfDetail(store.viewport.value.zoom));

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
      // In the overview a click on a node's box zooms in on it.
      const onPaneClick = (e) => {
        if (lodState.on && e) {
          const p = store.screenToFlowCoordinate({ x: e.clientX, y: e.clientY });
          const hit = store.nodes.value.find((n) => {
            const q = n.computedPosition || n.position;
            return p.x >= q.x && p.y >= q.y && p.x <= q.x + (n.dimensions?.width || EST.width) && p.y <= q.y + (n.dimensions?.height || EST.height);
          });
          if (hit) { api.center(hit.id, 1); return; }
        }
        emit("pane-click", e);
      };
      return {
        props, onlyVisible, types, onDragOver, onDrop, GRID, overview, MIN_ZOOM, MAX_ZOOM,
        lod: Vue.computed(() => lodState.ref.value),
        snapGrid: [GRID, GRID],
        edgeDefaults: EDGE_DEFAULTS,
        multiKeys: ["Shift", "Meta", "Control"],
        onConnect: (c) => emit("connect", { source: c.source, target: c.target, sourceHandle: c.sourceHandle || null }),
        onDragStop: (e) => moved(e.nodes && e.nodes.length ? e.nodes : [e.node]),
        onSelDragStop: (e) => moved(e.nodes),
        onNodeClick: (e) => emit("node-click", e.node.id, e.event),
        onNodeDbl: (e) => emit("node-dblclick", e.node.id, e.event),
        onPaneClick,
        onInit: () => emit("ready"),
        onMoveEnd: () => emit("viewport", store.getViewport()),
        zoomIn: () => api.zoomIn(), zoomOut: () => api.zoomOut(), fit: () => api.fitView(),
        nodeColor: (n) => (props.minimapColor ? props.minimapColor(n.type, n.data) : "#adb5bd"),
      };
    },
    template: `
      <div class="flow-wrap" :class="{ 'is-overview': lod }" @dragover="onDragOver" @drop="onDrop">
        <VueFlow :id="props.id" :node-types="types" :default-edge-options="edgeDefaults"
                 :snap-to-grid="true" :snap-grid="snapGrid" :only-render-visible-elements="onlyVisible"
                 :delete-key-code="null" :multi-selection-key-code="multiKeys" selection-key-code="Shift"
                 :zoom-on-double-click="false" :min-zoom="MIN_ZOOM" :max-zoom="MAX_ZOOM"
                 :nodes-draggable="!props.readOnly" :nodes-connectable="!props.readOnly"
                 :elevate-edges-on-select="true"
                 @connect="onConnect" @node-drag-stop="onDragStop" @selection-drag-stop="onSelDragStop"
                 @node-click="onNodeClick" @node-double-click="onNodeDbl" @pane-click="onPaneClick"
                 @init="onInit" @move-end="onMoveEnd">
          <Background :gap="GRID" :size="1.2" pattern-color="#c8ced9" />
          <MiniMap v-if="props.minimap && !lod" pannable zoomable :node-color="nodeColor" :node-stroke-width="0" mask-color="rgba(240,242,246,.7)"
                   aria-label="Minimap" />
          <FlowControls @zoom-in="zoomIn" @zoom-out="zoomOut" @fit="fit" />
        </VueFlow>
        <canvas v-show="lod" ref="overview" class="flow-overview" aria-hidden="true"></canvas>
        <p v-if="lod" class="flow-overview-note" role="status">Overview: zoom in, or click a box, to see and edit the nodes.</p>
      </div>`,
  };

  // The imperative side, bound to one canvas id. Call from a component's setup().
  function useCanvas(id) {
    const store = useVueFlow(id);
    const lodState = lodOf(id);
    const big = () => store.nodes.value.length > LOD_ABOVE;
    // Hide every node (and so every edge) from Vue Flow in the overview; the <canvas> draws them.
    function setLevelOfDetail(on) {
      if (lodState.on === on) return;
      lodState.on = on;
      for (const n of store.nodes.value) if (n.hidden !== on) n.hidden = on;
      lodState.ref.value = on;
      if (on && lodState.redraw) lodState.redraw();
    }
    const api = {
      GRID,
      snap: (v) => Math.round(v / GRID) * GRID,
      // Replace everything (first load / big changes): fastest path.
      load(nodes, edges) {
        // Vue Flow counts a node without measured dimensions as visible, so with
        // only-render-visible-elements every node would still render once on open.
        // An estimate (deliberately fractional, so the real measurement always
        // replaces it and computes the handle bounds) keeps off-screen nodes unrendered.
        store.setNodes(nodes.map((n) => ({ ...n, hidden: lodState.on,
                                           dimensions: { width: EST.width, height: n.type === "note" ? EST.note : EST.height } })));
        store.setEdges(edges);
      },
      // Make the canvas match `nodes` / `edges` (by id), keeping selection and internals.
      sync(nodes, edges) {
        const wantNodes = new Map(nodes.map((n) => [n.id, n]));
        // All nodes, not getNodes: that one leaves out hidden and (on big campaigns) off-screen nodes.
        const goneNodes = store.nodes.value.filter((n) => !wantNodes.has(n.id)).map((n) => n.id);
        if (goneNodes.length) store.removeNodes(goneNodes, true);
        const addNodes = [];
        for (const n of nodes) {
          const cur = store.findNode(n.id);
          if (!cur) { addNodes.push(lodState.on ? { ...n, hidden: true } : n); continue; }
          if (cur.data !== n.data) cur.data = n.data;
          if (cur.type !== n.type) cur.type = n.type;
          if (cur.position.x !== n.position.x || cur.position.y !== n.position.y) cur.position = { x: n.position.x, y: n.position.y };
        }
        if (addNodes.length) store.addNodes(addNodes);
        const wantEdges = new Map(edges.map((e) => [e.id, e]));
        const goneEdges = store.edges.value.filter((e) => !wantEdges.has(e.id)).map((e) => e.id);
        if (goneEdges.length) store.removeEdges(goneEdges);
        const addEdges = [];
        for (const e of edges) {
          const cur = store.findEdge(e.id);
          if (!cur) { addEdges.push(e); continue; }
          // A path renamed, or reconnected from another handle: the edge follows.
          if ((cur.label || null) !== (e.label || null)) cur.label = e.label;
          if ((cur.sourceHandle || null) !== (e.sourceHandle || null)) cur.sourceHandle = e.sourceHandle;
        }
        if (addEdges.length) store.addEdges(addEdges);
        if (lodState.on && lodState.redraw) lodState.redraw();
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
      // Fit everything, never closer than FIT_MAX_ZOOM. A big campaign fitted below LOD_ZOOM switches
      // to the overview first, so the zoomed-out frame never mounts every node.
      fitView(opts) {
        const o = { padding: FIT_PADDING, duration: 250, maxZoom: FIT_MAX_ZOOM, ...(opts || {}) };
        const all = store.nodes.value;
        if (!all.length) return Promise.resolve(false);
        const { width, height } = store.dimensions.value;
        const target = getTransformForBounds(getRectOfNodes(all), width, height, MIN_ZOOM, o.maxZoom, o.padding);
        if (big() && target.zoom < LOD_ZOOM) setLevelOfDetail(true);
        return store.setViewport(target, { duration: o.duration });
      },
      // The zoom at which fitView would show everything (capped like fitView).
      fitZoom() {
        const all = store.nodes.value;
        if (!all.length) return FIT_MAX_ZOOM;
        const { width, height } = store.dimensions.value;
        return getTransformForBounds(getRectOfNodes(all), width, height, MIN_ZOOM, FIT_MAX_ZOOM, FIT_PADDING).zoom;
      },
      zoomIn: () => store.zoomIn({ duration: 150 }),
      zoomOut: () => store.zoomOut({ duration: 150 }),
      updateLevelOfDetail(zoom) {
        if (!big()) { setLevelOfDetail(false); return; }
        if (!lodState.on && zoom < LOD_ZOOM) setLevelOfDetail(true);
        else if (lodState.on && zoom > LOD_EXIT) setLevelOfDetail(false);
      },
      overview: () => lodState.on,
      center(nodeId, atZoom) {
        const n = store.findNode(nodeId);
        if (!n) return;
        const w = n.dimensions?.width || 220, h = n.dimensions?.height || 80;
        const zoom = atZoom || Math.max(store.getViewport().zoom, 0.9);
        const p = n.computedPosition || n.position;
        if (zoom > LOD_EXIT) setLevelOfDetail(false);
        store.setCenter(p.x + w / 2, p.y + h / 2, { zoom, duration: 300 });
      },
      viewport: () => store.getViewport(),
      setViewport: (v) => store.setViewport(v),
      panBy: (dx, dy) => store.panBy({ x: dx, y: dy }),
      nodeSize(nodeId) {
        const n = store.findNode(nodeId);
        return n ? { width: n.dimensions?.width || 0, height: n.dimensions?.height || 0 } : null;
      },
      // Every node's box in flow coordinates (measured, else estimated): for placing new nodes in free space.
      boxes: () => store.nodes.value.map((n) => {
        const p = n.computedPosition || n.position;
        return { id: n.id, x: p.x, y: p.y, width: n.dimensions?.width || EST.width, height: n.dimensions?.height || EST.height };
      }),
      // The visible part of the canvas in flow coordinates.
      visibleRect() {
        const { x, y, zoom } = store.getViewport();
        const { width, height } = store.dimensions.value;
        return { x: -x / zoom, y: -y / zoom, width: width / zoom, height: height / zoom };
      },
      // Live DOM positions (during a drag the model is updated only on drop).
      positions: () => Object.fromEntries(store.getNodes.value.map((n) => [n.id, { x: n.position.x, y: n.position.y }])),
    };
    return api;
  }

  window.Stagecraft = Object.assign(window.Stagecraft || {}, {
    flow: { FlowCanvas, FlowHandle, useCanvas, GRID, VISIBLE_ONLY_ABOVE, FIT_MAX_ZOOM, LOD_ZOOM },
  });
})();
