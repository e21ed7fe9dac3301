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
})();
