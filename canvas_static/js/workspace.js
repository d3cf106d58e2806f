// Shared helpers of the rep workspace pages (board, record, contact, tasks, forecast, reports).
// Everything renders as text. Dates and times have one format on every page ("Mar 5, 2026",
// "Mar 5, 2026, 3:04 PM"), in the viewer's time zone (their account setting).
(function () {
  "use strict";
  const S = window.Stagecraft;

  const pad = (n) => String(n).padStart(2, "0");
  const isoDate = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  // Today's calendar date in the viewer's zone, as YYYY-MM-DD.
  const today = () => new Intl.DateTimeFormat("en-CA", { timeZone: S.dates.zone, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date());
  const addDays = (iso, n) => { const d = parseDate(iso); d.setDate(d.getDate() + n); return isoDate(d); };
  const parseDate = S.dates.parse;

  const fmtDate = S.dates.date;
  const fmtDateTime = S.dates.dateTime;
  // A duration in days as people say it: "12 min", "3 h", "1 day", "2 days".
  function fmtDuration(days) {
    if (days === null || days === undefined) return "—";
    const minutes = days * 24 * 60;
    if (minutes < 1) return "< 1 min";
    if (minutes < 60) return `${Math.round(minutes)} min`;
    if (minutes < 24 * 60) return `${Math.round(minutes / 60)} h`;
    const n = Math.round(days);
    return n === 1 ? "1 day" : `${n} days`;
  }
  const fmtDays = fmtDuration;
  // The month "2026-03" as "Mar 2026".
  function fmtMonth(month) {
    if (!month) return "No date";
    const [y, m] = month.split("-").map(Number);
    return new Date(y, m - 1, 1).toLocaleDateString(undefined, { month: "short", year: "numeric" });
  }
  // The relative name of a due date: Today, Tomorrow, Yesterday, or the date.
  function dayName(iso) {
    if (!iso) return "No due date";
    const t = today();
    if (iso === t) return "Today";
    if (iso === addDays(t, 1)) return "Tomorrow";
    if (iso === addDays(t, -1)) return "Yesterday";
    return fmtDate(iso, { weekday: "short", month: "short", day: "numeric" });
  }

  const initials = (name) => (name || "?").split(/\s+/).filter(Boolean).slice(0, 2).map((w) => w[0].toUpperCase()).join("") || "?";
  const AVATAR_HUES = [221, 262, 190, 152, 28, 340, 48, 200];
  function avatar(user, label) {
    const name = (user && user.name) || label || "Unassigned";
    const node = S.el("span", { class: "avatar" + (user ? "" : " avatar-none"), title: name, "aria-hidden": "true" }, user ? initials(name) : "–");
    if (user) node.style.setProperty("--hue", AVATAR_HUES[user.id % AVATAR_HUES.length]);
    return node;
  }

  // Show (or clear) an error next to the thing that caused it.
  function showError(node, error) {
    if (!node) return;
    const message = !error ? "" : typeof error === "string" ? error : describe(error);
    node.textContent = message;
    node.hidden = !message;
  }
  function describe(error) {
    if (error && error.code === "validation_error" && error.details && error.details.errors) {
      return error.details.errors.map((e) => e.message).join(" ");
    }
    if (error && error.status === 404 && error.code === "http_error") return "Not available yet (404).";
    return (error && error.message) || String(error);
  }

  // One user action from a control: disable the control(s) and clear the error slot, run
  // `action`, then `opts.after` (e.g. reload); on failure show the error in the slot (or
  // hand it to `opts.onError`); re-enable the control(s) either way. Resolves true on success.
  async function act(control, slot, action, opts) {
    const { after, onError } = opts || {};
    const controls = [].concat(control || []);
    for (const c of controls) c.disabled = true;
    showError(slot, "");
    try {
      await action();
      if (after) await after();
      return true;
    } catch (err) {
      if (onError) onError(err); else showError(slot, err);
      return false;
    } finally {
      for (const c of controls) c.disabled = false;
    }
  }

  async function usersById() {
    const users = await S.api("GET", "/users");
    return { list: users, byId: new Map(users.map((u) => [u.id, u])) };
  }

  // Accessible tabs: click, arrow keys, Home or End switch; `onShow(tabId)` hears each switch.
  function tabs(group, onShow) {
    const list = group.querySelector('[role="tablist"]');
    const all = [...list.querySelectorAll('[role="tab"]')];
    function select(tab, focus) {
      for (const t of all) {
        const on = t === tab;
        t.setAttribute("aria-selected", String(on));
        t.tabIndex = on ? 0 : -1;
        document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
      }
      if (focus) tab.focus();
      if (onShow) onShow(tab.id);
    }
    list.addEventListener("click", (e) => { const t = e.target.closest('[role="tab"]'); if (t) select(t, false); });
    list.addEventListener("keydown", (e) => {
      const i = all.indexOf(document.activeElement);
      if (i < 0) return;
      const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: all.length - 1 }[e.key];
      if (next === undefined) return;
      e.preventDefault();
      select(all[(next + all.length) % all.length], true);
    });
    return { select: (id) => { const t = all.find((x) => x.id === id); if (t) select(t, false); } };
  }

  // A "Complete" button for a task, with its error note: PATCHes the task, then `after()`.
  function completeTaskButton(task, after, cls) {
    const done = S.el("button", { type: "button", class: cls, "aria-label": `Complete ${task.title}` }, "Complete");
    const note = S.el("span", { class: "field-error", hidden: true });
    done.addEventListener("click", () => act(done, note, () => S.api("PATCH", `/tasks/${task.id}`, { completed: true }), { after }));
    return [done, note];
  }

  // The follow-up sequence history table (record and contact pages): one row per run with
  // Pause/Resume/Stop buttons that PATCH the run, then `after()`; errors next to the buttons.
  // Decisions and splits the contact passed are rows too: the path taken, or that it left, and why.
  const RUN_ACTIONS = { active: [["paused", "Pause"], ["stopped", "Stop"]], paused: [["active", "Resume"], ["stopped", "Stop"]] };

  function renderSequenceRuns(runs, after) {
    const $ = (id) => document.getElementById(id);
    const el = S.el;
    $("count-sequences").textContent = runs.length ? String(runs.length) : "";
    $("sequences-empty").hidden = runs.length > 0;
    $("sequences-table").hidden = runs.length === 0;
    $("sequences-table").querySelector("tbody").replaceChildren(...runs.map((run) => {
      const note = el("span", { class: "field-error", role: "alert", hidden: true });
      const buttons = (RUN_ACTIONS[run.status] || []).map(([status, label]) => {
        const b = el("button", { type: "button", class: "small" + (status === "stopped" ? " danger" : ""), "data-action": status }, label);
        b.addEventListener("click", () => act(b, note, () => S.api("PATCH", `/sequence-runs/${run.id}`, { status }), { after }));
        return b;
      });
      const step = run.current_step ? (run.current_step_summary || (run.current_step_type || "").replace(/_/g, " ") || "Step") : "—";
      const statusLabel = run.status === "active" && run.waiting ? "waiting" : ({ branched: "path taken", left: "left the campaign" }[run.status] || run.status);
      // A pass through a decision or split (kind "decision") is a row too, with its reason and no buttons.
      return el("tr", run.kind === "decision" ? { "data-decision-id": run.id, "data-kind": "decision" } : { "data-run-id": run.id },
        el("td", {}, el("strong", {}, run.name || run.node_id)),
        el("td", {}, run.campaign_name || `Campaign #${run.campaign_id}`),
        el("td", {}, el("span", { class: `badge run-${run.status}` }, statusLabel),
          run.last_error ? el("div", { class: "small bad" }, run.last_error) : null,
          run.stop_reason ? el("div", { class: "small muted" }, run.stop_reason) : null,
          (run.skipped || []).map((s) => el("div", { class: "small muted", "data-skipped-step": s.step_id },
            `Skipped ${s.step_id}${s.step_type ? " · " + s.step_type.replace(/_/g, " ") : ""}: ${s.reason}`))),
        el("td", {}, step),
        el("td", {}, run.next_due_at ? fmtDateTime(run.next_due_at) : "—"),
        el("td", {}, fmtDateTime(run.started_at), run.ended_at ? el("div", { class: "small muted" }, "ended " + fmtDateTime(run.ended_at)) : null),
        el("td", { class: "actions" }, buttons.length ? buttons : el("span", { class: "muted" }, "—"), note));
    }));
  }

  S.ws = { act, completeTaskButton, renderSequenceRuns, today, addDays, parseDate, isoDate, fmtDate, fmtDateTime, fmtDays,
           fmtDuration, fmtMonth, dayName,
           initials, avatar, showError, describe, usersById, tabs };
})();
