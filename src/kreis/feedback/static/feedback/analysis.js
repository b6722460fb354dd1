// The survey analysis' distributions (Apache ECharts), from the page's JSON data block.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var source = document.getElementById("survey-chart-data");
    if (!source || !window.echarts) { return; }
    var data = JSON.parse(source.textContent);
    var colors = { expectation: ["#198754", "#2f6fdf", "#dc3545"] };
    document.querySelectorAll("[data-survey-chart]").forEach(function (box) {
      var chart = data.charts[Number(box.dataset.surveyChart)];
      if (!chart) { return; }
      var isShare = chart.kind === "expectation";
      var instance = window.echarts.init(box);
      instance.setOption({
        tooltip: { trigger: "axis" },
        grid: { left: 8, right: 8, bottom: 8, top: 12, containLabel: true },
        xAxis: { type: "category", data: chart.labels },
        yAxis: { type: "value", minInterval: 1, max: isShare ? 100 : null },
        series: [{
          type: "bar",
          name: isShare ? data.share_label : data.count_label,
          data: chart.values.map(function (v, i) {
            var color = isShare ? colors.expectation[i] :
              (chart.kind === "nps_0_10" ? (i <= 6 ? "#dc3545" : (i <= 8 ? "#adb5bd" : "#198754")) : "#2f6fdf");
            return { value: v, itemStyle: { color: color } };
          })
        }]
      });
      window.addEventListener("resize", function () { instance.resize(); });
    });
  });
})();
