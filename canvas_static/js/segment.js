// Segment page: build the rules with a live count (POST /segments/count as you edit), save, see the first
// contacts, and act on the whole segment (apply or remove a tag, export) as a background job.
"use strict";
Stagecraft.page("segment-page", async ({ root, $, api, el, rulesEditor, jobPanel }) => {
  let segmentId = Number(root.dataset.segmentId) || null;
  const say = (id, text) => { $(id).textContent = text || ""; };
  const [fields, users, pipelines, tags, segment] = await Promise.all([
    api("GET", "/segments/fields"), api("GET", "/users").catch(() => []), api("GET", "/pipelines").catch(() => []),
    api("GET", "/tags").catch(() => []), segmentId ? api("GET", `/segments/${segmentId}`) : null]);
  const fullPipelines = await Promise.all(pipelines.map((p) => api("GET", `/pipelines/${p.id}`).catch(() => p)));
  $("seg-tag-list").replaceChildren(...tags.map((t) => el("option", { value: t })));
  if (segment) $("seg-name").value = segment.name;

  let countTimer = null;
  let countSeq = 0;
  async function recount() {
    const mine = ++countSeq;
    $("seg-count").textContent = "…";
    say("seg-error");
    try {
      const { count } = await api("POST", "/segments/count", { rules: editor.value() });
      if (mine !== countSeq) return;
      editor.showProblems([]);
      $("seg-count").textContent = count.toLocaleString();
      $("seg-count-label").textContent = count === 1 ? "contact matches now" : "contacts match now";
    } catch (err) {
      if (mine !== countSeq) return;
      $("seg-count").textContent = "—";
      const rest = editor.showProblems(err.details && err.details.problems);
      if (rest.length || !(err.details && err.details.problems)) say("seg-error", rest.join(" ") || err.message);
    }
  }
  const scheduleCount = () => { clearTimeout(countTimer); countTimer = setTimeout(recount, 300); };
  const editor = rulesEditor($("seg-rules"), { fields, rules: segment && segment.rules, users, pipelines: fullPipelines,
    tags, onChange: scheduleCount });
  recount();

  async function loadMembers() {
    if (!segmentId) return;
    const rows = await api("GET", `/segments/${segmentId}/contacts?limit=50`);
    $("seg-members").tBodies[0].replaceChildren(...(rows.length ? rows.map((c) => el("tr", { "data-contact-id": c.id },
      el("td", {}, el("a", { href: `/contacts/${c.id}` }, c.name || c.email)), el("td", {}, c.email),
      el("td", {}, c.tags.map((t) => el("span", { class: "tag" }, t)))))
      : [el("tr", {}, el("td", { colspan: "3", class: "empty-cell" }, "No contact matches these rules now."))]));
  }

  $("seg-save").addEventListener("click", async () => {
    say("seg-status"); say("seg-error"); say("seg-name-error");
    const body = { name: $("seg-name").value, rules: editor.value() };
    try {
      const saved = segmentId ? await api("PATCH", `/segments/${segmentId}`, body) : await api("POST", "/segments", body);
      segmentId = saved.id;
      root.dataset.segmentId = saved.id;
      history.replaceState(null, "", `/segments/${saved.id}`);
      $("seg-title").textContent = saved.name;
      document.title = `${saved.name} · Stagecraft`;
      $("seg-bulk").hidden = $("seg-members-card").hidden = $("seg-delete").hidden = false;
      say("seg-status", `Saved: ${saved.count.toLocaleString()} contacts match.`);
      await loadMembers();
    } catch (err) {
      const problems = err.details && err.details.problems;
      if (problems) editor.showProblems(problems);
      say(err.details && err.details.field === "name" ? "seg-name-error" : "seg-error",
        problems ? "Some rules need fixing (see above)." : err.message);
    }
  });

  $("seg-delete").addEventListener("click", async () => {
    if (!segmentId || !window.confirm("Delete this segment? Its contacts stay.")) return;
    try { await api("DELETE", `/segments/${segmentId}`); window.location.assign("/segments"); }
    catch (err) { say("seg-error", err.message); }
  });

  const buttons = ["seg-apply", "seg-remove", "seg-export"].map((id) => $(id));
  async function bulk(action) {
    say("seg-tag-error");
    const tag = $("seg-tag").value.trim();
    if (action !== "export" && !tag) { say("seg-tag-error", "Type the tag to apply or remove."); $("seg-tag").focus(); return; }
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const started = await api("POST", "/contacts/bulk", { segment_id: segmentId, action, ...(action === "export" ? {} : { tag }) });
      jobPanel($("seg-job"), started.job_id, { onDone: () => { buttons.forEach((b) => { b.disabled = false; }); loadMembers(); } });
    } catch (err) {
      buttons.forEach((b) => { b.disabled = false; });
      say("seg-tag-error", err.message);
    }
  }
  $("seg-apply").addEventListener("click", () => bulk("apply_tag"));
  $("seg-remove").addEventListener("click", () => bulk("remove_tag"));
  $("seg-export").addEventListener("click", () => bulk("export"));
  await loadMembers();
});
