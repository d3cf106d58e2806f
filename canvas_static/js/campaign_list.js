// The campaign list: status, live version, contacts active, last published; create,
// open, duplicate, archive, import. Built with Stagecraft.el (text nodes only).
"use strict";
Stagecraft.page("campaign-list", ({ root, $, api, el }) => {
  const canEdit = root.dataset.canEdit === "1";
  const tbody = root.querySelector("#campaigns-table tbody");
  const errorBox = $("list-error");
  const archived = $("show-archived");

  const showError = (msg) => { errorBox.textContent = msg; errorBox.hidden = !msg; };
  const when = (iso) => Stagecraft.dates.dateTime(iso);
  const STATUS = { draft: "Draft", live: "Live", paused: "Paused", archived: "Archived" };

  function statusCell(c) {
    const cell = el("td", { class: "status-cell" }, el("span", { class: `badge ${c.status}` }, STATUS[c.status] || c.status));
    if (canEdit && c.live_version && c.has_unpublished_changes) cell.append(" ", el("span", { class: "badge changes", title: "The draft differs from the live version" }, "Unpublished changes"));
    return cell;
  }

  function row(c) {
    const name = canEdit ? el("a", { href: `/campaigns/${c.id}`, class: "campaign-name" }, c.name) : el("span", { class: "campaign-name" }, c.name);
    const tr = el("tr", { dataset: { campaignId: String(c.id) } }, el("td", {}, name), statusCell(c));
    if (!canEdit) return tr;
    tr.append(
      el("td", {}, c.live_version ? `v${c.live_version}` : el("span", { class: "muted" }, "—")),
      el("td", { class: "num" }, String(c.contacts_active ?? 0)),
      el("td", {}, c.published_at ? [when(c.published_at), el("div", { class: "muted small" }, c.published_by ? `by ${c.published_by}` : "")] : el("span", { class: "muted" }, "Never")),
      el("td", { class: "actions" },
        el("a", { class: "button-link", href: `/campaigns/${c.id}` }, "Open"),
        el("button", { type: "button", class: "duplicate-btn", onclick: () => duplicate(c) }, "Duplicate"),
        c.status === "archived" ? null : el("button", { type: "button", class: "danger archive-btn", onclick: () => archive(c) },
          c.live_version ? "Archive" : "Delete")),
    );
    return tr;
  }

  async function load() {
    showError("");
    try {
      const list = await api("GET", `/campaigns${archived && archived.checked ? "?include_archived=1" : ""}`);
      tbody.replaceChildren(...(list.length ? list.map(row)
        : [el("tr", {}, el("td", { colspan: "6", class: "muted empty-row" }, canEdit ? "No campaigns yet. Create the first one above." : "No campaigns yet."))]));
    } catch (err) { showError(err.message); }
  }

  async function duplicate(c) {
    try { const copy = await api("POST", `/campaigns/${c.id}/duplicate`); window.location.href = `/campaigns/${copy.id}`; }
    catch (err) { showError(err.message); }
  }
  async function archive(c) {
    const verb = c.live_version ? "Archive" : "Delete";
    const extra = c.live_version ? " Contacts in it stop." : " It was never published.";
    if (!window.confirm(`${verb} “${c.name}”?${extra}`)) return;
    try { await api("DELETE", `/campaigns/${c.id}`); load(); } catch (err) { showError(err.message); }
  }

  if (canEdit) {
    $("new-campaign").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const input = $("new-campaign-name");
      const name = input.value.trim();
      if (!name) return;
      try { const c = await api("POST", "/campaigns", { name }); window.location.href = `/campaigns/${c.id}`; }
      catch (err) { showError(err.message); }
    });
    const file = $("import-file");
    $("import-campaign").addEventListener("click", () => file.click());
    file.addEventListener("change", async () => {
      const f = file.files && file.files[0];
      file.value = "";
      if (!f) return;
      try {
        const c = await api("POST", "/campaigns/import", JSON.parse(await f.text()));
        if ((c.missing_references || []).length) sessionStorage.setItem(`stagecraft.missing.${c.id}`, JSON.stringify(c.missing_references));
        window.location.href = `/campaigns/${c.id}`;
      } catch (err) { showError(`Import failed: ${err.message}`); }
    });
    if (archived) archived.addEventListener("change", load);
  }
  load();
});
