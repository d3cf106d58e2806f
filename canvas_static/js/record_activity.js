// The record's activity tabs (js/record.js uses them): "Tasks & notes" (open tasks, and a timeline of
// notes, tasks to do and tasks done) and "Sales history" (every move, win, loss with its reason, reopening).
(function () {
  "use strict";
  // recordActivity({$, el, ws, userName, reload}) -> {timeline(rec), history(rec)}
  window.Stagecraft.recordActivity = ({ $, el, ws, userName, reload }) => {
    function timeline(rec) {
      const open = rec.tasks.filter((t) => !t.completed_at)
        .sort((a, b) => (a.due_date || "9999").localeCompare(b.due_date || "9999") || a.id - b.id);
      $("count-open-tasks").textContent = open.length ? String(open.length) : "";
      const list = $("open-tasks");
      if (!open.length) list.replaceChildren(el("li", { class: "muted" }, "No open tasks."));
      else list.replaceChildren(...open.map((task) => {
        const [done, note] = ws.completeTaskButton(task, reload, "small");
        const late = task.due_date && task.due_date < ws.today();
        return el("li", { class: "task-row", "data-task-id": task.id },
          el("div", { class: "task-main" }, el("span", { class: "task-title" }, task.title),
            el("span", { class: "task-meta" },
              el("span", { class: late ? "bad" : "" }, task.due_date ? "Due " + ws.dayName(task.due_date) : "No due date"),
              " · ", userName(task.assignee_id),
              task.source === "campaign" ? el("span", { class: "badge source-campaign" }, "Campaign") : null)),
          done, note);
      }));

      const items = [
        ...rec.notes.map((n) => ({ at: n.created_at, kind: "note", item: n })),
        ...rec.tasks.map((t) => ({ at: t.completed_at || t.created_at, kind: t.completed_at ? "task" : "open", item: t })),
      ].sort((a, b) => b.at.localeCompare(a.at));
      const timeline = $("timeline");
      if (!items.length) { timeline.replaceChildren(el("li", { class: "muted" }, "No notes or tasks yet.")); return; }
      timeline.replaceChildren(...items.map(({ at, kind, item }) => kind === "open"
        ? el("li", { class: "tl-item tl-open", "data-task-id": item.id },
            el("div", { class: "tl-head" }, el("span", { class: "tl-kind open" }, "Task to do"),
              el("span", {}, userName(item.assignee_id)), el("time", { datetime: at }, ws.fmtDateTime(at))),
            el("p", { class: "note-body" }, item.title, item.due_date ? el("span", { class: "muted small" }, ` · due ${ws.fmtDate(item.due_date)}`) : null))
        : kind === "note"
        ? el("li", { class: "tl-item tl-note", "data-note-id": item.id },
            el("div", { class: "tl-head" }, el("span", { class: "tl-kind" }, "Note"),
              el("span", {}, item.author_id ? userName(item.author_id) : "Stagecraft"),
              item.source === "campaign" ? el("span", { class: "badge source-campaign" }, "Campaign") : null,
              el("time", { datetime: at }, ws.fmtDateTime(at))),
            el("p", { class: "note-body" }, item.body))
        : el("li", { class: "tl-item tl-task", "data-task-id": item.id },
            el("div", { class: "tl-head" }, el("span", { class: "tl-kind done" }, "Task done"),
              el("span", {}, userName(item.assignee_id)), el("time", { datetime: at }, ws.fmtDateTime(at))),
            el("p", { class: "note-body" }, item.title))));
    }

    function history(rec) {
      $("count-history").textContent = rec.history.length ? String(rec.history.length) : "";
      const body = $("history-table").querySelector("tbody");
      const rows = rec.history.slice().reverse();   // newest first
      body.replaceChildren(...rows.map((m) => el("tr", { "data-move-id": m.id, "data-kind": m.kind },
        el("td", {}, historyLine(m)),
        el("td", {}, el("time", { datetime: m.moved_at }, ws.fmtDateTime(m.moved_at))),
        el("td", { class: "num" }, ws.fmtDuration(m.days_in_previous_stage)),
        el("td", {}, m.moved_by_name || (m.source === "campaign" ? "Campaign" : "—")),
        el("td", {}, m.owner_name || "Unassigned"),
        el("td", {}, el("span", { class: `badge source-${m.source}` }, m.source === "campaign" ? "Campaign" : "User")))));
      if (!rows.length) body.append(el("tr", {}, el("td", { colspan: "6", class: "empty-cell" }, "No stage moves yet.")));
    }

    // One line of sales history in words: created, moved, won, lost (with the reason) or reopened.
    function historyLine(m) {
      const to = el("strong", {}, m.to_stage_name);
      const reason = [m.reason, m.note].filter(Boolean).join(" · ");
      const extra = reason ? el("div", { class: "small muted" }, reason) : null;
      if (m.kind === "created" || m.from_stage_id === null) return el("span", {}, el("span", { class: "muted" }, "Created in "), to);
      if (m.kind === "lost") return el("span", {}, el("span", { class: "badge outcome-badge lost" }, "Lost"), " in ", to, extra);
      if (m.kind === "reopened") return el("span", {}, el("span", { class: "badge" }, "Reopened"), " into ", to);
      const move = el("span", {}, el("span", {}, m.from_stage_name), el("span", { class: "arrow", "aria-label": "to" }, " → "), to);
      return m.kind === "won" ? el("span", {}, el("span", { class: "badge outcome-badge won" }, "Won"), " ", move, extra) : move;
    }

    return { timeline, history };
  };
})();
