/* Small helpers for the holder pages: a form is sent once (its buttons are disabled after the first submit; the
   idempotency key in the form is what really makes a double submit harmless). No inline scripts. */
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
})();
