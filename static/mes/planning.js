/* Planning pages: expand/collapse whole trees and tick every row. Works across htmx swaps. */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-tree-open], [data-tree-close]");
    if (!button) return;
    var open = button.hasAttribute("data-tree-open");
    var tree = document.querySelector(button.getAttribute(open ? "data-tree-open" : "data-tree-close"));
    if (!tree) return;
    tree.querySelectorAll("details").forEach(function (d, i) {
      // Collapsing keeps the top item open: the first level stays in view.
      d.open = open || i === 0;
    });
  });
  document.addEventListener("change", function (event) {
    var all = event.target.closest("[data-check-all]");
    if (!all) return;
    var form = all.closest("form");
    form.querySelectorAll('input[type=checkbox][name="' + all.getAttribute("data-check-all") + '"]')
      .forEach(function (box) { box.checked = all.checked; });
  });
})();
