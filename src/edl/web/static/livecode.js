/* The live code (亮码) on the holder's licence page: renew the QR and the barcode (its number changes every step and
   lapses after two, see docs/code-format.md) every data-refresh-seconds from data-code-url and
   count down to its expiry (mm:ss). The countdown is measured from when each code arrived, with the code's own
   lifetime (expires_at - issued_at), so a phone whose clock is wrong still counts right. If renewing fails (offline)
   the old code keeps counting down and, once it lapses, the page says so ("已过期，请刷新") and dims the QR so it
   cannot be scanned. Texts come from data attributes (zh or en as the page). No inline scripts (CSP).
   The security mark under the QR takes its colour and phase classes from each code's issued-at second (the rule of
   mark_classes in routes/holder_licence.py) and shows the time now (Beijing), ticking.
   The 亮码 / 正页 / 副页 tabs (links to ?view=… without JavaScript) switch in place here; while the 亮码 view is shown
   and the page visible the screen is kept awake (Screen Wake Lock, where the browser has it). */
(function () {
  "use strict";

  var tabs = Array.prototype.slice.call(document.querySelectorAll("[data-view-tab]"));
  var panels = Array.prototype.slice.call(document.querySelectorAll("[data-view-panel]"));
  if (!tabs.length || !panels.length) {
    return;
  }
  var lock = null;
  var current = "code";

  function wantLock() {
    return current === "code" && document.visibilityState === "visible";
  }

  function keepAwake() {
    var wake = navigator.wakeLock;
    if (!wantLock() || lock || !wake || typeof wake.request !== "function") {
      return;
    }
    lock = "pending";
    Promise.resolve()
      .then(function () {
        return wake.request("screen");
      })
      .then(function (sentinel) {
        lock = sentinel;
        if (sentinel && typeof sentinel.addEventListener === "function") {
          sentinel.addEventListener("release", function () {
            if (lock === sentinel) {
              lock = null;
            }
          });
        }
        if (!wantLock()) {
          letSleep();
        }
      })
      .catch(function () {
        lock = null;
      });
  }

  function letSleep() {
    var held = lock;
    if (!held || held === "pending") {
      return;
    }
    lock = null;
    Promise.resolve()
      .then(function () {
        return held.release();
      })
      .catch(function () {});
  }

  function show(view, push) {
    current = view;
    tabs.forEach(function (tab) {
      var on = tab.getAttribute("data-view-tab") === view;
      tab.setAttribute("aria-selected", on ? "true" : "false");
      tab.setAttribute("tabindex", on ? "0" : "-1");
      if (on) {
        tab.setAttribute("aria-current", "page");
      } else {
        tab.removeAttribute("aria-current");
      }
    });
    panels.forEach(function (panel) {
      panel.hidden = panel.getAttribute("data-view-panel") !== view;
    });
    if (push && window.history && history.replaceState) {
      var tab = tabs.filter(function (t) {
        return t.getAttribute("data-view-tab") === view;
      })[0];
      history.replaceState(null, "", tab.getAttribute("href"));
    }
    if (wantLock()) {
      keepAwake();
    } else {
      letSleep();
    }
  }

  tabs.forEach(function (tab, i) {
    tab.addEventListener("click", function (event) {
      event.preventDefault();
      show(tab.getAttribute("data-view-tab"), true);
    });
    tab.addEventListener("keydown", function (event) {
      var step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
      if (step) {
        event.preventDefault();
        var next = tabs[(i + step + tabs.length) % tabs.length];
        show(next.getAttribute("data-view-tab"), true);
        next.focus();
      }
    });
  });
  // Swipe between the pages, as in a wallet: a mostly horizontal stroke of at least SWIPE_MIN px over a panel goes
  // to the next page (right to left) or the previous one (left to right); it stops at the ends; vertical
  // scrolling is left alone (touch-action: pan-y on the panels).
  var SWIPE_MIN = 60;
  var start = null;
  function viewIndex() {
    return tabs
      .map(function (t) {
        return t.getAttribute("data-view-tab");
      })
      .indexOf(current);
  }
  panels.forEach(function (panel) {
    panel.addEventListener("pointerdown", function (event) {
      start = event.isPrimary ? { x: event.clientX, y: event.clientY } : null;
    });
    panel.addEventListener("pointercancel", function () {
      start = null;
    });
    panel.addEventListener("pointerup", function (event) {
      if (!start) {
        return;
      }
      var dx = event.clientX - start.x;
      var dy = event.clientY - start.y;
      start = null;
      if (Math.abs(dx) < SWIPE_MIN || Math.abs(dx) < 2 * Math.abs(dy)) {
        return;
      }
      var next = tabs[viewIndex() + (dx < 0 ? 1 : -1)];
      if (next) {
        show(next.getAttribute("data-view-tab"), true);
      }
    });
  });
  document.addEventListener("visibilitychange", function () {
    if (wantLock()) {
      keepAwake();
    } else {
      letSleep();
    }
  });
  var selected = tabs.filter(function (t) {
    return t.getAttribute("aria-selected") === "true";
  })[0];
  show(selected ? selected.getAttribute("data-view-tab") : "code", false);
})();

(function () {
  "use strict";

  var box = document.querySelector("[data-live-code]");
  if (!box || !window.fetch) {
    return;
  }
  var url = box.getAttribute("data-code-url");
  var refreshMs = seconds(box.getAttribute("data-refresh-seconds"), 60) * 1000;
  var deadline = Date.now() + seconds(box.getAttribute("data-lifetime-seconds"), 0) * 1000;
  var textLeft = box.getAttribute("data-text-left") || "{time}";
  var textExpired = box.getAttribute("data-text-expired") || "";
  var textFailed = box.getAttribute("data-text-failed") || "";
  var countdown = box.querySelector("[data-code-countdown]");
  var status = box.querySelector("[data-code-status]");
  var refreshLink = box.querySelector("[data-code-refresh]");
  var mark = box.querySelector("[data-live-mark]");
  var now = box.querySelector("[data-live-now]");
  var RETRY_MS = 15000;
  var MARK_HUES = 12;
  var MARK_PHASES = 4;
  var timer = null;
  var lastFetch = Date.now();
  var busy = false;

  function seconds(value, fallback) {
    var n = parseInt(value, 10);
    return isNaN(n) || n < 0 ? fallback : n;
  }

  function mmss(ms) {
    var total = Math.max(0, Math.ceil(ms / 1000));
    var m = Math.floor(total / 60);
    var s = total % 60;
    return (m < 10 ? "0" : "") + m + ":" + (s < 10 ? "0" : "") + s;
  }

  function each(selector, fn) {
    Array.prototype.forEach.call(document.querySelectorAll(selector), fn);
  }

  function setExpired(expired) {
    box.classList.toggle("is-expired", expired);
    each("[data-live-qr], [data-live-bar]", function (el) {
      el.classList.toggle("code-expired", expired);
    });
  }

  function setMark(issuedAt) {
    var second = Math.floor(Date.parse(issuedAt) / 1000);
    if (!mark || isNaN(second)) {
      return;
    }
    var keep = Array.prototype.filter.call(mark.classList, function (name) {
      return !/^mark-[hp]\d+$/.test(name);
    });
    keep.push("mark-h" + (second % MARK_HUES), "mark-p" + (Math.floor(second / MARK_HUES) % MARK_PHASES));
    mark.className = keep.join(" ");
    mark.setAttribute("data-issued-at", issuedAt);
  }

  function tickClock() {
    if (now) {
      now.textContent = new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(11, 19); // Beijing, UTC+8
    }
  }

  function tick() {
    tickClock();
    var left = deadline - Date.now();
    if (left <= 0) {
      if (!box.classList.contains("is-expired")) {
        setExpired(true);
        status.textContent = "";
        countdown.setAttribute("aria-live", "assertive");
        countdown.textContent = textExpired;
      }
      return;
    }
    countdown.textContent = textLeft.replace("{time}", mmss(left));
  }

  function parseSvg(markup) {
    var template = document.createElement("template");
    template.innerHTML = markup;
    var svg = template.content.firstElementChild;
    if (!svg || svg.nodeName.toLowerCase() !== "svg") {
      throw new Error("no symbol in the answer");
    }
    return svg;
  }

  function apply(data) {
    var lifetime = Date.parse(data.expires_at) - Date.parse(data.issued_at);
    if (!data.svg || !data.barcode_svg || isNaN(lifetime) || lifetime <= 0) {
      throw new Error("unexpected answer");
    }
    var svg = parseSvg(data.svg);
    var bar = parseSvg(data.barcode_svg);
    each("[data-live-qr]", function (el) {
      el.replaceChildren(svg.cloneNode(true));
    });
    each("[data-live-bar]", function (el) {
      el.replaceChildren(bar.cloneNode(true));
    });
    each("[data-live-bar-number]", function (el) {
      el.textContent = data.barcode_caption || data.barcode || "";
    });
    each("[data-code-expiry-time]", function (el) {
      el.textContent = data.expires_local;
    });
    each("[data-code-issued-time]", function (el) {
      var template = el.getAttribute("data-template") || "{time}";
      el.textContent = template.replace("{time}", data.issued_local);
    });
    setMark(data.issued_at);
    deadline = Date.now() + lifetime;
    if (data.refresh_seconds > 0) {
      refreshMs = data.refresh_seconds * 1000;
    }
    setExpired(false);
    status.textContent = "";
    countdown.setAttribute("aria-live", "off");
    tick();
  }

  function schedule(ms) {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, ms);
  }

  function refresh() {
    if (busy) {
      return;
    }
    busy = true;
    lastFetch = Date.now();
    window.fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (response) {
        var type = response.headers.get("content-type") || "";
        if (!response.ok || type.indexOf("application/json") < 0) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        apply(data);
        schedule(refreshMs);
      })
      .catch(function () {
        if (!box.classList.contains("is-expired")) {
          status.textContent = textFailed;
        }
        schedule(Math.min(RETRY_MS, refreshMs));
      })
      .then(function () {
        busy = false;
      });
  }

  if (refreshLink) {
    refreshLink.addEventListener("click", function (event) {
      event.preventDefault();
      refresh();
    });
  }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && Date.now() - lastFetch >= refreshMs) {
      refresh();
    }
  });
  window.addEventListener("online", refresh);

  countdown.hidden = false;
  tick();
  window.setInterval(tick, 500);
  schedule(refreshMs);
})();
