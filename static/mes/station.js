/* Station terminal glue: scan field, submission tokens, focus, live status, camera scanning.
   Nothing from the internet: the QR decoder fallback is vendored (static/vendor/jsQR). */
(function () {
  "use strict";

  function $(id) { return document.getElementById(id); }

  // --- Submission tokens: one per submission, so a double tap or retry counts once ---------
  function uuid() {
    // crypto.randomUUID exists only in secure contexts; a plant LAN tablet may be on HTTP.
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    var b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
    return [h.slice(0, 8), h.slice(8, 12), h.slice(12, 16), h.slice(16, 20), h.slice(20)].join("-");
  }

  function fillTokens(root) {
    var inputs = (root || document).querySelectorAll("form[data-token-form] input[name=client_token]");
    Array.prototype.forEach.call(inputs, function (input) {
      if (!input.value) input.value = uuid();
    });
  }

  // --- Focus: the scan field gets it back after every action -------------------------------
  function focusScan() {
    // A question the console asks (the reason to complete short) has the focus until answered.
    var input = document.querySelector("[data-takes-focus]") || $("scan-input");
    if (!input || document.querySelector("dialog[open]")) return;
    input.focus({ preventScroll: true });
  }

  // --- Answers: seen at once where the operator tapped ---------------------------------------
  // The status line is at the top of the console, and what was tapped is often below the fold
  // (the Report button on a tablet, the equipment under the list on a phone): scroll to it.
  function reveal(el) {
    var r = el.getBoundingClientRect();
    if (r.top < -1 || r.bottom > window.innerHeight + 1) el.scrollIntoView({ block: "nearest" });
  }

  function showAnswer() {
    var status = $("station-status");
    if (!status) return;
    reveal(status);
  }

  // After a refusal, the field it names has the focus, to be corrected (the operator's next
  // keystrokes belong there, not in the scan field), in sight with the refusal shown beside
  // it; after anything else, the scan field.
  function focusAnswer(refused) {
    var field = refused && document.querySelector("#station-console [aria-invalid=true]");
    if (!field || document.querySelector("dialog[open]")) { focusScan(); return; }
    field.focus({ preventScroll: true });
    if (field.tagName === "INPUT") {
      var end = field.value.length;
      field.setSelectionRange(end, end);  // Backspace takes back the last digit typed
    }
    var error = field.form && field.form.querySelector(".st-form-error");
    if (error) reveal(error);
    reveal(field);
  }

  // A live refresh replaced the focused element: the focus goes back unless an answer has
  // put it somewhere meanwhile.
  function refocus() {
    var active = document.activeElement;
    if (!active || active === document.body) focusScan();
  }

  function isField(el) {
    return el && el.closest && el.closest("input, select, textarea, button, summary, label, a, dialog");
  }

  // --- Scans: a wedge scanner types and presses Enter; the camera hands over decoded text --
  var scanQueue = Promise.resolve();

  function submitScan(text) {
    var form = $("scan-form");
    if (!form || !window.htmx) return Promise.resolve();
    var csrf = form.querySelector("[name=csrfmiddlewaretoken]");
    // In order, one after the other: a badge then a task scanned quickly both count.
    scanQueue = scanQueue.then(function () {
      return window.htmx.ajax("POST", form.getAttribute("data-scan-url"), {
        source: $("station-console"), target: "#station-console", swap: "innerHTML",
        values: { code: text, csrfmiddlewaretoken: csrf ? csrf.value : "" },
      });
    }).catch(function () { /* the status area shows what went wrong */ }).then(focusScan);
    return scanQueue;
  }

  // Just after a report its answer is the last one shown (see htmx:confirm below), until
  // another answer replaces it.
  function forgetReported(except) {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-just-reported]"),
      function (form) { if (form !== except) form.removeAttribute("data-just-reported"); });
  }

  function flashAnswer() {
    var status = $("station-status");
    if (!status) return;
    status.classList.remove("flash");
    void status.offsetWidth;  // (restarts the animation)
    status.classList.add("flash");
    showAnswer();
  }

  function showLocal(message) {
    forgetReported(null);
    var status = $("station-status");
    if (!status) return;
    status.className = "st-status st-status-bad flash";
    status.setAttribute("role", "alert");
    status.textContent = "";
    var p = document.createElement("p");
    p.className = "st-status-title";
    p.textContent = "✖ " + message;
    status.appendChild(p);
    showAnswer();
  }

  // --- Signed out: the session ended (expired, or signed out elsewhere) ----------------------
  // The server answers a tap or a live refresh with 401 and the sign-in address (MES-Sign-In),
  // not with the login page: say so where answers are shown, then go there (back here after).
  var SIGN_IN_DELAY_MS = 2500;  // time to read it
  var signInTimer = null;

  function signInAddress(xhr) {
    return xhr && xhr.status === 401 ? xhr.getResponseHeader("MES-Sign-In") : null;
  }

  function goSignIn(url, posted) {
    var station = $("station");
    showLocal(station.getAttribute(posted ? "data-msg-signed-out-posted" : "data-msg-signed-out"));
    if (signInTimer !== null && !posted) return;
    // A tap's "not recorded" is read in full, even when a live refresh found the session gone
    // just before and the page was about to go.
    if (signInTimer !== null) window.clearTimeout(signInTimer);
    signInTimer = window.setTimeout(function () { window.location.assign(url); }, SIGN_IN_DELAY_MS);
  }

  // --- The equipment panel's live refresh keeps the reason being picked --------------------
  // Another station's change (or this one's, back on the stream) redraws the whole panel: a
  // reason the operator has picked but not yet sent stays picked, on the same equipment. (htmx
  // gives the focus back to the list itself: same id.)
  var reasonPicks = null;

  function keepReasonPicks(panel) {
    reasonPicks = {};
    Array.prototype.forEach.call(panel.querySelectorAll("form[data-stop-reason]"), function (form) {
      var eq = form.querySelector("input[name=equipment]");
      var select = form.querySelector("select[name=reason]");
      if (eq && select && select.value) reasonPicks[eq.value] = select.value;
    });
  }

  function restoreReasonPicks() {
    var picks = reasonPicks, panel = $("equipment-panel");
    reasonPicks = null;
    if (!picks || !panel) return;
    Array.prototype.forEach.call(panel.querySelectorAll("form[data-stop-reason]"), function (form) {
      var eq = form.querySelector("input[name=equipment]");
      var select = form.querySelector("select[name=reason]");
      var value = eq && picks[eq.value];
      if (!value || !select) return;
      var listed = Array.prototype.some.call(select.options, function (o) { return o.value === value; });
      if (listed) select.value = value;  // (a reason since deactivated is not offered)
    });
  }

  // --- Camera: BarcodeDetector where the browser has it, else the vendored jsQR ------------
  var cam = { stream: null, timer: 0, detector: null, canvas: null };

  function loadJsQR() {
    return new Promise(function (resolve, reject) {
      if (window.jsQR) { resolve(); return; }
      var script = document.createElement("script");
      script.src = $("station").getAttribute("data-jsqr-src");
      script.onload = resolve;
      script.onerror = reject;
      document.head.appendChild(script);
    });
  }

  function closeCamera() {
    window.clearTimeout(cam.timer);
    if (cam.stream) cam.stream.getTracks().forEach(function (t) { t.stop(); });
    cam.stream = null;
    var dialog = $("camera-dialog");
    if (dialog && dialog.open) dialog.close();
    focusScan();
  }

  function found(text) {
    closeCamera();
    submitScan(text);
  }

  function decodeFrame(video) {
    if (!cam.canvas) cam.canvas = document.createElement("canvas");
    var w = video.videoWidth, h = video.videoHeight;
    var scale = Math.min(1, 720 / Math.max(w, h));  // enough pixels for a traveler QR, fast
    var cw = Math.round(w * scale), ch = Math.round(h * scale);
    cam.canvas.width = cw;
    cam.canvas.height = ch;
    var ctx = cam.canvas.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(video, 0, 0, cw, ch);
    var code = window.jsQR(ctx.getImageData(0, 0, cw, ch).data, cw, ch, { inversionAttempts: "dontInvert" });
    return code && code.data ? code.data : "";
  }

  function scanLoop() {
    if (!cam.stream) return;
    var video = $("camera-video");
    var next = function () { cam.timer = window.setTimeout(scanLoop, 120); };
    if (video.readyState < 2) { next(); return; }
    if (cam.detector) {
      cam.detector.detect(video).then(function (codes) {
        if (codes.length && codes[0].rawValue) found(codes[0].rawValue); else next();
      }).catch(function () {
        cam.detector = null;  // fall back to jsQR for the rest of this session
        loadJsQR().then(next);
      });
      return;
    }
    var text = decodeFrame(video);
    if (text) found(text); else next();
  }

  function openCamera() {
    var station = $("station");
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      showLocal(station.getAttribute("data-msg-camera-none"));
      return;
    }
    navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: "environment" } }, audio: false })
      .then(function (stream) {
        cam.stream = stream;
        var video = $("camera-video");
        video.srcObject = stream;
        $("camera-dialog").showModal();
        var ready = video.play();
        var pick = ("BarcodeDetector" in window)
          ? window.BarcodeDetector.getSupportedFormats().then(function (formats) {
            cam.detector = formats.indexOf("qr_code") >= 0
              ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;
          }).catch(function () { cam.detector = null; })
          : Promise.resolve();
        return Promise.all([ready, pick]).then(function () {
          return cam.detector ? null : loadJsQR();
        }).then(scanLoop);
      })
      .catch(function (err) {
        closeCamera();
        showLocal(station.getAttribute(err && err.name === "NotAllowedError"
          ? "data-msg-camera-denied" : "data-msg-camera-none"));
      });
  }

  // --- Wiring ------------------------------------------------------------------------------
  // The plant's time, not the device's: a tablet set to another zone shows the same hour as
  // the reports and plans beside the clock.
  function tick() {
    var clock = $("station-clock");
    if (!clock) return;
    var text;
    try {
      text = new Intl.DateTimeFormat("en-GB", {
        hour: "2-digit", minute: "2-digit", hourCycle: "h23",
        timeZone: clock.getAttribute("data-tz") || undefined,
      }).format(new Date());
    } catch (err) {
      // No time zone data on this device: the plant's UTC offset as the page was served.
      var offset = parseInt(clock.getAttribute("data-utc-offset"), 10) || 0;
      var plant = new Date(Date.now() + offset * 1000);
      text = ("0" + plant.getUTCHours()).slice(-2) + ":" + ("0" + plant.getUTCMinutes()).slice(-2);
    }
    clock.textContent = text;
  }

  function init() {
    var station = $("station");
    if (!station) return;
    // New content is wired up (its live-event triggers included) when htmx "settles" it,
    // 20 ms after the swap by default: an event arriving in between was missed by a task
    // panel an answer had just replaced. Nothing here animates on settling: wire it at once.
    if (window.htmx) window.htmx.config.defaultSettleDelay = 0;
    fillTokens(document);
    tick();
    window.setInterval(tick, 10000);

    var form = $("scan-form");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var input = $("scan-input");
      var text = input.value;
      input.value = "";  // ready for the next scan at once
      if (text.trim()) submitScan(text);
      focusScan();
    });

    $("camera-button").addEventListener("click", openCamera);
    $("camera-close").addEventListener("click", closeCamera);
    $("camera-dialog").addEventListener("cancel", function (event) { event.preventDefault(); closeCamera(); });

    // Refusals answer 422 and must still be shown.
    document.body.addEventListener("htmx:beforeSwap", function (event) {
      var signIn = signInAddress(event.detail.xhr);
      if (signIn) {
        event.detail.shouldSwap = false;  // (nothing to draw; the server sends none either)
        var cfg = event.detail.requestConfig || {};
        goSignIn(signIn, (cfg.verb || "").toLowerCase() === "post");
        return;
      }
      var target = event.detail.target;
      if (target && target.id === "equipment-panel" && event.detail.shouldSwap) keepReasonPicks(target);
      if (event.detail.xhr && event.detail.xhr.status === 422) {
        event.detail.shouldSwap = true;
        event.detail.isError = false;
      }
    });
    document.body.addEventListener("htmx:afterSwap", function () {
      if (reasonPicks) restoreReasonPicks();
    });
    // The answer above the task (its figures, "selected", "started") is about the task as it
    // was: when a live refresh shows the task changed since (another station reported on it
    // or completed it, the lead held it), the answer says it is out of date, not as if the
    // task still stood so. (Its own action's event coming back changes nothing: no mark.)
    var panelBefore = null;
    function panelState() {
      var panel = $("task-panel");
      if (!panel) return "";
      var qty = $("task-qty");
      return (panel.getAttribute("data-status") || "") + "|" + (qty ? qty.textContent.replace(/\s+/g, " ") : "");
    }
    document.body.addEventListener("htmx:beforeSwap", function (event) {
      var cfg = event.detail.requestConfig || {};
      panelBefore = (event.detail.target && event.detail.target.id === "task-panel" &&
                     (cfg.verb || "").toLowerCase() === "get") ? panelState() : null;
    });
    document.body.addEventListener("htmx:afterSettle", function (event) {
      if (panelBefore === null || !event.detail.elt || event.detail.elt.id !== "task-panel") return;
      var changed = panelState() !== panelBefore;
      panelBefore = null;
      var status = $("station-status");
      if (!changed || !status || status.classList.contains("is-stale")) return;
      status.classList.add("is-stale");
      status.classList.remove("flash");
      var note = document.createElement("p");
      note.className = "st-status-line st-stale-note";
      note.setAttribute("data-testid", "status-stale");
      note.textContent = station.getAttribute("data-msg-stale");
      status.appendChild(note);
    });
    document.body.addEventListener("htmx:afterSettle", function (event) {
      fillTokens(event.detail.elt || document);
      // A live refresh that replaced the focused element (a button just tapped) leaves the
      // focus nowhere: the scanner's next code must still land in the scan field.
      var active = document.activeElement;
      if (!active || active === document.body) window.setTimeout(refocus, 0);
      if (event.detail.elt && event.detail.elt.id === "station-console") {
        var status = $("station-status");
        if (status) status.classList.add("flash");
      }
    });
    // An equipment's reason list is a stop's (down, maintenance): a reason left picked is not
    // sent with running, idle or setup, which the server would refuse (it keeps the refusal
    // for the API: a reason recorded there would count as the cause of a stop).
    document.body.addEventListener("htmx:configRequest", function (event) {
      var form = event.detail.elt;
      if (!form || !form.matches || !form.matches("form[data-stop-reason]")) return;
      var data = event.detail.formData;
      var state = data ? data.get("state") : event.detail.parameters.state;
      if (state === "down" || state === "maintenance") return;
      if (data) data.delete("reason");
      delete event.detail.parameters.reason;
    });
    // A report with neither quantity is no report: answered here, not sent (nor kept for the
    // lead). Just after a report its form is empty: a second tap or Enter then (a double tap)
    // leaves the answer to the first one as it is, flashed again.
    document.body.addEventListener("htmx:confirm", function (event) {
      var form = event.detail.elt;
      if (!form || !form.matches || !form.matches("form[data-needs-quantity]")) return;
      var typed = Array.prototype.some.call(form.querySelectorAll("[name=good], [name=scrap]"),
        function (field) { return field.value.trim() !== ""; });
      if (typed) return;
      event.preventDefault();
      if (form.hasAttribute("data-just-reported")) { flashAnswer(); return; }
      showLocal(station.getAttribute("data-msg-nothing-to-report"));
      var good = form.querySelector("[name=good]");
      if (good) { good.setAttribute("aria-invalid", "true"); focusAnswer(true); }
    });
    document.addEventListener("input", function (event) {
      var form = event.target.form;
      if (form) form.removeAttribute("data-just-reported");
    });
    // Reports whose answer already showed the task as it is after them: when one comes back
    // on the live stream, or the start, resume or completion it caused (their events name the
    // report), the task panel is not fetched again for it (other stations' reports on the same
    // task, and every other event, still refresh it).
    var answered = [];
    var REPORT_EVENTS = ["sse:task.reported", "sse:task.start", "sse:task.resume",
                         "sse:task.completed"];
    document.body.addEventListener("htmx:confirm", function (event) {
      var trigger = event.detail.triggeringEvent;
      if (!trigger || REPORT_EVENTS.indexOf(trigger.type) < 0 || !event.detail.elt ||
          event.detail.elt.id !== "task-panel" || !trigger.detail) return;
      var report;
      try { report = String(JSON.parse(trigger.detail.data).payload.report); } catch (e) { return; }
      if (answered.indexOf(report) >= 0) event.preventDefault();
    });
    document.body.addEventListener("htmx:afterRequest", function (event) {
      var xhr = event.detail.xhr;
      var report = xhr && xhr.getResponseHeader("MES-Answered-Report");
      if (report) {
        answered.push(report);
        if (answered.length > 20) answered.shift();
      }
      var cfg = event.detail.requestConfig || {};
      if ((cfg.verb || "").toLowerCase() !== "post") return;  // live refreshes keep focus where it is
      var refused = !!event.detail.xhr && event.detail.xhr.status === 422;
      window.setTimeout(function () { showAnswer(); focusAnswer(refused); }, 0);  // (swapped)
      var source = event.detail.elt;
      forgetReported(source);
      if (event.detail.successful && source && source.matches && source.matches("form[data-token-form]")) {
        var token = source.querySelector("input[name=client_token]");
        if (token) token.value = uuid();  // next submission, next token
        // A report is answered with the task's new figures only (the form stays): empty it
        // for the next one, as a fresh console would be.
        if (source.hasAttribute("data-clear-on-success") && event.detail.xhr &&
            event.detail.xhr.status === 200) {
          Array.prototype.forEach.call(source.querySelectorAll("input[type=text], select"),
            function (field) {
              if (field.tagName === "SELECT") field.selectedIndex = 0; else field.value = "";
              field.removeAttribute("aria-invalid");
            });
          Array.prototype.forEach.call(source.querySelectorAll(".st-form-error"),
            function (error) { error.remove(); });  // (a refusal shown there before)
          source.setAttribute("data-just-reported", "");
        }
      }
    });
    document.body.addEventListener("htmx:sendError", function () {
      showLocal(station.getAttribute("data-msg-offline"));
    });
    // Any other answer that is not a success (a server error, a proxy's 502, a 403) recorded
    // nothing that the operator can see: say so, over the previous answer. The form keeps
    // what was typed and its token, so trying again counts once whatever the server did.
    document.body.addEventListener("htmx:responseError", function (event) {
      if (signInAddress(event.detail.xhr)) return;  // (said above, in htmx:beforeSwap)
      var cfg = event.detail.requestConfig || {};
      if ((cfg.verb || "").toLowerCase() !== "post") return;  // a live refresh: the next one
      var code = event.detail.xhr ? event.detail.xhr.status : 0;
      showLocal(station.getAttribute("data-msg-failed") + (code ? " (HTTP " + code + ")" : ""));
    });

    // Live indicator.
    station.addEventListener("htmx:sseOpen", function () {
      var dot = $("live-dot");
      dot.classList.add("is-live");
      dot.classList.remove("is-off");
    });
    station.addEventListener("htmx:sseError", function () {
      var dot = $("live-dot");
      dot.classList.remove("is-live");
      dot.classList.add("is-off");
    });

    // "All remaining" fills the good quantity.
    document.addEventListener("click", function (event) {
      var fill = event.target.closest && event.target.closest("[data-fill-good]");
      if (fill) {
        var good = fill.form && fill.form.querySelector("input[name=good]");
        if (good) { good.value = fill.getAttribute("data-fill-good"); good.focus(); }
        return;
      }
      // A tap on the background gives the scan field its focus back.
      if (!isField(event.target)) window.setTimeout(focusScan, 0);
    });

    // Material form: a scanner's Enter moves to the next field; Enter in the last one submits.
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") return;
      var form = event.target.form;
      if (!form || !form.hasAttribute("data-enter-next")) return;
      var fields = Array.prototype.filter.call(form.querySelectorAll("input:not([type=hidden])"),
        function (el) { return !el.disabled; });
      var i = fields.indexOf(event.target);
      if (i >= 0 && i < fields.length - 1) {
        event.preventDefault();
        fields[i + 1].focus();
      }
    });

    focusScan();
  }

  window.mesStation = { submitScan: submitScan, uuid: uuid, openCamera: openCamera };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
