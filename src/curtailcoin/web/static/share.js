/* CurtailCoin dashboard: the "Curtailment share" view, following the scope dashboard.js shows. */
(function () {
  "use strict";

  var $ = function (id) { return document.getElementById(id); };
  var COLORS = { gen: "#94a3b8", curtailed: "#0ea5e9", share: "#f7931a", grid: "#eef2f7" };
  var seq = 0;
  var drawn = null;  // the chart's last data, redrawn when the dashboard redraws its own
  var fmt = new Intl.NumberFormat("en-GB", { maximumFractionDigits: 0 });

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function mwh(v) { return v === null || v === undefined ? "—" : fmt.format(v); }
  function pct(v) { return v === null || v === undefined ? "—" : (v * 100).toFixed(2) + "%"; }
  function qs(obj) {
    var p = new URLSearchParams();
    Object.keys(obj).forEach(function (k) { if (obj[k]) { p.set(k, obj[k]); } });
    return "?" + p.toString();
  }
  function lastDay(year, month) { return new Date(Date.UTC(year, month, 0)).toISOString().slice(0, 10); }

  // The dates and grain of a view: a day by period, a month by day, a year by month (up to today).
  function span(view) {
    var v = view.value, from, to, grain;
    if (view.timeframe === "day") { from = to = v; grain = "period"; }
    else if (view.timeframe === "month") { from = v + "-01"; to = lastDay(Number(v.slice(0, 4)), Number(v.slice(5, 7))); grain = "day"; }
    else { from = v + "-01-01"; to = v + "-12-31"; grain = "month"; }
    if (to > view.today) { to = view.today; }
    return { from: from, to: to, grain: grain };
  }

  function get(path) {
    return fetch(path, { headers: { Accept: "application/json" } }).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (body) {
        if (!r.ok) { throw new Error((body && body.error) || ("HTTP " + r.status)); }
        return body;
      });
    });
  }

  function total(body) {
    var t = body.total;
    if (t.curtailmentShare !== null) {
      return "<strong>" + pct(t.curtailmentShare) + "</strong> of the wind energy available was curtailed: " +
        esc(mwh(t.curtailedEnergyMwh)) + " MWh curtailed, " + esc(mwh(t.generatedEnergyMwh)) + " MWh generated.";
    }
    return '<span class="missing">Share missing</span> — ' + esc(t.missingReason) + ". " + esc(mwh(t.curtailedEnergyMwh)) + " MWh curtailed.";
  }

  // Drawn with the dashboard's own chart helpers (layout, narrow-screen legend, resizing).
  function chart(el, body, view) {
    return view.plotly.then(function (ok) {
      if (!ok || !window.Plotly) { return view.note(el, "Charts unavailable: the charting library did not load."); }
      var x = body.rows.map(function (r) { return r.settlementPeriod ? "P" + r.settlementPeriod : r.period; });
      var data = [
        { type: "bar", name: "Generated (MWh)", x: x, y: body.rows.map(function (r) { return r.generatedEnergyMwh; }), marker: { color: COLORS.gen } },
        { type: "bar", name: "Curtailed (MWh)", x: x, y: body.rows.map(function (r) { return r.curtailedEnergyMwh; }), marker: { color: COLORS.curtailed } },
        { type: "scatter", mode: "lines+markers", name: "Share (%)", yaxis: "y2", x: x, connectgaps: false,
          y: body.rows.map(function (r) { return r.curtailmentShare === null ? null : r.curtailmentShare * 100; }),
          line: { color: COLORS.share, width: 2 } }
      ];
      return view.draw(el, data, {
        barmode: "stack",
        xaxis: { gridcolor: COLORS.grid, type: "category", automargin: true, tickfont: { size: 11 } },
        yaxis: { title: { text: "MWh" }, gridcolor: COLORS.grid, rangemode: "tozero", tickfont: { size: 11 } },
        yaxis2: { title: { text: "share %" }, overlaying: "y", side: "right", rangemode: "tozero", showgrid: false, tickfont: { size: 11 } }
      });
    });
  }

  function table(body) {
    var html = body.rows.map(function (r) {
      return "<tr><td class=\"left\">" + esc(r.leadPartyName || "(no lead party)") + "</td><td>" + r.unitCount +
        "</td><td>" + mwh(r.curtailedEnergyMwh) + "</td><td>" + mwh(r.generatedEnergyMwh) + "</td><td>" +
        pct(r.curtailmentShare) + "</td><td class=\"left muted\">" + esc(r.missingReason || "") + "</td></tr>";
    }).join("");
    var pending = body.pending || [], note = $("share-pending");
    note.hidden = !pending.length;
    note.innerHTML = pending.length ? '<span class="pending">Not yet published:</span> Elexon publishes metered ' +
      "generation (B1610) five days after the settlement day, so the farm shares of " +
      pending.map(function (p) { return esc(p.date) + " (expected from " + esc(p.expectedFrom) + ")"; }).join(", ") +
      " appear once it is fetched; they are pending, not missing." : "";
    $("share-table").querySelector("tbody").innerHTML = html ||
      '<tr><td class="left muted" colspan="6">No wind farm curtailed or metered in this period.</td></tr>';
  }

  function show(view) {
    var mine = ++seq, panel = $("share-panel");
    panel.dataset.ready = "0";
    var s = span(view);
    var national = "/api/curtailment-share" + qs({ from: s.from, to: s.to, grain: s.grain });
    var farms = "/api/curtailment-share/farms" + qs({ from: s.from, to: s.to, leadParty: view.leadParty });
    $("share-csv").href = national + "&format=csv";
    Promise.all([get(national), get(farms)]).then(function (res) {
      if (mine !== seq) { return null; }
      $("share-total").innerHTML = total(res[0]);
      table(res[1]);
      drawn = { body: res[0], view: view };
      return chart($("chart-share"), res[0], view);
    }).then(function () {
      if (mine === seq) { panel.dataset.ready = "1"; }
    }).catch(function (err) {
      if (mine !== seq) { return; }
      $("share-total").innerHTML = '<span class="missing">Could not load the curtailment share:</span> ' + esc(err.message);
      panel.dataset.ready = "error";
    });
  }

  document.addEventListener("cc:view", function (event) { show(event.detail); });
  document.addEventListener("cc:redraw", function () {
    if (drawn) { chart($("chart-share"), drawn.body, drawn.view); }
  });
  // This script loads asynchronously: the dashboard may have shown its first view already.
  if (window.__ccView) { show(window.__ccView); }
})();
