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
  // A nav wider than the screen scrolls sideways: mark the edges it goes on past, for the
  // fade that says so (mes.css), and bring the current page's entry into sight.
  function navEdges(nav) {
    var left = nav.scrollLeft > 1, right = nav.scrollLeft + nav.clientWidth < nav.scrollWidth - 1;
    nav.classList.toggle("has-more-left", left);
    nav.classList.toggle("has-more-right", right);
  }
  function wireNav() {
    var nav = document.querySelector(".topbar .nav");
    if (!nav || nav.dataset.wired) return;
    nav.dataset.wired = "1";
    var current = nav.querySelector("a.active");
    if (current && nav.scrollWidth > nav.clientWidth) {
      var n = nav.getBoundingClientRect(), a = current.getBoundingClientRect();
      if (a.right > n.right) nav.scrollLeft += a.right - n.right + 24;
    }
    navEdges(nav);
    nav.addEventListener("scroll", function () { navEdges(nav); }, { passive: true });
    window.addEventListener("resize", function () { navEdges(nav); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", wireNav);
  else wireNav();
  // Signed out (the session expired, or ended in another tab): an htmx request gets 401 and the
  // sign-in address (MES-Sign-In), not the login page drawn into a panel. Go there, back after.
  // A page that says so first and goes there itself (the station) is marked data-own-sign-in.
  // The page's messages ("Created production order …") tell what was done before it loaded:
  // an action done in place since (an htmx POST: explode, release) answers for itself, and an
  // old message left above its answer reads as if it were about it.
  document.addEventListener("htmx:afterRequest", function (event) {
    var config = event.detail.requestConfig;
    if (event.detail.successful && config && config.verb && config.verb !== "get") {
      document.querySelectorAll("ul.messages").forEach(function (list) { list.remove(); });
    }
  });
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var url = xhr && xhr.status === 401 ? xhr.getResponseHeader("MES-Sign-In") : null;
    if (url && !document.querySelector("[data-own-sign-in]")) window.location.assign(url);
  });
})();
