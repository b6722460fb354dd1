// The relationship graph on a party's page (Apache ECharts), loaded as JSON from the server.
(function () {
  "use strict";
  function draw(box) {
    fetch(box.dataset.graphUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (data.nodes.length < 2) { box.remove(); return; }
        box.style.height = "260px";
        var chart = window.echarts.init(box);
        chart.setOption({
          // The tooltip is HTML: names and positions are escaped. Labels are drawn on the
          // canvas as text, so they stay as they are.
          tooltip: { formatter: function (p) { return window.Kreis.escapeHtml(p.dataType === "edge" ? p.data.label : p.data.name); } },
          series: [{
            type: "graph", layout: "force", roam: true, draggable: true,
            force: { repulsion: 220, edgeLength: 110 },
            label: { show: true, position: "bottom", fontSize: 11 },
            edgeSymbol: ["none", "arrow"], edgeLabel: { show: true, fontSize: 10, formatter: function (p) { return p.data.label; } },
            data: data.nodes.map(function (n) {
              return { id: n.id, name: n.name, url: n.url, symbolSize: n.center ? 34 : 22,
                       itemStyle: { color: n.center ? "#2f6fdf" : (n.kind === "person" ? "#20c997" : "#6c757d") } };
            }),
            links: data.links.map(function (l) { return { source: l.source, target: l.target, label: l.label }; })
          }]
        });
        chart.on("click", function (p) { if (p.dataType === "node" && p.data.url) window.location.href = p.data.url; });
        window.addEventListener("resize", function () { chart.resize(); });
      });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-graph-url]").forEach(draw);
  });
})();
