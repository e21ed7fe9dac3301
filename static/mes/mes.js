/* Small glue for every page. No framework, nothing from the internet. */
(function () {
  "use strict";
  // The htmx SSE extension opens a fresh EventSource after a hard failure, which would forget
  // where the stream was. Remember the last event id per URL and resume from it.
  var lastIds = {};
  function withLastId(url) {
    var last = lastIds[url];
    if (last === undefined) return url;
    return url + (url.indexOf("?") >= 0 ? "&" : "?") + "last_event_id=" + encodeURIComponent(last);
  }
  function install() {
    if (!window.htmx) return;
    htmx.createEventSource = function (url) {
      var source = new EventSource(withLastId(url), { withCredentials: true });
      var add = source.addEventListener.bind(source);
      source.addEventListener = function (name, listener, options) {
        add(name, function (event) {
          if (event.lastEventId) lastIds[url] = event.lastEventId;
          listener(event);
        }, options);
      };
      return source;
    };
  }
  document.addEventListener("DOMContentLoaded", install);
  install();
  // Signed out (the session expired, or ended in another tab): an htmx request gets 401 and the
  // sign-in address (MES-Sign-In), not the login page drawn into a panel. Go there, back after.
  // A page that says so first and goes there itself (the station) is marked data-own-sign-in.
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var url = xhr && xhr.status === 401 ? xhr.getResponseHeader("MES-Sign-In") : null;
    if (url && !document.querySelector("[data-own-sign-in]")) window.location.assign(url);
  });
})();
