// The dashboard's script: charts from the page's own data (uPlot, vendored), and the live requests list.
// No inline script runs (the Content-Security-Policy forbids it); data comes in a JSON block of the page.
"use strict";

function drawCharts() {
  const block = document.getElementById("chart-data");
  if (!block || typeof uPlot === "undefined") return;
  const data = JSON.parse(block.textContent);
  const colours = ["#2f6feb", "#e36209", "#8250df"];
  for (const holder of document.querySelectorAll("[data-chart]")) {
    const names = holder.dataset.chart.split(",");
    const unit = holder.dataset.unit;
    const series = [{}].concat(names.map((name, i) => ({
      label: name, stroke: colours[i % colours.length], width: 2,
      value: (u, v) => v == null ? "–" : (unit === "$" ? "$" + v.toFixed(4) : v.toLocaleString() + (unit && unit !== "$" ? " " + unit : "")),
    })));
    const width = Math.max(300, holder.clientWidth || 400);
    const ticks = (u, values) => values.map((v) => unit === "$" ? "$" + v.toPrecision(2) : v.toLocaleString());
    new uPlot({
      width, height: 200, series,
      scales: { x: { time: true, range: () => data.range }, y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: [{}, { values: ticks, size: unit === "$" ? 75 : 60 }],
      points: { size: 7 },
    }, [data.x].concat(names.map((name) => data[name])), holder);
  }
}

function followLive() {
  const box = document.getElementById("live");
  const rows = document.getElementById("rows");
  if (!box || !rows) return;
  let timer = null;
  const refresh = async () => {
    const response = await fetch(box.dataset.source, { credentials: "same-origin" });
    if (response.ok) rows.innerHTML = await response.text();
  };
  box.addEventListener("change", () => {
    if (timer) clearInterval(timer);
    timer = box.checked ? setInterval(refresh, 5000) : null;
    if (box.checked) refresh();
  });
}

document.addEventListener("DOMContentLoaded", () => { drawCharts(); followLive(); });
