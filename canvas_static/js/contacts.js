// Contacts page: search and list, every value rendered as text.
"use strict";
Stagecraft.page("contacts-table", ({ root, $, api, el }) => {
  const body = root.querySelector("tbody");
  async function load(q) {
    const rows = await api("GET", "/contacts?limit=200&q=" + encodeURIComponent(q || ""));
    body.replaceChildren(...rows.map((c) => el("tr", { "data-contact-id": c.id },
      el("td", {}, el("a", { href: `/contacts/${c.id}` }, c.name || c.email)), el("td", {}, c.email),
      el("td", {}, c.tags.map((t) => el("span", { class: "tag" }, t))))));
  }
  let timer;
  $("contact-search").addEventListener("input", (e) => {
    clearTimeout(timer); timer = setTimeout(() => load(e.target.value), 200);
  });
  const initial = new URLSearchParams(location.search).get("q") || "";
  $("contact-search").value = initial;
  load(initial);
});
