/* Web Push opt-in for the inbox page: registers the service worker (scope /app/), asks for permission when the
   holder presses the button, subscribes with the server's VAPID key and sends the subscription to the server.
   Every text shown comes from the button's data-msg-* attributes (the page's language); no inline scripts. */
(function () {
  "use strict";

  var enable = document.getElementById("push-enable");
  var disable = document.getElementById("push-disable");
  var status = document.getElementById("push-status");
  var enableRow = document.getElementById("push-enable-row");
  var disableRow = document.getElementById("push-disable-row");
  if (!enable || !enableRow) {
    return;
  }
  var d = enable.dataset;

  function say(text) {
    if (status) {
      status.textContent = text || "";
    }
  }

  function show(subscribed) {
    // The rows, not the buttons, carry `hidden`: the stylesheet gives buttons a display of their own.
    enableRow.hidden = subscribed;
    if (disableRow) {
      disableRow.hidden = !subscribed;
    }
  }

  function keyBytes(b64url) {
    var b64 = b64url.replace(/-/g, "+").replace(/_/g, "/");
    b64 += "===".slice((b64.length + 3) % 4);
    var raw = atob(b64);
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) {
      out[i] = raw.charCodeAt(i);
    }
    return out;
  }

  function post(url, subscription) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": d.csrf },
      body: JSON.stringify(subscription.toJSON()),
    }).then(function (response) {
      if (!response.ok) {
        throw new Error("server answered " + response.status);
      }
      return response;
    });
  }

  var supported = "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
  if (!supported) {
    say(d.msgUnsupported);
    return;
  }
  if (Notification.permission === "denied") {
    say(d.msgDenied);
    return;
  }

  var ready = navigator.serviceWorker.register(d.swUrl, { scope: d.scope });

  ready
    .then(function (registration) {
      return registration.pushManager.getSubscription();
    })
    .then(function (subscription) {
      if (subscription && Notification.permission === "granted") {
        // Tell the server again: it may have dropped the subscription, or another holder used this browser.
        return post(d.subscribeUrl, subscription).then(function () {
          show(true);
          say(d.msgOn);
        });
      }
      show(false);
      return null;
    })
    .catch(function () {
      show(false);
    });

  enable.addEventListener("click", function () {
    enable.disabled = true;
    say(d.msgWorking);
    Notification.requestPermission()
      .then(function (permission) {
        if (permission !== "granted") {
          throw new Error(permission);
        }
        return Promise.all([
          ready,
          fetch(d.keyUrl, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (response) {
            if (!response.ok) {
              throw new Error("no key");
            }
            return response.json();
          }),
        ]);
      })
      .then(function (both) {
        return both[0].pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: keyBytes(both[1].key),
        });
      })
      .then(function (subscription) {
        return post(d.subscribeUrl, subscription);
      })
      .then(function () {
        show(true);
        say(d.msgOn);
      })
      .catch(function (error) {
        show(false);
        say(Notification.permission === "denied" || (error && error.message === "denied") ? d.msgDenied : d.msgError);
      })
      .then(function () {
        enable.disabled = false;
      });
  });

  if (disable) {
    disable.addEventListener("click", function () {
      disable.disabled = true;
      ready
        .then(function (registration) {
          return registration.pushManager.getSubscription();
        })
        .then(function (subscription) {
          if (!subscription) {
            return null;
          }
          return post(d.unsubscribeUrl, subscription).then(function () {
            return subscription.unsubscribe();
          });
        })
        .then(function () {
          show(false);
          say(d.msgOff);
        })
        .catch(function () {
          say(d.msgError);
        })
        .then(function () {
          disable.disabled = false;
        });
    });
  }
})();
