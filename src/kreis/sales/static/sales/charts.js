// Bar charts of the sales management pages (Apache ECharts): the data comes from a
// <script type="application/json"> block (json_script) named by data-chart; a click on a bar
// opens the records behind it (the chart's "links", one per category).
(function () {
  "use strict";
  function formatter(spec) {
    var locale = document.documentElement.lang || "en";
    if (spec.unit === "money") {
      var money = new Intl.NumberFormat(locale, { style: "currency", currency: spec.currency || "EUR", maximumFractionDigits: 0 });
      return function (v) { return v == null ? "–" : money.format(v); };
    }
    var number = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });
    var suffix = spec.unit === "percent" ? " %" : spec.unit === "days" ? " d" : "";
    return function (v) { return v == null ? "–" : number.format(v) + suffix; };
  }
  function draw(box) {
    var source = document.getElementById(box.dataset.chart);
    if (!source || !window.echarts) { return; }
    var spec = JSON.parse(source.textContent);
    var fmt = formatter(spec);
    var series = spec.series.map(function (s) {
      var out = { name: s.name, type: "bar", data: s.data.map(function (v) { return v == null ? null : Number(v); }) };
      if (s.stack) { out.stack = s.stack; }
      if (s.color) { out.itemStyle = { color: s.color }; }
      return out;
    });
    if (spec.target) {
      series.push({
        name: spec.target_label, type: "scatter", symbol: spec.horizontal ? "rect" : "rect",
        symbolSize: spec.horizontal ? [4, 18] : [18, 4], itemStyle: { color: "#dc3545" },
        data: spec.target.map(function (v) { return v == null ? null : Number(v); }), z: 5
      });
    }
    var category = { type: "category", data: spec.categories, axisLabel: { interval: 0, width: 140, overflow: "truncate" } };
    var value = { type: "value", axisLabel: { formatter: fmt } };
    if (!spec.horizontal && spec.categories.length > 3) { category.axisLabel.rotate = 30; category.axisLabel.width = 90; }
    var chart = window.echarts.init(box);
    chart.setOption({
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: fmt },
      legend: { top: 0, type: "scroll" },
      grid: { left: 8, right: 16, bottom: 8, top: 36, containLabel: true },
      xAxis: spec.horizontal ? value : category,
      yAxis: spec.horizontal ? Object.assign(category, { inverse: true }) : value,
      series: series
    });
    if (spec.links && spec.links.length) {
      box.style.cursor = "pointer";
      chart.on("click", function (params) {
        var url = spec.links[params.dataIndex];
        if (url) { window.location.href = url; }
      });
    }
    window.addEventListener("resize", function () { chart.resize(); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-chart]").forEach(draw);
  });
})();
