// A background job's progress panel (imports, bulk tags, exports): status, a progress bar, counts,
// failed rows, the download of an export. Live: the job's room hints at each committed chunk and the
// panel re-reads GET /jobs/{id} (pushes are hints; the REST reply is the truth).
(function () {
  "use strict";
  const { api, el } = window.Stagecraft;
  const KIND = { import: "Import", bulk_tag: "Tagging", export: "Export" };
  const FAILED_SHOWN = 100;

  function describe(job) {
    const n = (v) => (v || 0).toLocaleString();
    const what = job.kind === "bulk_tag"
      ? `${job.action === "remove_tag" ? "Removing" : "Applying"} the tag “${job.tag}”` : KIND[job.kind];
    if (job.status === "queued") return `${what}: waiting to start…`;
    if (job.status === "failed") return `${what} failed: ${job.error || "unknown error"}`;
    if (job.status === "done") {
      if (job.kind === "import") return `Import finished: ${n(job.done)} rows read — ${n(job.created)} contacts created, ${n(job.updated)} updated, ${n(job.failed)} rows not imported.`;
      if (job.kind === "export") return `Export finished: ${n(job.done)} contacts.`;
      return `${what}: done — ${n(job.done)} contacts, ${n(job.updated)} changed.`;
    }
    if (job.total === null) return `${what}: counting the rows…`;
    return `${what}: ${n(job.done)} of ${n(job.total)}…`;
  }

  // jobPanel(container, jobId, {onDone}) -> {refresh, close}
  function jobPanel(container, jobId, options = {}) {
    const status = el("p", { class: "bk-job-status", role: "status", "aria-live": "polite" }, "Starting…");
    const bar = el("progress", { class: "bk-progress", max: "1", value: "0", "aria-label": "Progress" });
    const counts = el("dl", { class: "facts bk-counts" });
    const failed = el("div", { class: "bk-failed" });
    const links = el("p", { class: "actions" });
    const dot = el("span", { class: "live-dot", "data-state": "down" }, "Connecting…");
    container.replaceChildren(el("div", { class: "bk-job", "data-job-id": jobId, "data-status": "queued" },
      el("div", { class: "bk-job-head" }, status, dot), bar, counts, failed, links));
    let finished = false;
    let conn = null;

    function render(job) {
      const box = container.firstElementChild;
      box.dataset.status = job.status;
      status.textContent = describe(job);
      status.classList.toggle("bad", job.status === "failed");
      const total = job.total || (job.status === "done" ? Math.max(job.done, 1) : 0);
      if (total) { bar.max = total; bar.value = Math.min(job.done, total); } else bar.removeAttribute("value");
      const facts = [["Done", job.done.toLocaleString() + (job.total !== null ? ` of ${job.total.toLocaleString()}` : "")]];
      if (job.kind === "import") facts.push(["Created", job.created], ["Updated", job.updated], ["Not imported", job.failed]);
      if (job.kind === "bulk_tag") facts.push(["Changed", job.updated]);
      counts.replaceChildren(...facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", { "data-count": k.toLowerCase() }, String(v))]));
      if (job.failed_rows.length) {
        const more = job.failed - Math.min(job.failed_rows.length, FAILED_SHOWN);
        failed.replaceChildren(
          el("h3", {}, "Rows not imported"),
          el("table", { class: "data-table bk-failed-rows" },
            el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Row"), el("th", { scope: "col" }, "Why"))),
            el("tbody", {}, job.failed_rows.slice(0, FAILED_SHOWN).map((r) =>
              el("tr", {}, el("td", { class: "num" }, String(r.row)), el("td", {}, r.message))))),
          more > 0 ? el("p", { class: "muted" }, `… and ${more.toLocaleString()} more rows (GET /api/v1/jobs/${jobId}).`) : null);
      }
      const items = [];
      if (job.download) items.push(el("a", { class: "button-link", href: `/api/v1/jobs/${jobId}/file`, download: job.file_name || "contacts.csv" }, "Download the CSV"));
      if (job.status === "done" && job.kind === "import") items.push(el("a", { class: "button-link", href: "/contacts" }, "See the contacts"));
      links.replaceChildren(...items);
      if ((job.status === "done" || job.status === "failed") && !finished) {
        finished = true;
        if (conn) conn.close();
        dot.hidden = true;
        if (options.onDone) options.onDone(job);
      }
    }

    async function refresh() {
      try { render(await api("GET", `/jobs/${jobId}`)); }
      catch (err) { status.textContent = `The job's progress could not be read: ${err.message}`; }
    }
    let poll = null;
    const onStatus = (state) => {
      // Joined: re-read once (a chunk may have committed before the join). No live updates: poll instead.
      if (state === "live") refresh();
      clearInterval(poll);
      if (state === "off" && !finished) poll = setInterval(() => (finished ? clearInterval(poll) : refresh()), 2000);
    };
    if (window.Stagecraft.live) {
      conn = window.Stagecraft.live({ rooms: [`job:${jobId}`], events: { job: true }, resync: refresh, status: dot, onStatus });
    } else onStatus("off");
    refresh();
    return { refresh, close: () => conn && conn.close() };
  }

  window.Stagecraft = Object.assign(window.Stagecraft || {}, { jobPanel });
})();
