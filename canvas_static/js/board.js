// Pipeline board: one column per stage (by number), one card per opportunity.
// A card opens its record on click (or Enter). Moving it — dragging it to a column, picking a stage in
// "Move to…" and confirming, or arrowing to a stage and pressing Enter — saves the stage through the API;
// a move blocked by required checklist items opens a dialog to tick them and retry. Dropping a card on
// "Won" wins it (a move into the final stage), on "Lost" asks for a reason. Focus stays on the moved card.
"use strict";
Stagecraft.page("board", ({ root, $, api, el, money, me, ws, live, outcomes, checklistDialog }) => {
  const pipelineId = Number(root.dataset.pipelineId);
  const columnsEl = $("board-columns");
  const totalsEl = $("board-totals");
  const boardError = $("board-error");
  const ownerSelect = $("filter-owner");
  const announcer = el("div", { class: "sr-only", role: "status", "aria-live": "polite" });
  document.body.append(announcer);
  const say = (text) => { announcer.textContent = text; };

  const state = {
    pipeline: null, stages: [], opps: [], users: new Map(),
    owner: me.role === "rep" ? "mine" : "all", overdue: false, lost: false, q: "",
    cardErrors: new Map(),   // opportunity id -> message shown on its card
    pick: null,              // a keyboard move waiting for Enter: {oppId, stageId}
    dragging: null, reloadWhenDropped: false, loadSeq: 0,
  };
  ownerSelect.value = state.owner;

  // ---- data --------------------------------------------------------------

  function query() {
    const params = new URLSearchParams({ pipeline_id: String(pipelineId) });
    if (state.owner === "mine") params.set("owner_id", String(me.id));
    else if (state.owner !== "all") params.set("owner_id", state.owner);
    if (state.overdue) params.set("overdue", "true");
    if (!state.lost) params.set("outcome", "open,won");
    if (state.q) params.set("q", state.q);
    return "/opportunities?" + params;
  }

  async function load(focus) {
    if (state.dragging) { state.reloadWhenDropped = true; return; }
    const keep = focus || rememberFocus();
    const seq = ++state.loadSeq;
    try {
      const opps = await api("GET", query());
      if (seq !== state.loadSeq) return;   // a newer load is on its way
      state.opps = opps;
      ws.showError(boardError, "");
      render(keep);
    } catch (err) {
      ws.showError(boardError, "Could not load the board: " + ws.describe(err));
    }
  }

  async function init() {
    try {
      const [pipeline, users] = await Promise.all([api("GET", `/pipelines/${pipelineId}`), ws.usersById()]);
      state.pipeline = pipeline;
      state.stages = pipeline.stages.slice().sort((a, b) => a.number - b.number);
      state.users = users.byId;
      for (const u of users.list) {
        if (u.id !== me.id && u.active) ownerSelect.append(el("option", { value: String(u.id) }, u.name || u.username));
      }
    } catch (err) {
      ws.showError(boardError, "Could not load the pipeline: " + ws.describe(err));
      return;
    }
    setupCompact();
    renderSkeleton();
    await load();
    live({ rooms: [`pipeline:${pipelineId}`], events: { opportunity_changed: true }, resync: () => load() });
  }

  // ---- rendering ---------------------------------------------------------

  const columnLists = new Map();   // stage id -> its <ul> of cards
  const finalStage = () => state.stages[state.stages.length - 1];
  const stageOf = (id) => state.stages.find((s) => s.id === id);
  const stageName = (id) => { const s = stageOf(id); return s ? s.name : `#${id}`; };

  function renderSkeleton() {
    columnsEl.replaceChildren();
    columnLists.clear();
    for (const stage of state.stages) {
      const list = el("ul", { class: "column-list", "aria-label": `Deals in ${stage.name}` });
      const body = el("div", { class: "column-body", "data-stage-id": stage.id }, list,
        el("p", { class: "column-empty", "data-role": "empty" }, "No deals"));
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
      wireDropTarget(column, (opp) => opp.stage_id !== stage.id, (opp) => moveCard(opp, stage.id));
      columnsEl.append(column);
      columnLists.set(stage.id, list);
    }
    wireDropTarget($("zone-won"), (opp) => opp.outcome === "open", (opp) => winCard(opp));
    wireDropTarget($("zone-lost"), (opp) => opp.outcome === "open", (opp) => loseCard(opp));
  }

  function probabilityBar(probability) {
    const fill = el("span", {});
    fill.style.width = `${probability}%`;
    return el("div", { class: "prob-bar", "aria-hidden": "true" }, fill);
  }

  function render(focus) {
    const byStage = new Map(state.stages.map((s) => [s.id, []]));
    for (const opp of state.opps) if (byStage.has(opp.stage_id)) byStage.get(opp.stage_id).push(opp);
    let total = 0, weighted = 0, count = 0, won = 0, lost = 0;
    for (const stage of state.stages) {
      const opps = byStage.get(stage.id).sort((a, b) => (a.outcome === "lost") - (b.outcome === "lost")
        || b.overdue - a.overdue || b.value - a.value || a.id - b.id);
      const counted = opps.filter((o) => o.outcome !== "lost");  // lost deals show (when asked) but count nowhere
      const value = counted.reduce((sum, o) => sum + (o.value || 0), 0);
      const column = columnsEl.querySelector(`.column[data-stage-id="${stage.id}"]`);
      column.querySelector('[data-role="count"]').textContent = String(counted.length);
      column.querySelector('[data-role="value"]').textContent = money(value);
      column.querySelector('[data-role="weighted"]').textContent = `${money(value * stage.probability / 100)} weighted`;
      columnLists.get(stage.id).replaceChildren(...opps.map((o) => card(o, stage)));
      const empty = column.querySelector('[data-role="empty"]');
      empty.hidden = opps.length > 0;
      empty.textContent = state.q || state.overdue ? "No matches" : "No deals";
      for (const o of opps) {
        if (o.outcome === "open") { total += o.value || 0; weighted += (o.value || 0) * stage.probability / 100; count += 1; }
        else if (o.outcome === "won") won += o.value || 0;
        else lost += o.value || 0;
      }
    }
    totalsEl.replaceChildren(...[
      el("span", {}, el("strong", {}, String(count)), count === 1 ? " open deal" : " open deals"),
      el("span", {}, el("strong", {}, money(total)), " open"),
      el("span", {}, el("strong", {}, money(weighted)), " weighted"),
      el("span", {}, el("strong", {}, money(won)), " won"),
      state.lost ? el("span", {}, el("strong", {}, money(lost)), " lost") : null].filter(Boolean));
    showPick();
    restoreFocus(focus);
  }

  function card(opp, stage) {
    const owner = state.users.get(opp.owner_id);
    const closed = opp.outcome !== "open";
    const late = !closed && opp.next_action_date && opp.next_action_date < ws.today();
    const error = state.cardErrors.get(opp.id);
    const label = `${opp.title}, ${opp.contact_name}, ${money(opp.value)}${opp.overdue ? ", overdue" : ""}${closed ? `, ${opp.outcome}` : ""}`;
    const node = el("li", {
      class: `card outcome-${opp.outcome}` + (opp.overdue ? " is-overdue" : ""), draggable: closed ? "false" : "true",
      tabindex: "0", "data-opp-id": opp.id, "aria-label": label, "aria-describedby": "board-keys",
    },
      el("div", { class: "card-top" },
        el("a", { class: "card-title", href: `/opportunities/${opp.id}`, draggable: "false", tabindex: "-1" }, opp.title),
        opp.overdue ? el("span", { class: "badge overdue", title: `Past the ${stage.target_days}-day target` }, "Overdue") : null,
        closed ? el("span", { class: `badge outcome-badge ${opp.outcome}` }, opp.outcome === "won" ? "Won" : "Lost") : null),
      el("div", { class: "card-contact" }, opp.contact_name),
      el("div", { class: "card-row" },
        el("span", { class: "card-value" }, money(opp.value)),
        el("span", { class: "card-owner" }, ws.avatar(owner, opp.owner_name), el("span", { class: "card-owner-name" }, opp.owner_name || "Unassigned"))),
      el("div", { class: "card-foot" }, ...cardFoot(opp, late)),
      closed ? closedActions(opp) : openActions(opp, stage),
      error ? el("p", { class: "card-error", role: "alert" }, error) : null);
    node.addEventListener("click", (e) => {
      if (e.target.closest("a, button, select, input, label")) return;
      window.location.href = `/opportunities/${opp.id}`;
    });
    node.addEventListener("keydown", (e) => onCardKey(e, node, opp));
    node.addEventListener("dragstart", (e) => {
      state.dragging = opp;
      e.dataTransfer.effectAllowed = "move";
      e.dataTransfer.setData("text/plain", String(opp.id));
      node.classList.add("dragging");
      root.classList.add("is-dragging");
    });
    node.addEventListener("dragend", () => {
      node.classList.remove("dragging");
      root.classList.remove("is-dragging");
      for (const c of root.querySelectorAll(".drop-target")) c.classList.remove("drop-target");
      state.dragging = null;
      if (state.reloadWhenDropped) { state.reloadWhenDropped = false; load(); }
    });
    return node;
  }

  function cardFoot(opp, late) {
    if (opp.outcome !== "open") {
      const when = opp.closed_at ? ws.fmtDate(opp.closed_at) : "";
      return [el("span", {}, (opp.outcome === "won" ? "Won " : "Lost ") + when),
              opp.close_reason ? el("span", { class: "card-reason", title: opp.close_reason }, opp.close_reason) : null];
    }
    return [
      el("span", { class: "card-days" + (opp.overdue ? " bad" : ""), title: "Time in this stage" }, ws.fmtDuration(opp.days_in_stage) + " in stage"),
      opp.next_action_date
        ? el("span", { class: "card-next" + (late ? " bad" : ""), title: opp.next_action_note || "Next action date" }, "Next: " + ws.fmtDate(opp.next_action_date))
        : el("span", { class: "card-next muted" }, "No next action"),
    ];
  }

  // "Move to…" picks a stage; the Move button (or Enter in the list) confirms. Won / Lost close the deal.
  function openActions(opp, stage) {
    const move = el("select", { class: "card-move", "aria-label": `Move ${opp.title} to another stage`, "data-role": "move" },
      el("option", { value: "" }, "Move to…"),
      state.stages.filter((s) => s.id !== stage.id).map((s) => el("option", { value: String(s.id) }, `${s.number} · ${s.name}`)));
    const go = el("button", { type: "button", class: "small", "data-role": "move-go", disabled: true }, "Move");
    const confirm = () => { if (move.value) moveCard(opp, Number(move.value)); };
    move.addEventListener("change", () => { go.disabled = !move.value; });
    move.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); e.stopPropagation(); confirm(); } });
    go.addEventListener("click", confirm);
    const won = el("button", { type: "button", class: "small won-btn", "data-role": "won", "aria-label": `Mark ${opp.title} as won` }, "Won");
    const lost = el("button", { type: "button", class: "small lost-btn", "data-role": "lost", "aria-label": `Mark ${opp.title} as lost` }, "Lost");
    won.addEventListener("click", () => winCard(opp));
    lost.addEventListener("click", () => loseCard(opp));
    return el("div", { class: "card-actions" }, el("div", { class: "card-move-row" }, move, go), el("div", { class: "card-close-row" }, won, lost));
  }

  function closedActions(opp) {
    const again = el("button", { type: "button", class: "small", "data-role": "reopen", "aria-label": `Reopen ${opp.title}` }, "Reopen");
    again.addEventListener("click", () => reopenCard(opp));
    return el("div", { class: "card-actions" }, again);
  }

  // ---- focus and keys ------------------------------------------------------

  function rememberFocus() {
    const active = document.activeElement;
    const cardEl = active && active.closest && active.closest(".card");
    return cardEl ? { id: cardEl.dataset.oppId, role: active.dataset.role || "card" } : null;
  }
  function restoreFocus(focus) {
    if (!focus) return;
    const cardEl = columnsEl.querySelector(`.card[data-opp-id="${focus.id}"]`);
    if (!cardEl) return;
    const inner = focus.role !== "card" && focus.role !== "move" && cardEl.querySelector(`[data-role="${focus.role}"]`);
    (inner || cardEl).focus();
  }
  const cardFocus = (opp) => ({ id: String(opp.id), role: "card" });

  function onCardKey(e, node, opp) {
    if (e.target !== node) return;
    const pick = state.pick && state.pick.oppId === opp.id ? state.pick : null;
    if (e.key === "Enter") {
      e.preventDefault();
      if (pick) { state.pick = null; moveCard(opp, pick.stageId); } else window.location.href = `/opportunities/${opp.id}`;
    } else if (e.key === "Escape" && pick) {
      e.preventDefault();
      state.pick = null;
      showPick();
      say("Move cancelled.");
    } else if ((e.key === "ArrowRight" || e.key === "ArrowLeft") && opp.outcome === "open") {
      e.preventDefault();
      const from = state.stages.findIndex((s) => s.id === (pick ? pick.stageId : opp.stage_id));
      const to = state.stages[from + (e.key === "ArrowRight" ? 1 : -1)];
      if (!to) return;
      state.pick = to.id === opp.stage_id ? null : { oppId: opp.id, stageId: to.id };
      showPick();
      say(state.pick ? `Move ${opp.title} to ${to.name}? Press Enter to move, Escape to cancel.` : `${opp.title} stays in ${to.name}.`);
    } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      const sibling = e.key === "ArrowDown" ? node.nextElementSibling : node.previousElementSibling;
      if (sibling) sibling.focus();
    }
  }

  function showPick() {
    for (const c of columnsEl.querySelectorAll(".column.is-picked")) c.classList.remove("is-picked");
    if (!state.pick) return;
    const column = columnsEl.querySelector(`.column[data-stage-id="${state.pick.stageId}"]`);
    if (column) column.classList.add("is-picked");
  }

  // ---- drops ----------------------------------------------------------------

  function wireDropTarget(target, accepts, onDrop) {
    target.addEventListener("dragover", (e) => {
      if (!state.dragging) return;
      e.preventDefault();
      const ok = accepts(state.dragging);
      e.dataTransfer.dropEffect = ok ? "move" : "none";
      target.classList.toggle("drop-target", ok);
    });
    target.addEventListener("dragleave", (e) => {
      if (!target.contains(e.relatedTarget)) target.classList.remove("drop-target");
    });
    target.addEventListener("drop", (e) => {
      e.preventDefault();
      target.classList.remove("drop-target");
      const opp = state.dragging || state.opps.find((o) => String(o.id) === e.dataTransfer.getData("text/plain"));
      state.dragging = null;
      if (opp && accepts(opp)) onDrop(opp);
    });
  }

  // ---- moves and outcomes ------------------------------------------------------

  async function moveCard(opp, stageId) {
    const focus = cardFocus(opp);   // before the card leaves its column (moving it drops the focus)
    state.cardErrors.delete(opp.id);
    state.pick = null;
    // Show the move at once; the re-fetch afterwards is the truth (a refused move returns the card).
    const cardEl = columnsEl.querySelector(`.card[data-opp-id="${opp.id}"]`);
    const target = columnLists.get(stageId);
    if (cardEl && target) { cardEl.classList.add("pending"); target.prepend(cardEl); cardEl.focus(); }
    try {
      await api("PATCH", `/opportunities/${opp.id}`, { stage_id: stageId });
      say(`Moved ${opp.title} to ${stageName(stageId)}.`);
      await load(focus);
    } catch (err) {
      await refused(opp, err, focus, () => api("PATCH", `/opportunities/${opp.id}`, { stage_id: stageId }), stageName(stageId));
    }
  }

  async function winCard(opp) {
    const focus = cardFocus(opp);
    state.cardErrors.delete(opp.id);
    const win = () => outcomes.close(opp.id, "won");
    try {
      await win();
      say(`${opp.title} is won.`);
      await load(focus);
    } catch (err) {
      await refused(opp, err, focus, win, `${finalStage().name} (won)`);
    }
  }

  async function loseCard(opp) {
    const cardEl = () => columnsEl.querySelector(`.card[data-opp-id="${opp.id}"]`);
    // Where focus goes once the lost card leaves the board (lost deals hidden): its neighbour in the column.
    const here = cardEl();
    const neighbour = here && (here.nextElementSibling || here.previousElementSibling);
    const done = await outcomes.askLost(opp, state.pipeline.lost_reasons, { returnFocus: cardEl });
    if (!done) return;
    say(`${opp.title} is lost.`);
    await load(state.lost ? cardFocus(opp) : neighbour && { id: neighbour.dataset.oppId, role: "card" });
    if (!state.lost && !columnsEl.contains(document.activeElement)) $("filter-lost").focus();
  }

  async function reopenCard(opp) {
    state.cardErrors.delete(opp.id);
    try {
      const reopened = await outcomes.reopen(opp.id);
      say(`${opp.title} is open again, in ${stageName(reopened.stage_id)}.`);
    } catch (err) {
      state.cardErrors.set(opp.id, ws.describe(err));
    }
    await load(cardFocus(opp));
  }

  async function refused(opp, err, focus, retry, targetName) {
    if (err.code === "checklist_incomplete") {
      await load(focus);
      checklistDialog.open({
        opp, fromName: stageName(opp.stage_id), targetName, items: (err.details && err.details.items) || [], retry,
        onDone: () => say(`Moved ${opp.title} to ${targetName}.`),
        onClose: () => { restoreFocus(focus); load(focus); },
      });
    } else {
      state.cardErrors.set(opp.id, ws.describe(err));
      await load(focus);
    }
  }

  // ---- filters, compact mode and picker ---------------------------------------

  function setupCompact() {
    const key = `stagecraft.board.compact.${pipelineId}`;
    const saved = window.localStorage.getItem(key);
    const toggle = $("compact-toggle");
    toggle.checked = saved === null ? state.stages.length > 8 : saved === "1";   // long pipelines start compact
    const apply = () => columnsEl.classList.toggle("compact", toggle.checked);
    toggle.addEventListener("change", () => { window.localStorage.setItem(key, toggle.checked ? "1" : "0"); apply(); });
    apply();
  }

  ownerSelect.addEventListener("change", () => { state.owner = ownerSelect.value; load(); });
  $("filter-overdue").addEventListener("change", (e) => { state.overdue = e.target.checked; load(); });
  $("filter-lost").addEventListener("change", (e) => { state.lost = e.target.checked; load(); });
  let searchTimer = null;
  $("filter-q").addEventListener("input", (e) => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => { state.q = e.target.value.trim(); load(); }, 200);
  });
  const picker = document.querySelector("[data-pipeline-picker]");
  if (picker) picker.addEventListener("change", () => { window.location.href = `/pipelines/${picker.value}`; });

  init();
});
