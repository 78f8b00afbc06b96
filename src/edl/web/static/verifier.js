// The verifier page's camera scanner (/verify). Without JavaScript, or without a camera, the upload form below it
// does the same job. Reads frames with the bundled reader (static/vendor/zxing.min.js, global EDLZXing: QR code and
// Code 128; ZXing-C++ as WebAssembly, the engine the server reads uploads with), then POSTs what it read to
// /verify/check (JSON, CSRF token in X-CSRF-Token) and shows the server's result panel. No code or data leaves this origin (CSP connect-src 'self').
(function () {
  "use strict";
  var section = document.getElementById("camera");
  if (!section || !window.EDLZXing || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return;
  }
  var video = document.getElementById("camera-video");
  var finder = section.querySelector(".viewfinder");
  var toggle = document.getElementById("camera-toggle");
  var state = section.querySelector(".camera-state");
  var slot = document.getElementById("result-slot");
  var canvas = document.createElement("canvas");
  var ctx = canvas.getContext("2d", { willReadFrequently: true });
  var msg = section.dataset;
  var stream = null;
  var timer = null;
  var busy = false;
  var FRAME_MS = 200;
  var MAX_SIDE = 960;

  section.hidden = false;

  function say(text) {
    state.textContent = text || "";
  }

  function stop() {
    if (timer) { clearTimeout(timer); timer = null; }
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
    video.srcObject = null;
    finder.hidden = true;
    toggle.textContent = msg.msgStart;
  }

  function show(html) {
    slot.innerHTML = html; // rendered and escaped by the server (templates/verifier/_result.html)
    var panel = document.getElementById("result");
    if (panel) { panel.focus(); panel.scrollIntoView({ block: "start" }); }
  }

  function send(found) {
    busy = true;
    say(msg.msgFound);
    fetch(section.dataset.checkUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": msg.csrf },
      body: JSON.stringify({ text: found.text, format: found.format })
    }).then(function (r) {
      return r.json().then(function (body) { return { ok: r.ok, body: body }; });
    }).then(function (answer) {
      if (answer.body && answer.body.html) {
        say("");
        show(answer.body.html);
      } else {
        say((answer.body && answer.body.message) || msg.msgError);
      }
    }).catch(function () {
      say(msg.msgError);
    }).then(function () { busy = false; });
  }

  function next() {
    if (stream) { timer = setTimeout(frame, FRAME_MS); }
  }

  function frame() {
    timer = null;
    if (!stream) { return; }
    var w = video.videoWidth, h = video.videoHeight;
    if (!w || !h || busy) { next(); return; }
    var scale = Math.min(1, MAX_SIDE / Math.max(w, h));
    canvas.width = Math.round(w * scale);
    canvas.height = Math.round(h * scale);
    ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
    // (decoding is asynchronous: the next frame is read only after this one is done, never two at once)
    window.EDLZXing.decodeCanvas(canvas).then(function (found) {
      if (found && stream) {
        stop();
        send(found);
      } else {
        next();
      }
    }, function () {
      stop();
      say(msg.msgError);
    });
  }

  function start() {
    say(msg.msgScanning);
    navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } }
    }).then(function (s) {
      stream = s;
      video.srcObject = s;
      finder.hidden = false;
      toggle.textContent = msg.msgStop;
      return video.play();
    }).then(function () {
      timer = setTimeout(frame, FRAME_MS);
    }).catch(function () {
      stop();
      say(msg.msgDenied);
    });
  }

  toggle.addEventListener("click", function () {
    if (stream) { stop(); say(""); } else { start(); }
  });
  window.addEventListener("pagehide", stop);
})();
