// The opportunity record (Keap's tabs): General, Products, Custom fields, Sharing on top;
// Tasks & notes, Sales history, Follow-up sequences below.  Every value renders as text.
"use strict";
Stagecraft.page("record", ({ root, $, api, el, money, ws, live, outcomes }) => {
  const oppId = Number(root.dataset.opportunityId);

  const state = { rec: null, pipeline: null, stages: [], users: new Map(), userList: [], teams: new Map(), generalDirty: false,
                  fieldsDirty: false, filledGeneral: null };

  // ---- loading -------------------------------------------------------------

  async function init() {
    ws.tabs(document.querySelector('[data-tabs="top"]'));
    ws.tabs(document.querySelector('[data-tabs="bottom"]'));
    try {
      const [rec, users, teams] = await Promise.all([api("GET", `/opportunities/${oppId}`), ws.usersById(),
                                                     api("GET", "/teams").catch(() => [])]);
      state.teams = new Map(teams.map((t) => [t.id, t]));
      state.users = users.byId;
      state.userList = users.list;
      const pipeline = await api("GET", `/pipelines/${rec.pipeline_id}`);
      state.pipeline = pipeline;
      state.stages = pipeline.stages.slice().sort((a, b) => a.number - b.number);
      $("crumb-pipeline").textContent = pipeline.name;
      show(rec);
    } catch (err) {
      ws.showError($("record-error"), "Could not load this opportunity: " + ws.describe(err));
      return;
    }
    live({ rooms: [`opportunity:${oppId}`], events: { opportunity_changed: true }, resync: reload });
  }

  async function reload() {
    try {
      show(await api("GET", `/opportunities/${oppId}`));
      ws.showError($("record-error"), "");
    } catch (err) {
      ws.showError($("record-error"), "Could not refresh: " + ws.describe(err));
    }
  }

  // One action from a control: disabled while it runs, its error shown in `slot`, then the record reloads.
  const act = (control, slot, action, onError) => ws.act(control, slot, action, { after: reload, onError });

  const userName = (id) => { const u = state.users.get(id); return u ? (u.name || u.username) : (id ? `User #${id}` : "Unassigned"); };
  const stageOf = (id) => state.stages.find((s) => s.id === id);

  function show(rec) {
    state.rec = rec;
    document.title = `${rec.title} · Stagecraft`;
    renderHeader(rec);
    renderOutcome(rec);
    renderGeneral(rec);
    renderChecklist(rec);
    renderProducts(rec);
    renderFields(rec);
    renderShares(rec);
    renderTimeline(rec);
    renderHistory(rec);
    renderSequences(rec);
  }

  // ---- header --------------------------------------------------------------

  function renderHeader(rec) {
    const stage = stageOf(rec.stage_id);
    $("record-title").textContent = rec.title;
    $("crumb-title").textContent = rec.title;
    const contact = $("record-contact");
    contact.textContent = rec.contact.name || rec.contact.email;
    contact.href = `/contacts/${rec.contact_id}`;
    contact.title = rec.contact.email || "";
    $("record-owner").textContent = "Owner: " + (rec.owner_name || "Unassigned");
    $("fact-stage").replaceChildren(el("span", { class: "stage-pill" }, stage ? `${stage.number} · ${stage.name}` : rec.stage_name));
    $("fact-value").textContent = money(rec.value);
    $("fact-weighted").textContent = stage ? money(rec.value * stage.probability / 100) + ` (${stage.probability}%)` : "—";
    $("fact-days").replaceChildren(rec.outcome === "open" ? ws.fmtDuration(rec.days_in_stage) : "—",
      rec.overdue ? el("span", { class: "badge overdue" }, "Overdue") : "");
    $("fact-next").textContent = rec.next_action_date ? ws.fmtDate(rec.next_action_date) : "—";
  }

  // ---- Outcome: won / lost / reopen ------------------------------------------

  function renderOutcome(rec) {
    const closed = rec.outcome !== "open";
    $("record-actions").hidden = closed;
    // Enabled once the record is loaded: the dialogs need its title, value and pipeline.
    for (const id of ["btn-won", "btn-lost", "btn-reopen"]) $(id).disabled = false;
    $("outcome-banner").hidden = !closed;
    $("outcome-banner").className = `outcome-banner outcome-${rec.outcome}`;
    $("f-stage").disabled = closed;
    if (!closed) return;
    const words = [rec.outcome === "won" ? "Won" : "Lost", "on", ws.fmtDate(rec.closed_at)];
    if (rec.close_reason) words.push("·", rec.close_reason);
    if (rec.close_note) words.push("·", rec.close_note);
    $("outcome-text").textContent = words.join(" ");
  }

  $("btn-won").addEventListener("click", (e) => act(e.currentTarget, $("outcome-error"), () => outcomes.close(oppId, "won"), (err) => {
    if (err.code !== "checklist_incomplete") { ws.showError($("outcome-error"), err); return; }
    const items = (err.details && err.details.items) || [];
    ws.showError($("outcome-error"), `To win it, tick the required checklist items first: ${items.map((i) => i.text).join("; ")}`);
    for (const item of items) {
      const row = document.querySelector(`#checklist li[data-item-id="${item.id}"]`);
      if (row) row.classList.add("needs-attention");
    }
  }));
  $("btn-lost").addEventListener("click", async () => {
    if (await outcomes.askLost(state.rec, state.pipeline.lost_reasons, { returnFocus: () => $("btn-reopen") })) await reload();
  });
  $("btn-reopen").addEventListener("click", (e) => act(e.currentTarget, $("outcome-error"), async () => {
    await outcomes.reopen(oppId);
    setTimeout(() => $("btn-lost").focus(), 0);
  }));

  // ---- General -------------------------------------------------------------

  const generalValues = (rec) => ({ owner_id: rec.owner_id, value: rec.value, expected_close_date: rec.expected_close_date || "",
                                    next_action_date: rec.next_action_date || "", next_action_note: rec.next_action_note || "" });

  function renderGeneral(rec) {
    const stageSelect = $("f-stage");
    stageSelect.replaceChildren(...state.stages.map((s) =>
      el("option", { value: String(s.id) }, `${s.number} · ${s.name} (${s.probability}%)`)));
    stageSelect.value = String(rec.stage_id);
    const values = generalValues(rec);
    if (state.generalDirty) {
      if (JSON.stringify(values) !== JSON.stringify(state.filledGeneral)) $("stale-banner").hidden = false;
      return;
    }
    fillGeneral(values);
  }

  function fillGeneral(values) {
    const owner = $("f-owner");
    owner.replaceChildren(el("option", { value: "" }, "Unassigned"),
      ...state.userList.filter((u) => u.active || u.id === values.owner_id)
        .map((u) => el("option", { value: String(u.id) }, `${u.name || u.username} (${u.role})`)));
    owner.value = values.owner_id ? String(values.owner_id) : "";
    $("f-value").value = String(values.value ?? 0);
    $("f-close-date").value = values.expected_close_date;
    $("f-next-date").value = values.next_action_date;
    $("f-next-note").value = values.next_action_note;
    state.filledGeneral = values;
    state.generalDirty = false;
    $("stale-banner").hidden = true;
  }

  $("general-form").addEventListener("input", (e) => {
    if (e.target.id !== "f-stage") { state.generalDirty = true; $("general-status").textContent = "Unsaved changes"; }
  });
  $("stale-reload").addEventListener("click", () => { state.generalDirty = false; fillGeneral(generalValues(state.rec)); $("general-status").textContent = ""; });

  $("general-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    for (const n of form.querySelectorAll("[data-error-for]")) ws.showError(n, "");
    ws.showError($("general-error"), "");
    const before = generalValues(state.rec);
    const after = {
      owner_id: $("f-owner").value ? Number($("f-owner").value) : null,
      value: $("f-value").value === "" ? 0 : Number($("f-value").value),
      expected_close_date: $("f-close-date").value || null,
      next_action_date: $("f-next-date").value || null,
      next_action_note: $("f-next-note").value,
    };
    const changes = {};
    for (const key of Object.keys(after)) if ((after[key] ?? "") !== (before[key] ?? "")) changes[key] = after[key];
    if (Number.isNaN(after.value)) { ws.showError(form.querySelector('[data-error-for="value"]'), "Value must be a number."); return; }
    if (!Object.keys(changes).length) { $("general-status").textContent = "Nothing to save"; state.generalDirty = false; return; }
    act($("general-save"), $("general-error"), async () => {
      await api("PATCH", `/opportunities/${oppId}`, changes);
      state.generalDirty = false;
      $("general-status").textContent = "Saved";
    }, (err) => {  // each field's error next to its field
      const fieldErrors = (err.details && err.details.errors) || [];
      let placed = false;
      for (const fe of fieldErrors) {
        const slot = form.querySelector(`[data-error-for="${String(fe.field).split(".").pop()}"]`);
        if (slot) { ws.showError(slot, fe.message); placed = true; }
      }
      const field = err.details && err.details.field;
      const slot = field && form.querySelector(`[data-error-for="${field}"]`);
      if (slot) ws.showError(slot, err.message);
      else if (!placed) ws.showError($("general-error"), err);
      $("general-status").textContent = "";
    });
  });

  $("f-stage").addEventListener("change", (e) => {
    const select = e.target;
    const errorSlot = $("stage-error");
    act(select, errorSlot, () => api("PATCH", `/opportunities/${oppId}`, { stage_id: Number(select.value) }), (err) => {
      select.value = String(state.rec.stage_id);
      if (err.code !== "checklist_incomplete") { ws.showError(errorSlot, err); return; }
      const items = (err.details && err.details.items) || [];
      ws.showError(errorSlot, `Tick the required checklist items first: ${items.map((i) => i.text).join("; ")}`);
      for (const item of items) {
        const row = document.querySelector(`#checklist li[data-item-id="${item.id}"]`);
        if (row) row.classList.add("needs-attention");
      }
    });
  });

  // ---- checklist -----------------------------------------------------------

  function renderChecklist(rec) {
    const stage = stageOf(rec.stage_id);
    $("checklist-stage").textContent = stage ? stage.name : rec.stage_name;
    const list = $("checklist");
    if (!rec.checklist.length) {
      list.replaceChildren(el("li", { class: "muted" }, "This stage has no checklist."));
      return;
    }
    list.replaceChildren(...rec.checklist.map((item) => {
      const box = el("input", { type: "checkbox", checked: item.done, "aria-describedby": `ck-err-${item.id}` });
      const note = el("span", { class: "field-error", id: `ck-err-${item.id}`, hidden: true });
      box.addEventListener("change", () => ws.act(box, note, async () => {
        await api("PUT", `/opportunities/${oppId}/checklist/${item.id}`, { done: box.checked });
        box.closest("li").classList.remove("needs-attention");
        if (box.checked) ws.showError($("stage-error"), "");
      }, { onError: (err) => { box.checked = !box.checked; ws.showError(note, err); } }));
      return el("li", { "data-item-id": item.id, class: item.done ? "done" : "" },
        el("label", { class: "check-item" }, box, el("span", { class: "check-text" }, item.text),
          item.required ? el("span", { class: "req-mark", title: "Required before leaving this stage" }, "Required") : null),
        note);
    }));
  }

  // ---- Products ------------------------------------------------------------

  const productSpec = (p) => ({ name: p.name, quantity: p.quantity, special_price: p.special_price });

  function renderProducts(rec) {
    const body = $("products-table").querySelector("tbody");
    if (!rec.products.length) {
      body.replaceChildren(el("tr", {}, el("td", { colspan: "4", class: "empty-cell" }, "No products of interest yet.")));
      return;
    }
    body.replaceChildren(...rec.products.map((p, index) => {
      const remove = el("button", { type: "button", class: "linklike danger small" }, "Remove");
      remove.addEventListener("click", () => saveProducts(rec.products.filter((_, i) => i !== index).map(productSpec), remove));
      return el("tr", {}, el("td", {}, p.name), el("td", { class: "num" }, String(p.quantity)),
        el("td", { class: "num" }, p.special_price === null ? "—" : money(p.special_price)), el("td", { class: "num" }, remove));
    }));
  }

  const saveProducts = (products, button) => act(button, $("product-error"), () => api("PATCH", `/opportunities/${oppId}`, { products }));

  $("product-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const name = form.elements.name.value.trim();
    if (!name) { ws.showError($("product-error"), "Enter a product name."); return; }
    const price = form.elements.special_price.value;
    const added = { name, quantity: Number(form.elements.quantity.value || 1), special_price: price === "" ? null : Number(price) };
    if (await saveProducts([...state.rec.products.map(productSpec), added], form.querySelector("button"))) form.reset();
  });

  // ---- Custom fields -------------------------------------------------------

  function renderFields(rec) {
    if (state.fieldsDirty) return;
    const rows = $("fields-rows");
    const entries = Object.entries(rec.custom_fields || {});
    if (!entries.length) {
      rows.replaceChildren(el("p", { class: "muted" }, "No custom fields on this opportunity yet."));
      return;
    }
    rows.replaceChildren(...entries.map(([key, value]) => {
      const id = "cf-" + key.replace(/[^A-Za-z0-9_-]/g, "_");
      return el("div", { class: "field-row" }, el("label", { for: id }, key),
        el("input", { id, "data-key": key, "data-type": typeof value, value: value === null ? "" : typeof value === "object" ? JSON.stringify(value) : String(value) }));
    }));
  }

  $("fields-form").addEventListener("input", () => { state.fieldsDirty = true; $("fields-status").textContent = "Unsaved changes"; });
  $("field-add").addEventListener("click", () => {
    const name = $("field-new-name").value.trim();
    ws.showError($("fields-error"), "");
    if (!name) { ws.showError($("fields-error"), "Enter a field name."); return; }
    if ($("fields-rows").querySelector(`input[data-key="${CSS.escape(name)}"]`)) { ws.showError($("fields-error"), "That field exists."); return; }
    const rows = $("fields-rows");
    if (rows.querySelector("p")) rows.replaceChildren();
    const id = "cf-" + name.replace(/[^A-Za-z0-9_-]/g, "_");
    rows.append(el("div", { class: "field-row" }, el("label", { for: id }, name),
      el("input", { id, "data-key": name, "data-type": "string", value: $("field-new-value").value })));
    $("field-new-name").value = "";
    $("field-new-value").value = "";
    state.fieldsDirty = true;
    $("fields-status").textContent = "Unsaved changes";
  });
  $("fields-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const fields = {};
    for (const input of $("fields-rows").querySelectorAll("input[data-key]")) {
      const type = input.dataset.type;
      let value = input.value;
      if (type === "number" && value.trim() !== "" && !Number.isNaN(Number(value))) value = Number(value);
      if (type === "boolean") value = value === "true";
      fields[input.dataset.key] = value;
    }
    act($("fields-save"), $("fields-error"), async () => {
      await api("PATCH", `/opportunities/${oppId}`, { custom_fields: fields });
      state.fieldsDirty = false;
      $("fields-status").textContent = "Saved";
    });
  });

  // ---- Sharing -------------------------------------------------------------

  function renderShares(rec) {
    const list = $("share-list");
    if (!rec.shares.length) list.replaceChildren(el("li", { class: "muted" }, "Not shared. Only the owner and admins see this opportunity."));
    else list.replaceChildren(...rec.shares.map((share) => {
      const revoke = el("button", { type: "button", class: "small" }, "Revoke");
      const note = el("span", { class: "field-error", hidden: true });
      revoke.addEventListener("click", () => act(revoke, note, () => api("DELETE", `/opportunities/${oppId}/shares/${share.id}`)));
      const who = share.user_id ? state.users.get(share.user_id) : null;
      const teamName = share.team_id ? "Team " + (state.teams.get(share.team_id)?.name || `#${share.team_id}`) : "";
      return el("li", { class: "share-row", "data-share-id": share.id },
        ws.avatar(who, share.team_id ? teamName : userName(share.user_id)),
        el("span", { class: "share-name" }, share.user_id ? userName(share.user_id) : teamName),
        el("span", { class: "muted small" }, "since " + ws.fmtDate(share.shared_at)), revoke, note);
    }));
    const shared = new Set(rec.shares.map((s) => s.user_id));
    const sharedTeams = new Set(rec.shares.map((s) => s.team_id));
    const select = $("share-user");
    const chosen = select.value;   // a live refresh must not drop what the user picked
    const teamOptions = [...state.teams.values()].filter((t) => !sharedTeams.has(t.id))
      .map((t) => el("option", { value: `team:${t.id}` }, `${t.name} (team)`));
    select.replaceChildren(el("option", { value: "" }, "Share with…"),
      el("optgroup", { label: "Users" },
        ...state.userList.filter((u) => u.active && u.id !== rec.owner_id && !shared.has(u.id))
          .map((u) => el("option", { value: `user:${u.id}` }, `${u.name || u.username} (${u.role})`))),
      teamOptions.length ? el("optgroup", { label: "Teams" }, ...teamOptions) : null);
    if (chosen && select.querySelector(`option[value="${chosen}"]`)) select.value = chosen;
  }

  $("share-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const [kind, rawId] = $("share-user").value.split(":");
    const grantee = kind === "team" ? { team_id: Number(rawId) } : { user_id: Number(rawId) };
    ws.showError($("share-error"), "");
    if (!rawId) { ws.showError($("share-error"), "Pick a user or a team."); return; }
    act(e.currentTarget.querySelector("button"), $("share-error"), () => api("POST", `/opportunities/${oppId}/shares`, grantee));
  });

  // ---- Tasks & notes -------------------------------------------------------

  const activity = () => Stagecraft.recordActivity({ $, el, ws, userName, reload });
  const renderTimeline = (rec) => activity().timeline(rec);

  $("note-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const body = $("note-body").value;
    if (!body.trim()) { ws.showError($("note-error"), "Write something first."); return; }
    act($("note-add"), $("note-error"), async () => {
      await api("POST", `/opportunities/${oppId}/notes`, { body });
      $("note-body").value = "";
    });
  });

  $("task-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const title = $("task-title").value.trim();
    if (!title) { ws.showError($("task-error"), "Give the task a title."); return; }
    act($("task-add"), $("task-error"), async () => {
      await api("POST", "/tasks", { title, due_date: $("task-due").value || null, opportunity_id: oppId,
                                    contact_id: state.rec.contact_id });
      $("task-title").value = "";
      $("task-due").value = "";
    });
  });

  // ---- Sales history -------------------------------------------------------

  const renderHistory = (rec) => activity().history(rec);

  // ---- Follow-up sequences -------------------------------------------------

  function renderSequences(rec) {
    ws.renderSequenceRuns(rec.sequences || [], reload);
  }

  init();
});
