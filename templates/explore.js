// The trends page's filters: repository, cohort and period redraw the charts (inline SVG)
// and the table from the figure rows embedded in the page. No request leaves the page; the
// filter state lives in the URL hash so a link reproduces a view. Without JavaScript the
// static charts and table below stay as they are.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var DAY = 86400000;
  var PERIODS = { "4w": 28, "12w": 84, "6m": 182, "1y": 365, all: null };
  var COHORTS = ["agent-authored", "agent-assisted", "human"];
  var COHORT_LABELS = {
    "agent-authored": "Agent-authored",
    "agent-assisted": "Agent-assisted",
    human: "Human",
  };
  var NO_DATA = "\u2013";

  var source = document.getElementById("trend-data");
  var section = document.getElementById("explore");
  if (!source || !section) {
    return;
  }
  var data = JSON.parse(source.textContent);
  var ALL = data.all; // the repository and cohort of the figures of the whole set
  var columns = {};
  data.columns.forEach(function (name, i) {
    columns[name] = i;
  });
  // Series (repository, cohort, metric, a value and an n per snapshot) back into tidy rows;
  // an n of null is no row for that snapshot.
  var rows = [];
  data.series.forEach(function (s) {
    s[4].forEach(function (n, i) {
      if (n === null) {
        return;
      }
      var values = data.snapshots[i].concat([s[0], s[1], s[2], s[3][i], n]);
      var row = {};
      Object.keys(columns).forEach(function (name) {
        row[name] = values[columns[name]];
      });
      rows.push(row);
    });
  });
  var select = {
    repository: document.getElementById("f-repository"),
    cohort: document.getElementById("f-cohort"),
    period: document.getElementById("f-period"),
  };

  function option(parent, value, label) {
    var o = document.createElement("option");
    o.value = value;
    o.textContent = label;
    parent.appendChild(o);
  }

  function distinct(field) {
    var seen = {};
    rows.forEach(function (r) {
      if (r[field] !== ALL[field]) {
        seen[r[field]] = true;
      }
    });
    return Object.keys(seen);
  }

  option(select.repository, ALL.repository, "All repositories");
  distinct("repository")
    .sort()
    .forEach(function (name) {
      option(select.repository, name, name);
    });
  option(select.cohort, ALL.cohort, "All pull requests");
  var cohorts = distinct("cohort").sort(function (a, b) {
    var ia = COHORTS.indexOf(a) < 0 ? COHORTS.length : COHORTS.indexOf(a);
    var ib = COHORTS.indexOf(b) < 0 ? COHORTS.length : COHORTS.indexOf(b);
    return ia - ib || (a < b ? -1 : a > b ? 1 : 0);
  });
  cohorts.forEach(function (name) {
    option(select.cohort, name, COHORT_LABELS[name] || name);
  });
  select.cohort.disabled = cohorts.length === 0;

  function hours(value) {
    if (value < 1) {
      return (value * 60).toFixed(0) + " min";
    }
    if (value < 48) {
      return value.toFixed(1) + " h";
    }
    return (value / 24).toFixed(1) + " d";
  }

  function formatted(kind, value) {
    if (value === null || value === undefined) {
      return NO_DATA;
    }
    if (kind === "median hours") {
      return hours(value);
    }
    if (kind === "ratio") {
      return (value * 100).toFixed(1) + "%";
    }
    if (kind === "per-day rate") {
      return value >= 1 ? value.toFixed(2) + "/day" : (value * 7).toFixed(2) + "/week";
    }
    return String(value);
  }

  function state() {
    return {
      repository: select.repository.value,
      cohort: select.cohort.value,
      period: select.period.value,
    };
  }

  function hashOf(s) {
    return (
      "#repository=" +
      encodeURIComponent(s.repository) +
      "&cohort=" +
      encodeURIComponent(s.cohort) +
      "&period=" +
      encodeURIComponent(s.period)
    );
  }

  function chooseIfPresent(element, value) {
    for (var i = 0; i < element.options.length; i++) {
      if (element.options[i].value === value) {
        element.value = value;
        return;
      }
    }
  }

  function applyHash() {
    var text = location.hash.replace(/^#/, "");
    text.split("&").forEach(function (pair) {
      var at = pair.indexOf("=");
      if (at < 0) {
        return;
      }
      var key = pair.slice(0, at);
      var value;
      try {
        value = decodeURIComponent(pair.slice(at + 1));
      } catch (e) {
        return; // a damaged link: keep the default for this filter
      }
      if (Object.prototype.hasOwnProperty.call(select, key)) {
        chooseIfPresent(select[key], value);
      }
    });
  }

  // One snapshot's window end per column of the charts and row of the table.
  function snapshots(s) {
    var chosen = rows.filter(function (r) {
      return r.period === "current" && r.repository === s.repository && r.cohort === s.cohort;
    });
    var latest = null;
    rows.forEach(function (r) {
      var t = Date.parse(r.until);
      latest = latest === null || t > latest ? t : latest;
    });
    var span = PERIODS[s.period];
    var from = span === null || latest === null ? -Infinity : latest - span * DAY;
    var byKey = {};
    var order = [];
    rows.forEach(function (r) {
      var t = Date.parse(r.until);
      var key = r.run + "|" + r.generated_at + "|" + r.until;
      if (r.period !== "current" || t <= from || byKey[key]) {
        return;
      }
      byKey[key] = { until: r.until, time: t, figures: {} };
      order.push(byKey[key]);
    });
    chosen.forEach(function (r) {
      var snap = byKey[r.run + "|" + r.generated_at + "|" + r.until];
      if (snap) {
        snap.figures[r.metric] = r;
      }
    });
    return order.sort(function (a, b) {
      return a.time - b.time;
    });
  }

  function svg(name, attributes) {
    var element = document.createElementNS(SVG, name);
    Object.keys(attributes).forEach(function (key) {
      element.setAttribute(key, attributes[key]);
    });
    return element;
  }

  function chart(metric, snaps) {
    var figure = document.createElement("figure");
    figure.className = "explore-chart";
    figure.setAttribute("data-metric", metric.name);
    var caption = document.createElement("figcaption");
    caption.textContent = metric.label;
    var points = snaps.filter(function (snap) {
      var row = snap.figures[metric.name];
      return row && row.value !== null;
    });
    figure.setAttribute("data-points", String(points.length));
    if (points.length === 0) {
      var empty = document.createElement("p");
      empty.className = "no-data";
      empty.textContent = NO_DATA + " no data";
      figure.appendChild(caption);
      figure.appendChild(empty);
      return figure;
    }
    var width = 320;
    var height = 120;
    var pad = 8;
    var values = points.map(function (snap) {
      return snap.figures[metric.name].value;
    });
    var top = Math.max.apply(null, values);
    var bottom = Math.min(0, Math.min.apply(null, values));
    var first = snaps[0].time;
    var last = snaps[snaps.length - 1].time;
    var left = 48; // room for the range's labels
    function x(t) {
      return last === first ? (left + width - pad) / 2 : left + ((t - first) / (last - first)) * (width - left - pad);
    }
    function y(v) {
      return top === bottom ? height / 2 : height - pad - ((v - bottom) / (top - bottom)) * (height - 2 * pad);
    }
    var picture = svg("svg", {
      viewBox: "0 0 " + width + " " + height,
      width: String(width),
      height: String(height),
      role: "img",
      "aria-label":
        metric.label + ": " + points.length + " point" + (points.length === 1 ? "" : "s") +
        ", latest " + formatted(metric.kind, values[values.length - 1]) + " (the table below lists every value)",
    });
    picture.appendChild(svg("line", { x1: left, y1: height - pad, x2: width - pad, y2: height - pad, class: "axis" }));
    // The range the line spans, so a flat line near the top still reads as a value.
    [
      [top, pad + 8],
      [bottom, height - pad - 3],
    ].forEach(function (mark) {
      var label = svg("text", { x: left - 6, y: mark[1], class: "range", "text-anchor": "end" });
      label.textContent = formatted(metric.kind, mark[0]);
      picture.appendChild(label);
    });
    var d = points
      .map(function (snap, i) {
        return (i === 0 ? "M" : "L") + x(snap.time).toFixed(1) + " " + y(snap.figures[metric.name].value).toFixed(1);
      })
      .join(" ");
    picture.appendChild(svg("path", { d: d, class: "series", "data-series": metric.name }));
    points.forEach(function (snap) {
      var row = snap.figures[metric.name];
      var dot = svg("circle", { cx: x(snap.time).toFixed(1), cy: y(row.value).toFixed(1), r: "3", class: "point" });
      var title = svg("title", {});
      title.textContent = snap.until.slice(0, 10) + ": " + formatted(metric.kind, row.value) + " (n=" + row.n + ")";
      dot.appendChild(title);
      picture.appendChild(dot);
    });
    figure.appendChild(caption);
    figure.appendChild(picture);
    return figure;
  }

  function cell(parent, tag, text) {
    var element = document.createElement(tag);
    element.textContent = text;
    parent.appendChild(element);
    return element;
  }

  function table(snaps) {
    var head = document.querySelector("#explore-table thead");
    var body = document.querySelector("#explore-table tbody");
    head.textContent = "";
    body.textContent = "";
    var header = document.createElement("tr");
    cell(header, "th", "Window end");
    data.metrics.forEach(function (metric) {
      cell(header, "th", metric.label);
    });
    head.appendChild(header);
    snaps
      .slice()
      .reverse()
      .forEach(function (snap) {
        var tr = document.createElement("tr");
        tr.setAttribute("data-until", snap.until);
        cell(tr, "td", snap.until.slice(0, 10));
        data.metrics.forEach(function (metric) {
          var row = snap.figures[metric.name];
          var td = cell(tr, "td", row ? formatted(metric.kind, row.value) : NO_DATA);
          td.setAttribute("data-metric", metric.name);
          if (row) {
            var n = cell(td, "small", " n=" + row.n);
            n.className = "muted";
          }
        });
        body.appendChild(tr);
      });
  }

  function draw() {
    var s = state();
    var snaps = snapshots(s);
    var charts = document.getElementById("explore-charts");
    charts.textContent = "";
    data.metrics.forEach(function (metric) {
      charts.appendChild(chart(metric, snaps));
    });
    table(snaps);
    var what = s.repository === ALL.repository ? "all repositories" : s.repository;
    var cohort = s.cohort === ALL.cohort ? "all pull requests" : COHORT_LABELS[s.cohort] || s.cohort;
    document.getElementById("explore-status").textContent =
      snaps.length + " snapshot" + (snaps.length === 1 ? "" : "s") + " for " + what + ", " + cohort +
      ", " + select.period.options[select.period.selectedIndex].text.toLowerCase() + ".";
  }

  function changed() {
    var wanted = hashOf(state());
    if (location.hash !== wanted) {
      location.hash = wanted;
    }
    draw();
  }

  Object.keys(select).forEach(function (key) {
    select[key].addEventListener("change", changed);
  });
  window.addEventListener("hashchange", function () {
    applyHash();
    draw();
  });
  applyHash();
  section.hidden = false;
  draw();
})();
