// Charts of the analytical CRM. A chart is <div data-chart="URL">: the URL returns
// {"option": <ECharts option>} built on the server. A data point with a "url" drills down to
// that (filtered) list on click. <button data-chart-png="ID" data-filename="x.png"> downloads
// the chart with that element id as PNG. No inline script: the CSP forbids it.
(function () {
  "use strict";
  const charts = new Map();

  function render(el) {
    fetch(el.dataset.chart, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
      .then((payload) => {
        const dark = document.documentElement.dataset.bsTheme === "dark";
        const chart = charts.get(el) || echarts.init(el, dark ? "dark" : null, { renderer: "canvas" });
        charts.set(el, chart);
        chart.setOption(payload.option, true);
        chart.off("click");
        chart.on("click", (p) => {
          const url = (p.data && p.data.url) || (p.value && p.value.url);
          if (url) window.location.assign(url);
        });
        el.setAttribute("aria-busy", "false");
      })
      .catch(() => {
        el.textContent = el.dataset.error || "The chart could not be loaded.";
        el.classList.add("text-danger", "small");
      });
  }

  function init(root) {
    (root || document).querySelectorAll("[data-chart]").forEach((el) => {
      el.setAttribute("aria-busy", "true");
      render(el);
    });
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-chart-png]");
    if (!button) return;
    const el = document.getElementById(button.dataset.chartPng);
    const chart = el && charts.get(el);
    if (!chart) return;
    const a = document.createElement("a");
    a.href = chart.getDataURL({ type: "png", pixelRatio: 2, backgroundColor: "#ffffff" });
    a.download = button.dataset.filename || "chart.png";
    document.body.appendChild(a);
    a.click();
    a.remove();
  });

  window.addEventListener("resize", () => charts.forEach((c) => c.resize()));
  document.addEventListener("DOMContentLoaded", () => init(document));
  document.body && document.body.addEventListener("htmx:afterSwap", (e) => init(e.target));
})();
