// Shared helpers of the rep workspace pages (board, record, tasks, forecast).
// Everything renders as text; dates are shown in the browser's locale.
(function () {
  "use strict";
  const S = window.Stagecraft;

  const pad = (n) => String(n).padStart(2, "0");
  const isoDate = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  const today = () => isoDate(new Date());
  const addDays = (iso, n) => { const d = parseDate(iso); d.setDate(d.getDate() + n); return isoDate(d); };
  // "2024-06-04" is a calendar date: build it in local time, not UTC.
  function parseDate(iso) { const [y, m, d] = iso.split("-").map(Number); return new Date(y, m - 1, d); }

  function fmtDate(iso, opts) {
    if (!iso) return "";
    const d = iso.length === 10 ? parseDate(iso) : new Date(iso);
    const sameYear = d.getFullYear() === new Date().getFullYear();
    return d.toLocaleDateString(undefined, opts || { month: "short", day: "numeric", year: sameYear ? undefined : "numeric" });
  }
  function fmtDateTime(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    return d.toLocaleString(undefined, { month: "short", day: "numeric", year: "numeric", hour: "numeric", minute: "2-digit" });
  }
  function fmtDays(days) {
    if (days === null || days === undefined) return "—";
    if (days < 1) return "< 1 day";
    const n = Math.floor(days);
    return n === 1 ? "1 day" : `${n} days`;
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
      return error.details.errors.map((e) => `${e.field}: ${e.message}`).join("; ");
    }
    if (error && error.status === 404 && error.code === "http_error") return "Not available yet (404).";
    return (error && error.message) || String(error);
  }

  async function usersById() {
    const users = await S.api("GET", "/users");
    return { list: users, byId: new Map(users.map((u) => [u.id, u])) };
  }

  // Accessible tabs: click or arrow keys switch; the selected tab is remembered in the URL hash.
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
    done.addEventListener("click", async () => {
      done.disabled = true;
      showError(note, "");
      try {
        await S.api("PATCH", `/tasks/${task.id}`, { completed: true });
        await after();
      } catch (err) {
        showError(note, err);
        done.disabled = false;
      }
    });
    return [done, note];
  }

  S.ws = { completeTaskButton, today, addDays, parseDate, isoDate, fmtDate, fmtDateTime, fmtDays, dayName, initials, avatar,
           showError, describe, usersById, tabs };
})();
