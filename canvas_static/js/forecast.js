// Forecast of one pipeline: Chart.js bars of value and weighted value per stage, and overdue counts.
"use strict";
Stagecraft.page("forecast", ({ root, $, api, el, money, me, ws, live }) => {
  const pipelineId = Number(root.dataset.pipelineId);
  const ownerSelect = $("forecast-owner");
  let chart = null;

  async function load() {
    const owner = ownerSelect.value;
    try {
      const data = await api("GET", `/pipelines/${pipelineId}/forecast` + (owner ? `?owner_id=${owner}` : ""));
      ws.showError($("forecast-error"), "");
      render(data);
    } catch (err) {
      ws.showError($("forecast-error"), "Could not load the forecast: " + ws.describe(err));
    }
  }

  function kpi(label, value, extra) {
    return el("div", { class: "kpi" + (extra || "") }, el("div", { class: "kpi-label" }, label), el("div", { class: "kpi-value" }, value));
  }

  function render(data) {
    const stages = data.stages.slice().sort((a, b) => a.number - b.number);
    const deals = stages.reduce((n, s) => n + s.count, 0);
    $("forecast-kpis").replaceChildren(
      kpi("Open value", money(data.total_value)),
      kpi("Weighted forecast", money(data.total_weighted_value)),
      kpi("Deals", String(deals)),
      kpi("Overdue", String(data.total_overdue), data.total_overdue ? " is-bad" : ""));
    $("forecast-table").querySelector("tbody").replaceChildren(...stages.map((s) => el("tr", { "data-stage-id": s.stage_id },
      el("td", { class: "muted" }, String(s.number)), el("td", {}, s.name), el("td", { class: "num" }, `${s.probability}%`),
      el("td", { class: "num" }, String(s.count)), el("td", { class: "num" }, money(s.value)),
      el("td", { class: "num" }, money(s.weighted_value)),
      el("td", { class: "num" }, s.overdue ? el("span", { class: "badge overdue" }, String(s.overdue)) : "0"))));
    $("forecast-table").querySelector("tfoot").replaceChildren(el("tr", {},
      el("th", {}, ""), el("th", {}, "Total"), el("th", {}, ""), el("th", { class: "num" }, String(deals)),
      el("th", { class: "num" }, money(data.total_value)), el("th", { class: "num" }, money(data.total_weighted_value)),
      el("th", { class: "num" }, String(data.total_overdue))));
    drawChart(stages);
  }

  function drawChart(stages) {
    if (typeof window.Chart !== "function") return;
    const labels = stages.map((s) => `${s.number} ${s.name}`);
    const value = stages.map((s) => s.value);
    const weighted = stages.map((s) => s.weighted_value);
    if (chart) {
      chart.data.labels = labels;
      chart.data.datasets[0].data = value;
      chart.data.datasets[1].data = weighted;
      chart.update();
      return;
    }
    chart = new window.Chart($("forecast-chart"), {
      type: "bar",
      data: { labels, datasets: [
        { label: "Value", data: value, backgroundColor: "#bac8ff", borderColor: "#4c6ef5", borderWidth: 1, borderRadius: 4 },
        { label: "Weighted value", data: weighted, backgroundColor: "#3b5bdb", borderRadius: 4 },
      ] },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        plugins: { legend: { position: "bottom" },
                   tooltip: { callbacks: { label: (ctx) => `${ctx.dataset.label}: ${money(ctx.parsed.y)}` } } },
        scales: { y: { beginAtZero: true, ticks: { callback: (v) => money(v) } }, x: { grid: { display: false } } },
      },
    });
  }

  async function init() {
    try {
      const users = await api("GET", "/users");
      for (const u of users) if (u.active) ownerSelect.append(el("option", { value: String(u.id) }, u.name || u.username));
      if (me.role === "rep") ownerSelect.value = "";
    } catch (err) { /* the owner filter is optional */ }
    ownerSelect.addEventListener("change", load);
    const picker = document.querySelector("[data-pipeline-picker]");
    if (picker) picker.addEventListener("change", () => { window.location.href = `/pipelines/${picker.value}/forecast`; });
    await load();
    live({ rooms: [`pipeline:${pipelineId}`], events: { opportunity_changed: true }, resync: load, status: null });
  }

  init();
});
