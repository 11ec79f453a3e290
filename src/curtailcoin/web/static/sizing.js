/* CurtailCoin "Site sizing" view: GET /api/scenario and /api/scenario/sizing, charts with the locally served Plotly. */
(function () {
  "use strict";

  var $ = function (id) { return document.getElementById(id); };
  var COLORS = { wind: "#0ea5e9", btc: "#f7931a", pay: "#475569", grid: "#eef2f7", ink: "#334155", best: "#16a34a" };
  var FONT = '-apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  var SWEEP = "1:500:50";

  var state = { site: "", model: "", mw: 20, from: "", to: "", capex: 3000 };
  var range = null;
  var sweepCache = { key: null, body: null };
  var renderSeq = 0;

  var plotlyReady = new Promise(function (resolve) {
    if (window.Plotly) { resolve(true); return; }
    var script = document.createElement("script");
    script.src = "/vendor/plotly.min.js";
    script.onload = function () { resolve(true); };
    script.onerror = function () { resolve(false); };
    document.head.appendChild(script);
  });

  // --- formatting ---------------------------------------------------------------------------
  var formats = {};
  function num(v, digits) {
    var f = formats[digits] || (formats[digits] = new Intl.NumberFormat("en-GB", { minimumFractionDigits: digits, maximumFractionDigits: digits }));
    return f.format(Number(v));
  }
  function gbp(v) {
    if (v === null || v === undefined) { return "—"; }
    var sign = v < 0 ? "−" : "", a = Math.abs(v);
    if (a >= 1e6) { return sign + "£" + num(a / 1e6, 2) + "m"; }
    if (a >= 1e4) { return sign + "£" + num(a / 1e3, 1) + "k"; }
    return sign + "£" + num(a, a >= 100 ? 0 : 2);
  }
  function btc(v) {
    if (v === null || v === undefined) { return "—"; }
    var a = Math.abs(v);
    return num(v, a >= 100 ? 1 : a >= 10 ? 2 : a >= 1 ? 3 : 4) + " BTC";
  }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function longDate(iso) { var p = iso.split("-"); return Number(p[2]) + " " + MONTHS[Number(p[1]) - 1] + " " + p[0]; }
  function qs(obj) {
    var p = new URLSearchParams();
    Object.keys(obj).forEach(function (k) { if (obj[k] !== null && obj[k] !== undefined && obj[k] !== "") { p.set(k, obj[k]); } });
    var s = p.toString();
    return s ? "?" + s : "";
  }
  function addDays(iso, n) { var d = new Date(iso + "T00:00:00Z"); d.setUTCDate(d.getUTCDate() + n); return d.toISOString().slice(0, 10); }

  function api(path) {
    return fetch(path, { headers: { Accept: "application/json" } }).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (body) {
        if (!r.ok) { throw new Error((body && body.error) || ("HTTP " + r.status + " from " + path)); }
        return body;
      });
    });
  }

  // --- parameters ---------------------------------------------------------------------------
  function siteParams() { return state.site ? { leadParty: state.site } : { allWind: "true" }; }
  function common() {
    var p = siteParams();
    p.from = state.from; p.to = state.to; p.minerModel = state.model;
    if (Number(state.capex) > 0) { p.capexPerMiner = state.capex; }
    return p;
  }
  function scenarioPath(format) {
    var p = common(); p.mw = state.mw; p.grain = "month"; p.format = format || "";
    return "/api/scenario" + qs(p);
  }
  function sizingPath(format) {
    var p = common(); p.sizes = SWEEP; p.format = format || "";
    return "/api/scenario/sizing" + qs(p);
  }
  function syncUrl() {
    var p = { site: state.site, minerModel: state.model, mw: state.mw, from: state.from, to: state.to, capex: state.capex };
    window.history.replaceState(null, "", window.location.pathname + qs(p));
  }

  // --- init ---------------------------------------------------------------------------------
  function init() {
    Promise.all([api("/api/data-range"), api("/api/miner-models"), api("/api/lead-parties")]).then(function (res) {
      range = res[0];
      var params = new URLSearchParams(window.location.search);
      var last = range.lastDateWithCurtailment || range.lastDate || range.today;
      state.to = params.get("to") || last;
      var from = addDays(state.to, -364);
      if (range.firstDate && from < range.firstDate) { from = range.firstDate; }
      state.from = params.get("from") || from;
      state.model = params.get("minerModel") || range.defaultModel;
      state.site = params.get("site") || "";
      state.mw = Number(params.get("mw") || 20);
      state.capex = params.get("capex") !== null ? Number(params.get("capex")) : 3000;
      buildSelects(res[1], res[2]);
      bind();
      render();
    }).catch(fatal);
  }

  function buildSelects(models, parties) {
    var m = $("model-select");
    models.forEach(function (x) {
      var o = document.createElement("option");
      o.value = x.key; o.textContent = x.name + " (" + num(x.hashrateTh, 0) + " TH/s, " + num(x.powerW, 0) + " W)";
      m.appendChild(o);
    });
    m.value = state.model;
    var s = $("site-select");
    parties.forEach(function (name) {
      var o = document.createElement("option");
      o.value = name; o.textContent = name;
      s.appendChild(o);
    });
    s.value = state.site;
    if (s.value !== state.site) { state.site = ""; }
    $("size-input").value = String(state.mw);
    $("size-value").textContent = state.mw + " MW";
    $("from-input").value = state.from; $("to-input").value = state.to;
    $("from-input").max = $("to-input").max = range.today;
    $("capex-input").value = String(state.capex);
  }

  var sizeTimer = null;
  function bind() {
    $("site-select").addEventListener("change", function (e) { state.site = e.target.value; render(); });
    $("model-select").addEventListener("change", function (e) { state.model = e.target.value; render(); });
    $("size-input").addEventListener("input", function (e) {
      $("size-value").textContent = e.target.value + " MW";
      window.clearTimeout(sizeTimer);
      sizeTimer = window.setTimeout(function () { setSize(e.target.value); }, 200);
    });
    $("size-input").addEventListener("change", function (e) { window.clearTimeout(sizeTimer); setSize(e.target.value); });
    $("from-input").addEventListener("change", function (e) { if (e.target.value) { state.from = e.target.value; render(); } });
    $("to-input").addEventListener("change", function (e) { if (e.target.value) { state.to = e.target.value; render(); } });
    $("capex-input").addEventListener("change", function (e) { state.capex = Math.max(0, Number(e.target.value) || 0); render(); });
  }
  function setSize(value) {
    var mw = Number(value);
    if (mw === state.mw) { return; }
    state.mw = mw; render();
  }

  // --- render -------------------------------------------------------------------------------
  function banner(kind, html) {
    var div = document.createElement("div");
    div.className = "banner " + kind;
    div.innerHTML = html;
    $("banners").appendChild(div);
  }
  function fatal(err) {
    $("banners").innerHTML = "";
    banner("error", "<strong>Could not load the scenario:</strong> " + esc(err && err.message ? err.message : err));
    document.body.dataset.ready = "error";
  }
  function setCard(id, value, sub, title) {
    var card = $(id);
    card.querySelector("[data-k='value']").innerHTML = value;
    card.querySelector("[data-k='sub']").innerHTML = sub || "&nbsp;";
    card.title = title || "";
  }

  function render() {
    var seq = ++renderSeq;
    document.body.dataset.ready = "0";
    syncUrl();
    $("csv-download").href = scenarioPath("csv");
    $("sizing-csv").href = sizingPath("csv");
    var key = sizingPath();
    var sweep = sweepCache.key === key ? Promise.resolve(sweepCache.body) : api(key);
    Promise.all([api(scenarioPath()), sweep]).then(function (res) {
      if (seq !== renderSeq) { return null; }
      sweepCache = { key: key, body: res[1] };
      $("banners").innerHTML = "";
      title(res[0]);
      cards(res[0]);
      return plotlyReady.then(function () {
        return Promise.all([sizingChart(res[1]), monthlyChart(res[0]), durationChart(res[1])]);
      });
    }).then(function (done) {
      if (done === null || seq !== renderSeq) { return; }
      document.body.dataset.ready = "1";
    }).catch(function (err) { if (seq === renderSeq) { fatal(err); } });
  }

  function title(s) {
    var f = s.fleet;
    $("scope-title").textContent = s.site;
    $("scope-sub").textContent = num(f.miners, 0) + " × " + f.modelKey + " (" + num(f.capacityMw, 2) + " MW), " +
      longDate(s.from) + " – " + longDate(s.to);
  }

  function cards(s) {
    var t = s.total, price = s.price;
    setCard("card-btc", esc(btc(t.btc)), num(t.usedMwh, 0) + " MWh used of " + num(t.availableMwh, 0) + " curtailed");
    if (t.revenueGbp === null) {
      setCard("card-revenue", '<span class="missing">Price missing</span>', "no BTC/GBP price for the range's BTC", t.missingReason || "");
    } else {
      var part = t.unpricedBtc > 0 ? "excludes " + esc(btc(t.unpricedBtc)) + " without a price" : "margin " + esc(gbp(t.marginGbp));
      setCard("card-revenue", esc(gbp(t.revenueGbp)), part, t.missingReason || "");
    }
    if (t.revenueAtLatestPriceGbp === null) {
      setCard("card-latest", '<span class="missing">Price missing</span>', price.latestPriceDate ? "BTC not known for every period" : "no BTC/GBP price stored", t.missingReason || "");
    } else {
      setCard("card-latest", esc(gbp(t.revenueAtLatestPriceGbp)),
        "at " + esc(gbp(price.latestGbpPerBtc)) + "/BTC on " + esc(longDate(price.latestPriceDate)));
    }
    setCard("card-util", num(t.utilisation * 100, 1) + " %", num(t.hoursRunH, 0) + " h run, " + num(t.fullLoadHoursH, 0) + " h at full load");
    var pb = s.payback;
    if (pb.status === "reached") {
      setCard("card-payback", num(pb.months, 0) + " months", "capex " + esc(gbp(pb.capexGbp)) + " covered in " + esc(pb.month));
    } else if (pb.status === "not_within_range") {
      setCard("card-payback", "Not within the range", "capex " + esc(gbp(pb.capexGbp)) + "; margin " + esc(gbp(pb.cumulativeMarginGbp)));
    } else {
      setCard("card-payback", "No capex given", "set a capex per miner");
    }
    if (t.missingReason) { banner("info", "<strong>Missing data:</strong> " + esc(t.missingReason)); }
  }

  // --- charts -------------------------------------------------------------------------------
  var CONFIG = { displaylogo: false, responsive: true, displayModeBar: "hover",
    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines"] };
  var NARROW_PX = 640;
  function narrow(el) { return el.clientWidth > 0 && el.clientWidth < NARROW_PX; }
  function layout(el, extra) {
    var small = narrow(el);
    var out = {
      autosize: true,
      font: { family: FONT, size: 12, color: COLORS.ink },
      margin: { l: 58, r: 58, t: 12, b: small ? 92 : 46 },
      paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
      legend: small ? { orientation: "h", x: 0, xanchor: "left", yref: "container", y: 0, yanchor: "bottom", font: { size: 11 } }
        : { orientation: "h", x: 0, y: 1.12, font: { size: 12 } },
      hovermode: "x unified",
      xaxis: { gridcolor: COLORS.grid, linecolor: "#cbd5e1", tickfont: { size: 11 } },
      yaxis: { gridcolor: COLORS.grid, zeroline: false, tickfont: { size: 11 } }
    };
    Object.keys(extra).forEach(function (k) { out[k] = extra[k]; });
    return out;
  }
  function note(el, text) {
    if (window.Plotly) { window.Plotly.purge(el); }
    el.innerHTML = '<div class="chart-note">' + esc(text) + "</div>";
    return Promise.resolve();
  }
  function plot(el, data, lay) {
    if (!window.Plotly) { return note(el, "Charts unavailable: the charting library did not load."); }
    if (el.querySelector(".chart-note")) { el.innerHTML = ""; }
    watch(el);
    return window.Plotly.react(el, data, lay, CONFIG);
  }
  var observer = window.ResizeObserver ? new ResizeObserver(function (entries) {
    entries.forEach(function (e) {
      var el = e.target;
      var size = el.clientWidth + "x" + el.clientHeight;
      if (window.Plotly && el.classList.contains("js-plotly-plot") && el.dataset.size !== size) {
        el.dataset.size = size; window.Plotly.Plots.resize(el);
      }
    });
  }) : null;
  function watch(el) {
    el.dataset.size = el.clientWidth + "x" + el.clientHeight;
    if (observer && !el.dataset.watched) { el.dataset.watched = "1"; observer.observe(el); }
  }

  function sizingChart(z) {
    var el = $("chart-sizing");
    var x = z.sizes.map(function (p) { return p.sizeMw; });
    var traces = [
      { x: x, y: z.sizes.map(function (p) { return p.btc; }), name: "BTC", type: "scatter", mode: "lines+markers",
        line: { color: COLORS.btc, width: 2.5 }, marker: { size: 5 }, hovertemplate: "%{y:.4f} BTC<extra></extra>" },
      { x: x, y: z.sizes.map(function (p) { return p.revenuePerMwGbp; }), name: "Revenue per MW (£/MW)", type: "scatter",
        mode: "lines", yaxis: "y2", line: { color: COLORS.wind, width: 2 }, hovertemplate: "£%{y:,.0f}/MW<extra></extra>" },
      { x: x, y: z.sizes.map(function (p) { return p.paybackMonths; }), name: "Payback (months)", type: "scatter",
        mode: "lines+markers", yaxis: "y3", line: { color: COLORS.pay, width: 1.5, dash: "dot" }, marker: { size: 4 },
        connectgaps: false, hovertemplate: "%{y} months<extra></extra>" }
    ];
    var shapes = [{ type: "line", xref: "x", yref: "paper", x0: state.mw, x1: state.mw, y0: 0, y1: 1, line: { color: COLORS.ink, width: 1, dash: "dash" } }];
    var notes = [];
    if (z.best) {
      shapes.push({ type: "line", xref: "x", yref: "paper", x0: z.best.sizeMw, x1: z.best.sizeMw, y0: 0, y1: 1, line: { color: COLORS.best, width: 2 } });
      notes.push({ x: z.best.sizeMw, y: 1, xref: "x", yref: "paper", yanchor: "bottom", showarrow: false,
        text: "best " + num(z.best.sizeMw, 0) + " MW", font: { color: COLORS.best, size: 11 } });
    }
    $("sizing-sub").textContent = "BTC, revenue per MW and payback against fleet size (MW); " +
      (z.best ? "best size " + num(z.best.sizeMw, 1) + " MW (" + z.best.paybackMonths + " months)" : "no best size: " + z.bestReason) +
      "; dashed: the chosen size";
    return plot(el, traces, layout(el, {
      xaxis: { title: { text: "Fleet size (MW)", standoff: 6 }, automargin: true, anchor: "y3", gridcolor: COLORS.grid, tickfont: { size: 11 } },
      yaxis: { title: { text: "BTC" }, domain: [0.38, 1], gridcolor: COLORS.grid, zeroline: false },
      yaxis2: { title: { text: "£/MW" }, overlaying: "y", side: "right", showgrid: false, zeroline: false },
      yaxis3: { title: { text: "months" }, domain: [0, 0.28], gridcolor: COLORS.grid, zeroline: false, rangemode: "tozero" },
      shapes: shapes, annotations: notes
    }));
  }

  function monthlyChart(s) {
    var el = $("chart-monthly");
    if (!s.rows.length) { return note(el, "No months in the range."); }
    var labels = s.rows.map(function (r) { return MONTHS[Number(r.key.slice(5, 7)) - 1] + " " + r.key.slice(2, 4); });
    return plot(el, [
      { x: labels, y: s.rows.map(function (r) { return r.revenueGbp; }), name: "Revenue (£)", type: "bar",
        marker: { color: COLORS.btc }, hovertemplate: "£%{y:,.0f}<extra></extra>" },
      { x: labels, y: s.rows.map(function (r) { return r.usedMwh; }), name: "Used (MWh)", type: "scatter", mode: "lines+markers",
        yaxis: "y2", line: { color: COLORS.wind, width: 2 }, hovertemplate: "%{y:,.0f} MWh<extra></extra>" }
    ], layout(el, {
      yaxis: { title: { text: "£" }, gridcolor: COLORS.grid, zeroline: false },
      yaxis2: { title: { text: "MWh" }, overlaying: "y", side: "right", showgrid: false, zeroline: false }
    }));
  }

  function durationChart(z) {
    var el = $("chart-duration");
    var curve = z.durationCurve;
    if (!curve.length || (curve.length === 1 && curve[0].hours === 0)) { return note(el, "No curtailment at this site in the range."); }
    return plot(el, [{
      x: curve.map(function (p) { return p.hoursPerYear; }), y: curve.map(function (p) { return p.mw; }),
      name: "MW curtailed", type: "scatter", mode: "lines", fill: "tozeroy", line: { color: COLORS.wind, width: 2 },
      hovertemplate: "≥ %{y:,.1f} MW for %{x:,.0f} h/yr<extra></extra>"
    }], layout(el, {
      hovermode: "closest",
      xaxis: { title: { text: "Hours per year" }, gridcolor: COLORS.grid, rangemode: "tozero" },
      yaxis: { title: { text: "At least MW" }, gridcolor: COLORS.grid, rangemode: "tozero" },
      shapes: [{ type: "line", xref: "paper", yref: "y", x0: 0, x1: 1, y0: state.mw, y1: state.mw, line: { color: COLORS.ink, width: 1, dash: "dash" } }]
    }));
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
