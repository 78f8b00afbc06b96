"""Browser tests: a real eDL server (Uvicorn, in a thread, SQLite in a temp data dir) and Debian's Chromium driven
by Playwright. Screenshots of every page go to test-artifacts/browser/ (kept by CI as artifacts).

Real parts throughout: dlib face comparison, the automatic photo checks, the PKI and mdoc issuance. The SMS code is
read from the server's development sender (the only outside service, SMS, is the built-in log sender).
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edl.accounts.sms import LogSmsSender
from edl.bootstrap import Container, bootstrap
from edl.config import Settings

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

    def sms_code(self, mobile: str) -> str:
        sms = self.container.sms
        assert isinstance(sms, LogSmsSender)
        message = sms.last_to(mobile)
        assert message is not None, f"no SMS to {mobile}"
        found = re.search(r"\b(\d{6})\b", message.text)
        assert found, message.text
        return found.group(1)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    import uvicorn

    from edl.web.app import create_app

    data = tmp_path_factory.mktemp("browser") / "data"
    settings = Settings(data_dir=data, face_provider="dlib", demo=False)
    container = bootstrap(settings, migrate=True)
    container.sms = LogSmsSender(dev_inbox=True)
    now = datetime.now(UTC)
    container.authority.init(at=now - timedelta(minutes=5))
    port = _free_port()
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


@pytest.fixture(scope="session")
def playwright() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: `apt-get install chromium` (bash scripts/check does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def chromium(playwright: object) -> Iterator[object]:
    browser = playwright.chromium.launch(  # type: ignore[attr-defined]
        executable_path=str(CHROMIUM),
        headless=True,
        args=list(CHROMIUM_ARGS),
    )
    yield browser
    browser.close()


@pytest.fixture(scope="session")
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

    def __call__(self, page: object, step: str) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{len(self.taken) + 1:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
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
