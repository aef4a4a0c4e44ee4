// phoihop web app: the CSRF token on every htmx request. Nothing here writes HTML: htmx swaps fragments the
// server rendered (autoescaped), and no data is ever put into innerHTML by our own code.
(function () {
  "use strict";
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && meta.content) {
      event.detail.headers["X-CSRF-Token"] = meta.content;
    }
  });
})();
