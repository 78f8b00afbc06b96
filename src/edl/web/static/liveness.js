/* Active liveness (活体检测) for real-person authentication: camera frames only, never a file.

   On "start": ask the server for a one-time challenge (POST data-challenge-url → nonce, timeline, frame times),
   open the front camera, let the holder settle for a moment ("请正对屏幕"), then follow the timeline: show each
   window's prompt ("请向左转头", "请眨眨眼") and take a JPEG frame at each of the challenge's frame times. The burst
   (challenge + frames + their times + the form's own fields) is posted with fetch() to the form's action; the
   answer is JSON: where to go next, or what to do. The preview is mirrored for the holder; the frames are not.
   Texts come from the block's data-msg-* attributes (the page's language); no inline scripts. */
(function () {
  "use strict";

  var LEAD_MS = 1000; /* settle time before the timeline starts (not captured) */
  var JPEG_QUALITY = 0.85;

  function setup(block) {
    var form = block.closest("form");
    var d = block.dataset;
    var status = block.querySelector(".liveness-status");
    var prompt = block.querySelector(".liveness-prompt");
    var stage = block.querySelector(".liveness-stage");
    var video = block.querySelector("video");
    var canvas = block.querySelector("canvas");
    var bar = block.querySelector(".liveness-progress span");
    var startButton = block.querySelector('[data-action="start"]');
    if (!form || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.fetch || !canvas.toBlob) {
      status.textContent = d.msgUnsupported;
      status.classList.add("capture-error");
      block.hidden = false;
      startButton.hidden = true;
      return;
    }
    var stream = null;
    var busy = false;
    block.hidden = false;

    function say(text, isError) {
      status.textContent = text || "";
      status.classList.toggle("capture-error", !!isError);
    }

    function stop() {
      if (stream) {
        stream.getTracks().forEach(function (track) {
          track.stop();
        });
        stream = null;
      }
      video.srcObject = null;
    }

    function noJson() {
      return { ok: false, error: d.msgNetwork }; /* an answer that is not ours (a proxy's error page) */
    }

    function csrf() {
      var field = form.querySelector('input[name="csrf"]');
      return field ? field.value : "";
    }

    function fail(text) {
      stop();
      busy = false;
      stage.hidden = true;
      prompt.textContent = "";
      say(text, true);
      startButton.hidden = false;
      startButton.textContent = d.msgRetry;
      startButton.disabled = false;
    }

    function fetchChallenge() {
      var body = new FormData();
      body.append("purpose", d.purpose);
      body.append("csrf", csrf());
      return fetch(d.challengeUrl, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf(), Accept: "application/json" },
      }).then(function (response) {
        return response.json().catch(noJson).then(function (answer) {
          if (!response.ok || !answer.ok) {
            throw new Error(answer.error || d.msgNetwork);
          }
          return answer;
        });
      });
    }

    function openCamera() {
      return navigator.mediaDevices
        .getUserMedia({ audio: false, video: { facingMode: { ideal: "user" }, width: { ideal: 640 }, height: { ideal: 480 } } })
        .then(function (s) {
          stream = s;
          video.srcObject = s;
          return new Promise(function (resolve) {
            if (video.readyState >= 2 && !video.paused) {
              resolve();
              return;
            }
            video.addEventListener("playing", function () { resolve(); }, { once: true });
            video.play().catch(function () {});
          });
        });
    }

    function grab(maxSide) {
      var w = video.videoWidth;
      var h = video.videoHeight;
      var scale = Math.min(1, maxSide / Math.max(w, h));
      canvas.width = Math.round(w * scale);
      canvas.height = Math.round(h * scale);
      canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
      return new Promise(function (resolve) {
        canvas.toBlob(resolve, "image/jpeg", JPEG_QUALITY);
      });
    }

    function windowAt(challenge, t) {
      var found = challenge.windows[0];
      challenge.windows.forEach(function (w) {
        if (t >= w.start_ms) {
          found = w;
        }
      });
      return found;
    }

    function run(challenge) {
      var frames = [];
      var pending = [];
      var t0 = performance.now();
      var next = 0;
      return new Promise(function (resolve) {
        function tick() {
          var t = performance.now() - t0;
          var w = windowAt(challenge, t);
          prompt.textContent = w.prompt;
          bar.style.width = Math.min(100, (100 * t) / challenge.capture_ms) + "%";
          /* one frame per tick: after a stall, overdue frames are taken on the following ticks, each at its own
             time (frames taken in one tick would be one picture sent twice with the same time: refused) */
          if (next < challenge.frame_times.length && t >= challenge.frame_times[next]) {
            var at = Math.round(t);
            pending.push(
              grab(challenge.max_side).then(
                (function (when) {
                  return function (blob) {
                    frames.push({ t: when, blob: blob });
                  };
                })(at)
              )
            );
            next += 1;
          }
          if (next >= challenge.frame_times.length) {
            Promise.all(pending).then(function () {
              resolve(frames);
            });
            return;
          }
          requestAnimationFrame(tick);
        }
        tick();
      });
    }

    function send(challenge, frames) {
      var body = new FormData(form);
      body.append("challenge", challenge.challenge);
      frames.sort(function (a, b) {
        return a.t - b.t;
      });
      body.append(
        "times",
        frames
          .map(function (f) {
            return f.t;
          })
          .join(",")
      );
      frames.forEach(function (f, i) {
        body.append("frame", f.blob, "frame-" + i + ".jpg");
      });
      say(d.msgChecking);
      return fetch(form.action, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf(), Accept: "application/json" },
      }).then(function (response) {
        return response.json().catch(noJson).then(function (answer) {
          if (answer.ok && answer.redirect) {
            say(d.msgPassed);
            window.location.assign(answer.redirect);
            return;
          }
          fail(answer.error || d.msgNetwork);
        });
      });
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault(); /* the burst is the only way to send this form: Enter starts the check */
      startButton.click();
    });

    startButton.addEventListener("click", function () {
      if (busy || !form.reportValidity()) {
        return;
      }
      busy = true;
      startButton.disabled = true;
      say(d.msgStarting);
      var challenge = null;
      fetchChallenge()
        .then(function (c) {
          challenge = c;
          return openCamera();
        })
        .then(function () {
          stage.hidden = false;
          stage.scrollIntoView({ block: "center" }); /* it opens below the button: bring the prompts into view */
          startButton.hidden = true;
          say("");
          prompt.textContent = d.msgSettle;
          return new Promise(function (resolve) {
            setTimeout(resolve, LEAD_MS);
          });
        })
        .then(function () {
          return run(challenge);
        })
        .then(function (frames) {
          stop();
          stage.hidden = true;
          prompt.textContent = "";
          return send(challenge, frames);
        })
        .catch(function (error) {
          var denied = error && (error.name === "NotAllowedError" || error.name === "NotFoundError");
          var text = error instanceof TypeError ? d.msgNetwork : (error && error.message) || d.msgNetwork;
          fail(denied ? d.msgDenied : text);
        });
    });
  }

  document.querySelectorAll("[data-liveness]").forEach(setup);
})();
