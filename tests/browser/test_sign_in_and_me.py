"""The driver's way in and "我的" in real Chromium at 375 px (issue 13, item 3): large fields and one primary action
on the sign-in pages, the privacy consent box, the resend countdown (disabled until the server would send again),
the 我的 tab with its tap targets, and signing out.

The browser's clock is Playwright's fake clock, so the 60 s countdown takes no real minute; the server's clock is
moved on by the same amount before the resend, as the throttle counts in server time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from edl.web.masking import mask_number
from tests.browser.conftest import LiveServer, Shots
from tests.workflow import seed_account, seed_licence

pytestmark = pytest.mark.browser
WIDTH = 375
MIN_TAP = 44


@pytest.fixture
def small_phone(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": WIDTH, "height": 812}, locale="zh-CN", device_scale_factor=2)
    context.set_default_timeout(20_000)
    yield context
    context.close()


def box(page: Any, selector: str) -> dict[str, float]:
    found = page.locator(selector).first.bounding_box()
    assert found, f"{selector} is not shown"
    return found  # type: ignore[no-any-return]


def assert_large_and_full_width(page: Any, selector: str) -> None:
    """At least 44 px tall and as wide as its form (which fills the card on a phone)."""
    own = box(page, selector)
    form = page.locator(selector).first.evaluate("e => e.closest('form').getBoundingClientRect().width")
    assert own["height"] >= MIN_TAP, f"{selector} is {own['height']:.0f} px tall"
    assert own["width"] >= form - 1 and own["width"] >= WIDTH - 64, f"{selector} is {own['width']:.0f} px wide"


def small_targets(page: Any, scope: str) -> list[str]:
    """Links, buttons and checkboxes (their label counts) in `scope` smaller than 44 px in height."""
    found: list[str] = page.evaluate(
        """([scope, min]) => [...document.querySelectorAll(scope)].flatMap(root =>
             [...root.querySelectorAll('a, button, input[type=checkbox]')].filter(e => e.offsetParent !== null)
               .map(e => e.type === 'checkbox' ? e.closest('label') || e : e)
               .filter(e => e.getBoundingClientRect().height < min)
               .map(e => `${e.tagName} "${e.textContent.trim()}" ${e.getBoundingClientRect().height}px`))""",
        [scope, MIN_TAP],
    )
    return found


def primary_buttons(page: Any) -> int:
    """Visible submit buttons in <main> drawn as the primary action (filled, not secondary or link-styled)."""
    count: int = page.evaluate(
        """() => [...document.querySelectorAll('main button')].filter(b => b.offsetParent !== null
             && !b.matches('.button-secondary, .button-link')).length"""
    )
    return count


def no_sideways_scroll(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH


def test_sign_in_pages_have_large_fields_one_primary_action_consent_and_a_countdown(
    live_server: LiveServer, small_phone: Any, shots: Shots
) -> None:
    mobile = "13700137021"
    sms = live_server.sms_code
    page = small_phone.new_page()
    page.clock.install()
    page.goto(f"{live_server.url}/app/sign-in")
    shots(page, "sign-in")
    assert_large_and_full_width(page, "input[name=mobile]")
    assert_large_and_full_width(page, "main form button[type=submit]")
    assert primary_buttons(page) == 1
    assert small_targets(page, "main") == [] and small_targets(page, "header") == []
    no_sideways_scroll(page)
    assert page.locator("header a[href$='/registry']").count() == 0, "no staff registry chrome"

    for path in ("/privacy", "/privacy?lang=en", "/app/sign-in?lang=en", "/app/sign-in?lang=zh"):
        page.goto(f"{live_server.url}{path}")
        no_sideways_scroll(page)
        assert small_targets(page, "main") == [] and small_targets(page, "header") == [], path
        shots(page, re.sub(r"[^a-z]+", "-", path.strip("/")))

    page.fill("input[name=mobile]", mobile)
    page.click("main form button[type=submit]")  # the consent box is required: the browser refuses the form
    assert "/app/sign-in/code" not in page.url
    page.check("input[name=consent]")
    page.click("main form button[type=submit]")
    page.wait_for_selector("input[name=code]")
    shots(page, "code")
    assert_large_and_full_width(page, "input[name=code]")
    assert_large_and_full_width(page, "main form:has(input[name=code]) button[type=submit]")
    assert primary_buttons(page) == 1
    assert small_targets(page, "main") == []
    no_sideways_scroll(page)

    resend = page.locator("button[data-countdown]")
    assert resend.is_disabled(), "the resend button is disabled while the server would refuse"
    first = int(re.search(r"\d+", resend.inner_text()).group())  # type: ignore[union-attr]
    assert 58 <= first <= 60, resend.inner_text()
    page.clock.run_for(3000)
    later = int(re.search(r"\d+", resend.inner_text()).group())  # type: ignore[union-attr]
    assert later == first - 3 and resend.is_disabled(), "it counts down"

    def texts() -> int:
        return sum(m.mobile == mobile for m in live_server.container.sms.messages)  # type: ignore[attr-defined]

    sent_before = texts()
    page.clock.run_for(58_000)
    assert resend.is_enabled() and resend.inner_text() == "重新获取验证码"
    shots(page, "code-resend-enabled")

    real_clock = live_server.container.clock
    live_server.container.clock = lambda: datetime.now(UTC) + timedelta(seconds=61)  # the server's 60 s too
    try:
        resend.click()
        page.wait_for_selector("button[data-countdown]")
        assert page.locator("[role=alert]").count() == 0, "the server accepted the resend the page allowed"
        assert page.locator("button[data-countdown]").is_disabled()
        assert texts() == sent_before + 1, "a new code was texted"
        page.fill("input[name=code]", sms(mobile))
        page.click("main form:has(input[name=code]) button[type=submit]")
        page.wait_for_url(re.compile(r".*/app/?$"))
    finally:
        live_server.container.clock = real_clock


def test_me_tab_masks_the_data_confirms_unbinding_and_signs_out(
    live_server: LiveServer, small_phone: Any, shots: Shots
) -> None:
    c = live_server.container
    now = datetime.now(UTC)
    number = seed_licence(c, now, sequence=921, name="我的测试")
    mobile = "13700137921"
    seed_account(c, now, number=number, mobile=mobile)
    page = small_phone.new_page()
    live_server.sign_in(page, mobile)
    page.click(".tabbar a[href$='/app/me']")
    page.wait_for_url(re.compile(r".*/app/me$"))
    shots(page, "me")
    text = page.locator("main").inner_text()
    assert "137****7921" in text and mobile not in text
    assert mask_number(number) in text and number not in text
    assert page.locator(".tabbar a[aria-current=page]").inner_text() == "我的"
    assert small_targets(page, "main") == [] and small_targets(page, ".tabbar") == []
    assert small_targets(page, "header") == []
    no_sideways_scroll(page)

    page.click("text=解除绑定")
    page.wait_for_url(re.compile(r".*/app/me/unbind$"))
    shots(page, "unbind-confirm")
    assert small_targets(page, "main") == []
    page.click("text=取消")
    page.wait_for_url(re.compile(r".*/app/me$"))
    assert mask_number(number) in page.locator("[data-me=licence]").inner_text(), "cancelling changed nothing"

    page.click("main button:has-text('退出登录')")
    page.wait_for_url(re.compile(r".*/app/sign-in$"))
    page.goto(f"{live_server.url}/app/me")
    assert "/app/sign-in" in page.url, "signed out: 我的 asks to sign in again"
