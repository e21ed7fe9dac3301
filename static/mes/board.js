/* Boards: a clock, and wall-TV fitting (every tile on one screen, from 1080p to 4K).
   No interaction is needed on a TV: the board fits itself after every live refresh and, when
   there are too many work centers for one screen, turns the pages by itself. */
(function () {
  "use strict";
  var BASE_W = 20, BASE_H = 12.5;   // a tile's size in em at scale 1
  var MIN_FONT = 11;                // px: below this a TV cannot be read from the aisle
  var PAGE_SECONDS = 15;
  var page = 0, pageTimer = null;

  function fit() {
    var grid = document.querySelector("body.tv [data-board-tiles]");
    if (!grid) return;
    var tiles = Array.prototype.slice.call(grid.children);
    var n = tiles.length;
    if (!n) return;
    var top = grid.getBoundingClientRect().top;
    var W = window.innerWidth - 16, H = window.innerHeight - top - 8;
    var best = { font: 0, cols: 1, rows: 1 };
    for (var cols = 1; cols <= n; cols++) {
      var rows = Math.ceil(n / cols);
      var font = Math.min(W / cols / BASE_W, H / rows / BASE_H);
      if (font > best.font) best = { font: font, cols: cols, rows: rows };
    }
    var perPage = n;
    if (best.font < MIN_FONT) {   // too many: pages of tiles at the smallest readable size
      var c = Math.max(1, Math.floor(W / (MIN_FONT * BASE_W)));
      var r = Math.max(1, Math.floor(H / (MIN_FONT * BASE_H)));
      best = { font: Math.min(W / c / BASE_W, H / r / BASE_H), cols: c, rows: r };
      perPage = c * r;
    }
    grid.style.setProperty("--cols", best.cols);
    grid.style.setProperty("--tile-font", Math.floor(best.font * 10) / 10 + "px");
    // Rows share the whole height: no dead band at the bottom of the wall.
    var gap = parseFloat(getComputedStyle(grid).rowGap) || 0;
    var rowsShown = Math.ceil(Math.min(n, perPage) / best.cols);
    grid.style.setProperty("--tile-h",
      Math.floor((H - gap * (rowsShown - 1)) / rowsShown) + "px");
    var pages = Math.ceil(n / perPage);
    if (page >= pages) page = 0;
    tiles.forEach(function (t, i) {
      t.hidden = Math.floor(i / perPage) !== page;
    });
    grid.setAttribute("data-pages", pages);
    grid.setAttribute("data-page", page + 1);
    if (pages > 1 && !pageTimer) {
      pageTimer = setInterval(function () { page += 1; fit(); }, PAGE_SECONDS * 1000);
    } else if (pages <= 1 && pageTimer) {
      clearInterval(pageTimer);
      pageTimer = null;
    }
  }

  function tick() {
    var clock = document.querySelector("[data-board-clock]");
    if (!clock) return;
    // Plant time: UTC plus the plant's offset, whatever time zone the TV itself is set to.
    var offset = parseInt(clock.getAttribute("data-utc-offset") || "0", 10);
    var d = new Date(Date.now() + offset * 60000);
    function two(v) { return (v < 10 ? "0" : "") + v; }
    clock.textContent = d.getUTCFullYear() + "-" + two(d.getUTCMonth() + 1) + "-" +
      two(d.getUTCDate()) + " " + two(d.getUTCHours()) + ":" + two(d.getUTCMinutes()) + ":" +
      two(d.getUTCSeconds());
  }

  document.addEventListener("DOMContentLoaded", function () {
    fit();
    tick();
    setInterval(tick, 1000);
    window.addEventListener("resize", fit);
    document.body.addEventListener("htmx:afterSettle", fit);
  });
})();
