// Pipeline board: one column per stage (by number), one card per opportunity.
// Dragging a card to a column (or picking "Move to…") saves the stage through the API;
// a move blocked by required checklist items opens a dialog to tick them and retry.
"use strict";
Stagecraft.page("board", ({ root, $, api, el, money, me, ws, live }) => {
  const pipelineId = Number(root.dataset.pipelineId);
  const columnsEl = $("board-columns");
  const totalsEl = $("board-totals");
  const boardError = $("board-error");
  const ownerSelect = $("filter-owner");
  const overdueBox = $("filter-overdue");
  const searchBox = $("filter-q");
  const announcer = el("div", { class: "sr-only", role: "status", "aria-live": "polite" });
  document.body.append(announcer);

  const state = {
    stages: [], opps: [], users: new Map(),
    owner: me.role === "rep" ? "mine" : "all", overdue: false, q: "",
    cardErrors: new Map(),   // opportunity id -> message shown on its card
    dragging: null, reloadWhenDropped: false, loadSeq: 0,
  };
  ownerSelect.value = state.owner;

  // ---- data --------------------------------------------------------------

  function query() {
    const params = new URLSearchParams({ pipeline_id: String(pipelineId) });
    if (state.owner === "mine") params.set("owner_id", String(me.id));
    else if (state.owner !== "all") params.set("owner_id", state.owner);
    if (state.overdue) params.set("overdue", "true");
    if (state.q) params.set("q", state.q);
    return "/opportunities?" + params;
  }

  async function load() {
    if (state.dragging) { state.reloadWhenDropped = true; return; }
    const seq = ++state.loadSeq;
    try {
      const opps = await api("GET", query());
      if (seq !== state.loadSeq) return;   // a newer load is on its way
      state.opps = opps;
      ws.showError(boardError, "");
      render();
    } catch (err) {
      ws.showError(boardError, "Could not load the board: " + ws.describe(err));
    }
  }

  async function init() {
    try {
      const [pipeline, users] = await Promise.all([api("GET", `/pipelines/${pipelineId}`), ws.usersById()]);
      state.stages = pipeline.stages.slice().sort((a, b) => a.number - b.number);
      state.users = users.byId;
      for (const u of users.list) {
        if (u.id !== me.id && u.active) ownerSelect.append(el("option", { value: String(u.id) }, u.name || u.username));
      }
    } catch (err) {
      ws.showError(boardError, "Could not load the pipeline: " + ws.describe(err));
      return;
    }
    renderSkeleton();
    await load();
    live({ rooms: [`pipeline:${pipelineId}`], events: { opportunity_changed: true }, resync: load });
  }

  // ---- rendering ---------------------------------------------------------

  const columnBodies = new Map();   // stage id -> column body element

  function renderSkeleton() {
    columnsEl.replaceChildren();
    columnBodies.clear();
    for (const stage of state.stages) {
      const body = el("div", { class: "column-body", "data-stage-id": stage.id, role: "list",
        "aria-label": `Opportunities in ${stage.name}` });
      const column = el("section", { class: "column", "data-stage-id": stage.id, "aria-label": `Stage ${stage.number} ${stage.name}` },
        el("header", { class: "column-head" },
          el("div", { class: "column-title" },
            el("span", { class: "stage-number", title: "Stage number" }, String(stage.number)),
            el("h2", {}, stage.name),
            el("span", { class: "column-count", "data-role": "count" }, "0")),
          el("div", { class: "column-meta" },
            el("span", { title: "Probability" }, `${stage.probability}%`),
            el("span", { "aria-hidden": "true" }, "·"),
            el("span", { title: "Target days in stage" }, stage.target_days ? `${stage.target_days} day target` : "no target")),
          el("div", { class: "column-values" },
            el("span", { class: "column-value", "data-role": "value" }, money(0)),
            el("span", { class: "column-weighted", "data-role": "weighted" }, "")),
          probabilityBar(stage.probability)),
        body);
      wireDropTarget(column, stage);
      columnsEl.append(column);
      columnBodies.set(stage.id, body);
    }
  }

  function probabilityBar(probability) {
    const fill = el("span", {});
    fill.style.width = `${probability}%`;
    return el("div", { class: "prob-bar", "aria-hidden": "true" }, fill);
  }

  function render() {
    const focus = rememberFocus();
    const byStage = new Map(state.stages.map((s) => [s.id, []]));
    for (const opp of state.opps) if (byStage.has(opp.stage_id)) byStage.get(opp.stage_id).push(opp);
    let total = 0, weighted = 0, count = 0;
    for (const stage of state.stages) {
      const opps = byStage.get(stage.id).sort((a, b) => b.overdue - a.overdue || b.value - a.value || a.id - b.id);
      const value = opps.reduce((sum, o) => sum + (o.value || 0), 0);
      const column = columnsEl.querySelector(`.column[data-stage-id="${stage.id}"]`);
      column.querySelector('[data-role="count"]').textContent = String(opps.length);
      column.querySelector('[data-role="value"]').textContent = money(value);
      column.querySelector('[data-role="weighted"]').textContent = `${money(value * stage.probability / 100)} weighted`;
      const body = columnBodies.get(stage.id);
      body.replaceChildren(...opps.map((o) => card(o, stage)));
      if (!opps.length) body.append(el("div", { class: "column-empty" }, state.q || state.overdue ? "No matches" : "No deals"));
      total += value; weighted += value * stage.probability / 100; count += opps.length;
    }
    totalsEl.replaceChildren(
      el("span", {}, el("strong", {}, String(count)), count === 1 ? " deal" : " deals"),
      el("span", {}, el("strong", {}, money(total)), " total"),
      el("span", {}, el("strong", {}, money(weighted)), " weighted"));
    restoreFocus(focus);
  }

  function card(opp, stage) {
    const owner = state.users.get(opp.owner_id);
    const late = opp.next_action_date && opp.next_action_date < ws.today();
    const move = el("select", { class: "card-move", "aria-label": `Move ${opp.title} to another stage`, "data-role": "move" },
      el("option", { value: "" }, "Move to…"),
      state.stages.filter((s) => s.id !== stage.id).map((s) => el("option", { value: String(s.id) }, `${s.number} · ${s.name}`)));
    move.addEventListener("change", () => { if (move.value) moveCard(opp, Number(move.value)); });
    const error = state.cardErrors.get(opp.id);
    const node = el("article", {
      class: "card" + (opp.overdue ? " is-overdue" : ""), draggable: "true", tabindex: "0", role: "listitem",
      "data-opp-id": opp.id, "aria-label": `${opp.title}, ${opp.contact_name}, ${money(opp.value)}${opp.overdue ? ", overdue" : ""}`,
    },
      el("div", { class: "card-top" },
        el("a", { class: "card-title", href: `/opportunities/${opp.id}`, draggable: "false", tabindex: "-1" }, opp.title),
        opp.overdue ? el("span", { class: "badge overdue", title: `Past the ${stage.target_days}-day target` }, "Overdue") : null),
      el("div", { class: "card-contact" }, opp.contact_name),
      el("div", { class: "card-row" },
        el("span", { class: "card-value" }, money(opp.value)),
        el("span", { class: "card-owner" }, ws.avatar(owner, opp.owner_name), el("span", {}, opp.owner_name || "Unassigned"))),
      el("div", { class: "card-foot" },
        el("span", { class: "card-days" + (opp.overdue ? " bad" : ""), title: "Days in this stage" }, shortDays(opp.days_in_stage) + " in stage"),
        opp.next_action_date
          ? el("span", { class: "card-next" + (late ? " bad" : ""), title: opp.next_action_note || "Next action date" }, "Next: " + ws.fmtDate(opp.next_action_date))
          : el("span", { class: "card-next muted" }, "No next action")),
      move,
      error ? el("p", { class: "card-error", role: "alert" }, error) : null);
    node.addEventListener("keydown", (e) => {
      if (e.target === node && e.key === "Enter") window.location.href = `/opportunities/${opp.id}`;
    });
    node.addEventListener("dragstart", (e) => {
      state.dragging = opp;
      e.dataTransfer.effectAllowed = "move";
      e.dataTransfer.setData("text/plain", String(opp.id));
      node.classList.add("dragging");
      columnsEl.classList.add("is-dragging");
    });
    node.addEventListener("dragend", () => {
      node.classList.remove("dragging");
      columnsEl.classList.remove("is-dragging");
      for (const c of columnsEl.querySelectorAll(".drop-target")) c.classList.remove("drop-target");
      state.dragging = null;
      if (state.reloadWhenDropped) { state.reloadWhenDropped = false; load(); }
    });
    return node;
  }

  const shortDays = (days) => (days < 1 ? "<1d" : `${Math.floor(days)}d`);

  function rememberFocus() {
    const active = document.activeElement;
    const cardEl = active && active.closest && active.closest(".card");
    return cardEl ? { id: cardEl.dataset.oppId, role: active.dataset.role || "card" } : null;
  }
  function restoreFocus(focus) {
    if (!focus) return;
    const cardEl = columnsEl.querySelector(`.card[data-opp-id="${focus.id}"]`);
    if (!cardEl) return;
    (focus.role === "move" ? cardEl.querySelector('[data-role="move"]') : cardEl).focus();
  }

  function wireDropTarget(column, stage) {
    column.addEventListener("dragover", (e) => {
      if (!state.dragging) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = state.dragging.stage_id === stage.id ? "none" : "move";
      column.classList.toggle("drop-target", state.dragging.stage_id !== stage.id);
    });
    column.addEventListener("dragleave", (e) => {
      if (!column.contains(e.relatedTarget)) column.classList.remove("drop-target");
    });
    column.addEventListener("drop", (e) => {
      e.preventDefault();
      column.classList.remove("drop-target");
      const opp = state.dragging || state.opps.find((o) => String(o.id) === e.dataTransfer.getData("text/plain"));
      state.dragging = null;
      if (opp && opp.stage_id !== stage.id) moveCard(opp, stage.id);
    });
  }

  // ---- moves -------------------------------------------------------------

  const stageName = (id) => { const s = state.stages.find((x) => x.id === id); return s ? s.name : `#${id}`; };

  async function moveCard(opp, stageId) {
    state.cardErrors.delete(opp.id);
    // Show the move at once; the re-fetch afterwards is the truth (a refused move returns the card).
    const cardEl = columnsEl.querySelector(`.card[data-opp-id="${opp.id}"]`);
    const target = columnBodies.get(stageId);
    if (cardEl && target) { cardEl.classList.add("pending"); target.prepend(cardEl); }
    try {
      await api("PATCH", `/opportunities/${opp.id}`, { stage_id: stageId });
      announcer.textContent = `Moved ${opp.title} to ${stageName(stageId)}.`;
      await load();
    } catch (err) {
      if (err.code === "checklist_incomplete") {
        await load();
        openChecklistDialog(opp, stageId, (err.details && err.details.items) || []);
      } else {
        state.cardErrors.set(opp.id, ws.describe(err));
        await load();
      }
    }
  }

  // ---- the checklist dialog ------------------------------------------------

  const dialog = $("checklist-dialog");
  const dialogItems = $("checklist-dialog-items");
  const dialogLead = $("checklist-dialog-lead");
  const dialogError = $("checklist-dialog-error");
  const retryButton = $("checklist-retry");
  let pendingMove = null;

  function openChecklistDialog(opp, stageId, items) {
    pendingMove = { opp, stageId };
    dialogLead.textContent = `“${opp.title}” can't leave ${stageName(opp.stage_id)} for ${stageName(stageId)} until these required items are done:`;
    renderDialogItems(opp, items);
    ws.showError(dialogError, "");
    retryButton.disabled = false;
    if (!dialog.open) dialog.showModal();
    const first = dialogItems.querySelector("input");
    if (first) first.focus();
  }

  function renderDialogItems(opp, items) {
    dialogItems.replaceChildren(...items.map((item) => {
      const box = el("input", { type: "checkbox", "data-item-id": item.id });
      const note = el("span", { class: "field-error", hidden: true });
      box.addEventListener("change", () => ws.act(box, note, () => api("PUT", `/opportunities/${opp.id}/checklist/${item.id}`, { done: box.checked }),
        { onError: (err) => { box.checked = !box.checked; ws.showError(note, err); } }));
      return el("li", {}, el("label", { class: "check-item" }, box, el("span", {}, item.text),
        el("span", { class: "req-mark" }, "Required")), note);
    }));
  }

  retryButton.addEventListener("click", () => {
    if (!pendingMove) return;
    const { opp, stageId } = pendingMove;
    ws.act(retryButton, dialogError, async () => {
      await api("PATCH", `/opportunities/${opp.id}`, { stage_id: stageId });
      pendingMove = null;
      dialog.close();
      announcer.textContent = `Moved ${opp.title} to ${stageName(stageId)}.`;
      await load();
    }, { onError: (err) => {
      if (err.code !== "checklist_incomplete") { ws.showError(dialogError, err); return; }
      const items = (err.details && err.details.items) || [];
      renderDialogItems(opp, items);
      ws.showError(dialogError, `Still to do: ${items.map((i) => i.text).join("; ")}`);
    } });
  });
  $("checklist-cancel").addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    const opp = pendingMove && pendingMove.opp;
    pendingMove = null;
    const cardEl = opp && columnsEl.querySelector(`.card[data-opp-id="${opp.id}"]`);
    if (cardEl) cardEl.focus();
    load();
  });

  // ---- filters and picker --------------------------------------------------

  ownerSelect.addEventListener("change", () => { state.owner = ownerSelect.value; load(); });
  overdueBox.addEventListener("change", () => { state.overdue = overdueBox.checked; load(); });
  let searchTimer = null;
  searchBox.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => { state.q = searchBox.value.trim(); load(); }, 200);
  });
  const picker = document.querySelector("[data-pipeline-picker]");
  if (picker) picker.addEventListener("change", () => { window.location.href = `/pipelines/${picker.value}`; });

  init();
});
