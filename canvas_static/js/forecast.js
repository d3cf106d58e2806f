// Forecast of one pipeline: open deals by stage, by expected close month (Chart.js bars) and by owner;
// won and lost reported apart. The owner filter offers only owners of deals the viewer can see.
"use strict";
Stagecraft.page("forecast", ({ root, $, api, el, money, ws, live }) => {
  const pipelineId = Number(root.dataset.pipelineId);
  const ownerSelect = $("forecast-owner");
  const charts = {};

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

  function kpi(label, value, extra, sub) {
    return el("div", { class: "kpi" + (extra || "") }, el("div", { class: "kpi-label" }, label),
      el("div", { class: "kpi-value" }, value), sub ? el("div", { class: "kpi-sub" }, sub) : null);
  }

  const deals = (n) => (n === 1 ? "1 deal" : `${n} deals`);

  function renderOwners(owners) {
    const chosen = ownerSelect.value;
    ownerSelect.replaceChildren(el("option", { value: "" }, "Everyone I can see"),
      ...owners.filter((o) => o.id !== null).map((o) => el("option", { value: String(o.id) }, o.name)));
    ownerSelect.value = owners.some((o) => String(o.id) === chosen) ? chosen : "";
  }

  function render(data) {
    if (!ownerSelect.value) renderOwners(data.owners);
    const stages = data.stages.slice().sort((a, b) => a.number - b.number);
    $("forecast-kpis").replaceChildren(
      kpi("Open value", money(data.total_value)),
      kpi("Weighted forecast", money(data.total_weighted_value)),
      kpi("Open deals", String(data.total_count)),
      kpi("Overdue", String(data.total_overdue), data.total_overdue ? " is-bad" : ""),
      kpi("Won", money(data.won.value), " is-good", deals(data.won.count)),
      kpi("Lost", money(data.lost.value), "", deals(data.lost.count)));
    $("forecast-table").querySelector("tbody").replaceChildren(...stages.map((s) => el("tr", { "data-stage-id": s.stage_id },
      el("td", { class: "muted" }, String(s.number)), el("td", {}, s.name), el("td", { class: "num" }, `${s.probability}%`),
      el("td", { class: "num" }, String(s.count)), el("td", { class: "num" }, money(s.value)),
      el("td", { class: "num" }, money(s.weighted_value)),
      el("td", { class: "num" }, s.overdue ? el("span", { class: "badge overdue" }, String(s.overdue)) : "0"))));
    $("forecast-table").querySelector("tfoot").replaceChildren(el("tr", {},
      el("th", { scope: "row", colspan: "3" }, "Total open"), el("td", { class: "num" }, String(data.total_count)),
      el("td", { class: "num" }, money(data.total_value)), el("td", { class: "num" }, money(data.total_weighted_value)),
      el("td", { class: "num" }, String(data.total_overdue))));
    const row = (label, f) => el("tr", {}, el("td", {}, label), el("td", { class: "num" }, String(f.count)),
      el("td", { class: "num" }, money(f.value)), el("td", { class: "num" }, money(f.weighted_value)));
    const empty = (cols) => el("tr", {}, el("td", { colspan: String(cols), class: "empty-cell" }, "No open deals."));
    $("month-table").querySelector("tbody").replaceChildren(...(data.by_month.length
      ? data.by_month.map((m) => row(m.month ? ws.fmtMonth(m.month) : "No expected close date", m)) : [empty(4)]));
    $("owner-table").querySelector("tbody").replaceChildren(...(data.by_owner.length
      ? data.by_owner.map((o) => row(o.owner_name, o)) : [empty(4)]));
    draw("forecast-chart", stages.map((s) => `${s.number} ${s.name}`), stages);
    draw("month-chart", data.by_month.map((m) => (m.month ? ws.fmtMonth(m.month) : "No date")), data.by_month);
  }

  function draw(id, labels, rows) {
    if (typeof window.Chart !== "function") return;
    const value = rows.map((r) => r.value);
    const weighted = rows.map((r) => r.weighted_value);
    const chart = charts[id];
    if (chart) {
      chart.data.labels = labels;
      chart.data.datasets[0].data = value;
      chart.data.datasets[1].data = weighted;
      chart.update();
      return;
    }
    charts[id] = new window.Chart($(id), {
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

  ownerSelect.addEventListener("change", load);
  const picker = document.querySelector("[data-pipeline-picker]");
  if (picker) picker.addEventListener("change", () => { window.location.href = `/pipelines/${picker.value}/forecast`; });
  load();
  live({ rooms: [`pipeline:${pipelineId}`], events: { opportunity_changed: true }, resync: load, status: null });
});
