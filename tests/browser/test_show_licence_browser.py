"""亮码 in real Chromium (phone-sized): livecode.js counts down, renews the QR (the big one and the front page's) on
request, and when the code lapses while offline says "已过期，请刷新" and blurs the QR so it cannot be scanned.

The browser's clock is Playwright's fake clock, so nothing waits for real minutes. Fixtures come from
tests/browser/conftest.py (a live Uvicorn server and /usr/bin/chromium; skipped when Chromium is missing).
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from typing import Any

import pytest
import zxingcpp
from PIL import Image

from edl.issuance.elicences import issue_elicence
from tests.browser.conftest import LiveServer
from tests.workflow import seed_account, seed_licence

pytestmark = pytest.mark.browser
LEFT = re.compile(r"剩余 0[23]:\d\d")


def qr_text(png: bytes) -> str | None:
    found = [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png))) if r.format.name == "QRCode"]
    return found[0] if found else None


def test_the_live_code_counts_down_renews_and_lapses_offline(live_server: LiveServer, phone: Any) -> None:
    c = live_server.container
    now = datetime.now(UTC)
    number = seed_licence(c, now, sequence=901, name="亮码测试")
    issue_elicence(c.sessions, c.issuer, number, actor="test", at=now)
    mobile = "13700137901"
    seed_account(c, now, number=number, mobile=mobile)
    page = phone.new_page()
    page.clock.install()
    live_server.sign_in(page, mobile)
    page.goto(f"{live_server.url}/app/licence")
    countdown = page.locator("[data-code-countdown]")
    countdown.wait_for(state="visible")
    page.clock.run_for(1000)
    assert LEFT.fullmatch(countdown.inner_text()), countdown.inner_text()
    first = qr_text(page.locator(".live-qr").screenshot())
    assert first and first.startswith("EDL1:")

    with page.expect_response("**/app/licence/code"):
        page.click("[data-code-refresh]")
    page.clock.run_for(600)
    second = qr_text(page.locator(".live-qr").screenshot())
    assert second and second.startswith("EDL1:") and second != first
    page.click("#tab-front")  # the front page is its own view (tab)
    assert qr_text(page.locator("#front").screenshot()) == second, "the front page's QR is renewed too"
    page.click("#tab-code")

    phone.set_offline(True)
    page.clock.run_for(200_000)  # past the 180 s lifetime; the renewals fail offline
    assert countdown.inner_text() == "已过期，请刷新"
    assert "code-expired" in (page.locator(".live-qr").get_attribute("class") or "")
    assert qr_text(page.locator(".live-qr").screenshot()) is None, "a lapsed code is not scannable"

    phone.set_offline(False)
    with page.expect_response("**/app/licence/code"):
        page.click("[data-code-refresh]")
    page.clock.run_for(600)
    assert LEFT.fullmatch(countdown.inner_text()), countdown.inner_text()
    assert "code-expired" not in (page.locator(".live-qr").get_attribute("class") or "")


def test_the_front_page_barcode_number_renews_with_the_code_and_old_numbers_lapse(
    live_server: LiveServer, phone: Any
) -> None:
    """The 1D barcode carries a short-lived number: a renewal a time step later shows a new number (printed and in
    the bars), and the API refuses the old one as expired once two steps have passed (issue 11)."""
    from datetime import timedelta

    from edl.credentials.barcode import BarcodeRefused

    c = live_server.container
    now = datetime.now(UTC)
    number = seed_licence(c, now, sequence=903, name="条码测试")
    issue_elicence(c.sessions, c.issuer, number, actor="test", at=now)
    mobile = "13700137903"
    seed_account(c, now, number=number, mobile=mobile)
    page = phone.new_page()
    page.clock.install()
    live_server.sign_in(page, mobile)
    page.goto(f"{live_server.url}/app/licence")
    bar = page.locator("#front [data-live-bar-number]")
    bar.wait_for(state="attached")
    first = re.sub(r"\D", "", bar.text_content() or "")
    assert len(first) == 24, first
    step = c.settings.barcode_step_seconds
    real_clock = c.clock
    try:
        c.clock = lambda: datetime.now(UTC) + timedelta(seconds=step)  # the server a step later
        with page.expect_response("**/app/licence/code"):
            page.click("[data-code-refresh]")
        page.clock.run_for(600)
        second = re.sub(r"\D", "", bar.text_content() or "")
        assert len(second) == 24 and second != first, "a renewal a step later carries a new barcode number"
        page.click("#tab-front")  # the front page is its own view (tab)
        bars = [
            r.text
            for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(page.locator("#front").screenshot())))
            if r.format.name == "Code128"
        ]
        assert bars == [second], "the bars carry the number printed under them"
        later = datetime.now(UTC) + timedelta(seconds=3 * step)
        with pytest.raises(BarcodeRefused) as refused:
            c.barcodes.read(first, at=later)
        assert refused.value.code == "barcode_expired"
    finally:
        c.clock = real_clock
