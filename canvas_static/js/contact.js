// The contact record: name, email, custom fields, tags, opportunities and follow-up sequences.
// Every value renders as text (Stagecraft.el, never innerHTML).
"use strict";
Stagecraft.page("contact", ({ root, $, api, el, money, ws }) => {
  const contactId = Number(root.dataset.contactId);
  const state = { users: new Map() };

  const userName = (id) => { const u = state.users.get(id); return u ? (u.name || u.username) : (id ? `User #${id}` : "Unassigned"); };

  // ---- loading -------------------------------------------------------------

  async function init() {
    try {
      const users = await ws.usersById().catch(() => ({ byId: new Map() }));
      state.users = users.byId;
      showContact(await api("GET", `/contacts/${contactId}`));
    } catch (err) {
      ws.showError($("contact-error"), "Could not load this contact: " + ws.describe(err));
      return;
    }
    await Promise.all([loadOpportunities(), loadSequences()]);
  }

  async function loadOpportunities() {
    try {
      renderOpportunities(await api("GET", `/opportunities?contact_id=${contactId}`));
      ws.showError($("opps-error"), "");
    } catch (err) {
      ws.showError($("opps-error"), "Could not load the opportunities: " + ws.describe(err));
    }
  }

  async function loadSequences() {
    try {
      renderSequences(await api("GET", `/contacts/${contactId}/sequences`));
      ws.showError($("sequences-error"), "");
    } catch (err) {
      ws.showError($("sequences-error"), "Could not load the follow-up sequences: " + ws.describe(err));
    }
  }

  // ---- header, fields, tags --------------------------------------------------

  function showContact(c) {
    const name = c.name || c.email;
    document.title = `${name} · Stagecraft`;
    $("contact-name").textContent = name;
    $("crumb-name").textContent = name;
    const email = $("contact-email");
    email.textContent = c.email;
    email.href = "mailto:" + c.email;
    $("contact-owner").textContent = "Owner: " + userName(c.owner_id);
    $("contact-phone").textContent = c.phone ? c.phone : "No phone";
    showEmailStatus(c.email_status || "subscribed");
    $("fact-timezone").textContent = c.timezone || "—";
    $("fact-created").textContent = ws.fmtDate(c.created_at);
    renderFields(c.fields || {});
    renderTags(c.tags || []);
  }

  // ---- email status (suppression): every change is audited on the server --------------------

  const STATUS_NOTES = {
    subscribed: "Receives campaign emails.",
    unsubscribed: "Unsubscribed: campaign emails to this contact are skipped.",
    bounced: "The address bounced: campaign emails to this contact are skipped.",
  };
  function showEmailStatus(status) {
    $("email-status").value = status;
    $("email-status").dataset.current = status;
    $("email-status-note").textContent = STATUS_NOTES[status] || "";
  }
  $("email-status-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const status = $("email-status").value;
    const current = $("email-status").dataset.current;
    if (status === current) { ws.showError($("email-status-error"), "The contact already has this status."); return; }
    if (status === "subscribed" && !window.confirm("Subscribe this contact again? Only do so with their consent.")) return;
    ws.act($("email-status-save"), $("email-status-error"), async () => {
      showContact(await api("PUT", `/contacts/${contactId}/email-status`, { status }));
    });
  });

  function fieldValue(value) {
    if (value === null || value === undefined || value === "") return "—";
    return typeof value === "object" ? JSON.stringify(value) : String(value);
  }

  function renderFields(fields) {
    const entries = Object.entries(fields);
    $("fields-empty").hidden = entries.length > 0;
    $("contact-fields").replaceChildren(...entries.map(([key, value]) =>
      el("div", { class: "field-row" }, el("dt", {}, key), el("dd", {}, fieldValue(value)))));
  }

  function renderTags(tags) {
    const list = $("tag-list");
    if (!tags.length) { list.replaceChildren(el("li", { class: "muted small" }, "No tags.")); return; }
    list.replaceChildren(...tags.map((tag) => {
      const remove = el("button", { type: "button", class: "tag-remove linklike", "aria-label": `Remove tag ${tag}`, title: "Remove" }, "×");
      remove.addEventListener("click", () => ws.act(remove, $("tag-error"), async () => {
        showContact(await api("DELETE", `/contacts/${contactId}/tags/${encodeURIComponent(tag)}`));
      }));
      return el("li", { class: "tag", "data-tag": tag }, el("span", {}, tag), remove);
    }));
  }

  $("tag-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const input = $("tag-new");
    const tag = input.value.trim();
    if (!tag) { ws.showError($("tag-error"), "Type a tag first."); return; }
    ws.act($("tag-add"), $("tag-error"), async () => {
      showContact(await api("POST", `/contacts/${contactId}/tags`, { tag }));
      input.value = "";
    }, { after: loadSequences });  // a tag may enroll the contact in a campaign
  });

  // ---- opportunities ---------------------------------------------------------

  function renderOpportunities(opps) {
    $("count-opps").textContent = opps.length ? String(opps.length) : "";
    $("fact-opps").textContent = String(opps.length);
    $("fact-value").textContent = money(opps.reduce((sum, o) => sum + (o.value || 0), 0));
    $("opps-empty").hidden = opps.length > 0;
    $("opps-table").hidden = opps.length === 0;
    $("opps-table").querySelector("tbody").replaceChildren(...opps.map((o) => el("tr", { "data-opportunity-id": o.id },
      el("td", {}, el("a", { href: `/opportunities/${o.id}`, class: "opp-link" }, o.title),
        o.overdue ? el("div", { class: "small bad" }, "Overdue") : null),
      el("td", {}, el("span", { class: "stage-pill" }, o.stage_name)),
      el("td", { class: "num" }, money(o.value)),
      el("td", {}, o.owner_name || "Unassigned"),
      el("td", {}, o.next_action_date ? ws.fmtDate(o.next_action_date) : "—",
        o.next_action_note ? el("div", { class: "small muted" }, o.next_action_note) : null))));
  }

  // ---- follow-up sequences ---------------------------------------------------

  function renderSequences(runs) {
    ws.renderSequenceRuns(runs, loadSequences);
  }

  init();
});
