/* The eDL service worker (served as /app/sw.js, scope /app/): shows a Web Push message and opens its page on click.
   The payload is the JSON the server sends: {"title", "body", "url", "id"}. */
"use strict";

function inboxUrl() {
  return new URL("inbox", self.registration.scope).href;
}

function targetUrl(url) {
  // Only pages of this site: anything else opens the inbox.
  if (typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/" && url.indexOf("\\") < 0) {
    return new URL(url, self.location.origin).href;
  }
  return inboxUrl();
}

self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

self.addEventListener("push", function (event) {
  var data = {};
  if (event.data) {
    try {
      data = event.data.json();
    } catch (e) {
      data = { body: event.data.text() };
    }
  }
  var options = {
    body: typeof data.body === "string" ? data.body : "",
    data: { url: targetUrl(data.url) },
  };
  if (data.id !== undefined && data.id !== null) {
    options.tag = "edl-" + String(data.id);
  }
  var title = typeof data.title === "string" && data.title ? data.title : "eDL";
  event.waitUntil(self.registration.showNotification(title, options));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = (event.notification.data && event.notification.data.url) || inboxUrl();
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (windows) {
      for (var i = 0; i < windows.length; i += 1) {
        if (windows[i].url === url && "focus" in windows[i]) {
          return windows[i].focus();
        }
      }
      return self.clients.openWindow(url);
    })
  );
});
