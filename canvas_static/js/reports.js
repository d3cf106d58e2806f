// Sales reports of one pipeline: win rate by owner, month and pipeline; days in each stage against its
// target with overdue counts; the stage-to-stage funnel (Chart.js); lost reasons. Every table exports as
// CSV (the server makes formula-like cells inert). Figures cover only deals the viewer may see.
"use strict";
Stagecraft.page("reports", ({ root, $, api, el, money, ws, live }) => {
  const pipelineId = Number(root.dataset.pipelineId);
  let funnelChart = null;

  const pct = (rate) => (rate === null || rate === undefined ? "—" : `${Math.round(rate * 1000) / 10}%`);

  function period() {
    const choice = $("report-period").value;
    $("period-dates").hidden = choice !== "custom";
    const today = ws.today();
    if (choice === "30" || choice === "90") return { start: ws.addDays(today, -Number(choice) + 1), end: today };
    if (choice === "year") return { start: `${today.slice(0, 4)}-01-01`, end: today };
    if (choice === "custom") return { start: $("report-start").value, end: $("report-end").value };
    return {};
  }

  function params(extra) {
    const p = new URLSearchParams({ pipeline_id: String(pipelineId), ...(extra || {}) });
    if ($("report-owner").value) p.set("owner_id", $("report-owner").value);
    const { start, end } = period();
    if (start) p.set("start", start);
    if (end) p.set("end", end);
    return p;
  }

  async function load() {
    try {
      const data = await api("GET", "/reports/sales?" + params());
      ws.showError($("report-error"), "");
      render(data);
    } catch (err) {
      ws.showError($("report-error"), "Could not load the reports: " + ws.describe(err));
    }
    for (const link of root.querySelectorAll("[data-csv]")) link.href = "/api/v1/reports/sales.csv?" + params({ table: link.dataset.csv });
  }

  function kpi(label, value, sub) {
    return el("div", { class: "kpi" }, el("div", { class: "kpi-label" }, label), el("div", { class: "kpi-value" }, value),
      sub ? el("div", { class: "kpi-sub" }, sub) : null);
  }

  const fill = (id, rows, cols, make) => $(id).querySelector("tbody").replaceChildren(...(rows.length ? rows.map(make)
    : [el("tr", {}, el("td", { colspan: String(cols), class: "empty-cell" }, "Nothing in this period."))]));
  const num = (v) => el("td", { class: "num" }, v);
  const rateRow = (label) => (r) => el("tr", {}, el("td", {}, label(r)), num(String(r.won)), num(String(r.lost)),
    num(pct(r.win_rate)), num(money(r.won_value)));

  function render(data) {
    const o = data.overall;
    const span = data.start || data.end ? `${data.start ? ws.fmtDate(data.start) : "the start"} to ${data.end ? ws.fmtDate(data.end) : "today"}` : "all time";
    $("report-scope").textContent = `Deals closed ${span} (days counted in ${data.timezone}). Win rate = won ÷ (won + lost).`;
    $("report-kpis").replaceChildren(
      kpi("Win rate", pct(o.win_rate), `${o.won} won of ${o.closed} closed`),
      kpi("Won", money(o.won_value), o.won === 1 ? "1 deal" : `${o.won} deals`),
      kpi("Lost", money(o.lost_value), o.lost === 1 ? "1 deal" : `${o.lost} deals`),
      kpi("Overdue now", String(data.stages.reduce((n, s) => n + s.overdue_now, 0)), "open deals past their stage's target"));
    fill("owner-rates", data.by_owner, 5, rateRow((r) => r.label));
    fill("month-rates", data.by_month, 5, rateRow((r) => ws.fmtMonth(r.label)));
    fill("pipeline-rates", data.by_pipeline, 5, rateRow((r) => r.label));
    fill("stage-days", data.stages, 9, (s) => el("tr", { "data-stage-id": s.stage_id },
      el("td", { class: "muted" }, String(s.number)), el("td", {}, s.name),
      num(s.target_days ? ws.fmtDuration(s.target_days) : "—"), num(s.avg_days === null ? "—" : ws.fmtDuration(s.avg_days)),
      el("td", {}, againstTarget(s)), num(String(s.stays)),
      num(s.late ? el("span", { class: "badge overdue" }, String(s.late)) : "0"), num(String(s.open_now)),
      num(s.overdue_now ? el("span", { class: "badge overdue" }, String(s.overdue_now)) : "0")));
    fill("funnel-table", data.funnel, 4, (s) => el("tr", { "data-stage-id": s.stage_id }, el("td", {}, s.name),
      num(String(s.reached)), num(String(s.lost_here)), num(pct(s.conversion_to_next))));
    fill("lost-reasons", data.lost_reasons, 3, (r) => el("tr", {}, el("td", {}, r.reason), num(String(r.count)), num(money(r.value))));
    drawFunnel(data.funnel);
  }

  // A bar of the average against the target (the target is the tick); text says the same for screen readers.
  function againstTarget(s) {
    if (s.avg_days === null || !s.target_days) return el("span", { class: "muted" }, s.target_days ? "no stays yet" : "no target");
    const ratio = s.avg_days / s.target_days;
    const bar = el("span", { class: "target-bar" + (ratio > 1 ? " over" : ""), "aria-hidden": "true" }, el("span", {}));
    bar.firstChild.style.width = `${Math.min(100, ratio * 50)}%`;
    const words = ratio > 1 ? `${Math.round((ratio - 1) * 100)}% over` : `${Math.round((1 - ratio) * 100)}% under`;
    return el("span", { class: "target-cell" }, bar, el("span", { class: ratio > 1 ? "bad small" : "small" }, words));
  }

  function drawFunnel(steps) {
    if (typeof window.Chart !== "function") return;
    const labels = steps.map((s) => s.name);
    const reached = steps.map((s) => s.reached);
    if (funnelChart) {
      funnelChart.data.labels = labels;
      funnelChart.data.datasets[0].data = reached;
      funnelChart.update();
      return;
    }
    funnelChart = new window.Chart($("funnel-chart"), {
      type: "bar",
      data: { labels, datasets: [{ label: "Deals that reached the stage", data: reached, backgroundColor: "#3b5bdb", borderRadius: 4 }] },
      options: {
        indexAxis: "y", responsive: true, maintainAspectRatio: false, animation: false,
        plugins: { legend: { display: false },
                   tooltip: { callbacks: { afterLabel: (ctx) => { const s = steps[ctx.dataIndex]; return s && s.conversion_to_next !== null ? `${pct(s.conversion_to_next)} went on` : ""; } } } },
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } }, y: { grid: { display: false } } },
      },
    });
  }

  async function owners() {
    try {
      const f = await api("GET", `/pipelines/${pipelineId}/forecast`);
      $("report-owner").append(...f.owners.filter((o) => o.id !== null).map((o) => el("option", { value: String(o.id) }, o.name)));
    } catch (err) { /* the owner filter is optional */ }
  }

  $("report-filters").addEventListener("submit", (e) => { e.preventDefault(); load(); });
  $("report-pipeline").addEventListener("change", () => { window.location.href = `/reports?pipeline_id=${$("report-pipeline").value}`; });
  for (const id of ["report-owner", "report-period", "report-start", "report-end"]) $(id).addEventListener("change", load);
  owners().then(load);
  live({ rooms: [`pipeline:${pipelineId}`], events: { opportunity_changed: true }, resync: load, status: null });
});
