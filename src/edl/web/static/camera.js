/* Live capture for the holder pages: a camera preview through getUserMedia, a capture to a canvas, and the upload of
   the JPEG with fetch() (the form's fields, the CSRF token also in X-CSRF-Token). Progressive enhancement: without
   JavaScript, or without a camera, the form's file input posts as a plain multipart form. Every text shown comes from
   the capture block's data-msg-* attributes (the page's language); no inline scripts. */
(function () {
  "use strict";

  var PORTRAIT = 4 / 5; /* width / height of a captured application photo (at least 358×441 is needed) */
  var JPEG_QUALITY = 0.92;

  function setup(block) {
    var form = block.closest("form");
    if (!form || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.fetch) {
      return; /* the file input does the work */
    }
    var d = block.dataset;
    var stage = block.querySelector(".capture-stage");
    var video = block.querySelector("video");
    var canvas = block.querySelector("canvas");
    var status = block.querySelector(".capture-status");
    var buttons = {
      start: block.querySelector('[data-action="start"]'),
      shoot: block.querySelector('[data-action="shoot"]'),
      retake: block.querySelector('[data-action="retake"]'),
      send: block.querySelector('[data-action="send"]'),
    };
    var stream = null;
    var blob = null;

    block.hidden = false;

    function say(text, isError) {
      status.textContent = text || "";
      status.classList.toggle("capture-error", !!isError);
    }

    function show(visible) {
      Object.keys(buttons).forEach(function (name) {
        buttons[name].hidden = visible.indexOf(name) < 0;
      });
    }

    function stop() {
      if (stream) {
        stream.getTracks().forEach(function (track) {
          track.stop();
        });
        stream = null;
      }
    }

    function start() {
      say(d.msgStarting);
      blob = null;
      var constraints = {
        audio: false,
        video: { facingMode: { ideal: d.facing || "user" }, width: { ideal: 1280 }, height: { ideal: 960 } },
      };
      navigator.mediaDevices
        .getUserMedia(constraints)
        .then(function (s) {
          stream = s;
          stage.hidden = false;
          video.srcObject = s;
          video.hidden = false;
          canvas.hidden = true;
          return video.play();
        })
        .then(function () {
          show(["shoot"]);
          say(d.msgReady);
        })
        .catch(function () {
          stop();
          stage.hidden = true;
          show(["start"]);
          say(d.msgDenied, true);
        });
    }

    function shoot() {
      var w = video.videoWidth;
      var h = video.videoHeight;
      if (!w || !h) {
        return;
      }
      var sx = 0;
      var sw = w;
      if (d.shape === "portrait" && w / h > PORTRAIT) {
        sw = Math.round(h * PORTRAIT); /* crop the middle to a portrait photo */
        sx = Math.round((w - sw) / 2);
      }
      canvas.width = sw;
      canvas.height = h;
      canvas.getContext("2d").drawImage(video, sx, 0, sw, h, 0, 0, sw, h);
      canvas.hidden = false;
      video.hidden = true;
      stop();
      canvas.toBlob(
        function (b) {
          blob = b;
          show(["retake", "send"]);
          say(d.msgCaptured);
        },
        "image/jpeg",
        JPEG_QUALITY
      );
    }

    function send() {
      if (!blob) {
        return;
      }
      var file = form.querySelector('input[type="file"][name="' + d.field + '"]');
      if (file) {
        file.required = false; /* the capture replaces the file; check the other fields */
      }
      var valid = form.reportValidity();
      if (file) {
        file.required = true;
      }
      if (!valid) {
        return;
      }
      var body = new FormData(form);
      body.set(d.field, blob, "capture.jpg");
      var csrf = body.get("csrf") || "";
      buttons.send.disabled = true;
      say(d.msgUploading);
      fetch(form.action, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf, Accept: "application/json" },
      })
        .then(function (response) {
          return response.json().then(function (data) {
            return { ok: response.ok, data: data };
          });
        })
        .then(function (answer) {
          if (answer.ok && answer.data.redirect) {
            window.location.assign(answer.data.redirect);
            return;
          }
          buttons.send.disabled = false;
          say(answer.data.error || answer.data.message || d.msgNetwork, true);
        })
        .catch(function () {
          buttons.send.disabled = false;
          say(d.msgNetwork, true);
        });
    }

    buttons.start.addEventListener("click", start);
    buttons.shoot.addEventListener("click", shoot);
    buttons.retake.addEventListener("click", start);
    buttons.send.addEventListener("click", send);
    window.addEventListener("pagehide", stop);
  }

  document.querySelectorAll("[data-capture]").forEach(setup);
})();
