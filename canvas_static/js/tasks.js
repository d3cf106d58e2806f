// My tasks: open tasks grouped by due date, and today's load against the daily capacity.
"use strict";
Stagecraft.page("tasks-page", ({ $, api, el, me, ws, live }) => {
  const state = { me: null, tasks: [], opps: new Map() };

  async function load() {
    try {
      const [profile, tasks, opps] = await Promise.all([
        api("GET", "/users/me"),
        api("GET", `/tasks?assignee_id=${me.id}`),
        api("GET", "/opportunities?limit=5000").catch(() => []),
      ]);
      state.me = profile;
      state.tasks = tasks;
      state.opps = new Map(opps.map((o) => [o.id, o]));
      ws.showError($("tasks-error"), "");
      render();
    } catch (err) {
      ws.showError($("tasks-error"), "Could not load your tasks: " + ws.describe(err));
    }
  }

  function render() {
    const today = ws.today();
    const capacity = state.me.daily_task_capacity;
    const dueOn = (day) => state.tasks.filter((t) => t.due_date === day);
    const todays = dueOn(today);
    const doneToday = todays.filter((t) => t.completed_at).length;
    $("load-today-count").textContent = String(todays.length);
    $("load-capacity").textContent = String(capacity);
    const meter = $("load-meter");
    meter.setAttribute("aria-valuemax", String(capacity));
    meter.setAttribute("aria-valuenow", String(todays.length));
    meter.classList.toggle("over", todays.length > capacity);
    $("load-meter-fill").style.width = `${Math.min(100, (todays.length / Math.max(capacity, 1)) * 100)}%`;
    const room = capacity - todays.length;
    $("load-note").textContent = `${doneToday} done · ` + (room >= 0 ? `room for ${room} more today` : `${-room} over capacity`);

    const week = [];
    for (let i = 0; i < 7; i++) {
      const day = ws.addDays(today, i);
      const n = dueOn(day).length;
      const bar = el("span", { class: "wk-bar" + (n > capacity ? " over" : "") });
      bar.style.height = `${Math.min(100, (n / Math.max(capacity, 1)) * 100)}%`;
      week.push(el("div", { class: "wk-day" + (i === 0 ? " today" : ""), title: `${ws.dayName(day)}: ${n} of ${capacity}` },
        el("div", { class: "wk-track" }, bar), el("span", { class: "wk-count" }, String(n)),
        el("span", { class: "wk-label" }, i === 0 ? "Today" : ws.fmtDate(day, { weekday: "short" }))));
    }
    $("load-week").replaceChildren(el("div", { class: "load-label" }, "Next 7 days"), el("div", { class: "wk-row" }, week));

    const open = state.tasks.filter((t) => !t.completed_at)
      .sort((a, b) => (a.due_date || "9999").localeCompare(b.due_date || "9999") || a.id - b.id);
    const groups = new Map();
    for (const task of open) {
      const key = !task.due_date ? "none" : task.due_date < today ? "overdue" : task.due_date;
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(task);
    }
    const ordered = [...groups.keys()].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
    $("tasks-empty").hidden = open.length > 0;
    $("task-groups").replaceChildren(...ordered.map((key) => {
      const tasks = groups.get(key);
      const title = key === "overdue" ? "Overdue" : key === "none" ? "No due date" : ws.dayName(key);
      const over = key !== "overdue" && key !== "none" && dueOn(key).length > capacity;
      return el("section", { class: "task-group" + (key === "overdue" ? " is-overdue" : ""), "data-group": key },
        el("h2", {}, title, el("span", { class: "count" }, String(tasks.length)),
          over ? el("span", { class: "badge overdue" }, "Over capacity") : null),
        el("ul", { class: "task-list card-list" }, tasks.map(taskRow)));
    }));
  }

  const rank = (key) => (key === "overdue" ? 0 : key === "none" ? 2 : 1);

  function taskRow(task) {
    const opp = task.opportunity_id ? state.opps.get(task.opportunity_id) : null;
    const [done, note] = ws.completeTaskButton(task, load, "complete-btn");
    const late = task.due_date && task.due_date < ws.today();
    return el("li", { class: "task-row", "data-task-id": task.id },
      el("div", { class: "task-main" },
        el("span", { class: "task-title" }, task.title),
        el("span", { class: "task-meta" },
          task.due_date ? el("span", { class: late ? "bad" : "" }, ws.fmtDate(task.due_date)) : el("span", {}, "Any day"),
          opp ? [" · ", el("a", { href: `/opportunities/${opp.id}` }, opp.title), " · ", el("span", {}, opp.contact_name)]
            : task.opportunity_id ? [" · ", el("a", { href: `/opportunities/${task.opportunity_id}` }, `Opportunity #${task.opportunity_id}`)] : null,
          task.source === "campaign" ? el("span", { class: "badge source-campaign" }, "Campaign") : null),
        task.description ? el("span", { class: "task-desc" }, task.description) : null),
      done, note);
  }

  load();
  live({ rooms: [`user:${me.id}`], events: { task_changed: true, opportunity_changed: true }, resync: load });
});
