/* Recording an inspection: show, while typing, whether a measured value is within its limits
   and whether the lot will fail. Only a hint: the server judges when the form is recorded. */
(function () {
  "use strict";

  // Accept what the server accepts: a plain decimal number (a comma is not a decimal point).
  var NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

  function judge(input) {
    var row = input.closest(".char-row");
    var form = input.closest("form");
    var out = row && row.querySelector(".judge");
    var raw = input.value.trim();
    row.classList.remove("is-in", "is-out");
    if (!raw) { if (out) out.textContent = ""; return; }
    if (!NUMBER.test(raw)) {
      row.classList.add("is-out");
      if (out) out.textContent = form.dataset.msgNan || "?";
      return;
    }
    var value = parseFloat(raw);
    var lower = input.dataset.lower === "" ? null : parseFloat(input.dataset.lower);
    var upper = input.dataset.upper === "" ? null : parseFloat(input.dataset.upper);
    var ok = (lower === null || value >= lower) && (upper === null || value <= upper);
    row.classList.add(ok ? "is-in" : "is-out");
    if (out) out.textContent = ok ? (form.dataset.msgIn || "OK") : (form.dataset.msgOut || "✗");
  }

  function failing(form) {
    // The failure details matter as soon as one characteristic (or the verdict) fails.
    var bad = form.querySelector(".char-row.is-out, .char-row.is-fail") ||
      form.querySelector("input[name=verdict][value=failed]:checked");
    form.classList.toggle("is-failing", !!bad);
  }

  function toggle(radio) {
    var row = radio.closest(".char-row");
    if (!row) return;
    var checked = row.querySelector("input[type=radio]:checked");
    row.classList.toggle("is-fail", !!checked && checked.value === "fail");
    row.classList.toggle("is-in", !!checked && checked.value === "pass");
  }

  // The server's error about a field answered the value it was sent: once the inspector
  // changes that field, the error is about a value no longer there (and would sit beside
  // "within limits"). It goes; the server judges the new value when the form is recorded.
  function settle(field) {
    var name = field.name;
    var form = field.form;
    if (!name || !form) return;
    form.querySelectorAll("p.error[data-field]").forEach(function (error) {
      if (error.getAttribute("data-field") === name) error.remove();
    });
    var spot = field.closest(".is-invalid");
    if (spot && !spot.querySelector("p.error")) spot.classList.remove("is-invalid");
    var holder = field.closest(".char-row, .field, .card");
    if (holder && !holder.querySelector("p.error")) holder.classList.remove("has-error");
  }

  function install() {
    var form = document.querySelector("#record-form");
    if (!form || form.dataset.ready) return;
    form.dataset.ready = "1";
    form.querySelectorAll("input.measure").forEach(function (input) { judge(input); });
    form.querySelectorAll(".char-row input[type=radio]:checked").forEach(toggle);
    failing(form);
    form.addEventListener("input", function (event) {
      settle(event.target);
      if (event.target.matches("input.measure")) judge(event.target);
      failing(form);
    });
    form.addEventListener("change", function (event) {
      settle(event.target);
      if (event.target.matches("input[type=radio]")) toggle(event.target);
      failing(form);
    });
    // One tap records: stop a second tap from sending the lot twice.
    form.addEventListener("submit", function () {
      var button = form.querySelector("[type=submit]");
      if (button) setTimeout(function () { button.disabled = true; }, 0);
    });
  }

  document.addEventListener("DOMContentLoaded", install);
  document.addEventListener("htmx:load", install);  // the page arrived through htmx
})();
