/* Small helpers for the holder pages: a form is sent once (its buttons are disabled after the first submit; the
   idempotency key in the form is what really makes a double submit harmless), and the sign-in code page's resend
   countdown. No inline scripts. */
(function () {
  "use strict";

  document.querySelectorAll("form[data-once], form[data-upload]").forEach(function (form) {
    form.addEventListener("submit", function () {
      window.setTimeout(function () {
        form.querySelectorAll('button[type="submit"]').forEach(function (button) {
          button.disabled = true;
        });
      }, 0);
    });
  });

  /* The resend button of the sign-in code page stays disabled until the server will send another code:
     data-countdown is the seconds the server's throttle still refuses (counted against the clock, not ticks). */
  document.querySelectorAll("button[data-countdown]").forEach(function (button) {
    var seconds = parseInt(button.getAttribute("data-countdown"), 10) || 0;
    if (seconds <= 0) return;
    var label = button.textContent;
    var waitText = button.getAttribute("data-wait-text") || "{n}";
    var end = Date.now() + seconds * 1000;
    button.disabled = true;
    (function tick() {
      var left = Math.ceil((end - Date.now()) / 1000);
      if (left <= 0) {
        button.disabled = false;
        button.textContent = label;
        return;
      }
      button.textContent = waitText.replace("{n}", String(left));
      window.setTimeout(tick, Math.min(1000, end - Date.now() - (left - 1) * 1000 + 5));
    })();
  });
})();
