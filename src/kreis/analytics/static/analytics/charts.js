// Charts of the analytical CRM. A chart is <div data-chart="URL">: the URL returns
// {"option": <ECharts option>} built on the server (or <div data-chart-json="ID">: the same
// payload embedded in the page by json_script). A data point with a "url" drills down to
// that (filtered) list on click. <button data-chart-png="ID" data-filename="x.png"> downloads
// the chart with that element id as PNG. No inline script: the CSP forbids it.
//
// The element says how it went in data-chart-state: "drawn", "empty" (no data: the text of
// data-empty instead of bare axes; the server may say so with "empty": true|false, else no
// point above zero means empty) or "failed" (the text of data-error). Numbers on value axes
// and in tooltips are written as the page's language writes them. With
// data-chart-narrow="horizontal" the bars lie down on a narrow screen, so that long category
// names stay readable.
(function () {
  "use strict";
  const NARROW = 576; // px: Bootstrap's "sm" breakpoint
  const charts = new Map(); // element → ECharts instance
  const options = new Map(); // element → the option as the server sent it
  const numbers = new Intl.NumberFormat(document.documentElement.lang || undefined, {
    maximumFractionDigits: 2,
  });

  function formatNumber(value) {
    return typeof value === "number" ? numbers.format(value) : value;
  }

  // --- Tooltips --------------------------------------------------------------------------

  // ECharts' own tooltip markup carries style attributes, which the CSP refuses (and says so
  // in the console): the same content built as elements instead, coloured through the CSSOM.
  function tipRow(color, label, value) {
    const row = document.createElement("div");
    row.className = "kreis-tip-row";
    if (color) {
      const dot = document.createElement("span");
      dot.className = "kreis-tip-dot";
      dot.style.backgroundColor = typeof color === "string" ? color : "#6c757d";
      row.appendChild(dot);
    }
    const name = document.createElement("span");
    name.textContent = label || "";
    const figure = document.createElement("strong");
    figure.textContent = formatNumber(value);
    row.append(name, figure);
    return row;
  }

  function tipContent(params) {
    const list = [].concat(params);
    const box = document.createElement("div");
    const head = document.createElement("div");
    head.className = "kreis-tip-head";
    box.appendChild(head);
    if (list[0].axisValueLabel !== undefined) {
      // Trigger "axis": the category, then one row per series.
      head.textContent = list[0].axisValueLabel;
      list.forEach((p) => box.appendChild(tipRow(p.color, p.seriesName, p.value)));
      return box;
    }
    const p = list[0];
    head.textContent = p.name || p.seriesName;
    const dims = Array.isArray(p.value) ? p.value.map((_v, i) => i) : [];
    if (p.dimensionNames && dims.length) {
      // A point of several figures (the portfolio): each under its dimension's name.
      dims.forEach((i) => box.appendChild(tipRow(null, p.dimensionNames[i], p.value[i])));
    } else {
      box.appendChild(tipRow(p.color, p.name ? p.seriesName : "", p.value));
    }
    return box;
  }

  // --- No data ---------------------------------------------------------------------------

  function pointHasData(point, type) {
    const value = point !== null && typeof point === "object" && !Array.isArray(point) ? point.value : point;
    if (Array.isArray(value)) return type === "heatmap" ? Number(value[2]) !== 0 : value.length > 0;
    return value !== null && value !== undefined && value !== "-" && value !== "" && Number(value) !== 0;
  }

  // Empty: no series has a point that is not zero (a sankey: no link). A chart of zeros shows
  // nothing but axes, so it says so in words instead.
  function isEmpty(option) {
    return ![].concat(option.series || []).some((series) => {
      if (series.type === "sankey") return (series.links || []).some((link) => Number(link.value) > 0);
      return (series.data || []).some((point) => pointHasData(point, series.type));
    });
  }

  // --- Layout for the element's width --------------------------------------------------------

  function axes(axis) {
    return axis === undefined ? [] : [].concat(axis);
  }

  function isNarrow(el) {
    return el.clientWidth > 0 && el.clientWidth < NARROW;
  }

  // Bars lying down: the categories go down the left side in their order, the values across.
  function lieDown(option) {
    const category = Object.assign({}, option.xAxis, { inverse: true });
    category.axisLabel = Object.assign({}, category.axisLabel, { rotate: 0, interval: 0 });
    // Fewer, non-overlapping numbers across the narrow width.
    option.xAxis = Object.assign({ splitNumber: 3 }, option.yAxis);
    option.xAxis.axisLabel = Object.assign({ hideOverlap: true }, option.xAxis.axisLabel);
    option.yAxis = category;
  }

  // A tooltip formatter given as a string is HTML to ECharts: the server writes names into
  // some (a phase, a cost type, a margin step), so every one — of the chart, a series or a
  // single data item — is escaped. ECharts escapes what it fills into {a} {b} {c} itself.
  function escapeTooltipTemplates(node) {
    if (Array.isArray(node)) {
      node.forEach(escapeTooltipTemplates);
    } else if (node && typeof node === "object") {
      Object.keys(node).forEach((key) => {
        const value = node[key];
        if (key === "tooltip" && value && typeof value.formatter === "string") {
          value.formatter = window.Kreis.escapeHtml(value.formatter);
        } else if (key === "tooltip" && Array.isArray(value)) {
          value.forEach((tip) => {
            if (tip && typeof tip.formatter === "string") tip.formatter = window.Kreis.escapeHtml(tip.formatter);
          });
        }
        escapeTooltipTemplates(value);
      });
    }
  }

  // The server's option, fitted to the element: a copy, so a resize can fit it anew.
  function fit(el, original) {
    const option = JSON.parse(JSON.stringify(original));
    const narrow = isNarrow(el);
    // ECharts 6 keeps axis labels and names inside the canvas precisely (grid.outerBounds);
    // the older containLabel only estimates it and cuts tilted labels off.
    axes(option.grid).forEach((grid) => delete grid.containLabel);
    // Our element carries a translated text alternative; ECharts' generated one is English.
    delete option.aria;
    if (window.matchMedia("(prefers-reduced-motion: reduce)").matches) option.animation = false;
    if (narrow && el.dataset.chartNarrow === "horizontal" && !Array.isArray(option.xAxis)) {
      if (option.xAxis && option.xAxis.type === "category") lieDown(option);
    }
    axes(option.xAxis)
      .concat(axes(option.yAxis))
      .forEach((axis) => {
        if (axis.type !== "value") return;
        axis.axisLabel = Object.assign({}, axis.axisLabel);
        if (!axis.axisLabel.formatter) axis.axisLabel.formatter = formatNumber;
      });
    axes(option.tooltip).forEach((tooltip) => {
      if (!tooltip.formatter) tooltip.formatter = tipContent;
    });
    escapeTooltipTemplates(option);
    [].concat(option.series || []).forEach((series) => {
      if (series.type !== "heatmap") return;
      // Each cell's label wraps within the cell: its width is about a fifth of the plot.
      const columns = axes(option.xAxis)[0] && axes(option.xAxis)[0].data ? axes(option.xAxis)[0].data.length : 1;
      const width = Math.max(32, Math.floor((el.clientWidth - 40) / columns) - 2);
      const size = narrow ? 10 : 12;
      series.label = Object.assign({}, series.label, { width: width, fontSize: size, lineHeight: size + 3 });
    });
    el.dataset.chartLayout = narrow ? "narrow" : "wide";
    return option;
  }

  // --- Drawing ---------------------------------------------------------------------------

  function setState(el, state, text) {
    el.dataset.chartState = state;
    el.setAttribute("aria-busy", "false");
    document.querySelectorAll(`[data-chart-png="${el.id}"]`).forEach((button) => {
      button.disabled = state !== "drawn";
    });
    if (state === "drawn") {
      if (el.dataset.chartLabel) el.setAttribute("aria-label", el.dataset.chartLabel);
      el.setAttribute("role", "img");
      return;
    }
    // A message, not a picture: read as text.
    const chart = charts.get(el);
    if (chart) chart.dispose();
    charts.delete(el);
    if (el.hasAttribute("aria-label")) el.dataset.chartLabel = el.getAttribute("aria-label");
    el.removeAttribute("aria-label");
    el.removeAttribute("role");
    el.textContent = text;
  }

  function draw(el, original, empty) {
    options.set(el, original);
    if (typeof empty === "boolean" ? empty : isEmpty(original)) {
      setState(el, "empty", el.dataset.empty || "No data for this period yet.");
      return;
    }
    if (el.dataset.chartState !== "drawn") el.textContent = "";
    const dark = document.documentElement.dataset.bsTheme === "dark";
    const chart = charts.get(el) || echarts.init(el, dark ? "dark" : null, { renderer: "canvas" });
    charts.set(el, chart);
    chart.setOption(fit(el, original), true);
    chart.off("click");
    chart.on("click", (p) => {
      const url = (p.data && p.data.url) || (p.value && p.value.url);
      if (url) window.location.assign(url);
    });
    setState(el, "drawn");
  }

  function render(el) {
    // <div data-chart-json="ID">: the option is already on the page, in the JSON of the
    // <script type="application/json" id="ID"> that Django's json_script wrote.
    if (el.dataset.chartJson) {
      const source = document.getElementById(el.dataset.chartJson);
      try {
        const payload = JSON.parse(source.textContent);
        draw(el, payload.option, payload.empty);
      } catch (_error) {
        setState(el, "failed", el.dataset.error || "The chart could not be loaded.");
      }
      return;
    }
    fetch(el.dataset.chart, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
      .then((payload) => draw(el, payload.option, payload.empty))
      .catch(() => setState(el, "failed", el.dataset.error || "The chart could not be loaded."));
  }

  function init(root) {
    (root || document).querySelectorAll("[data-chart], [data-chart-json]").forEach((el) => {
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

  let resizing = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => {
      charts.forEach((chart, el) => {
        chart.resize();
        // Across the breakpoint (or for cell labels sized to the width) fit the option anew.
        const layout = isNarrow(el) ? "narrow" : "wide";
        const heatmap = [].concat(options.get(el).series || []).some((s) => s.type === "heatmap");
        if (layout !== el.dataset.chartLayout || heatmap) chart.setOption(fit(el, options.get(el)), true);
      });
    }, 150);
  });
  // On a phone the analytics tabs scroll sideways: the current one in the middle, with its
  // neighbours showing on both sides that there is more.
  function showCurrentTab() {
    const tabs = document.querySelector(".kreis-tabs");
    const current = tabs && tabs.querySelector(".active");
    if (current && tabs.scrollWidth > tabs.clientWidth) {
      const tab = current.getBoundingClientRect();
      const strip = tabs.getBoundingClientRect();
      tabs.scrollLeft += tab.left - strip.left - (strip.width - tab.width) / 2;
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    showCurrentTab();
    init(document);
  });
  document.body && document.body.addEventListener("htmx:afterSwap", (e) => init(e.target));
})();
