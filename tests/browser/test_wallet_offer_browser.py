"""The OpenID4VCI offer page in real Chromium (issue 15): from the licence page to 添加到其他数字钱包, the offer as a
QR code, a link and the 6-digit code, on a phone (375 px), in Chinese and English, with no serious or critical axe
violation and no sideways scroll. A driver whose real-person authentication is not fresh is sent through it first.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from edl.issuance.elicences import issue_elicence
from tests.browser.conftest import LiveServer, Shots
from tests.browser.test_accessibility import FAILING, run_axe, sideways, small_targets
from tests.workflow import ScriptedFaceVerifier, capture, seed_account, seed_licence

pytestmark = pytest.mark.browser


def _driver(server: LiveServer, sequence: int, mobile: str, *, face_check: bool) -> None:
    c = server.container
    now = datetime.now(UTC)
    number = seed_licence(c, now, sequence=sequence, area="120104", name="钱包测试")
    issue_elicence(c.sessions, c.issuer, number, actor="test", at=c.clock())
    account = seed_account(c, now, number=number, mobile=mobile)
    if face_check:
        before = c.__dict__.get("face_verifier")
        c.face_verifier = ScriptedFaceVerifier()
        try:
            assert c.face_checks.authenticate(account, capture(c, account, at=now), at=now).passed
        finally:
            if before is None:
                c.__dict__.pop("face_verifier", None)
            else:
                c.face_verifier = before


def _phone(chromium: Any) -> Any:
    context = chromium.new_context(
        viewport={"width": 375, "height": 812}, locale="zh-CN", bypass_csp=True, device_scale_factor=2
    )
    context.set_default_timeout(20_000)
    return context


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_offer_page_shows_a_qr_code_a_link_and_the_code_on_a_phone(
    live_server: LiveServer, chromium: Any, shots: Shots, lang: str
) -> None:
    mobile = "1365770000" + ("1" if lang == "zh" else "3")
    _driver(live_server, 871 if lang == "zh" else 873, mobile, face_check=True)
    context = _phone(chromium)
    try:
        page = context.new_page()
        live_server.sign_in(page, mobile)
        page.goto(f"{live_server.url}/app/licence?lang={lang}")
        page.click("details.licence-more summary")  # 更多: downloads, photo change, other wallets
        page.click("[data-wallet-offer]")
        page.wait_for_url(re.compile(r".*/app/wallet-offer$"))
        assert page.locator("form button[type=submit]").is_visible()
        shots(page, f"offer-start-{lang}")
        page.click("form button[type=submit]")
        page.wait_for_selector("[data-offer-qr] svg")
        shots(page, f"offer-shown-{lang}")
        assert page.get_attribute("[data-offer-link]", "href").startswith(
            "openid-credential-offer://?credential_offer="
        )
        assert re.fullmatch(r"\d{6}", page.inner_text("[data-tx-code]").strip())
        box = page.locator("[data-offer-qr] svg").bounding_box()
        assert box is not None and 200 <= box["width"] <= 375
        violations = [v for v in run_axe(page) if v["impact"] in FAILING]
        assert not violations, violations
        assert sideways(page) == 0
        assert not small_targets(page)
    finally:
        context.close()


def test_a_stale_real_person_check_sends_the_driver_through_it_first(live_server: LiveServer, chromium: Any) -> None:
    mobile = "13657700005"
    _driver(live_server, 875, mobile, face_check=False)
    context = _phone(chromium)
    try:
        page = context.new_page()
        live_server.sign_in(page, mobile)
        page.goto(f"{live_server.url}/app/wallet-offer")
        page.wait_for_url(re.compile(r".*/app/verify-face\?next=/app/wallet-offer$"))
    finally:
        context.close()
