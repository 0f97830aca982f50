// benchmatrix results site: draws the charts each page embeds as JSON, and filters the cells table.
// Plain browser JavaScript, no framework: the site opens from the file system with no network.
(function () {
  "use strict";

  function drawFigures() {
    var blocks = document.querySelectorAll("script.figure[type='application/json']");
    if (!blocks.length) { return; }
    if (typeof Plotly === "undefined") {
      console.error("benchmatrix: assets/plotly.min.js did not load; the charts cannot be drawn");
      return;
    }
    blocks.forEach(function (block) {
      var target = document.getElementById(block.getAttribute("data-target"));
      if (!target) { return; }
      var figure = JSON.parse(block.textContent);
      Plotly.newPlot(target, figure.data, figure.layout, {responsive: true, displaylogo: false});
    });
  }

  // Each <select data-filter="FIELD"> keeps the rows whose data-FIELD equals its value ("" keeps all).
  function applyFilters() {
    var selects = document.querySelectorAll("select[data-filter]");
    var rows = document.querySelectorAll("table.cells tbody tr.cell");
    var shown = 0;
    rows.forEach(function (row) {
      var keep = true;
      selects.forEach(function (select) {
        var field = select.getAttribute("data-filter");
        if (select.value !== "" && row.getAttribute("data-" + field) !== select.value) { keep = false; }
      });
      row.hidden = !keep;
      if (keep) { shown += 1; }
    });
    var count = document.getElementById("visible-count");
    if (count) { count.textContent = shown + " of " + rows.length + " cells"; }
  }

  function wireFilters() {
    document.querySelectorAll("select[data-filter]").forEach(function (select) {
      select.addEventListener("change", applyFilters);
    });
    if (document.querySelector("select[data-filter]")) { applyFilters(); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    wireFilters();
    drawFigures();
  });
}());
