// The canvas page's Vue template (compiled in the browser; the CSP allows 'unsafe-eval'
// but no inline scripts, so it lives in this file). Text interpolation only, never raw HTML.
window.StagecraftCanvasTemplate = `
<div class="cv-shell" :class="{ 'is-readonly': readOnly }" :data-save-state="state.save" :data-status="state.campaign.status">
  <header class="cv-header">
    <a class="cv-back" href="/campaigns" title="All campaigns" aria-label="All campaigns">‹</a>
    <div class="cv-titlebox">
      <h1 class="visually-hidden">Campaign: {{ state.campaign.name }}</h1>
      <input class="cv-title" :value="state.campaign.name" aria-label="Campaign name" :disabled="readOnly"
             @change="renameCampaign" @keydown.enter="$event.target.blur()">
      <div class="cv-meta">
        <span class="badge cv-status" :class="state.campaign.status">{{ statusLabel }}</span>
        <span v-if="state.campaign.live_version" class="cv-version" title="Live version">v{{ state.campaign.live_version }}</span>
        <span v-if="state.campaign.live_version && state.campaign.has_unpublished_changes" class="badge changes">Unpublished changes</span>
        <span class="cv-save" :data-state="state.save" role="status" aria-live="polite" :title="state.saveError">
          <i class="dot"></i>{{ saveLabel }}</span>
      </div>
    </div>
    <div class="cv-tools" role="toolbar" aria-label="Canvas tools">
      <div class="btn-group">
        <button type="button" class="icon-btn" title="Undo (Ctrl+Z)" aria-label="Undo" :disabled="!state.canUndo || readOnly" @click="undo"><sc-icon name="undo" /></button>
        <button type="button" class="icon-btn" title="Redo (Ctrl+Shift+Z)" aria-label="Redo" :disabled="!state.canRedo || readOnly" @click="redo"><sc-icon name="redo" /></button>
      </div>
      <button type="button" class="icon-btn" title="Delete selection (Delete)" aria-label="Delete selection" :disabled="readOnly" @click="deleteSelection"><sc-icon name="trash" /></button>
      <button type="button" class="tool-btn" title="Lay the campaign out left to right" :disabled="readOnly" @click="tidyUp"><sc-icon name="layout" /> Tidy up</button>
      <button type="button" class="tool-btn cv-errors-btn" :class="{ bad: state.issues.errors.length }" @click="state.drawer = !state.drawer"
              :aria-expanded="state.drawer ? 'true' : 'false'" aria-controls="cv-drawer">
        <sc-icon name="alert" /> <span class="cv-errors-count">{{ state.issues.errors.length }}</span> {{ state.issues.errors.length === 1 ? 'problem' : 'problems' }}
      </button>
      <button type="button" class="tool-btn" @click="openVersions"><sc-icon name="history" /> Versions</button>
      <div class="cv-menu">
        <button type="button" class="icon-btn" aria-label="More" title="More" :aria-expanded="state.menu ? 'true' : 'false'" @click.stop="state.menu = !state.menu"><sc-icon name="more" /></button>
        <div v-if="state.menu" class="cv-menu-list" role="menu">
          <button type="button" role="menuitem" @click="exportJson"><sc-icon name="download" /> Export JSON</button>
          <button type="button" role="menuitem" @click="pickImport"><sc-icon name="upload" /> Import JSON…</button>
          <button type="button" role="menuitem" @click="duplicate"><sc-icon name="copy" /> Duplicate campaign</button>
        </div>
        <input id="import-file" type="file" accept="application/json,.json" hidden @change="importFile">
      </div>
      <button v-if="state.campaign.status === 'live'" type="button" class="tool-btn" @click="setPaused(true)"><sc-icon name="pause" /> Pause</button>
      <button v-if="state.campaign.status === 'paused'" type="button" class="tool-btn" @click="setPaused(false)"><sc-icon name="play" /> Resume</button>
      <button type="button" class="primary cv-publish" :disabled="readOnly || state.busy" @click="openPublish"><sc-icon name="send" /> Publish</button>
    </div>
  </header>

  <div class="cv-body">
    <aside class="cv-palette" aria-label="Add to the campaign">
      <div class="cv-search"><sc-icon name="search" /><input type="search" v-model="state.search" placeholder="Search goals & sequences" aria-label="Search the palette"></div>
      <div class="cv-palette-scroll">
        <div class="pal-group">
          <div class="pal-group-name">Build</div>
          <div v-if="showBasics.sequence" class="pal-item pal-sequence" draggable="true" tabindex="0" role="button" data-kind="sequence"
               title="A sequence: an ordered list of steps (emails, tasks, delays…)" @dragstart="paletteDragStart($event, { kind: 'sequence' })"
               @keydown="paletteKey($event, { kind: 'sequence' })" @dblclick="addAtCenter({ kind: 'sequence' })">
            <span class="pal-icon seq"><sc-icon name="list" /></span><span class="pal-text"><b>Sequence</b><small>Emails, tasks, delays…</small></span>
          </div>
          <div v-if="showBasics.decision" class="pal-item pal-decision" draggable="true" tabindex="0" role="button" data-kind="decision"
               title="A decision: send each contact down the path whose rules it matches" @dragstart="paletteDragStart($event, { kind: 'decision' })"
               @keydown="paletteKey($event, { kind: 'decision' })" @dblclick="addAtCenter({ kind: 'decision' })">
            <span class="pal-icon dec"><sc-icon name="diamond" /></span><span class="pal-text"><b>Decision</b><small>Paths by tags, fields, deal…</small></span>
          </div>
          <div v-if="showBasics.split" class="pal-item pal-split" draggable="true" tabindex="0" role="button" data-kind="split"
               title="A split: divide contacts between paths by weight (A/B tests)" @dragstart="paletteDragStart($event, { kind: 'split' })"
               @keydown="paletteKey($event, { kind: 'split' })" @dblclick="addAtCenter({ kind: 'split' })">
            <span class="pal-icon spl"><sc-icon name="split" /></span><span class="pal-text"><b>Split</b><small>A/B test by weight</small></span>
          </div>
          <div v-if="showBasics.note" class="pal-item pal-note" draggable="true" tabindex="0" role="button" data-kind="note"
               title="A sticky note for your team" @dragstart="paletteDragStart($event, { kind: 'note' })"
               @keydown="paletteKey($event, { kind: 'note' })" @dblclick="addAtCenter({ kind: 'note' })">
            <span class="pal-icon note"><sc-icon name="sticky-note" /></span><span class="pal-text"><b>Note</b><small>Comment on the canvas</small></span>
          </div>
        </div>
        <div v-for="g in goalGroups" :key="g.name" class="pal-group">
          <div class="pal-group-name">Goals · {{ g.name }}</div>
          <div v-for="item in g.items" :key="item.type" class="pal-item pal-goal" draggable="true" tabindex="0" role="button"
               data-kind="goal" :data-type="item.type" :title="item.help"
               @dragstart="paletteDragStart($event, { kind: 'goal', type: item.type })"
               @keydown="paletteKey($event, { kind: 'goal', type: item.type })" @dblclick="addAtCenter({ kind: 'goal', type: item.type })">
            <span class="pal-icon goal"><sc-icon :name="item.icon" /></span><span class="pal-text"><b>{{ item.label }}</b></span>
          </div>
        </div>
        <p v-if="!goalGroups.length && !Object.values(showBasics).some(Boolean)" class="muted pal-empty">Nothing matches “{{ state.search }}”.</p>
      </div>
      <p class="pal-hint">Drag onto the canvas · Enter or double-click to add</p>
    </aside>

    <section class="cv-stage" aria-label="Campaign canvas">
      <div v-if="state.loading" class="cv-loading">Loading campaign…</div>
      <div v-else-if="state.loadError" class="cv-loading form-error" role="alert">{{ state.loadError }}</div>
      <flow-canvas v-else :id="FLOW_ID" :node-types="nodeTypes" :node-count="graph.nodes.length" :read-only="readOnly"
                   :minimap-color="minimapColor" :minimap="showMinimap" @connect="connect" @moved="moved" @drop-item="addNode"
                   @node-dblclick="onNodeDblclick" @node-click="onNodeClick" @pane-click="onPaneClick" @viewport="onViewport" />
      <button v-if="!state.loading && graph.nodes.length" type="button" class="cv-map-toggle" :aria-pressed="showMinimap ? 'true' : 'false'"
              :title="showMinimap ? 'Hide the minimap' : 'Show the minimap (hidden by default on very large campaigns)'" @click="toggleMinimap">
        {{ showMinimap ? 'Hide map' : 'Show map' }}</button>
      <div v-if="!state.loading && !graph.nodes.length" class="cv-empty">
        <h2>Start with a goal</h2>
        <p>Drag a goal such as <b>Opportunity stage moved</b> from the left, then a <b>Sequence</b>, and connect them.</p>
      </div>
      <div v-if="state.campaign.live_version" class="cv-live" :data-state="state.live" role="status"
           :title="state.live === 'live' ? 'Counts on the nodes update as contacts move' : 'Live counts reconnecting'">
        <i class="dot"></i>{{ state.live === 'live' ? 'Counts update live' : state.live === 'off' ? 'Counts offline' : 'Connecting counts…' }}</div>
      <transition name="fade">
        <div v-if="state.toast" class="cv-toast" :class="state.toast.kind" role="alert">
          <sc-icon :name="state.toast.kind === 'error' ? 'alert' : 'check-square'" /> <span>{{ state.toast.message }}</span></div>
      </transition>
      <div v-if="state.imported && state.imported.length" class="cv-imported" role="status">
        <b>Imported.</b> This CRM lacks {{ state.imported.length }} referenced {{ state.imported.length === 1 ? 'item' : 'items' }}:
        <ul><li v-for="(m, i) in state.imported" :key="i">{{ m.message }}</li></ul>
        <button type="button" class="linklike" @click="state.imported = null">Dismiss</button>
      </div>
    </section>

    <aside v-if="state.drawer" id="cv-drawer" class="cv-drawer" aria-label="Problems">
      <div class="panel-head"><h2>Problems</h2><button type="button" class="icon-btn" aria-label="Close problems" @click="state.drawer = false"><sc-icon name="x" /></button></div>
      <p v-if="!allIssues.length" class="muted drawer-ok">No problems: ready to publish.</p>
      <ul class="issue-list">
        <li v-for="(i, n) in allIssues" :key="n">
          <button type="button" class="issue-item" :class="i.severity" :data-node-id="i.node_id || ''" @click="i.node_id && focusNode(i.node_id, { stepId: i.step_id })">
            <span class="issue-sev">{{ i.severity === 'warning' ? 'Warning' : 'Error' }}</span>
            <span class="issue-node">{{ issueNodeName(i) }}</span>
            <span class="issue-msg">{{ i.message }}</span>
          </button>
        </li>
      </ul>
    </aside>

    <aside v-if="panelNode && panelNode.kind !== 'note'" class="cv-panel" :data-node-id="panelNode.id" :data-kind="panelNode.kind" aria-label="Configure">
      <div class="panel-head">
        <span class="panel-icon" :class="panelNode.kind"><sc-icon :name="panelIcon" :size="18" /></span>
        <div class="panel-titles">
          <div class="panel-kind">{{ panelKind }}</div>
          <input class="panel-name" v-model="panelNode.name" :aria-label="panelKind + ': name'" placeholder="Name (optional)" :disabled="readOnly" @input="touch" @change="commit">
        </div>
        <button type="button" class="icon-btn" aria-label="Close panel (Escape)" title="Close (Escape)" @click="state.panelId = null"><sc-icon name="x" /></button>
      </div>
      <div v-if="panelNode.kind === 'decision' || panelNode.kind === 'split'" class="panel-tabs" role="tablist" aria-label="Decision panel" @keydown="tabKey">
        <button type="button" role="tab" id="tab-paths" class="panel-tab" :aria-selected="state.panelTab !== 'test' ? 'true' : 'false'"
                aria-controls="tabpanel-paths" :tabindex="state.panelTab !== 'test' ? 0 : -1" @click="state.panelTab = 'paths'">Paths</button>
        <button type="button" role="tab" id="tab-test" class="panel-tab" :aria-selected="state.panelTab === 'test' ? 'true' : 'false'"
                aria-controls="tabpanel-test" :tabindex="state.panelTab === 'test' ? 0 : -1" @click="state.panelTab = 'test'">Test</button>
      </div>
      <div class="panel-scroll">
        <ul v-if="issuesByNode[panelNode.id] && issuesByNode[panelNode.id].filter(i => !i.step_id && !i.branch_id).length" class="panel-issues">
          <li v-for="(i, n) in issuesByNode[panelNode.id].filter(i => !i.step_id && !i.branch_id)" :key="n" :class="i.severity">{{ i.message }}</li>
        </ul>
        <template v-if="panelNode.kind === 'decision' || panelNode.kind === 'split'">
          <div v-show="state.panelTab !== 'test'" id="tabpanel-paths" role="tabpanel" aria-labelledby="tab-paths">
            <sc-decision-paths v-if="panelNode.kind === 'decision'" :node="panelNode" :read-only="readOnly" @input="touch" @commit="commitPaths" />
            <sc-split-paths v-else :node="panelNode" :read-only="readOnly" @input="touch" @commit="commitPaths" />
          </div>
          <div v-if="state.panelTab === 'test'" id="tabpanel-test" role="tabpanel" aria-labelledby="tab-test">
            <sc-branch-test :node="panelNode" />
          </div>
        </template>
        <template v-else-if="panelNode.kind === 'goal'">
          <p v-if="panelSpec" class="panel-help">{{ panelSpec.help }}</p>
          <sc-config-form v-if="panelSpec" :fields="panelSpec.fields" :config="panelNode.config" :id-prefix="'cfg-' + panelNode.id"
                          :read-only="readOnly" @input="touch" @commit="commit" />
        </template>
        <template v-else>
          <ol class="step-list" @dragover="stepDragOver" @drop="stepDrop($event, panelNode.steps.length)">
            <li v-for="(s, idx) in panelNode.steps" :key="s.id" class="step-row" :class="{ open: state.openStepId === s.id, bad: stepIssues(s).length }"
                :data-step-id="s.id" :data-step-type="s.type" :draggable="!readOnly" @dragstart="stepDragStart($event, idx)"
                @dragover="stepDragOver" @drop.stop="stepDrop($event, idx)">
              <div class="step-head">
                <span class="step-grip" title="Drag to reorder"><sc-icon name="grip" :size="14" /></span>
                <span class="step-num">{{ idx + 1 }}</span>
                <span class="step-icon" :class="(stepTypes[s.type] || {}).kind"><sc-icon :name="(stepTypes[s.type] || {}).icon || 'dot'" :size="15" /></span>
                <button type="button" class="step-title" :aria-expanded="state.openStepId === s.id ? 'true' : 'false'"
                        @click="state.openStepId = state.openStepId === s.id ? null : s.id">
                  <b>{{ (stepTypes[s.type] || {}).label || s.type }}</b>
                  <small class="step-summary" :class="{ missing: stepSummary(s) === '', loading: stepSummary(s) === undefined }">{{ stepSummary(s) === undefined ? '…' : stepSummary(s) || 'Not configured yet' }}</small>
                </button>
                <span v-if="stepIssues(s).length" class="sc-badge error step-badge" :title="stepIssues(s).map(i => i.message).join('\\n')">{{ stepIssues(s).length }}</span>
                <span class="step-actions">
                  <button type="button" class="mini step-up" :disabled="idx === 0 || readOnly" aria-label="Move step up" @click="moveStep(idx, -1)"><sc-icon name="chevron-up" :size="14" /></button>
                  <button type="button" class="mini step-down" :disabled="idx === panelNode.steps.length - 1 || readOnly" aria-label="Move step down" @click="moveStep(idx, 1)"><sc-icon name="chevron-down" :size="14" /></button>
                  <button type="button" class="mini step-remove" :disabled="readOnly" aria-label="Remove step" @click="removeStep(idx)"><sc-icon name="trash" :size="14" /></button>
                </span>
              </div>
              <div v-if="state.openStepId === s.id" class="step-body">
                <ul v-if="stepIssues(s).length" class="panel-issues"><li v-for="(i, n) in stepIssues(s)" :key="n" :class="i.severity">{{ i.message }}</li></ul>
                <sc-config-form :fields="(stepTypes[s.type] || {}).fields || []" :config="s.config" :id-prefix="'cfg-' + s.id"
                                :read-only="readOnly" @input="touch" @commit="commit" />
                <sc-preview v-if="hasMerge(s)" :type="s.type" :config="s.config" />
              </div>
            </li>
          </ol>
          <p v-if="!panelNode.steps.length" class="muted step-empty">No steps yet. Add the first one below.</p>
          <div class="step-add" v-if="!readOnly">
            <button v-if="!state.addingStep" type="button" class="add-step-btn" @click="state.addingStep = true"><sc-icon name="plus" /> Add step</button>
            <div v-else class="step-palette">
              <input type="search" v-model="state.stepSearch" placeholder="Search steps" aria-label="Search steps">
              <div v-for="g in stepGroups" :key="g.name" class="pal-group">
                <div class="pal-group-name">{{ g.name }}</div>
                <button v-for="t in g.items" :key="t.type" type="button" class="step-type" :data-type="t.type" :title="t.help"
                        draggable="true" @dragstart="newStepDragStart($event, t.type)" @click="addStep(t.type)">
                  <span class="step-icon" :class="t.kind"><sc-icon :name="t.icon" :size="15" /></span> {{ t.label }}
                </button>
              </div>
              <button type="button" class="linklike" @click="state.addingStep = false">Cancel</button>
            </div>
          </div>
        </template>
      </div>
    </aside>
  </div>

  <dialog id="publish-dialog" class="cv-dialog" aria-labelledby="publish-title">
    <div v-if="state.publish">
      <h2 id="publish-title">Publish “{{ state.campaign.name }}”</h2>
      <p class="muted">{{ state.campaign.live_version ? 'Changes since version ' + state.campaign.live_version + '. Contacts in flight continue where their node still exists.' : 'First version: the campaign goes live and its entry goals start enrolling contacts.' }}</p>
      <p v-if="state.publish.diff.empty" class="diff-empty">No changes since the live version.</p>
      <div v-else class="diff">
        <section v-for="k in ['added', 'changed', 'removed']" :key="k" v-show="state.publish.diff.nodes[k].length || state.publish.diff.steps[k].length || (state.publish.diff.branches && state.publish.diff.branches[k].length)" :class="'diff-' + k">
          <h3>{{ k === 'added' ? 'Added' : k === 'changed' ? 'Changed' : 'Removed' }}</h3>
          <ul>
            <li v-for="e in state.publish.diff.nodes[k]" :key="'n' + e.node_id" :data-node-id="e.node_id">
              <span class="diff-kind">{{ e.kind }}</span> {{ e.name || e.type }}
              <small v-if="e.changes">({{ e.changes.join(', ') }})</small>
              <b v-if="k === 'removed'" class="diff-contacts" :class="{ hot: e.contacts }">{{ e.contacts }} {{ e.contacts === 1 ? 'contact' : 'contacts' }} will stop</b>
            </li>
            <li v-for="e in state.publish.diff.steps[k]" :key="'s' + e.node_id + e.step_id">
              <span class="diff-kind">step</span> {{ (stepTypes[e.type] || {}).label || e.type }} <small>in {{ e.name }}</small>
              <small v-if="e.changes">({{ e.changes.join(', ') }})</small>
              <b v-if="k === 'removed'" class="diff-contacts" :class="{ hot: e.contacts }">{{ e.contacts }} on it</b>
            </li>
            <li v-for="e in (state.publish.diff.branches ? state.publish.diff.branches[k] : [])" :key="'b' + e.node_id + e.branch_id" class="diff-branch" :data-branch-id="e.branch_id">
              <span class="diff-kind">path</span> {{ e.label }} <small>of {{ e.name || e.type }}</small>
              <small v-if="e.changes">({{ e.changes.join(', ') }})</small>
              <b v-if="k === 'removed'" class="diff-contacts" :class="{ hot: e.contacts }">{{ e.contacts }} {{ e.contacts === 1 ? 'contact' : 'contacts' }} after it will stop</b>
            </li>
          </ul>
        </section>
        <p v-if="state.publish.diff.edges.added.length || state.publish.diff.edges.removed.length" class="muted">
          Connections: {{ state.publish.diff.edges.added.length }} added, {{ state.publish.diff.edges.removed.length }} removed.</p>
      </div>
      <ul v-if="state.publish.warnings.length" class="panel-issues"><li v-for="(w, n) in state.publish.warnings" :key="n" class="warning">{{ w.message }}</li></ul>
      <p v-if="state.publish.error" class="form-error" role="alert">{{ state.publish.error }}</p>
      <div class="dialog-actions">
        <button type="button" @click="closeDialog('publish-dialog')">Cancel</button>
        <button type="button" class="primary confirm-publish" :disabled="state.busy" @click="confirmPublish">Publish{{ state.campaign.live_version ? ' version ' + (state.campaign.live_version + 1) : '' }}</button>
      </div>
    </div>
  </dialog>

  <dialog id="versions-dialog" class="cv-dialog" aria-labelledby="versions-title">
    <h2 id="versions-title">Versions</h2>
    <p v-if="state.versions && !state.versions.length" class="muted">Nothing published yet.</p>
    <table v-if="state.versions && state.versions.length" class="data-table versions-table">
      <thead><tr><th>Version</th><th>Published</th><th></th></tr></thead>
      <tbody>
        <tr v-for="v in state.versions" :key="v.number" :data-version="v.number">
          <td><b>v{{ v.number }}</b> <span v-if="v.number === state.campaign.live_version" class="badge live">live</span>
              <small v-if="v.rolled_back_from" class="muted">rollback of v{{ v.rolled_back_from }}</small></td>
          <td>{{ fmtDate(v.published_at) }}</td>
          <td><button v-if="v.number !== state.campaign.live_version" type="button" class="rollback-btn" @click="rollback(v.number)">Roll back to this</button></td>
        </tr>
      </tbody>
    </table>
    <div class="dialog-actions"><button type="button" @click="closeDialog('versions-dialog')">Close</button></div>
  </dialog>
</div>`;
