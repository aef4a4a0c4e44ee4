// phoihop web app: the inbox refreshes itself. The page subscribes to the caller's inbox events
// (GET /api/v1/events/stream, Server-Sent Events, signed in by the session cookie) and, when a task is created,
// claimed, unclaimed or completed in the caller's agencies or for the caller, asks the server for the inbox again
// (the same address, as an htmx request: the fragment with the tab counters, the filters' counts and the rows) and
// swaps it in place. Events close together make one refresh; nothing is refreshed while the filter form has the
// focus (what is being typed is kept), it is done when the focus leaves. No HTML is built here.
(function () {
  "use strict";
  var STREAM = "/api/v1/events/stream";
  var TYPES = ["task.created", "task.claimed", "task.unclaimed", "task.completed"];
  var DELAY_MS = 300;
  var timer = null;
  var pending = false;

  function busy() {
    var form = document.getElementById("inbox-filters");
    return form !== null && form.contains(document.activeElement);
  }

  function refresh() {
    timer = null;
    if (busy()) {
      pending = true;
      return;
    }
    pending = false;
    if (document.getElementById("inbox") === null || typeof htmx === "undefined") { return; }
    htmx.ajax("GET", window.location.pathname + window.location.search, { target: "#inbox", swap: "outerHTML" });
  }

  function schedule() {
    if (timer === null) { timer = window.setTimeout(refresh, DELAY_MS); }
  }

  function start() {
    if (document.getElementById("inbox") === null || typeof window.EventSource === "undefined") { return; }
    var source = new window.EventSource(STREAM);
    TYPES.forEach(function (type) { source.addEventListener(type, schedule); });
    document.addEventListener("focusout", function () {
      if (pending) { window.setTimeout(function () { if (pending) { schedule(); } }, 0); }
    });
    document.documentElement.setAttribute("data-inbox-live", "on");
    source.addEventListener("open", function () { document.documentElement.setAttribute("data-inbox-live", "open"); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
