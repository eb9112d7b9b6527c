// The console's charts and maps: options come from <script type="application/json"> blocks written by the
// server (api/console/charts.py); no inline scripts, no network but the console's own origin.
(function () {
  "use strict";

  function json(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function drawn(chart, el) {
    chart.on("finished", function () { el.setAttribute("data-drawn", "1"); });
  }

  var charts = [];

  function drawCharts() {
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var option = json(el.id + "-option");
      if (!option) return;
      var chart = echarts.init(el, null, { renderer: "canvas" });
      drawn(chart, el);
      chart.setOption(option);
      charts.push(chart);
    });
  }

  function walk(coords, visit) {
    if (typeof coords[0] === "number") { visit(coords); return; }
    coords.forEach(function (c) { walk(c, visit); });
  }

  function bounds(features) {
    var b = [Infinity, Infinity, -Infinity, -Infinity];
    features.forEach(function (f) {
      walk(f.geometry.coordinates, function (p) {
        b[0] = Math.min(b[0], p[0]); b[1] = Math.min(b[1], p[1]);
        b[2] = Math.max(b[2], p[0]); b[3] = Math.max(b[3], p[1]);
      });
    });
    var pad = Math.max(b[2] - b[0], b[3] - b[1], 0.1) * 1.2;
    return [[b[0] - pad, b[3] + pad], [b[2] + pad, b[1] - pad]];
  }

  function drawMap(el, base) {
    var data = json(el.id + "-data");
    if (!data || !data.features.length) return;
    var areas = [], points = [];
    data.features.forEach(function (f, i) {
      var name = "◆ " + (f.properties.name || ("#" + (i + 1)));
      if (f.geometry.type === "Point") {
        points.push({ name: name, value: f.geometry.coordinates });
      } else if (f.geometry.type === "MultiPoint") {
        f.geometry.coordinates.forEach(function (c) { points.push({ name: name, value: c }); });
      } else {
        areas.push({ type: "Feature", properties: { name: name }, geometry: f.geometry });
      }
    });
    var mapName = "console-" + el.id;
    echarts.registerMap(mapName, { type: "FeatureCollection", features: base.features.concat(areas) });
    var chart = echarts.init(el, null, { renderer: "canvas" });
    drawn(chart, el);
    chart.setOption({
      animation: false,
      tooltip: { trigger: "item", formatter: "{b}" },
      toolbox: { feature: { saveAsImage: { title: "下载 PNG", pixelRatio: 2 } }, right: 8 },
      geo: {
        map: mapName,
        roam: true,
        boundingCoords: bounds(data.features),
        itemStyle: { areaColor: "#f3f4f6", borderColor: "#6b7280", borderWidth: 0.8 },
        emphasis: { itemStyle: { areaColor: "#dbeafe" }, label: { show: false } },
        label: { show: false },
        regions: areas.map(function (a) {
          return { name: a.properties.name, itemStyle: { areaColor: "#1f5fa8", opacity: 0.55, borderColor: "#0b3a6e", borderWidth: 2 } };
        })
      },
      series: points.length
        ? [{ type: "scatter", coordinateSystem: "geo", data: points, symbolSize: 10, itemStyle: { color: "#be123c" } }]
        : []
    });
    charts.push(chart);
  }

  function drawMaps() {
    var maps = document.querySelectorAll("[data-map]");
    if (!maps.length) return;
    fetch("/console/static/basemap/basemap.geojson", { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (base) { maps.forEach(function (el) { drawMap(el, base); }); });
  }

  function purposeOnChange() {
    // choosing a purpose applies it at once (the 设定 button stays for browsers without scripts)
    var select = document.getElementById("purpose-select");
    if (select) select.addEventListener("change", function () { if (select.value) select.form.submit(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    purposeOnChange();
    if (typeof echarts === "undefined") return;
    drawCharts();
    drawMaps();
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  });
})();
