// The forecast chart (Apache ECharts): weighted open amount and won amount per month,
// loaded as JSON from the server.
(function () {
  "use strict";
  function draw(box) {
    fetch(box.dataset.forecastUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var locale = document.documentElement.lang || "en";
        var money = new Intl.NumberFormat(locale, { style: "currency", currency: box.dataset.currency || "EUR", maximumFractionDigits: 0 });
        var chart = window.echarts.init(box);
        chart.setOption({
          tooltip: { trigger: "axis", valueFormatter: function (v) { return money.format(v); } },
          legend: { top: 0 },
          grid: { left: 8, right: 8, bottom: 8, top: 36, containLabel: true },
          xAxis: { type: "category", data: data.months },
          yAxis: { type: "value", axisLabel: { formatter: function (v) { return money.format(v); } } },
          series: [
            { name: data.labels.weighted, type: "bar", data: data.weighted.map(Number), itemStyle: { color: "#2f6fdf" } },
            { name: data.labels.won, type: "bar", data: data.won.map(Number), itemStyle: { color: "#198754" } }
          ]
        });
        window.addEventListener("resize", function () { chart.resize(); });
      });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-forecast-url]").forEach(draw);
  });
})();
