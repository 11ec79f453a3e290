/* CurtailCoin dashboard: plain JavaScript over the JSON API; charts with the locally served Plotly. */
(function () {
  "use strict";

  var $ = function (id) { return document.getElementById(id); };
  var COLORS = { wind: "#0ea5e9", windDim: "#cbd5e1", btc: "#f7931a", pay: "#475569", grid: "#eef2f7", ink: "#334155" };
  var FONT = '-apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  var state = { timeframe: "day", anchor: null, model: null, leadParty: "" };
  var range = null;
  var models = [];
  var table = { groups: [], totals: null, sort: { key: "energy", dir: -1 }, open: {}, filter: "" };
  var renderSeq = 0;

  // Plotly (served by the application from the installed package) loads while the data is fetched.
  // The page preloads it, so Chromium streams and parses it off the main thread from the first byte;
  // this element (same URL, no crossorigin/integrity) reuses that download.
  var plotlyReady = new Promise(function (resolve) {
    if (window.Plotly) { resolve(true); return; }
    var script = document.createElement("script");
    script.src = "/vendor/plotly.min.js";
    script.onload = function () { resolve(true); };
    script.onerror = function () { resolve(false); };
    document.head.appendChild(script);
  });

  // --- formatting ---------------------------------------------------------------------------
  // One Intl.NumberFormat per precision: toLocaleString builds a new formatter on every call, which
  // made the farm table and selects (hundreds of numbers) cost tens of ms of main-thread time.
  var formats = {};
  function num(v, digits) {
    var f = formats[digits] || (formats[digits] = new Intl.NumberFormat("en-GB", { minimumFractionDigits: digits, maximumFractionDigits: digits }));
    return f.format(Number(v));
  }
  function mwh(v) { return num(v, Math.abs(v) >= 100 ? 0 : 1) + " MWh"; }
  function gbp(v, full) {
    if (v === null || v === undefined || isNaN(v)) { return "—"; }
    var sign = v < 0 ? "−" : "";
    var a = Math.abs(v);
    if (!full && a >= 1e6) { return sign + "£" + num(a / 1e6, 2) + "m"; }
    if (!full && a >= 1e4) { return sign + "£" + num(a / 1e3, 1) + "k"; }
    return sign + "£" + num(a, a >= 100 ? 0 : 2);
  }
  function btc(v) {
    if (v === null || v === undefined) { return "—"; }
    var a = Math.abs(v);
    var d = a >= 100 ? 1 : a >= 10 ? 2 : a >= 1 ? 3 : 4;
    return num(v, d) + " BTC";
  }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function longDate(iso) {
    var p = iso.split("-");
    return Number(p[2]) + " " + MONTHS[Number(p[1]) - 1] + " " + p[0];
  }
  function scopeLabel() {
    var a = state.anchor;
    if (state.timeframe === "day") { return longDate(a); }
    if (state.timeframe === "month") { return MONTHS[Number(a.slice(5, 7)) - 1] + " " + a.slice(0, 4); }
    return a.slice(0, 4);
  }
  function scopeOf(st) {
    var a = st.anchor;
    return st.timeframe === "day" ? a : st.timeframe === "month" ? a.slice(0, 7) : a.slice(0, 4);
  }
  function scopeValue() { return scopeOf(state); }
  function qs(obj) {
    var p = new URLSearchParams();
    Object.keys(obj).forEach(function (k) { if (obj[k] !== null && obj[k] !== undefined && obj[k] !== "") { p.set(k, obj[k]); } });
    var s = p.toString();
    return s ? "?" + s : "";
  }

  // --- dates --------------------------------------------------------------------------------
  // The first settlement date (NETA go-live), from the page (settlement.FIRST_SETTLEMENT_DATE).
  var EARLIEST = document.documentElement.dataset.earliest;
  function parseIso(iso) { var p = iso.split("-").map(Number); return new Date(Date.UTC(p[0], p[1] - 1, p[2])); }
  function iso(d) { return d.toISOString().slice(0, 10); }
  function clampDay(isoDay, today) {
    today = today || (range && range.today);
    if (today && isoDay > today) { return today; }
    if (isoDay < EARLIEST) { return EARLIEST; }
    return isoDay;
  }
  function shift(step) {
    var d = parseIso(state.anchor);
    if (state.timeframe === "day") { d.setUTCDate(d.getUTCDate() + step); }
    else if (state.timeframe === "month") { d.setUTCDate(1); d.setUTCMonth(d.getUTCMonth() + step); }
    else { d.setUTCDate(1); d.setUTCFullYear(d.getUTCFullYear() + step); }
    state.anchor = clampDay(iso(d));
  }

  // --- API ----------------------------------------------------------------------------------
  function api(path) {
    return fetch(path, { headers: { Accept: "application/json" } }).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (body) {
        if (!r.ok) { throw new Error((body && body.error) || ("HTTP " + r.status + " from " + path)); }
        return body;
      });
    });
  }

  // The data requests of a view: summary, mining potential, hourly (days only), farm table,
  // top lead parties (all farms only) and the farm list. null: not needed.
  function dataPaths(st) {
    var value = scopeOf(st), tf = st.timeframe;
    var period = { day: "daily/", month: "monthly/", year: "yearly/" }[tf];
    var withModel = { minerModel: st.model, leadParty: st.leadParty };
    return [
      "/api/summary/" + period + value + qs({ leadParty: st.leadParty }),
      "/api/mining-potential/" + period + value + qs(withModel),
      tf === "day" ? "/api/curtailment/hourly/" + value + qs(withModel) : null,
      "/api/farm-tables/grouped-data" + qs({ timeframe: tf, value: value, minerModel: st.model, leadParty: st.leadParty }),
      st.leadParty ? null : "/api/mining-potential/top-farms" + qs({ period: tf, value: value, minerModel: st.model, limit: 8 }),
      "/api/mining-potential/farms" + qs({ timeframe: tf, date: value })
    ];
  }

  // The view asked for in the URL; null when it needs the data range to decide (no date given).
  function urlState(today, defaultModel, fallback) {
    var params = new URLSearchParams(window.location.search);
    var tf = params.get("timeframe");
    var v = params.get("date") || fallback || "";
    if (/^\d{4}$/.test(v)) { v = v + "-01-01"; } else if (/^\d{4}-\d{2}$/.test(v)) { v = v + "-01"; }
    var anchor = /^\d{4}-\d{2}-\d{2}$/.test(v) ? clampDay(v, today) : fallback;
    if (!anchor) { return null; }
    return { timeframe: tf === "month" || tf === "year" ? tf : "day", anchor: anchor,
      model: params.get("minerModel") || defaultModel, leadParty: params.get("leadParty") || "" };
  }

  // The first view's data is requested as soon as this script runs, from the URL and the defaults
  // the page carries (<html data-today data-default-model>), in parallel with the data range and
  // the miner catalogue rather than after them. render() picks these requests up by path.
  var early = {};
  (function prefetch() {
    var page = document.documentElement.dataset;
    var first = page.today && page.defaultModel ? urlState(page.today, page.defaultModel, null) : null;
    if (!first) { return; }
    // Another model might be unknown (a 422 here, then the default model after all): wait for the catalogue.
    var knownModel = first.model === page.defaultModel;
    dataPaths(first).forEach(function (path) {
      if (!path || (!knownModel && path.indexOf("minerModel=") >= 0)) { return; }
      var request = api(path);
      request.catch(function () { /* reported by render() if it uses this request */ });
      early[path] = request;
    });
  })();
  function load(path) {
    if (!path) { return Promise.resolve(null); }
    var request = early[path];
    delete early[path];
    return request || api(path);
  }

  // --- init ---------------------------------------------------------------------------------
  function init() {
    Promise.all([api("/api/data-range"), api("/api/miner-models")]).then(function (res) {
      range = res[0];
      models = res[1];
      var fallback = range.lastDateWithCurtailment || range.lastDate || range.today;
      state = urlState(range.today, range.defaultModel, fallback);
      buildModelSelect();
      buildYearSelect();
      freshness();
      bind();
      render();
      early = {};  // requests of a view the URL asked for but render() did not use
    }).catch(function (err) { fatal(err); });
  }

  function buildModelSelect() {
    var sel = $("model-select");
    var tracked = models.filter(function (m) { return m.tracked; });
    var other = models.filter(function (m) { return !m.tracked; });
    var html = "";
    [["Tracked models", tracked], ["Other models (computed on the fly)", other]].forEach(function (g) {
      if (!g[1].length) { return; }
      html += '<optgroup label="' + esc(g[0]) + '">';
      g[1].forEach(function (m) {
        html += '<option value="' + esc(m.key) + '">' + esc(m.name) + " · " + num(m.hashrateTh, 0) + " TH/s · " +
          num(m.efficiencyJPerTh, 1) + " J/TH</option>";
      });
      html += "</optgroup>";
    });
    sel.innerHTML = html;
    if (!models.some(function (m) { return m.key === state.model; })) { state.model = range.defaultModel; }
    sel.value = state.model;
  }

  function buildYearSelect() {
    var last = Number(range.today.slice(0, 4));
    var first = Math.min(range.firstDate ? Number(range.firstDate.slice(0, 4)) : last, last);
    var html = "";
    for (var y = last; y >= first; y--) { html += "<option>" + y + "</option>"; }
    $("year-input").innerHTML = html;
    $("date-input").max = range.today;
    $("date-input").min = EARLIEST;
    $("month-input").max = range.today.slice(0, 7);
  }

  function freshness() {
    var el = $("freshness");
    if (!range.lastDate) { el.textContent = "No data yet"; el.classList.add("stale"); return; }
    var age = (parseIso(range.today) - parseIso(range.lastDate)) / 86400000;
    el.innerHTML = '<span class="dot"></span>Data to ' + esc(longDate(range.lastDate));
    el.classList.toggle("stale", age > 2);
  }

  function bind() {
    document.querySelectorAll(".segmented button").forEach(function (b) {
      b.addEventListener("click", function () { state.timeframe = b.dataset.timeframe; render(); });
    });
    $("date-input").addEventListener("change", function (e) { if (e.target.value) { state.anchor = clampDay(e.target.value); render(); } });
    $("month-input").addEventListener("change", function (e) {
      if (e.target.value) { state.anchor = clampDay(e.target.value + "-" + state.anchor.slice(8, 10)); render(); }
    });
    $("year-input").addEventListener("change", function (e) { state.anchor = clampDay(e.target.value + state.anchor.slice(4)); render(); });
    $("prev").addEventListener("click", function () { shift(-1); render(); });
    $("next").addEventListener("click", function () { shift(1); render(); });
    $("model-select").addEventListener("change", function (e) { state.model = e.target.value; render(); });
    $("farm-select").addEventListener("change", function (e) { state.leadParty = e.target.value; render(); });
    document.querySelectorAll("#farm-table thead th").forEach(function (th) {
      th.addEventListener("click", function () {
        var key = th.dataset.sort;
        table.sort = { key: key, dir: table.sort.key === key ? -table.sort.dir : (key === "name" ? 1 : -1) };
        drawTable();
      });
    });
    $("table-filter").addEventListener("input", function (e) { table.filter = e.target.value.trim().toLowerCase(); drawTable(); });
    $("farm-table").querySelector("tbody").addEventListener("click", function (e) {
      var row = e.target.closest("tr.group");
      if (!row) { return; }
      var key = row.dataset.key;
      table.open[key] = !table.open[key];
      drawTable();
    });
  }

  function syncControls() {
    document.querySelectorAll(".segmented button").forEach(function (b) {
      b.setAttribute("aria-selected", String(b.dataset.timeframe === state.timeframe));
    });
    $("date-input").hidden = state.timeframe !== "day";
    $("month-input").hidden = state.timeframe !== "month";
    $("year-input").hidden = state.timeframe !== "year";
    $("date-input").value = state.anchor;
    $("month-input").value = state.anchor.slice(0, 7);
    $("year-input").value = state.anchor.slice(0, 4);
    $("next").disabled = scopeValue() === (state.timeframe === "day" ? range.today : state.timeframe === "month" ? range.today.slice(0, 7) : range.today.slice(0, 4));
    $("model-select").value = state.model;
    var url = qs({ timeframe: state.timeframe, date: scopeValue(), minerModel: state.model, leadParty: state.leadParty });
    window.history.replaceState(null, "", window.location.pathname + url);
  }

  // --- render -------------------------------------------------------------------------------
  function render() {
    var seq = ++renderSeq;
    var started = performance.now();
    document.body.dataset.ready = "0";
    syncControls();
    $("cards").classList.add("loading");
    var value = scopeValue();
    var tf = state.timeframe;
    var requests = dataPaths(state).map(load);
    // The curtailment-share view (share.js) follows the same scope.
    window.__ccView = { timeframe: tf, value: value, leadParty: state.leadParty, today: range.today, plotly: plotlyReady,
      draw: function (el, data, extra) { return plot(el, data, baseLayout(extra, el)); },
      note: note };
    document.dispatchEvent(new CustomEvent("cc:view", { detail: window.__ccView }));
    $("csv-download").href = "/api/farm-tables/grouped-data" + qs({ timeframe: tf, value: value, minerModel: state.model, leadParty: state.leadParty, format: "csv" });
    $("main-csv").href = tf === "day"
      ? "/api/curtailment/hourly/" + value + qs({ minerModel: state.model, leadParty: state.leadParty, format: "csv" })
      : "/api/mining-potential/" + (tf === "month" ? "monthly/" : "yearly/") + value + qs({ minerModel: state.model, leadParty: state.leadParty, format: "csv" });

    Promise.all(requests).then(function (res) {
      if (seq !== renderSeq) { return null; }
      var summary = res[0], mining = res[1], hourly = res[2], grouped = res[3], top = res[4], farms = res[5];
      $("banners").innerHTML = "";
      buildFarmSelect(farms);
      $("scope-title").textContent = scopeLabel() + (state.leadParty ? " · " + state.leadParty : "");
      $("scope-sub").textContent = (mining.model.name) + " · " + (mining.calculation === "tracked" ? "stored calculations" : "computed from the records");
      $("cards").classList.remove("loading");
      var status = mining.dataStatus;
      banners(status, mining);
      var nothing = status.state === "no_data" || status.state === "not_started";
      var zero = !nothing && summary.recordCount === 0;
      $("cards").hidden = nothing;
      $("charts").hidden = nothing || zero;
      $("table-panel").hidden = nothing || zero;
      showEmpty(nothing, zero, status);
      cards(summary, mining);
      if (nothing || zero) { return Promise.resolve(); }
      table.groups = grouped.farms;
      table.totals = grouped.totals;
      table.meta = grouped.meta;
      drawTable();
      return plotlyReady.then(function () {
        if (seq !== renderSeq) { return null; }
        redraw = function () {
          if (seq !== renderSeq) { return Promise.resolve(); }  // the next view draws itself
          return Promise.all([mainChart(mining, hourly), topChart(top, grouped), rateChart(mining, hourly)]);
        };
        return redraw();
      });
    }).then(function () {
      if (seq !== renderSeq) { return; }
      document.body.dataset.ready = "1";
      window.__ccRenderMs = performance.now() - started;
      document.body.dataset.renderMs = String(Math.round(window.__ccRenderMs));
      document.body.dataset.readyAt = String(Math.round(performance.now()));
    }).catch(function (err) {
      if (seq !== renderSeq) { return; }
      $("cards").classList.remove("loading");
      banner("error", "<strong>Could not load the data.</strong> " + esc(err.message));
      document.body.dataset.ready = "error";
    });
  }

  function buildFarmSelect(farms) {
    var sel = $("farm-select");
    var html = '<option value="">All lead parties (' + farms.length + ")</option>";
    var found = false;
    farms.forEach(function (f) {
      if (!f.leadParty) { return; }
      if (f.leadParty === state.leadParty) { found = true; }
      html += '<option value="' + esc(f.leadParty) + '">' + esc(f.name) + " — " + esc(mwh(f.curtailedEnergy)) + "</option>";
    });
    if (state.leadParty && !found) {
      html += '<option value="' + esc(state.leadParty) + '">' + esc(state.leadParty) + " — no curtailment in this period</option>";
    }
    sel.innerHTML = html;
    sel.value = state.leadParty;
  }

  function banner(kind, html) {
    var div = document.createElement("div");
    div.className = "banner " + kind;
    div.innerHTML = html;
    $("banners").appendChild(div);
  }

  function periodRuns(list) {
    var out = [];
    list.forEach(function (p) {
      var last = out[out.length - 1];
      if (last && p === last[1] + 1) { last[1] = p; } else { out.push([p, p]); }
    });
    return out.map(function (r) { return r[0] === r[1] ? String(r[0]) : r[0] + "–" + r[1]; }).join(", ");
  }

  function banners(status, mining) {
    if (status.state === "incomplete") {
      var what;
      if (state.timeframe === "day") {
        what = "<strong>Data incomplete for this date:</strong> " + status.periodsFetched + " of " + status.periodsExpected +
          " settlement periods fetched (missing " + esc(periodRuns(status.missingPeriods)) + (status.periodsFailed ? "; " + status.periodsFailed + " failed" : "") + ").";
        var reasons = Object.keys(status.incompletePeriods || {}).map(function (p) { return status.incompletePeriods[p]; });
        if (reasons.length) {
          what += " " + status.periodsIncomplete + " period(s) stored with a figure missing at the source (" +
            esc(reasons.filter(function (r, i) { return reasons.indexOf(r) === i; }).slice(0, 2).join("; ")) + ").";
        }
      } else {
        var shown = status.incompleteDates.slice(0, 4).map(longDate).join(", ");
        what = "<strong>Data incomplete:</strong> " + (status.daysExpected - status.daysComplete) + " of " + status.daysExpected +
          " days not fully fetched (" + esc(shown) + (status.incompleteDates.length > 4 ? ", …" : "") + "); " +
          num(status.periodsMissing, 0) + " settlement periods missing.";
      }
      banner("warn", what + " Figures cover the fetched periods only.");
    }
    if (mining.energyWithoutBitcoin > 0.005) {
      banner("info", "<strong>" + esc(mwh(mining.energyWithoutBitcoin)) + "</strong> of curtailment has no Bitcoin figure yet" +
        (status.pendingPeriods ? " (" + status.pendingPeriods + " periods whose network difficulty is not known yet)" : " (calculations missing: run a reconciliation)") + ".");
    }
  }

  function showEmpty(nothing, zero, status) {
    var box = $("empty");
    box.hidden = !(nothing || zero);
    if (nothing) {
      $("empty-title").textContent = status.state === "not_started" ? "This period has not started yet" : "No data for " + scopeLabel() + " yet";
      $("empty-text").innerHTML = "No settlement period of " + esc(scopeLabel()) + " has been fetched from Elexon. " +
        (state.timeframe === "day" ? "Ingest it with <code>curtailcoin reingest " + esc(state.anchor) + "</code>." : "Backfill it with <code>curtailcoin backfill</code>.");
    } else if (zero) {
      $("empty-title").textContent = "No wind curtailment" + (state.leadParty ? " for " + state.leadParty : "") + " in " + scopeLabel();
      $("empty-text").textContent = "The grid did not pay " + (state.leadParty ? "this lead party's" : "any") + " wind farms to switch off in this period" +
        (status.state === "incomplete" ? " — in the periods fetched so far." : ".");
    }
  }

  function setCard(id, value, sub, title) {
    var card = $(id);
    card.querySelector('[data-k="value"]').innerHTML = value;
    card.querySelector('[data-k="sub"]').innerHTML = sub || "&nbsp;";
    card.title = title || "";
  }

  function cards(summary, m) {
    var allBids = summary.allBidsCurtailedEnergyMwh;
    setCard("card-energy", esc(mwh(m.curtailedEnergy)),
      num(summary.recordCount, 0) + " records · " + num(summary.farmCount, 0) + " BM units" +
      (allBids === null || allBids === undefined ? "" : '<br><span id="all-bids" title="Every wind bid with volume &lt; 0, whatever its SO flag (as REF counts); the headline counts SO-flagged bids">All wind bids: ' + esc(mwh(allBids)) + "</span>"),
      num(m.curtailedEnergy, 3) + " MWh (SO-flagged bids)");
    var paySub = m.paymentPerMwh === null ? "no curtailment" : esc(gbp(m.paymentPerMwh, true)) + " per MWh";
    if (m.totalPayment < 0) { paySub += ' · <span class="tag">farms paid net</span>'; }
    setCard("card-payment", '<span class="' + (m.totalPayment < 0 ? "neg" : "") + '">' + esc(gbp(m.totalPayment)) + "</span>", paySub, gbp(m.totalPayment, true));
    var btcSub = m.bitcoinPerMwh ? num(m.bitcoinPerMwh * 1e3, 3) + " mBTC per MWh" : esc(m.model.name);
    setCard("card-btc", esc(btc(m.bitcoinMined)), btcSub + ' · <span class="tag">' + esc(m.minerModel) + "</span>", num(m.bitcoinMined, 8) + " BTC");
    var atDate = m.value.GBP.atDatePrice, latest = m.value.GBP.atLatestPrice;
    var latestText = latest.amount !== null
      ? esc(gbp(latest.amount)) + " at the latest price (" + esc(longDate(latest.priceDate)) + (latest.provisional ? ", live" : "") + ")"
      : "latest price: missing";
    if (atDate.amount !== null) {
      var label = atDate.priceDate ? "at " + longDate(atDate.priceDate) + "'s price " + gbp(atDate.price, true) : "at each date's price";
      setCard("card-value", esc(gbp(atDate.amount)), esc(label) + "<br>" + latestText, gbp(atDate.amount, true));
    } else {
      setCard("card-value", '<span class="missing">Price missing</span>', latestText, atDate.missingReason || "");
      banner("info", "<strong>Bitcoin value at the date's price is missing:</strong> " + esc(atDate.missingReason || ""));
    }
    var r = m.ratioValueToPayment;
    if (r === null) {
      setCard("card-ratio", '<span class="na">—</span>', m.totalPayment <= 0 ? "payments are not positive" : "needs the date's price");
    } else {
      var good = r >= 1;
      setCard("card-ratio", '<span class="' + (good ? "ratio-good" : "ratio-bad") + '">' + num(r, 2) + "×</span>",
        good ? "Bitcoin worth more than the payments" : "Payments " + num(1 / r, 1) + "× the Bitcoin value");
    }
  }

  // --- charts -------------------------------------------------------------------------------
  // The mode bar shows on hover (a tap on touch screens) in the chart's top-right corner; the
  // legend sits above the plot only where the chart is wide enough to keep it clear of the bar.
  var CONFIG = { displaylogo: false, responsive: true, displayModeBar: "hover",
    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines"] };
  var NARROW_PX = 640;
  function narrow(el) { return el.clientWidth > 0 && el.clientWidth < NARROW_PX; }
  function legendFor(el) {
    return narrow(el)
      ? { orientation: "h", x: 0, xanchor: "left", yref: "container", y: 0, yanchor: "bottom", font: { size: 11 } }
      : { orientation: "h", x: 0, y: 1.12, font: { size: 12 } };
  }
  function baseLayout(extra, el) {
    var layout = {
      autosize: true,
      font: { family: FONT, size: 12, color: COLORS.ink },
      margin: { l: 58, r: 58, t: 12, b: 46 },
      paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
      legend: legendFor(el),
      hovermode: "x unified",
      xaxis: { gridcolor: COLORS.grid, linecolor: "#cbd5e1", tickfont: { size: 11 } },
      yaxis: { gridcolor: COLORS.grid, zeroline: false, tickfont: { size: 11 } },
      bargap: 0.18
    };
    Object.keys(extra || {}).forEach(function (k) { layout[k] = extra[k]; });
    // Below the plot the legend needs room of its own (two rows) under the axis labels.
    if (narrow(el)) { layout.margin = Object.assign({}, layout.margin, { b: layout.margin.b + 46 }); }
    return layout;
  }
  function note(el, text) {
    if (window.Plotly) { window.Plotly.purge(el); }
    el.innerHTML = '<div class="chart-note">' + esc(text) + "</div>";
    return Promise.resolve();
  }
  function plot(el, data, layout) {
    if (!window.Plotly) { return note(el, "Charts unavailable: the charting library did not load."); }
    if (el.querySelector(".chart-note")) { el.innerHTML = ""; }
    el.dataset.narrow = String(narrow(el));
    el.dataset.size = sizeOf(el);
    watch(el);
    return window.Plotly.react(el, data, layout, CONFIG);
  }

  // Charts follow their container, not only the window: a card grid that reflows, a rotated
  // phone, print layout. Crossing NARROW_PX redraws (the legend moves); otherwise a resize.
  var redraw = null;
  var resizeQueued = false;
  var observer = window.ResizeObserver ? new ResizeObserver(function () { queueResize(); }) : null;
  function sizeOf(el) { return el.clientWidth + "x" + el.clientHeight; }
  function watch(el) {
    if (observer && !el.dataset.watched) { el.dataset.watched = "1"; observer.observe(el); }
  }
  function queueResize() {
    if (resizeQueued) { return; }
    resizeQueued = true;
    window.requestAnimationFrame(function () { resizeQueued = false; resizeCharts(); });
  }
  function resizeCharts() {
    if (!window.Plotly) { return; }
    var charts = document.querySelectorAll(".chart.js-plotly-plot");
    var crossed = Array.prototype.some.call(charts, function (el) {
      return el.clientWidth > 0 && el.dataset.narrow !== String(narrow(el));
    });
    if (crossed && redraw) { redraw(); document.dispatchEvent(new CustomEvent("cc:redraw")); return; }
    // The observer also reports each chart once when first watched: only real changes resize.
    charts.forEach(function (el) {
      if (el.clientWidth > 0 && el.dataset.size !== sizeOf(el)) { el.dataset.size = sizeOf(el); window.Plotly.Plots.resize(el); }
    });
  }
  if (window.matchMedia) {
    var printing = window.matchMedia("print");
    if (printing.addEventListener) { printing.addEventListener("change", resizeCharts); }
  }
  window.addEventListener("beforeprint", resizeCharts);
  window.addEventListener("afterprint", resizeCharts);

  function series(mining, hourly) {
    if (state.timeframe === "day") {
      var price = hourly.priceGbp.price;
      return hourly.hours.map(function (h) {
        return { x: h.hour, hover: h.hour, energy: h.curtailedEnergy, payment: h.totalPayment, btc: h.bitcoinMined,
          value: price === null ? null : h.bitcoinMined * price, complete: h.periodsFetched >= h.periods.length };
      });
    }
    return mining.rows.map(function (r) {
      var label = state.timeframe === "month" ? r.key.slice(8, 10) : MONTHS[Number(r.key.slice(5, 7)) - 1];
      return { x: label, hover: state.timeframe === "month" ? longDate(r.key) : label + " " + r.key.slice(0, 4),
        energy: r.curtailedEnergy, payment: r.totalPayment, btc: r.bitcoinMined, value: r.valueGbp,
        complete: r.complete };
    });
  }

  function mainChart(mining, hourly) {
    var s = series(mining, hourly);
    var unit = { day: "Hourly (local time)", month: "Daily", year: "Monthly" }[state.timeframe];
    $("main-chart-title").textContent = unit + " curtailment and Bitcoin potential";
    $("main-chart-sub").textContent = "MWh curtailed (bars) and BTC the energy could have mined with the " + mining.model.name + " (line)" +
      (state.timeframe === "day" ? " · " + hourly.hourCount + " clock hours" : "") + ". Grey bars: data incomplete.";
    var xs = s.map(function (p) { return p.x; });
    var data = [
      { type: "bar", name: "Curtailed (MWh)", x: xs, y: s.map(function (p) { return p.complete ? p.energy : null; }),
        marker: { color: COLORS.wind }, customdata: s.map(function (p) { return p.hover; }), hovertemplate: "%{y:,.1f} MWh<extra></extra>" },
      { type: "scatter", mode: "lines+markers", name: "Potential BTC", yaxis: "y2", x: xs,
        y: s.map(function (p) { return p.btc; }), line: { color: COLORS.btc, width: 2.5 },
        marker: { size: 5, color: COLORS.btc }, hovertemplate: "%{y:.4f} BTC<extra></extra>" }
    ];
    if (s.some(function (p) { return !p.complete; })) {
      data.splice(1, 0, { type: "bar", name: "Curtailed, data incomplete", x: xs, y: s.map(function (p) { return p.complete ? null : p.energy; }),
        marker: { color: COLORS.windDim }, hovertemplate: "%{y:,.1f} MWh (incomplete)<extra></extra>" });
    }
    var el = $("chart-main");
    var layout = baseLayout({
      yaxis: { title: { text: "MWh", font: { size: 12 } }, gridcolor: COLORS.grid, zeroline: false, rangemode: "tozero" },
      yaxis2: { title: { text: "BTC", font: { size: 12, color: COLORS.btc } }, overlaying: "y", side: "right", showgrid: false, rangemode: "tozero", tickfont: { color: COLORS.btc } },
      xaxis: { type: "category", gridcolor: "rgba(0,0,0,0)", tickfont: { size: 11 } },
      barmode: "overlay"
    }, el);
    return plot(el, data, layout);
  }

  function topChart(top, grouped) {
    var items;
    if (state.leadParty) {
      var g = grouped.farms[0];
      $("top-title").textContent = "BM units of " + state.leadParty;
      items = g ? g.farms.slice(0, 10).map(function (u) { return { name: u.farmId, pay: u.payment, value: u.btcValue }; }) : [];
    } else {
      $("top-title").textContent = "Top lead parties";
      items = (top || []).map(function (t) { return { name: t.name, pay: t.curtailmentPayment, value: t.bitcoinValue }; });
    }
    var missing = items.some(function (i) { return i.value === null; });
    $("top-sub").textContent = "Paid to farms vs Bitcoin value (£, at each date's price)" + (missing ? " — Bitcoin value unavailable where a price is missing" : "");
    if (!items.length) { return note($("chart-top"), "No curtailment in this period."); }
    items = items.slice().reverse();
    var el = $("chart-top");
    var maxName = narrow(el) ? 18 : 28;
    var names = items.map(function (i) { return i.name.length > maxName ? i.name.slice(0, maxName - 1) + "…" : i.name; });
    var data = [
      { type: "bar", orientation: "h", name: "Paid to farms", y: names, x: items.map(function (i) { return i.pay; }),
        marker: { color: COLORS.pay }, hovertemplate: "£%{x:,.0f}<extra>Paid to farms</extra>" },
      { type: "bar", orientation: "h", name: "Bitcoin value", y: names, x: items.map(function (i) { return i.value; }),
        marker: { color: COLORS.btc }, hovertemplate: "£%{x:,.0f}<extra>Bitcoin value</extra>" }
    ];
    var layout = baseLayout({ barmode: "group", hovermode: "y unified", margin: { l: narrow(el) ? 10 : 190, r: 20, t: 12, b: 40 },
      xaxis: { gridcolor: COLORS.grid, tickprefix: "£", tickformat: "~s", zeroline: true, zerolinecolor: "#cbd5e1" },
      yaxis: { automargin: true, tickfont: { size: 11 } } }, el);
    return plot(el, data, layout);
  }

  function rateChart(mining, hourly) {
    var s = series(mining, hourly);
    var pay = s.map(function (p) { return p.energy > 0 ? p.payment / p.energy : null; });
    var val = s.map(function (p) { return p.energy > 0 && p.value !== null ? p.value / p.energy : null; });
    var valueMissing = val.every(function (v) { return v === null; }) && s.some(function (p) { return p.energy > 0; });
    $("rate-sub").textContent = valueMissing
      ? "Paid to farms per MWh. Bitcoin value per MWh needs the BTC/GBP price, which is missing."
      : "Paid to farms vs Bitcoin value per curtailed MWh (at each date's price)";
    if (!s.some(function (p) { return p.energy > 0; })) { return note($("chart-rate"), "No curtailment in this period."); }
    var x = s.map(function (p) { return p.x; });
    var data = [
      { type: "scatter", mode: "lines+markers", name: "Paid to farms £/MWh", x: x, y: pay, connectgaps: false,
        line: { color: COLORS.pay, width: 2.2 }, marker: { size: 5 }, hovertemplate: "£%{y:,.2f}/MWh<extra>Paid</extra>" },
      { type: "scatter", mode: "lines+markers", name: "Bitcoin value £/MWh", x: x, y: val, connectgaps: false,
        line: { color: COLORS.btc, width: 2.2 }, marker: { size: 5 }, hovertemplate: "£%{y:,.2f}/MWh<extra>Bitcoin</extra>" }
    ];
    var el = $("chart-rate");
    var layout = baseLayout({ xaxis: { type: "category", gridcolor: "rgba(0,0,0,0)", tickfont: { size: 11 } },
      yaxis: { gridcolor: COLORS.grid, tickprefix: "£", zeroline: true, zerolinecolor: "#cbd5e1" }, margin: { l: 58, r: 20, t: 12, b: 46 } }, el);
    return plot(el, data, layout);
  }

  // --- table --------------------------------------------------------------------------------
  function rowValues(name, units, share, energy, payment, btcv, value) {
    return { name: name, units: units, share: share, energy: energy, payment: payment,
      ppm: energy > 0 ? payment / energy : null, btc: btcv, value: value,
      ratio: value !== null && payment > 0 ? value / payment : null };
  }
  function cmp(a, b) {
    var k = table.sort.key, d = table.sort.dir;
    var x = a.v[k], y = b.v[k];
    if (x === null && y === null) { return 0; }
    if (x === null) { return 1; }
    if (y === null) { return -1; }
    if (typeof x === "string") { return d * x.localeCompare(y); }
    return d * (x - y);
  }
  function cells(v, first, isUnit) {
    var width = table.maxShare > 0 ? Math.max(2, Math.round(48 * Math.min(v.share, table.maxShare) / table.maxShare)) : 2;
    var share = '<span class="share-bar" style="width:' + width + 'px"></span>' + num(v.share, 1) + "%";
    return "<td class=\"left\">" + first + "</td>" +
      "<td>" + (isUnit ? "" : v.units) + "</td>" +
      "<td>" + share + "</td>" +
      "<td>" + num(v.energy, 1) + "</td>" +
      '<td class="' + (v.payment < 0 ? "neg" : "") + '">' + esc(gbp(v.payment, true)) + "</td>" +
      "<td>" + (v.ppm === null ? '<span class="na">—</span>' : esc(gbp(v.ppm, true))) + "</td>" +
      "<td>" + num(v.btc, 4) + "</td>" +
      "<td>" + (v.value === null ? '<span class="na" title="price missing">n/a</span>' : esc(gbp(v.value, true))) + "</td>" +
      "<td>" + (v.ratio === null ? '<span class="na">—</span>' : num(v.ratio, 2) + "×") + "</td>";
  }
  function drawTable() {
    document.querySelectorAll("#farm-table thead th").forEach(function (th) {
      if (th.dataset.sort === table.sort.key) { th.setAttribute("aria-sort", table.sort.dir > 0 ? "ascending" : "descending"); }
      else { th.removeAttribute("aria-sort"); }
    });
    var f = table.filter;
    table.maxShare = table.groups.reduce(function (m, g) { return Math.max(m, g.totalPercentageOfTotal); }, 0);
    var groups = table.groups.map(function (g) {
      var units = g.farms.map(function (u) {
        return { id: u.farmId, v: rowValues(u.farmId, 1, u.percentageOfTotal, u.curtailedEnergy, u.payment, u.potentialBtc, u.btcValue) };
      });
      var nameHit = !f || g.name.toLowerCase().indexOf(f) >= 0;
      var unitHits = f ? units.filter(function (u) { return u.id.toLowerCase().indexOf(f) >= 0; }) : [];
      return { key: g.name, g: g, units: nameHit ? units : unitHits, show: nameHit || unitHits.length > 0, forced: !nameHit && unitHits.length > 0,
        v: rowValues(g.name, g.farms.length, g.totalPercentageOfTotal, g.totalCurtailedEnergy, g.totalPayment, g.totalPotentialBtc, g.btcValue) };
    }).filter(function (x) { return x.show; });
    groups.sort(cmp);
    var html = [];
    groups.forEach(function (x) {
      var open = table.open[x.key] || x.forced;
      html.push('<tr class="group' + (open ? " open" : "") + '" data-key="' + esc(x.key) + '" aria-expanded="' + open + '">' +
        cells(x.v, '<span class="caret">▸</span>' + esc(x.key), false) + "</tr>");
      if (open) {
        x.units.slice().sort(cmp).forEach(function (u) { html.push('<tr class="unit">' + cells(u.v, esc(u.id), true) + "</tr>"); });
      }
    });
    var tbody = $("farm-table").querySelector("tbody");
    tbody.innerHTML = html.join("") || '<tr><td class="left na" colspan="9">No farm matches the filter.</td></tr>';
    var t = table.totals;
    if (t) {
      var tv = rowValues("Total", t.farmCount, 100, t.curtailedEnergy, t.payment, t.potentialBtc, t.btcValue);
      $("farm-table").querySelector("tfoot").innerHTML = "<tr>" + cells(tv, "Total · " + t.leadPartyCount + " lead parties", false) + "</tr>";
      $("table-sub").textContent = "Lead parties and their BM units · BTC for the " + table.meta.minerModel +
        " · value at each date's price" + (table.meta.valueMissingReason ? " (n/a: price missing)" : "") + ". Click a row to expand.";
    }
  }

  function fatal(err) {
    banner("error", "<strong>The dashboard could not start.</strong> " + esc(err.message));
    $("scope-title").textContent = "CurtailCoin";
    document.body.dataset.ready = "error";
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
