// Segments page: every saved segment with its rules in words; counts are read one by one (each is a query).
"use strict";
Stagecraft.page("segments-page", ({ $, api, el }) => {
  const when = (iso) => new Date(iso).toLocaleString();
  async function load() {
    try {
      const rows = await api("GET", "/segments");
      const body = $("segments-table").tBodies[0];
      if (!rows.length) {
        body.replaceChildren(el("tr", {}, el("td", { colspan: "4", class: "empty-cell" }, "No segments yet. Make one with “New segment”.")));
        return;
      }
      body.replaceChildren(...rows.map((s) => el("tr", { "data-segment-id": s.id },
        el("td", {}, el("a", { href: `/segments/${s.id}` }, s.name)), el("td", { class: "muted" }, s.description),
        el("td", { class: "num", "data-count": "" }, "…"), el("td", {}, when(s.updated_at)))));
      for (const s of rows) {
        api("GET", `/segments/${s.id}`).then((full) => {
          const cell = body.querySelector(`tr[data-segment-id="${s.id}"] [data-count]`);
          if (cell) cell.textContent = full.count.toLocaleString();
        }).catch(() => {});
      }
    } catch (err) { $("segments-error").textContent = err.message; }
  }
  load();
});
