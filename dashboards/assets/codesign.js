/* Client-side callbacks of the codesign explorer (see dashboards/wiring.py). */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  codesign: {
    /* Which design is open and which the table lists, from a click, a box/lasso selection,
       "Show all designs", a table cell or the ticked rows: [selected, plot selection]. A
       stacked marker's customdata is [first trial, count, "all trial numbers"]. */
    select: function (click, box, clear, cell, ticked, current) {
      var noUpdate = window.dash_clientside.no_update;
      var trig = (window.dash_clientside.callback_context.triggered[0] || {}).prop_id || "";
      var members = function (c) {
        if (Array.isArray(c)) {
          return typeof c[2] === "string" ? c[2].split(" ").map(Number) : [Number(c[0])];
        }
        return (typeof c === "number") ? [c] : [];
      };
      if (trig === "front.clickData") {
        var pts = (click && click.points) || [];
        if (!pts.length) { return [noUpdate, noUpdate]; }
        var m = members(pts[0].customdata);
        if (!m.length) { return [noUpdate, noUpdate]; }
        return [m[0], m.length > 1 ? m : noUpdate];
      }
      if (trig === "front.selectedData") {
        var points = (box && box.points) || [];
        if (!points.length) { return [noUpdate, null]; }
        var out = [];
        points.forEach(function (p) {
          members(p.customdata).forEach(function (t) { if (out.indexOf(t) < 0) { out.push(t); } });
        });
        return [noUpdate, out];
      }
      if (trig === "clear-selection.n_clicks") { return [noUpdate, null]; }
      if (trig === "design-table.active_cell") {
        return [cell && cell.row_id !== undefined ? Number(cell.row_id) : noUpdate, noUpdate];
      }
      if (ticked && ticked.length && ticked[ticked.length - 1] !== current) {
        return [Number(ticked[ticked.length - 1]), noUpdate];  /* the last ticked row opens */
      }
      return [noUpdate, noUpdate];
    },
    /* Move the selection ring (the front figure's last trace, named "selected") onto the
       markers of the selected trial and of the ticked table rows, in the browser. */
    ring: function (selected, ticked) {
      var noUpdate = window.dash_clientside.no_update;
      var want = new Set();
      if (selected !== null && selected !== undefined) { want.add(Number(selected)); }
      (ticked || []).forEach(function (t) { want.add(Number(t)); });
      var gd = document.querySelector("#front .js-plotly-plot");
      /* window.Plotly is a promise of plotly.js until it has run (app.py: _early_plotly) */
      if (!gd || !gd.data || !window.Plotly || !window.Plotly.restyle) { return noUpdate; }
      var last = gd.data.length - 1;
      if (last < 0 || gd.data[last].name !== "selected") { return noUpdate; }
      var is3d = gd.data[last].type === "scatter3d";
      var xs = [], ys = [], zs = [];
      for (var i = 0; i < last; i++) {
        var tr = gd.data[i], cd = tr.customdata;
        if (!cd || !tr.x) { continue; }
        for (var j = 0; j < cd.length; j++) {
          var c = cd[j], members;
          if (Array.isArray(c)) {
            members = typeof c[2] === "string" ? c[2].split(" ").map(Number) : [Number(c[0])];
          } else {
            members = [Number(c)];
          }
          if (members.some(function (m) { return want.has(m); })) {
            xs.push(tr.x[j]); ys.push(tr.y[j]); if (is3d) { zs.push(tr.z[j]); }
          }
        }
      }
      var update = { x: [xs], y: [ys] };
      if (is3d) { update.z = [zs]; }
      window.Plotly.restyle(gd, update, [last]);
      return xs.length;
    },
    /* Save the front as PNG or SVG in the format chosen now (title included). */
    download: function (n, fmt) {
      var gd = document.querySelector("#front .js-plotly-plot");
      if (!n || !gd || !window.Plotly || !window.Plotly.downloadImage) {
        return window.dash_clientside.no_update;
      }
      var format = fmt === "svg" ? "svg" : "png";
      window.Plotly.downloadImage(gd, {
        format: format, filename: "pareto_front",
        width: gd._fullLayout.width, height: gd._fullLayout.height, scale: format === "png" ? 2 : 1
      });
      return format;
    },
    /* True once the front has been drawn and painted (at most 10 s after it was sent): the
       design table is mounted then (wiring.py), so mounting it never delays the front's
       first draw. Once true it stays: later figures change nothing. */
    drawn: function (figure, done) {
      if (done) { return window.dash_clientside.no_update; }
      return new Promise(function (resolve) {
        var finished = false;
        var finish = function () { if (!finished) { finished = true; resolve(true); } };
        setTimeout(finish, 10000);  /* a hidden tab draws no frames: mount the table anyway */
        (function loop() {
          var gd = document.querySelector("#front .js-plotly-plot");
          if (gd && gd._fullLayout && gd.querySelector(".main-svg")) {
            requestAnimationFrame(function () { setTimeout(finish, 0); });  /* after its paint */
          } else if (!finished) {
            requestAnimationFrame(loop);
          }
        })();
      });
    }
  }
});
