/* The verifier's presentation-request page (/verify/present/{id}): while the request is pending, ask its state
   every few seconds and reload the page once it changes (answered, declined, refused or expired). No timed page
   refresh (it would interrupt a screen reader); without script the page's "check again" link does the same. */
(function () {
  "use strict";
  var panel = document.querySelector("[data-state-url]");
  if (!panel) return;
  var every = (parseInt(panel.getAttribute("data-every"), 10) || 3) * 1000;
  var url = panel.getAttribute("data-state-url");
  function ask() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (body && body.state && body.state !== panel.getAttribute("data-present-state")) {
          window.location.reload();
        } else {
          window.setTimeout(ask, every);
        }
      })
      .catch(function () { window.setTimeout(ask, every * 2); });
  }
  window.setTimeout(ask, every);
})();
