// Spend charts: the page's JSON (#spend-data) drawn with the vendored Chart.js.
// Colours come from the page's CSS variables, so they follow light and dark mode.
(function () {
  "use strict";

  var source = document.getElementById("spend-data");
  if (!source || !window.Chart) return;
  var data = JSON.parse(source.textContent);
  var charts = [];

  function palette() {
    // Colours are light-dark() pairs (studio.css): only an element's computed colour
    // says which half the page's theme uses, so each is resolved through a probe.
    var holder = document.querySelector(".money") || document.body;
    var probe = document.createElement("span");
    probe.hidden = true;
    holder.appendChild(probe);
    var read = function (name) {
      if (!getComputedStyle(holder).getPropertyValue(name).trim()) return "";
      probe.style.color = "var(" + name + ")";
      return getComputedStyle(probe).color;
    };
    var colors = {
      text: read("--text"),
      muted: read("--muted"),
      grid: read("--chart-grid") || read("--border"),
      surface: read("--surface"),
      accent: read("--accent"),
      accent2: read("--accent-2"),
      relax: read("--mode-relax"),
      fast: read("--mode-fast"),
      turbo: read("--mode-turbo"),
      font: getComputedStyle(document.body).fontFamily,
    };
    probe.remove();
    return colors;
  }

  // Exact amounts arrive as strings; charts only need them as numbers to draw.
  function numbers(series) { return series.amounts.map(Number); }

  function money(value) {
    var places = Math.abs(value * 100 - Math.round(value * 100)) > 1e-9 ? 3 : 2;
    return "$" + value.toLocaleString("en-US", { minimumFractionDigits: places, maximumFractionDigits: 4 });
  }

  function jobsOf(series, index) {
    var count = Number(series.jobs[index]);
    return count + (count === 1 ? " job" : " jobs");
  }

  function tooltip(series) {
    return {
      callbacks: {
        title: function (items) {
          // Days are labelled 1…31 under the bars; the tooltip names the date.
          var key = series.keys[items[0].dataIndex];
          if (/^\d{4}-\d{2}-\d{2}$/.test(key)) {
            return new Date(key + "T00:00:00Z").toLocaleDateString(undefined, { month: "long", day: "numeric", timeZone: "UTC" });
          }
          return items[0].label;
        },
        label: function (item) {
          var value = typeof item.parsed === "number" ? item.parsed
            : item.chart.options.indexAxis === "y" ? item.parsed.x : item.parsed.y;
          return " " + money(value) + " · " + jobsOf(series, item.dataIndex);
        },
      },
    };
  }

  function moneyAxis(colors) {
    return {
      beginAtZero: true,
      grid: { color: colors.grid },
      border: { display: false },
      ticks: { color: colors.muted, callback: function (value) { return money(Number(value)); }, maxTicksLimit: 5, maxRotation: 0 },
    };
  }

  function short(text) {
    return text.length > 18 ? text.slice(0, 17) + "…" : text;
  }

  function labelAxis(colors, shorten) {
    var ticks = { color: colors.muted, autoSkip: true, maxRotation: 0 };
    if (shorten) {
      ticks.callback = function (value) { return short(String(this.getLabelForValue(value))); };
    }
    return { grid: { display: false }, border: { color: colors.grid }, ticks: ticks };
  }

  function bars(canvas, series, colors, horizontal) {
    var box = canvas.parentElement;
    if (horizontal) {
      // One bar per row: the box grows with the list instead of squeezing the bars.
      box.style.height = Math.max(140, series.labels.length * 38 + 48) + "px";
    }
    return new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: series.labels,
        datasets: [{
          data: numbers(series),
          backgroundColor: colors.accent,
          hoverBackgroundColor: colors.accent2,
          borderRadius: 5,
          maxBarThickness: horizontal ? 26 : 22,
        }],
      },
      options: {
        indexAxis: horizontal ? "y" : "x",
        maintainAspectRatio: false,
        animation: reducedMotion() ? false : { duration: 500 },
        plugins: { legend: { display: false }, tooltip: tooltip(series) },
        scales: horizontal
          ? { x: moneyAxis(colors), y: labelAxis(colors, true) }
          : { x: labelAxis(colors, false), y: moneyAxis(colors) },
      },
    });
  }

  function doughnut(canvas, series, colors) {
    var byKey = { relax: colors.relax, fast: colors.fast, turbo: colors.turbo };
    return new window.Chart(canvas, {
      type: "doughnut",
      data: {
        labels: series.labels,
        datasets: [{
          data: numbers(series),
          backgroundColor: series.keys.map(function (key) { return byKey[key] || colors.muted; }),
          borderColor: colors.surface,
          borderWidth: 3,
          hoverOffset: 6,
        }],
      },
      options: {
        maintainAspectRatio: false,
        cutout: "62%",
        animation: reducedMotion() ? false : { duration: 500 },
        plugins: {
          legend: { position: "right", labels: { color: colors.text, usePointStyle: true, pointStyle: "circle", padding: 14 } },
          tooltip: tooltip(series),
        },
      },
    });
  }

  function reducedMotion() {
    return window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  }

  function draw() {
    charts.forEach(function (chart) { chart.destroy(); });
    charts = [];
    var colors = palette();
    window.Chart.defaults.color = colors.muted;
    window.Chart.defaults.borderColor = colors.grid;
    window.Chart.defaults.font.family = colors.font;
    var place = function (id, make) {
      var canvas = document.getElementById(id);
      if (canvas) charts.push(make(canvas));
    };
    place("chart-by-day", function (c) { return bars(c, data.by_day, colors, false); });
    place("chart-by-member", function (c) { return bars(c, data.by_member, colors, true); });
    place("chart-by-project", function (c) { return bars(c, data.by_project, colors, true); });
    place("chart-by-mode", function (c) { return doughnut(c, data.by_mode, colors); });
  }

  draw();
  if (window.matchMedia) {
    var scheme = window.matchMedia("(prefers-color-scheme: dark)");
    if (scheme.addEventListener) scheme.addEventListener("change", draw);
  }
})();
