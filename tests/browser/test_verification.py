"""Showing the code and checking it, in real Chromium against a real server.

The holder signs in and shows the code (亮码); a screenshot of the QR element is what a relying party uploads on the
verifier page (/verify), signed in with its API key: valid for a rental desk (and no address on the page), valid with
the address for the police; the same screenshot after the code expired (the server's clock moved on) is refused as
expired; after a 暂扣 entered in the registry, a code made before it is refused as suspended. The phone camera path is
driven with Chromium's fake camera fed the same screenshot, through the bundled reader (static/vendor/zxing.min.js).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edl.db.session import transaction
from edl.domain import Status
from edl.verification.purposes import Purpose
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE, LiveServer, Shots
from tests.workflow import seed_account, seed_licence

pytestmark = pytest.mark.browser

ADDRESS = "天津市和平区南京路100号"
"""The address tests.factories gives every licence."""
CODE_PAGE = "/app/licence"
QR = "[data-live-qr] svg"
"""The live code's QR on the holder's licence page (refreshed by livecode.js)."""
_seq = itertools.count(701, 2)
_mobiles = itertools.count(13700000001)


def holder_with_elicence(server: LiveServer, name: str) -> tuple[str, str]:
    """A registry licence with an issued e-licence and an account bound to it: (licence number, mobile)."""
    from edl.issuance.elicences import issue_elicence

    c = server.container
    now = datetime.now(UTC)
    number = seed_licence(c, now, sequence=next(_seq), name=name)
    issue_elicence(c.sessions, c.issuer, number, actor="test", at=c.clock())
    mobile = str(next(_mobiles))
    seed_account(c, now, number=number, mobile=mobile)
    return number, mobile


def party_key(server: LiveServer, purpose: Purpose, name: str) -> str:
    from edl.verification.parties import register_party

    with transaction(server.container.sessions) as s:
        _party, key = register_party(s, name=name, purpose=purpose, actor="test", at=datetime.now(UTC))
    return key


def show_code(server: LiveServer, page, shots: Shots, mobile: str) -> Path:  # type: ignore[no-untyped-def]
    """The holder opens the code page; a screenshot of the QR element (what a phone camera would see)."""
    server.sign_in(page, mobile)
    page.goto(f"{server.url}{CODE_PAGE}")
    qr = page.locator(QR).first
    qr.wait_for(state="visible")
    shots(page, "holder-code")
    shot = shots.folder / f"qr-{mobile}.png"
    qr.screenshot(path=str(shot))
    return shot


def party_sign_in(server: LiveServer, page, shots: Shots, key: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{server.url}/verify")
    shots(page, "verifier-sign-in")
    page.fill("input[name=key]", key)
    page.click("form button[type=submit]")
    page.wait_for_selector("#upload-title")


def upload(page, shots: Shots, image: Path, step: str):  # type: ignore[no-untyped-def]
    page.set_input_files("input[name=image]", str(image))
    page.locator("form.upload-form button[type=submit]").click()
    page.wait_for_selector("#result")
    shots(page, step)
    return page.locator("#result")


@contextmanager
def clock_moved(server: LiveServer, delta: timedelta) -> Iterator[None]:
    container = server.container
    before = container.clock
    container.clock = lambda: datetime.now(UTC) + delta
    try:
        yield
    finally:
        container.clock = before


def test_the_holder_code_verifies_by_upload_then_expires(  # type: ignore[no-untyped-def]
    live_server: LiveServer, chromium, phone, desk, shots: Shots
) -> None:
    _number, mobile = holder_with_elicence(live_server, "钱学森")
    shot = show_code(live_server, phone.new_page(), shots, mobile)

    rental = chromium.new_context(viewport=PHONE, locale="zh-CN")  # the rental desk's phone
    rental.set_default_timeout(20_000)
    try:
        page = rental.new_page()
        party_sign_in(live_server, page, shots, party_key(live_server, Purpose.RENTAL, "神州租车"))
        assert "神州租车" in page.inner_text("main")
        result = upload(page, shots, shot, "rental-valid")
        assert result.get_attribute("data-valid") == "true"
        assert "有效" in result.inner_text() and "钱学森" in result.inner_text()
        assert ADDRESS not in page.content(), "a rental party never sees the address"
        assert "result-ok" in (result.locator(".result-headline").get_attribute("class") or "")

        with clock_moved(live_server, timedelta(minutes=10)):
            page.goto(f"{live_server.url}/verify")
            result = upload(page, shots, shot, "rental-expired")
        assert result.get_attribute("data-valid") == "false"
        text = result.inner_text()
        assert "无效" in text and "已过期" in text
        assert ADDRESS not in page.content()
    finally:
        rental.close()

    police = desk.new_page()
    party_sign_in(live_server, police, shots, party_key(live_server, Purpose.POLICE, "和平交警支队"))
    result = upload(police, shots, shot, "police-valid")
    assert result.get_attribute("data-valid") == "true"
    assert ADDRESS in result.inner_text(), "law enforcement sees every field"


def test_a_suspension_in_the_registry_shows_suspended(live_server: LiveServer, phone, desk, shots: Shots) -> None:  # type: ignore[no-untyped-def]
    from edl.registry.events import set_status

    number, mobile = holder_with_elicence(live_server, "邓稼先")
    shot = show_code(live_server, phone.new_page(), shots, mobile)
    with transaction(live_server.container.sessions) as s:
        set_status(s, number, Status.SUSPENDED, actor="test", at=datetime.now(UTC))  # 暂扣 D, after the code was made

    page = desk.new_page()
    party_sign_in(live_server, page, shots, party_key(live_server, Purpose.RENTAL, "一嗨租车"))
    result = upload(page, shots, shot, "suspended")
    assert result.get_attribute("data-valid") == "false"
    assert result.get_attribute("data-status") == "suspended"
    assert "暂扣" in result.inner_text()


def _y4m(png: Path, out: Path, size: int = 480) -> Path:
    """The screenshot as a short Y4M video (what Chromium's fake camera plays), centred on white."""
    from PIL import Image

    qr = Image.open(png).convert("RGB")
    qr.thumbnail((size * 3 // 4, size * 3 // 4))
    frame = Image.new("RGB", (size, size), "white")
    frame.paste(qr, ((size - qr.width) // 2, (size - qr.height) // 2))
    y, u, v = frame.convert("YCbCr").split()
    half = (size // 2, size // 2)
    planes = y.tobytes() + u.resize(half).tobytes() + v.resize(half).tobytes()
    with out.open("wb") as f:
        f.write(f"YUV4MPEG2 W{size} H{size} F5:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(5):
            f.write(b"FRAME\n" + planes)
    return out


def test_the_camera_reads_the_code_with_the_bundled_reader(  # type: ignore[no-untyped-def]
    live_server: LiveServer, chromium, phone, shots: Shots
) -> None:
    _number, mobile = holder_with_elicence(live_server, "华罗庚")
    shot = show_code(live_server, phone.new_page(), shots, mobile)
    video = _y4m(shot, shots.folder / "camera.y4m")
    key = party_key(live_server, Purpose.RENTAL, "首汽租车")

    # A second browser of the same Playwright driver, whose camera plays the screenshot.
    browser = chromium.browser_type.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=[
            *CHROMIUM_ARGS,
            "--disable-quic",
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        context = browser.new_context(viewport=PHONE, locale="zh-CN", permissions=["camera"])
        context.set_default_timeout(20_000)
        page = context.new_page()
        fetched: list[str] = []
        page.on("request", lambda request: fetched.append(request.url))
        party_sign_in(live_server, page, shots, key)
        page.locator("#camera").wait_for(state="visible")  # with JavaScript the camera scanner is offered
        assert page.locator("#camera").is_visible()
        assert page.evaluate("typeof window.EDLZXing.decodeCanvas") == "function"
        page.click("#camera-toggle")
        # (a loaded 2-core machine decodes the fake camera's frames slowly: wait longer than the page default)
        try:
            page.wait_for_selector("#result", timeout=90_000)
        except Exception:  # say what the page showed instead (a scan error, or nothing read)
            shots(page, "camera-no-result")
            state = page.locator("#camera .camera-state").inner_text()
            raise AssertionError(f"the camera scan gave no result; the page said: {state!r}") from None
        shots(page, "camera-valid")
        result = page.locator("#result")
        assert result.get_attribute("data-valid") == "true"
        assert "华罗庚" in result.inner_text()
        assert ADDRESS not in page.content()
        assert any("/static/vendor/zxing_reader.wasm?v=" in url for url in fetched), "the module, from our origin"
        assert all(url.startswith(live_server.url) for url in fetched), "nothing is fetched from anywhere else"
    finally:
        browser.close()


SWEEP = """async ([src, frame, sizes]) => {
  const image = new Image(); image.src = src; await image.decode();
  const out = [];
  for (const size of sizes) {
    const canvas = document.createElement("canvas"); canvas.width = frame; canvas.height = frame;
    const g = canvas.getContext("2d"); g.fillStyle = "white"; g.fillRect(0, 0, frame, frame);
    const k = size / Math.max(image.width, image.height);
    const w = Math.round(image.width * k), h = Math.round(image.height * k);
    g.drawImage(image, (frame - w) / 2, (frame - h) / 2, w, h);
    const found = await window.EDLZXing.decodeCanvas(canvas);
    out.push(found ? found.format + ":" + found.text : null);
  }
  return out;
}"""


def test_the_bundled_reader_reads_holder_codes_at_any_distance(  # type: ignore[no-untyped-def]
    live_server: LiveServer, phone, desk, shots: Shots
) -> None:
    """The holder page's screenshot and 7 more real codes of the same e-licence (each with its own nonce, so its
    own QR pattern), drawn into camera-sized frames at 22 sizes (a phone held nearer or farther): the page's reader
    reads every one. (@zxing/library 0.21, the reader bundled first, missed some version-10 codes at about half of
    these sizes, which made the camera scan hang on them; ZXing-C++ reads them all.)"""
    import base64

    from edl.issuance.livecodes import make_live_code
    from edl.rendering.codes import qr_png

    number, mobile = holder_with_elicence(live_server, "茅以升")
    shot = show_code(live_server, phone.new_page(), shots, mobile)
    images = [shot.read_bytes()]
    with transaction(live_server.container.sessions) as s:
        texts = [
            make_live_code(s, live_server.container.code_maker, number, at=datetime.now(UTC)).text for _ in range(7)
        ]
    images += [qr_png(text, scale=6) for text in texts]
    page = desk.new_page()
    party_sign_in(live_server, page, shots, party_key(live_server, Purpose.POLICE, "和平交警"))
    sizes = list(range(140, 470, 15))
    for index, (image, made) in enumerate(zip(images, [None, *texts], strict=True)):
        src = "data:image/png;base64," + base64.b64encode(image).decode()
        read = page.evaluate(SWEEP, [src, 480, sizes])
        missed = [size for size, text in zip(sizes, read, strict=True) if not text]
        assert not missed, f"code {index} not read at {missed} px of a 480 px frame"
        assert len(set(read)) == 1 and read[0].startswith("qr:EDL1:"), "one QR code, read the same at every size"
        assert made is None or read[0] == f"qr:{made}", "read as it was made"
