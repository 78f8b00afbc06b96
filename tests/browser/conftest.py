"""Browser tests: a real eDL server (Uvicorn, in a thread, SQLite in a temp data dir) and Debian's Chromium driven
by Playwright. Screenshots of every page go to test-artifacts/browser/ (kept by CI as artifacts).

Real parts throughout: dlib face comparison, the automatic photo checks, the PKI and mdoc issuance. The SMS code is
read from the server's development sender (the only outside service, SMS, is the built-in log sender).

Real-person authentication (active liveness, liveness.js) runs on Chromium's fake camera: `liveness_video` renders a
sequence with tests/liveness_synth.py (a real face on a 3D head proxy, or an attack) for the challenge that
`random.Random(LIVENESS_SEED)` draws, `liveness_phone` opens a phone-sized page in a Chromium whose camera plays it,
and `run_liveness` starts the check with that seed and returns the server's answer plus the timing of every frame the
page grabbed (which video frame it saw: each video frame carries its index in a strip of 10 black/white blocks in
the bottom-right corner).
"""

from __future__ import annotations

import math
import os
import random
import re
import socket
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from edl.accounts.sms import LogSmsSender
from edl.bootstrap import Container, bootstrap
from edl.config import Settings
from edl.db.models import AuditRow
from edl.domain.liveness import Action, capture_ms, draw_actions, timeline

CHROMIUM = Path(os.environ.get("EDL_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
PHONE = {"width": 390, "height": 844}

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    container: Container

    def sign_in(self, page: object, mobile: str) -> None:
        """Sign the page's holder in with `mobile`: the sign-in form, the code from the server's log sender."""
        p: Any = page
        p.goto(f"{self.url}/app/sign-in")
        p.fill("input[name=mobile]", mobile)
        p.check("input[name=consent]")  # the privacy notice (the first sign-in registers the account)
        p.click("form button[type=submit]")
        p.wait_for_selector("input[name=code]")
        p.fill("input[name=code]", self.sms_code(mobile))
        p.locator("form", has=p.locator("input[name=code]")).locator("button[type=submit]").click()
        p.wait_for_url(re.compile(r".*/app/?$"))

    def sms_code(self, mobile: str) -> str:
        sms = self.container.sms
        assert isinstance(sms, LogSmsSender)
        message = sms.last_to(mobile)
        assert message is not None, f"no SMS to {mobile}"
        found = re.search(r"\b(\d{6})\b", message.text)
        assert found, message.text
        return found.group(1)


@pytest.fixture(scope="package")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    import uvicorn

    from edl.web.app import create_app

    data = tmp_path_factory.mktemp("browser") / "data"
    # Every simulated phone of the whole browser suite signs in from 127.0.0.1: the per-address code limit (tested
    # in tests/integration/test_auth.py) would stop the suite once it has more than 20 sign-ins in an hour.
    port = _free_port()  # the public URL is the server's own: OpenID4VP response URIs are built from it
    settings = Settings(
        data_dir=data,
        face_provider="dlib",
        demo=False,
        otp_per_client_per_hour=1000,
        public_url=f"http://127.0.0.1:{port}",
    )
    container = bootstrap(settings, migrate=True)
    container.sms = LogSmsSender(dev_inbox=True)
    now = datetime.now(UTC)
    container.authority.init(at=now - timedelta(minutes=5))
    server = uvicorn.Server(
        uvicorn.Config(create_app(container), host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the eDL server did not start")
        time.sleep(0.05)
    yield LiveServer(f"http://127.0.0.1:{port}", container)
    server.should_exit = True
    thread.join(10)
    container.dispose()


CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    # this machine's network is closed: without these Chromium keeps trying to reach Google's hosts
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
"""How every browser in the tests is started (Debian's /usr/bin/chromium, headless)."""


# Package scope, not session: while sync_playwright is open its event loop is the running loop of the main thread,
# and every later test that calls asyncio.run() (the group-commit, rate-limit and CSRF tests) would fail with
# "asyncio.run() cannot be called from a running event loop". Closing it after the last browser test ends that.
@pytest.fixture(scope="package")
def playwright() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: `apt-get install chromium` (bash scripts/check does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="package")
def chromium(playwright: object) -> Iterator[object]:
    browser = playwright.chromium.launch(  # type: ignore[attr-defined]
        executable_path=str(CHROMIUM),
        headless=True,
        args=list(CHROMIUM_ARGS),
    )
    yield browser
    browser.close()


@pytest.fixture(scope="package")
def camera(playwright: object) -> Iterator[Callable[[Path], object]]:
    """Opens a Chromium whose camera is the video file given (Y4M, fixed when the browser starts, looping), so that
    getUserMedia on the page gets exactly those frames; one browser per file, closed at the end of the session."""
    started: dict[Path, object] = {}

    def launch(video: Path) -> object:
        if video not in started:
            started[video] = playwright.chromium.launch(  # type: ignore[attr-defined]
                executable_path=str(CHROMIUM),
                headless=True,
                args=[
                    *CHROMIUM_ARGS,
                    "--use-fake-device-for-media-stream",
                    "--use-fake-ui-for-media-stream",
                    f"--use-file-for-fake-video-capture={video}",
                ],
            )
        return started[video]

    yield launch
    for browser in started.values():
        browser.close()  # type: ignore[attr-defined]


@dataclass
class Shots:
    """Saves numbered screenshots of one test: test-artifacts/browser/<test>/<nn>-<step>.png."""

    folder: Path
    taken: list[Path] = field(default_factory=list)

    def __call__(self, page: object, step: str, *, full_page: bool = True) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{len(self.taken) + 1:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=full_page)  # type: ignore[attr-defined]
        self.taken.append(path)
        return path


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    return Shots(ARTIFACTS / request.node.name)


@pytest.fixture
def phone(chromium: object) -> Iterator[object]:
    """A fresh phone-sized browser context (its own cookies), Chinese first."""
    context = chromium.new_context(viewport=PHONE, locale="zh-CN", device_scale_factor=2)  # type: ignore[attr-defined]
    context.set_default_timeout(20_000)
    yield context
    context.close()


@pytest.fixture
def desk(chromium: object) -> Iterator[object]:
    """A desktop-sized context for the staff console."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")  # type: ignore[attr-defined]
    context.set_default_timeout(20_000)
    yield context
    context.close()


# --- active liveness on Chromium's fake camera ---------------------------------------------------------------------

LIVENESS_SEED = 2
"""`random.Random(LIVENESS_SEED)` draws turn left, blink, turn right: the challenge every camera video is made for
(`run_liveness` puts that generator in the server before starting the check)."""
LIVENESS_PHONE = {"width": 375, "height": 812}
SEQUENCES = ("genuine", "still", "registry_photo", "flat_print", "bent_print", "wrong_order", "other_person")
"""What a camera video can show: the holder doing the challenge, or an attack (tests/liveness_synth.py)."""
VIDEO_FPS = 20
VIDEO_LEAD_MS = 1100
"""Frontal frames before the challenge's timeline starts in the video. liveness.js starts its timeline LEAD_MS
(1000 ms) after the preview's first `playing` event; the fake camera's first frame comes with that event (the lag
below does not follow the 10-320 ms that getUserMedia takes). With 1100 ms the page's frames show the video 40-120 ms
behind the page's timeline (median ~60 ms, on an idle or a fully loaded 2-core machine: `LivenessRun.timing`); the
genuine sequence passes for any lag from -400 to +350 ms (the same frames through a 4:2:0 + JPEG chain, offline)."""
VIDEO_TAIL_MS = 2000
"""Frontal frames after the timeline, so that a late start still ends on a still face (the file loops)."""
STAMP_BLOCKS, STAMP_SIZE = 10, 8
"""The frame index, in binary, as 10 blocks of 8×8 px along the bottom-right corner of each frame."""
START = "[data-liveness] [data-action=start]"


def liveness_actions() -> tuple[Action, ...]:
    return draw_actions(random.Random(LIVENESS_SEED))


def _variation(person: str, kind: str) -> Any:
    """How each sequence is filmed: the synth's defaults; a print is turned further (40°: a flat picture reads as
    less of a turn), with a seed whose landmark noise never passes for a blink (with some seeds it does, and the print
    is then refused as flat instead of for the missing blink)."""
    from tests import liveness_synth as synth

    if kind in ("flat_print", "bent_print"):
        return synth.Variation(peak_yaw=40.0, seed=1)
    return synth.Variation()


def _stamp(frame: np.ndarray, index: int) -> np.ndarray:
    out = frame.copy()
    h, w = out.shape[:2]
    x0, y0 = w - STAMP_BLOCKS * STAMP_SIZE, h - STAMP_SIZE
    for bit in range(STAMP_BLOCKS):
        on = (index >> (STAMP_BLOCKS - 1 - bit)) & 1
        out[y0:h, x0 + bit * STAMP_SIZE : x0 + (bit + 1) * STAMP_SIZE] = 235 if on else 20
    return out


def render_sequence(person: str, kind: str) -> list[np.ndarray]:
    """The camera's frames (RGB, VIDEO_FPS) for `kind` by `person`, answering the LIVENESS_SEED challenge: frame i is
    at time i/VIDEO_FPS - VIDEO_LEAD_MS of the challenge's timeline. Live heads (genuine, wrong order, the other
    person) are rendered at every frame's time; the attacks that only come as bursts at the challenge's frame times
    (still, registry photo, prints) hold each burst frame from halfway after the previous frame time to halfway
    before the next, so that a grab a little early or late still sees the frame meant for its time."""
    from tests import liveness_synth as synth

    if kind not in SEQUENCES:
        raise ValueError(f"unknown sequence {kind!r}")
    actions, v = liveness_actions(), _variation(person, kind)
    count = math.ceil((VIDEO_LEAD_MS + capture_ms(actions) + VIDEO_TAIL_MS) * VIDEO_FPS / 1000)
    grid = [round(i * 1000 / VIDEO_FPS) - VIDEO_LEAD_MS for i in range(count)]
    if kind in ("genuine", "wrong_order", "other_person"):
        who = next(p for p in synth.PERSONS if p != person) if kind == "other_person" else person
        acted = synth.reordered(actions) if kind == "wrong_order" else actions
        frames = synth.genuine(who, acted, v, times=grid).frames
    else:
        burst = {
            "still": lambda: synth.attack_still(person, actions, v),
            "registry_photo": lambda: synth.attack_registry_photo(person, actions, v),
            "flat_print": lambda: synth.attack_flat_print(person, actions, v, bend=0.0),
            "bent_print": lambda: synth.attack_flat_print(person, actions, v, bend=0.6),
        }[kind]()
        bounds = [(a + b) / 2 for a, b in zip(burst.times_ms, burst.times_ms[1:], strict=False)]
        frames = [burst.frames[sum(t >= b for b in bounds)] for t in grid]
    return [_stamp(frame, i) for i, frame in enumerate(frames)]


@pytest.fixture(scope="session")
def liveness_video(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, str], Path]:
    """`liveness_video(person, kind)`: the Y4M file of `render_sequence(person, kind)`, made once per session."""
    from tests import liveness_synth as synth

    folder = tmp_path_factory.mktemp("liveness-videos")

    def make(person: str, kind: str = "genuine") -> Path:
        path = folder / f"{person}-{kind}.y4m"
        if not path.exists():
            synth.write_y4m(render_sequence(person, kind), path, fps=VIDEO_FPS)
        return path

    return make


PROBE_JS = """(() => {
  const grabs = (window.__edlGrabs = []);
  const marks = (window.__edlMarks = {});
  const draw = CanvasRenderingContext2D.prototype.drawImage;
  CanvasRenderingContext2D.prototype.drawImage = function (source, ...rest) {
    const result = draw.call(this, source, ...rest);
    if (source instanceof HTMLVideoElement) {
      const k = this.canvas.width / source.videoWidth, size = STAMP_SIZE, blocks = STAMP_BLOCKS;
      const x0 = source.videoWidth - blocks * size, y = source.videoHeight - size / 2;
      let index = 0;
      for (let bit = 0; bit < blocks; bit++) {
        const px = this.getImageData(Math.floor((x0 + bit * size + size / 2) * k), Math.floor(y * k), 1, 1).data;
        index = index * 2 + (px[0] > 127 ? 1 : 0);
      }
      grabs.push({ now: performance.now(), frame: index });
      sessionStorage.setItem("edlProbe", JSON.stringify({ grabs, marks }));
    }
    return result;
  };
  const media = navigator.mediaDevices;
  if (media && media.getUserMedia) {
    const open = media.getUserMedia.bind(media);
    media.getUserMedia = (constraints) => {
      marks.open = performance.now();
      return open(constraints).then((stream) => {
        marks.opened = performance.now();
        return stream;
      });
    };
  }
  document.addEventListener("playing", () => { marks.playing = marks.playing || performance.now(); }, true);
})();""".replace("STAMP_SIZE", str(STAMP_SIZE)).replace("STAMP_BLOCKS", str(STAMP_BLOCKS))
"""Records, in the page, when the camera was opened and started playing, and for every frame liveness.js grabs
(drawImage of the preview) when it was grabbed and which video frame it saw (the stamp); kept in sessionStorage,
since a passed check navigates away."""


@pytest.fixture
def liveness_phone(camera: Callable[[Path], object], liveness_video: Callable[[str, str], Path]) -> Iterator[Any]:
    """`liveness_phone(person, kind)`: a new page in a fresh phone context (375×812, zh-CN, 2× pixels) of a Chromium
    whose camera plays `liveness_video(person, kind)`."""
    contexts: list[Any] = []

    def open_page(person: str, kind: str = "genuine") -> Any:
        browser: Any = camera(liveness_video(person, kind))
        context = browser.new_context(
            viewport=LIVENESS_PHONE, locale="zh-CN", device_scale_factor=2, permissions=["camera"]
        )
        context.set_default_timeout(20_000)
        context.add_init_script(PROBE_JS)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@dataclass
class Grab:
    at_ms: int
    """The frame's time as the page sent it (ms since the capture began)."""
    frame: int
    """The video frame it saw (its stamp)."""

    @property
    def video_ms(self) -> int:
        """Where that frame is on the challenge's timeline."""
        return round(self.frame * 1000 / VIDEO_FPS) - VIDEO_LEAD_MS

    @property
    def lag_ms(self) -> int:
        """How far the video was behind the page's timeline (positive: the page saw an older moment)."""
        return self.at_ms - self.video_ms


@dataclass
class LivenessRun:
    """One check as the page ran it: the server's answer, what the page showed, and the timing of its frames."""

    ok: bool
    error: str
    status: str
    grabs: list[Grab]
    marks: dict[str, float]
    audit: dict[str, Any]
    """The face_auth audit entry's detail (outcome, distance, the rule that refused)."""

    def timing(self) -> str:
        windows = timeline(liveness_actions())
        lines = [f"{'page ms':>8} {'video ms':>9} {'lag':>5}  window"]
        for g in self.grabs:
            window = next((w for w in windows if g.at_ms < w.end_ms), None)
            name = "tail" if window is None else (window.action or "frontal")
            lines.append(f"{g.at_ms:8d} {g.video_ms:9d} {g.lag_ms:5d}  {name}")
        lags = [g.lag_ms for g in self.grabs]
        if lags:
            lines.append(f"lag: median {statistics.median(lags):.0f} ms, min {min(lags)}, max {max(lags)}")
        m = self.marks
        if {"open", "opened", "playing"} <= m.keys() and self.grabs:
            lines.append(
                f"getUserMedia took {m['opened'] - m['open']:.0f} ms, first 'playing' {m['playing'] - m['open']:.0f} "
                f"ms after the call"
            )
        lines.append(f"server: {self.audit}")
        return "\n".join(lines)


def _posted_times(body: bytes) -> list[int]:
    found = re.search(rb'name="times"\r\n\r\n([0-9,]*)\r\n', body)
    return [int(t) for t in found.group(1).split(b",")] if found and found.group(1) else []


def run_liveness(
    server: LiveServer,
    page: Any,
    shots: Shots | None = None,
    *,
    prompts: tuple[tuple[str, str, int], ...] = (),
    on_prompt: Callable[[Any, str], None] | None = None,
) -> LivenessRun:
    """Press "开始认证" with the LIVENESS_SEED challenge and wait for the outcome: on a pass, the page the server
    sends the holder to; on a refusal, the message in the block's status line. `prompts` are (prompt text, step,
    delay ms): `delay` after each prompt shows, `on_prompt(page, step)` and a screenshot of the viewport as the holder
    sees it (liveness.js scrolls the preview into view)."""
    server.container.liveness_rng = random.Random(LIVENESS_SEED)
    bodies: list[bytes] = []
    replies: list[dict[str, Any]] = []

    def intercept(route: Any) -> None:  # the answer's body is gone once the page navigates: keep a copy
        if route.request.method != "POST":
            route.fallback()
            return
        bodies.append(route.request.post_data_buffer or b"")
        response = route.fetch(timeout=120_000)
        replies.append(response.json())
        route.fulfill(response=response)

    posts = re.compile(r".*/app/(bind|verify-face)(\?.*)?$")
    document = page.evaluate("sessionStorage.removeItem('edlProbe'), performance.timeOrigin")
    page.route(posts, intercept)
    try:
        page.click(START)
        for text, step, delay in prompts:
            page.wait_for_function(
                "t => document.querySelector('[data-liveness] .liveness-prompt').textContent === t",
                arg=text,
                polling=40,
                timeout=30_000,
            )
            page.wait_for_timeout(delay)
            if on_prompt is not None:
                on_prompt(page, step)
            if shots is not None:
                shots(page, step, full_page=False)
        deadline = time.monotonic() + 120
        while not replies:
            if time.monotonic() > deadline:
                status = page.locator("[data-liveness] .liveness-status").inner_text()
                raise AssertionError(f"no answer to the liveness burst; the page says {status!r}")
            page.wait_for_timeout(100)
    finally:
        page.unroute(posts, intercept)
    reply = replies[-1]
    with server.container.sessions() as s:
        row = s.scalar(sa.select(AuditRow).where(AuditRow.action == "face_auth").order_by(AuditRow.id.desc()).limit(1))
        audit = dict(row.detail) if row is not None else {}
    if reply.get("ok"):
        deadline = time.monotonic() + 30
        while True:  # liveness.js navigates to `redirect`: wait for the new document
            try:
                if page.evaluate("performance.timeOrigin") != document:
                    break
            except Exception:  # the old document went away mid-call
                pass
            if time.monotonic() > deadline:
                raise AssertionError("the page did not move on after a passed check")
            page.wait_for_timeout(50)
        page.wait_for_load_state()
        status = ""
    else:
        status = page.locator("[data-liveness] .liveness-status.capture-error").inner_text(timeout=20_000)
    probe = page.evaluate("JSON.parse(sessionStorage.getItem('edlProbe') || '{}')")
    times = _posted_times(bodies[-1]) if bodies else []
    grabs = [Grab(t, int(g["frame"])) for t, g in zip(times, probe.get("grabs", []), strict=False)]
    marks = probe.get("marks", {})
    run = LivenessRun(bool(reply.get("ok")), str(reply.get("error", "")), status, grabs, marks, audit)
    if shots is not None:
        shots.folder.mkdir(parents=True, exist_ok=True)
        (shots.folder / "liveness-timing.txt").write_text(run.timing() + "\n", encoding="utf-8")
    print(run.timing())
    return run
