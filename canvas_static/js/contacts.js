// Contacts page: search and list, every value rendered as text. Marketers and admins can select contacts
// and apply or remove a tag, or export them, as a background job whose progress shows below.
"use strict";
Stagecraft.page("contacts-table", ({ root, $, api, el, jobPanel }) => {
  const body = root.querySelector("tbody");
  const bulk = Boolean($("contacts-bulk"));
  const chosen = new Set();
  const buttons = bulk ? ["contacts-apply", "contacts-remove", "contacts-export"].map((id) => $(id)) : [];

  function showChosen() {
    if (!bulk) return;
    $("contacts-selected").textContent = chosen.size ? `${chosen.size} selected` : "No contact selected";
    buttons.forEach((b) => { b.disabled = !chosen.size; });
    const boxes = [...body.querySelectorAll("input[type=checkbox]")];
    $("contacts-all").checked = boxes.length > 0 && boxes.every((b) => b.checked);
  }

  async function load(q) {
    const rows = await api("GET", "/contacts?limit=200&q=" + encodeURIComponent(q || ""));
    body.replaceChildren(...rows.map((c) => {
      const cells = [el("td", {}, el("a", { href: `/contacts/${c.id}` }, c.name || c.email)), el("td", {}, c.email),
        el("td", {}, c.tags.map((t) => el("span", { class: "tag" }, t)))];
      if (bulk) {
        const box = el("input", { type: "checkbox", "aria-label": `Select ${c.name || c.email}`, checked: chosen.has(c.id) });
        box.addEventListener("change", () => { if (box.checked) chosen.add(c.id); else chosen.delete(c.id); showChosen(); });
        cells.unshift(el("td", {}, box));
      }
      return el("tr", { "data-contact-id": c.id }, cells);
    }));
    showChosen();
  }
  let timer;
  $("contact-search").addEventListener("input", (e) => {
    clearTimeout(timer); timer = setTimeout(() => load(e.target.value), 200);
  });
  const initial = new URLSearchParams(location.search).get("q") || "";
  $("contact-search").value = initial;
  load(initial);
  if (!bulk) return;

  $("contacts-all").addEventListener("change", (e) => {
    body.querySelectorAll("tr[data-contact-id]").forEach((tr) => {
      const id = Number(tr.dataset.contactId);
      tr.querySelector("input[type=checkbox]").checked = e.target.checked;
      if (e.target.checked) chosen.add(id); else chosen.delete(id);
    });
    showChosen();
  });
  async function act(action) {
    $("contacts-bulk-error").textContent = "";
    const tag = $("contacts-tag").value.trim();
    if (action !== "export" && !tag) { $("contacts-bulk-error").textContent = "Type the tag to apply or remove."; $("contacts-tag").focus(); return; }
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const started = await api("POST", "/contacts/bulk", { contact_ids: [...chosen], action, ...(action === "export" ? {} : { tag }) });
      jobPanel($("contacts-job"), started.job_id, { onDone: () => { showChosen(); load($("contact-search").value); } });
    } catch (err) { $("contacts-bulk-error").textContent = err.message; showChosen(); }
  }
  $("contacts-apply").addEventListener("click", () => act("apply_tag"));
  $("contacts-remove").addEventListener("click", () => act("remove_tag"));
  $("contacts-export").addEventListener("click", () => act("export"));
});
