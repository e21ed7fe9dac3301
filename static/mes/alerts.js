/* Alerts: the notification bell and toasts on every page, and the alert list's dialog.
   One notification stream per browser where the browser allows it (Web Locks + a
   BroadcastChannel: the tab holding the lock streams, the other tabs hear it from that tab);
   otherwise every tab opens its own stream. Nothing from the internet. */
(function () {
  "use strict";
  if (window.mesAlerts) return;  // the script may be included twice on alert pages
  window.mesAlerts = {};

  // --- bell + toasts --------------------------------------------------------------------------
  var root = document.getElementById("mes-notify");
  if (root) {
    var count = root.querySelector(".notify-count");
    var toasts = document.createElement("div");
    toasts.className = "notify-toasts";
    toasts.setAttribute("aria-live", "polite");
    toasts.setAttribute("data-testid", "notify-toasts");
    document.body.appendChild(toasts);

    var setCount = function (n) {
      count.textContent = n > 99 ? "99+" : String(n);
      count.hidden = !n;
      root.setAttribute("data-unread", String(n));
    };
    var refresh = function () {
      fetch(root.dataset.badgeUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (d) { if (d) setCount(d.unread); })
        .catch(function () {});
    };
    var timer = null;
    var refreshSoon = function () {  // a burst of notifications costs one request
      clearTimeout(timer);
      timer = setTimeout(refresh, 250);
    };
    var toast = function (p) {
      var box = document.createElement("div");
      box.className = "toast sev-" + (p.severity || "warning");
      box.setAttribute("role", "alert");
      box.setAttribute("data-testid", "toast");
      var title = document.createElement("p");
      title.className = "toast-title";
      title.textContent = p.title || p.label || "";
      var text = document.createElement("p");
      text.className = "toast-text";
      text.textContent = p.message || "";
      var actions = document.createElement("div");
      actions.className = "toast-actions";
      var open = document.createElement("a");
      open.href = p.notification ? root.dataset.inboxUrl + p.notification + "/" : root.dataset.inboxUrl;
      open.textContent = root.dataset.openLabel;
      actions.appendChild(open);
      var close = document.createElement("button");
      close.type = "button";
      close.textContent = root.dataset.closeLabel;
      close.addEventListener("click", function () { box.remove(); });
      actions.appendChild(close);
      box.appendChild(title); box.appendChild(text); box.appendChild(actions);
      toasts.prepend(box);
      while (toasts.children.length > 4) toasts.lastChild.remove();
      if (p.severity !== "critical") setTimeout(function () { box.remove(); }, 20000);
    };
    var handle = function (kind, data) {
      if (kind === "notification.new") toast((data && data.payload) || {});
      refreshSoon();
      document.dispatchEvent(new CustomEvent("mes:notification", { detail: { kind: kind, data: data } }));
    };

    var KINDS = ["notification.new", "notification.read"];
    var name = "mes-notify-" + root.dataset.user;
    var channel = ("BroadcastChannel" in window) ? new BroadcastChannel(name) : null;
    if (channel) channel.onmessage = function (e) { handle(e.data.kind, e.data.data); };
    var connect = function () {
      // The browser resumes from Last-Event-ID by itself after a network blink.
      var source = new EventSource(root.dataset.streamUrl, { withCredentials: true });
      KINDS.forEach(function (kind) {
        source.addEventListener(kind, function (ev) {
          var data = null;
          try { data = JSON.parse(ev.data); } catch (err) { return; }
          handle(kind, data);
          if (channel) channel.postMessage({ kind: kind, data: data });
        });
      });
      source.addEventListener("open", function () { root.setAttribute("data-live", "1"); refreshSoon(); });
      window.mesAlerts.source = source;
      return source;
    };
    if (channel && navigator.locks && navigator.locks.request) {
      // Held until this tab closes; then another open tab takes over the stream.
      navigator.locks.request(name, function () { connect(); return new Promise(function () {}); });
    } else {
      connect();
    }
    refresh();
  }

  // --- the rule form: show only the thresholds the chosen kind uses, with their meaning ---
  var help = document.getElementById("threshold-help");
  var kind = document.querySelector(".rule-form select[name=kind]");
  if (help && kind) {
    var meanings = JSON.parse(help.textContent);
    var showThresholds = function () {
      var used = meanings[kind.value] || {};
      ["minutes", "percent", "window_hours", "min_quantity"].forEach(function (name) {
        var box = document.querySelector(".rule-form .field-" + name);
        if (!box) return;
        var wanted = Object.prototype.hasOwnProperty.call(used, name);
        box.hidden = !wanted && !box.classList.contains("has-error");
        var small = box.querySelector(".help");
        if (small && wanted) small.textContent = used[name];
      });
    };
    kind.addEventListener("change", showThresholds);
    showThresholds();
  }

  // --- the alert list's action dialog -----------------------------------------------------
  var dialog = document.getElementById("alert-dialog");
  if (dialog) {
    document.body.addEventListener("htmx:afterSwap", function (e) {
      if (e.detail.target && e.detail.target.id === "alert-dialog-body" && !dialog.open
          && e.detail.target.children.length) {
        dialog.showModal();
        var first = dialog.querySelector("textarea, input:not([type=hidden]), select");
        if (first) first.focus();
      }
    });
    var status = document.getElementById("alert-action-status");
    var statusTimer = null;
    document.body.addEventListener("alerts-changed", function (e) {
      if (dialog.open) dialog.close();
      // What the action did ("Alert #12 acknowledged."), said once, then gone.
      var message = e.detail && e.detail.message;
      if (status && message) {
        status.textContent = message;
        status.hidden = false;
        clearTimeout(statusTimer);
        statusTimer = setTimeout(function () { status.hidden = true; }, 8000);
      }
    });
    dialog.addEventListener("click", function (e) {
      if (e.target.closest("[data-close-dialog]") || e.target === dialog) dialog.close();
    });
  }
})();
