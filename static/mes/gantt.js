/* Gantt: a click on a bar loads its task into the side panel (the bar's href still works
   without JavaScript, and with a modifier key it opens the task page). */
(function () {
  "use strict";
  var selected = null;
  function mark() {
    document.querySelectorAll("svg.gantt .bar.selected").forEach(function (b) {
      b.classList.remove("selected");
    });
    if (selected === null) return;
    var bar = document.querySelector('svg.gantt .bar[data-task="' + selected + '"]');
    if (bar) bar.classList.add("selected");
  }
  document.addEventListener("click", function (event) {
    var bar = event.target.closest && event.target.closest("svg.gantt a.bar");
    var panel = document.getElementById("gantt-panel");
    if (!bar || !panel || !window.htmx) return;
    if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    selected = bar.getAttribute("data-task");
    mark();
    htmx.ajax("GET", bar.getAttribute("href"), { target: "#gantt-panel", swap: "innerHTML" });
  });
  // The chart is swapped on zoom, filter and after a pin: keep the chosen bar highlighted.
  document.addEventListener("htmx:afterSettle", mark);
})();
