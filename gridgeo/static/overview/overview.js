// 一屏观全域: the town on one screen. Reads the OGC API items any client reads, plus
// /overview/summary.json (figures) and /overview/hillshade.json (the DEM basemap).
(function () {
  "use strict";
  var body = document.body;
  var SERVER = body.dataset.server;
  var LANG = body.dataset.lang === "en" ? "en" : "zh";
  // Open = not closed, invalid or duplicate (as in /overview/summary.json). Filtered
  // here: a property filter selects one value, and the list of incidents is small.
  var SETTLED = {closed: true, invalid: true, duplicate: true};
  function isOpen(f) { return !SETTLED[f.properties.state]; }
  var T = {
    zh: {title: "一屏观全域", collections: "数据集", open: "在办事件", overdue: "超期事件",
         closedOnTime: "本周按时办结", adits: "本月矿洞巡查覆盖", greenhouses: "本月大棚扫码覆盖",
         gridPanel: "网格详情", clickGrid: "点击地图上的网格查看网格员和在办事件。",
         byColour: "在办事件（按颜色）", byCategory: "在办事件（按类别）", byDay: "近14天上报",
         closedWeek: "本周办结 {n} 件", nearDue: "临期 {near} 件 · 督办中 {escalated} 件", ofTotal: "{n} / {total}", leader: "网格长",
         workers: "网格员", openCases: "在办事件", none: "无", difficulty: "难度",
         legendOpen: "网格在办事件数", red: "红", orange: "橙", yellow: "黄", overdueMark: "超期",
         loadError: "数据加载失败", figures: "本月考核", ghCoverage: "大棚扫码覆盖",
         aditsOnTime: "矿洞按时巡查", reported: "上报事件", resolvedOnTime: "按时办结",
         patrolKm: "巡查里程", workerFigures: "网格员考核", worker: "网格员"},
    en: {title: "Town overview", collections: "Collections", open: "Open incidents",
         overdue: "Overdue incidents", closedOnTime: "Closed on time this week",
         adits: "Adits inspected this month", greenhouses: "Greenhouses scanned this month",
         gridPanel: "Grid", clickGrid: "Click a grid on the map for its workers and open cases.",
         byColour: "Open incidents by colour", byCategory: "Open incidents by category",
         byDay: "Reported in the last 14 days", closedWeek: "{n} closed this week",
         nearDue: "{near} near due · {escalated} escalated",
         ofTotal: "{n} / {total}", leader: "Grid leader", workers: "Grid workers",
         openCases: "Open cases", none: "none", difficulty: "Difficulty",
         legendOpen: "Open incidents per grid", red: "red", orange: "orange", yellow: "yellow",
         overdueMark: "overdue", loadError: "Could not load data", figures: "This month's figures",
         ghCoverage: "Greenhouses scanned", aditsOnTime: "Adit inspections on time",
         reported: "Incidents reported", resolvedOnTime: "Resolved on time",
         patrolKm: "Patrol distance", workerFigures: "Grid workers' figures", worker: "Worker"}
  }[LANG];
  var COLOURS = {red: "#d7191c", orange: "#fd8d3c", yellow: "#fed92f"};
  var CLASSES = [[6, "#cc4c02", "6+"], [3, "#fe9929", "3–5"], [1, "#fee391", "1–2"], [0, "#e5f5e0", "0"]];

  function t(key, vars) {
    var s = T[key] || key;
    Object.keys(vars || {}).forEach(function (k) { s = s.replace("{" + k + "}", vars[k]); });
    return s;
  }
  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }
  // A signed-in command centre opens the page as #key=<API key or token>: a fragment is
  // never sent to a server or written to its logs. Kept for this tab only, and taken out
  // of the address so a shared link does not carry it.
  var KEY = (function () {
    var match = /(?:^#|&)key=([^&]+)/.exec(window.location.hash);
    if (match) {
      sessionStorage.setItem("gridgeo.key", decodeURIComponent(match[1]));
      history.replaceState(null, "", window.location.pathname + window.location.search +
        window.location.hash.replace(/(^#|&)key=[^&]+/, "$1").replace(/^#&/, "#"));
    }
    return sessionStorage.getItem("gridgeo.key");
  })();
  function getJSON(path, params, signedIn) {
    var url = new URL(SERVER + path);
    Object.keys(params || {}).forEach(function (k) { url.searchParams.set(k, params[k]); });
    var headers = {Accept: "application/json"};
    if (signedIn) { headers.Authorization = "Bearer " + KEY; }
    return fetch(url.toString(), {headers: headers}).then(function (r) {
      if (!r.ok) { throw new Error(path + ": HTTP " + r.status); }
      return r.json();
    });
  }
  function percent(n, total) { return total ? Math.round(100 * n / total) + "%" : "–"; }
  function classOf(n) {
    for (var i = 0; i < CLASSES.length; i++) { if (n >= CLASSES[i][0]) { return CLASSES[i]; } }
    return CLASSES[CLASSES.length - 1];
  }

  document.querySelectorAll("[data-i18n]").forEach(function (el) { el.textContent = t(el.dataset.i18n); });
  document.documentElement.lang = LANG === "zh" ? "zh-CN" : "en";

  function showFigures(f) {
    document.getElementById("fig-open").textContent = f.open;
    document.getElementById("fig-overdue").textContent = f.overdue;
    document.getElementById("fig-overdue-sub").textContent =
      t("nearDue", {near: f.near_due, escalated: f.escalated});
    document.getElementById("fig-closed-on-time").textContent = f.closed_on_time_this_week;
    document.getElementById("fig-closed-week").textContent = t("closedWeek", {n: f.closed_this_week});
    document.getElementById("fig-adits").textContent = percent(f.adits_inspected_this_month, f.adits);
    document.getElementById("fig-adits-sub").textContent =
      t("ofTotal", {n: f.adits_inspected_this_month, total: f.adits});
    document.getElementById("fig-greenhouses").textContent =
      percent(f.greenhouses_scanned_this_month, f.greenhouses);
    document.getElementById("fig-greenhouses-sub").textContent =
      t("ofTotal", {n: f.greenhouses_scanned_this_month, total: f.greenhouses});
  }

  // Horizontal bars: rows of [label, value, colour].
  function barChart(svg, rows) {
    var max = Math.max.apply(null, rows.map(function (r) { return r[1]; }).concat([1]));
    var h = Math.min(svg.viewBox.baseVal.height / Math.max(rows.length, 1), 26);
    svg.innerHTML = rows.map(function (r, i) {
      var w = 190 * r[1] / max, y = i * h;
      return '<text x="0" y="' + (y + h * 0.65) + '">' + esc(r[0]) + '</text>' +
        '<rect class="bar" x="90" y="' + (y + h * 0.15) + '" width="' + w + '" height="' + (h * 0.7) +
        '" fill="' + (r[2] || "#5b9bd5") + '"></rect>' +
        '<text x="' + (94 + w) + '" y="' + (y + h * 0.65) + '">' + r[1] + '</text>';
    }).join("");
  }
  function columnChart(svg, rows) {
    var max = Math.max.apply(null, rows.map(function (r) { return r[1]; }).concat([1]));
    var w = 300 / rows.length;
    svg.innerHTML = rows.map(function (r, i) {
      var h = 80 * r[1] / max;
      return '<rect class="bar" x="' + (i * w + 2) + '" y="' + (90 - h) + '" width="' + (w - 4) +
        '" height="' + h + '" fill="#5b9bd5"><title>' + esc(r[0]) + ": " + r[1] + '</title></rect>' +
        (i % 3 === 0 ? '<text x="' + (i * w) + '" y="105">' + esc(r[0].slice(5)) + '</text>' : "");
    }).join("");
  }

  var map = L.map("map", {zoomControl: true, attributionControl: false});
  map.setView([34.1, 112.3], 11);

  function legend() {
    var html = "<b>" + esc(t("legendOpen")) + "</b><br>" + CLASSES.map(function (c) {
      return '<i style="background:' + c[1] + '"></i>' + c[2];
    }).join("<br>") + "<br>" + ["red", "orange", "yellow"].map(function (c) {
      return '<i style="background:' + COLOURS[c] + ';border-radius:6px"></i>' + esc(t(c));
    }).join(" ") + '<br><i style="border:2px solid #000;border-radius:6px"></i>' + esc(t("overdueMark"));
    document.getElementById("legend").innerHTML = html;
  }

  function addHillshade() {
    return getJSON("/overview/hillshade.json").then(function (h) {
      L.imageOverlay(h.href, h.bounds, {opacity: 0.9, className: "hillshade"}).addTo(map).bringToBack();
    }).catch(function () { /* no DEM configured: a plain background */ });
  }

  function showGrid(props) {
    var panel = document.getElementById("grid-panel");
    panel.innerHTML = "<h2>" + esc(props.name) + " <small>" + esc(props.code) + "</small></h2>" +
      "<table><tr><td>" + esc(t("difficulty")) + "</td><td>" + esc(props.difficulty || "–") + "</td></tr>" +
      "<tr><td>" + esc(t("leader")) + "</td><td>" + esc(props.leader_name || t("none")) + " " +
      esc(props.leader_phone || "") + "</td></tr>" +
      "<tr><td>" + esc(t("workers")) + "</td><td>" + esc(props.worker_names || t("none")) + "<br>" +
      esc(props.worker_phones || "") + "</td></tr></table>" +
      "<h2>" + esc(t("figures")) + '</h2><table id="grid-figures"></table>' +
      '<div id="worker-figures-wrap"></div>' +
      "<h2>" + esc(t("openCases")) + ' <span id="grid-open-count"></span></h2><table id="grid-cases"></table>';
    var cases = getJSON("/collections/incidents/items", {
      f: "json", grid_code: props.code, limit: 10000, skipGeometry: "true",
      properties: "case_no,title,colour,state,overdue"
    }).then(function (fc) {
      fc.features = fc.features.filter(isOpen);
      document.getElementById("grid-open-count").textContent = "(" + fc.features.length + ")";
      document.getElementById("grid-cases").innerHTML = fc.features.map(function (f) {
        var p = f.properties;
        return '<tr class="case"><td style="color:' + (COLOURS[p.colour] || "#fff") + '">●</td><td>' +
          esc(p.case_no) + "<br>" + esc(p.title) + (p.overdue ? ' <b style="color:#ff6b6b">' +
          esc(t("overdueMark")) + "</b>" : "") + "</td></tr>";
      }).join("") || "<tr><td>" + esc(t("none")) + "</td></tr>";
    });
    return Promise.all([showGridFigures(props.code), showWorkerFigures(props.code), cases]);
  }

  // 考核: the grid's figures this month (public), from the grid_figures collection.
  function figureCells(p) {
    return [p.greenhouses_scanned + " / " + p.greenhouses + " (" +
              percent(p.greenhouses_scanned, p.greenhouses) + ")",
            p.adit_inspections_on_time + " / " + p.adit_inspections,
            String(p.incidents_reported),
            p.incidents_resolved_on_time + " / " + p.incidents_resolved,
            p.patrol_km + " km"];
  }
  var FIGURES = ["ghCoverage", "aditsOnTime", "reported", "resolvedOnTime", "patrolKm"];
  function showGridFigures(code) {
    return getJSON("/collections/grid_figures/items", {f: "json", code: code, skipGeometry: "true"})
      .then(function (fc) {
        if (!fc.features.length) { return; }
        var cells = figureCells(fc.features[0].properties);
        document.getElementById("grid-figures").innerHTML = FIGURES.map(function (key, i) {
          return '<tr><td>' + esc(t(key)) + '</td><td id="grid-fig-' + key + '">' + esc(cells[i]) +
            "</td></tr>";
        }).join("");
      }).catch(function () { /* figures switched off in this deployment: the rest stays */ });
  }
  // Per worker only for a caller whose role reads worker_figures; anyone else sees none
  // (the collection answers them 401/403/404, and the page does not ask without a key).
  function showWorkerFigures(code) {
    if (!KEY) { return null; }
    return getJSON("/collections/worker_figures/items",
                   {f: "json", grid_code: code, skipGeometry: "true"}, true).then(function (fc) {
      document.getElementById("worker-figures-wrap").innerHTML =
        "<h2>" + esc(t("workerFigures")) + '</h2><table id="worker-figures"><tr><th>' +
        esc(t("worker")) + "</th>" + FIGURES.map(function (key) {
          return "<th>" + esc(t(key)) + "</th>";
        }).join("") + "</tr>" + fc.features.map(function (f) {
          return '<tr class="worker" id="worker-' + esc(f.properties.staff_no) + '"><td>' +
            esc(f.properties.worker_name) + "</td>" + figureCells(f.properties).map(function (c) {
              return "<td>" + esc(c) + "</td>";
            }).join("") + "</tr>";
        }).join("") + "</table>";
    }).catch(function () { /* this role may not see workers' figures */ });
  }

  function addGrids(openByGrid) {
    return getJSON("/collections/grids/items", {
      f: "json", level: "unit", kind: "basic", limit: 10000,
      properties: "code,name,difficulty,leader_name,leader_phone,worker_names,worker_phones"
    }).then(function (fc) {
      var layer = L.geoJSON(fc, {
        style: function (f) {
          var n = openByGrid[f.properties.code] || 0;
          return {color: "#444", weight: 0.8, fillColor: classOf(n)[1], fillOpacity: 0.55,
                  className: "grid grid-open-" + n};
        },
        onEachFeature: function (f, l) {
          l.on("click", function () { showGrid(f.properties); });
          l.bindTooltip(esc(f.properties.name) + "：" + (openByGrid[f.properties.code] || 0), {sticky: true});
        }
      }).addTo(map);
      if (layer.getBounds().isValid()) { map.fitBounds(layer.getBounds()); }
      body.dataset.grids = fc.features.length;
      return fc.features;
    });
  }

  function addIncidents() {
    return getJSON("/collections/incidents/items", {
      f: "json", limit: 10000, properties: "case_no,title,colour,state,overdue,grid_code"
    }).then(function (fc) {
      fc.features = fc.features.filter(isOpen);
      L.geoJSON(fc, {
        pointToLayer: function (f, latlng) {
          var p = f.properties;
          return L.circleMarker(latlng, {
            radius: p.overdue ? 6 : 4, fillColor: COLOURS[p.colour] || "#999", fillOpacity: 0.95,
            color: "#000", weight: p.overdue ? 2.5 : 0.8,
            className: "incident incident-" + p.colour + (p.overdue ? " overdue" : "")
          }).bindTooltip(esc(p.case_no) + " " + esc(p.title));
        }
      }).addTo(map);
      body.dataset.incidents = fc.features.length;
    });
  }

  // #grid=<code> opens that grid's panel: a link the command centre can share.
  function openLinkedGrid(features) {
    var match = /grid=([0-9]+)/.exec(window.location.hash);
    var found = match && features.filter(function (f) { return f.properties.code === match[1]; })[0];
    return found ? showGrid(found.properties) : null;
  }

  legend();
  getJSON("/overview/summary.json").then(function (s) {
    showFigures(s.figures);
    barChart(document.getElementById("chart-colour"), ["red", "orange", "yellow"].map(function (c) {
      return [t(c), s.open_by_colour[c] || 0, COLOURS[c]];
    }));
    barChart(document.getElementById("chart-category"), s.open_by_category);
    columnChart(document.getElementById("chart-day"), s.reported_by_day);
    return Promise.all([addHillshade(), addGrids(s.open_by_grid)]);
  }).then(function (done) {
    return addIncidents().then(function () { return openLinkedGrid(done[1]); });
  }).then(function () {
    body.dataset.ready = "1";
  }).catch(function (err) {
    body.dataset.ready = "error";
    body.dataset.error = String(err);
    document.getElementById("grid-panel").textContent = t("loadError") + ": " + err;
  });
})();
