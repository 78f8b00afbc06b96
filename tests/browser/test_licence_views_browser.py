"""The licence page in Chromium at 375 px (issue 13): 亮码 / 正页 / 副页 are tabs (one view shown, the current tab
marked, about one screen high, no sideways scroll, tap targets of 44 px, one QR code at most in sight; the tabs work
without JavaScript too); the 亮码 card has a moving security mark (a screenshot a second later differs, and the mark's
colour changes with each new code) and keeps the screen awake while shown (Screen Wake Lock, released on leaving
the view; the page works where the browser has no wake lock)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from edl.issuance.elicences import issue_elicence
from tests.browser.conftest import LiveServer
from tests.workflow import seed_account, seed_licence

pytestmark = pytest.mark.browser
NARROW = {"width": 375, "height": 812}
VIEWS = ("code", "front", "back")
WAKE_LOCK_STUB = """(() => {
  const log = (window.__wake = []);
  const lock = { request(type) {
    log.push("request:" + type);
    const sentinel = new EventTarget();
    sentinel.release = () => {
      log.push("release");
      sentinel.dispatchEvent(new Event("release"));
      return Promise.resolve();
    };
    return Promise.resolve(sentinel);
  } };
  Object.defineProperty(Navigator.prototype, "wakeLock", { configurable: true, get: () => lock });
})();"""
NO_WAKE_LOCK = (
    """Object.defineProperty(Navigator.prototype, "wakeLock", { configurable: true, get: () => undefined });"""
)
TARGETS = "[role=tablist] a, [data-view-panel] a, [data-view-panel] button, .licence-more summary"


@pytest.fixture
def narrow(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport=NARROW, locale="zh-CN", device_scale_factor=2)
    context.set_default_timeout(20_000)
    yield context
    context.close()


def _holder(live_server: LiveServer, sequence: int) -> str:
    c = live_server.container
    now = datetime.now(UTC)
    number = seed_licence(c, now, sequence=sequence, name="视图测试")
    issue_elicence(c.sessions, c.issuer, number, actor="test", at=now)
    mobile = f"13700137{sequence:03d}"
    seed_account(c, now, number=number, mobile=mobile)
    return mobile


def _check_view(page: Any, view: str) -> None:
    for name in VIEWS:
        tab = page.locator(f"#tab-{name}")
        assert tab.get_attribute("aria-selected") == ("true" if name == view else "false")
        assert (tab.get_attribute("aria-current") == "page") is (name == view)
        assert page.locator(f"#{name}").is_visible() is (name == view)
    marks = {n: page.eval_on_selector(f"#tab-{n}", "e => getComputedStyle(e).boxShadow") for n in VIEWS}
    assert all(marks[view] != marks[n] for n in VIEWS if n != view), "the current tab is marked visibly"
    qrs = page.locator("[data-live-qr]").evaluate_all("els => els.filter(e => e.getClientRects().length).length")
    assert qrs == (0 if view == "back" else 1), f"{view}: {qrs} QR codes in sight"
    height, width = page.evaluate("[document.documentElement.scrollHeight, document.documentElement.scrollWidth]")
    assert width <= NARROW["width"], f"{view}: scrolls sideways ({width} px)"
    assert height <= NARROW["height"] * 1.25, f"{view}: {height} px high, more than about one screen"
    small = page.locator(TARGETS).evaluate_all(
        """els => els.filter(e => e.getClientRects().length).map(e => {
             const r = e.getBoundingClientRect();
             return [e.textContent.trim().slice(0, 20), Math.round(r.width), Math.round(r.height)];
           }).filter(([, w, h]) => w < 44 || h < 44)"""
    )
    assert small == [], f"{view}: tap targets under 44 px: {small}"


def test_the_views_are_tabs_one_screen_high_at_375_px(live_server: LiveServer, narrow: Any, shots: Any) -> None:
    mobile = _holder(live_server, 931)
    page = narrow.new_page()
    live_server.sign_in(page, mobile)
    page.goto(f"{live_server.url}/app/licence")
    _check_view(page, "code")
    shots(page, "code")
    for view in ("front", "back", "code"):
        page.click(f"#tab-{view}")
        _check_view(page, view)
        assert page.url.endswith(f"/app/licence?view={view}"), "the address follows the view"
        shots(page, view)
    page.focus("#tab-code")
    page.keyboard.press("ArrowRight")
    _check_view(page, "front")


def test_the_tabs_work_without_javascript(live_server: LiveServer, chromium: Any) -> None:
    mobile = _holder(live_server, 932)
    context = chromium.new_context(viewport=NARROW, locale="zh-CN")
    try:
        signer = context.new_page()
        live_server.sign_in(signer, mobile)  # sign-in uses scripts; the licence page is read without them
        cookies = context.cookies()
    finally:
        context.close()
    context = chromium.new_context(viewport=NARROW, locale="zh-CN", java_script_enabled=False)
    try:
        context.add_cookies(cookies)
        page = context.new_page()
        page.goto(f"{live_server.url}/app/licence")
        _check_view(page, "code")
        page.click("#tab-back")
        page.wait_for_url(re.compile(r".*/app/licence\?view=back$"))
        _check_view(page, "back")
    finally:
        context.close()


def test_the_security_mark_moves_and_changes_with_the_code(live_server: LiveServer, narrow: Any) -> None:
    mobile = _holder(live_server, 933)
    page = narrow.new_page()
    live_server.sign_in(page, mobile)
    page.goto(f"{live_server.url}/app/licence")
    mark = page.locator("[data-live-mark]")
    mark.wait_for(state="visible")
    clock = page.locator("[data-live-now]")
    qr_before, mark_before, time_before = page.locator(".live-qr").screenshot(), mark.screenshot(), clock.inner_text()
    page.wait_for_timeout(1000)
    qr_after, mark_after = page.locator(".live-qr").screenshot(), mark.screenshot()
    assert qr_before == qr_after, "the QR code itself holds still within its minute"
    assert mark_before != mark_after, "the mark a second later differs from a screenshot of it"
    assert re.fullmatch(r"\d\d:\d\d:\d\d", clock.inner_text()) and clock.inner_text() != time_before

    before = (mark.get_attribute("class"), mark.evaluate("e => getComputedStyle(e).backgroundImage"))
    with page.expect_response("**/app/licence/code") as answer:
        page.click("[data-code-refresh]")
    issued = answer.value.json()["issued_at"]
    page.wait_for_function("i => document.querySelector('[data-live-mark]').dataset.issuedAt === i", arg=issued)
    second = int(datetime.fromisoformat(issued.replace("Z", "+00:00")).timestamp())
    after = (mark.get_attribute("class"), mark.evaluate("e => getComputedStyle(e).backgroundImage"))
    assert after[0] == f"live-mark mark-h{second % 12} mark-p{(second // 12) % 4}"
    assert after != before, "a new code (a later second) gives the mark another colour"


def test_the_screen_stays_awake_while_the_code_is_shown(live_server: LiveServer, narrow: Any) -> None:
    mobile = _holder(live_server, 934)
    narrow.add_init_script(WAKE_LOCK_STUB)
    page = narrow.new_page()
    live_server.sign_in(page, mobile)
    page.goto(f"{live_server.url}/app/licence")
    page.wait_for_function("window.__wake.length === 1")
    assert page.evaluate("window.__wake") == ["request:screen"]
    page.click("#tab-front")
    page.wait_for_function("window.__wake.length === 2")
    assert page.evaluate("window.__wake") == ["request:screen", "release"]
    page.click("#tab-back")
    page.click("#tab-code")
    page.wait_for_function("window.__wake.length === 3")
    assert page.evaluate("window.__wake") == ["request:screen", "release", "request:screen"]

    page.goto(f"{live_server.url}/app/licence?view=front")
    page.wait_for_timeout(300)
    assert page.evaluate("window.__wake") == [], "no wake lock while a licence page is shown"


def test_without_wake_lock_the_page_still_works(live_server: LiveServer, narrow: Any) -> None:
    mobile = _holder(live_server, 935)
    narrow.add_init_script(NO_WAKE_LOCK)
    page = narrow.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    live_server.sign_in(page, mobile)
    page.goto(f"{live_server.url}/app/licence")
    page.locator("[data-code-countdown]").wait_for(state="visible")
    page.click("#tab-front")
    _check_view(page, "front")
    page.click("#tab-code")
    _check_view(page, "code")
    assert errors == []


def _swipe(page: Any, dx: int, dy: int = 0) -> None:
    box = page.locator("[data-view-panel]:not([hidden])").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + min(box["height"] / 2, 200)
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx / 2, y + dy / 2, steps=4)
    page.mouse.move(x + dx, y + dy, steps=4)
    page.mouse.up()


def test_a_swipe_moves_between_the_pages_and_stops_at_the_ends(live_server: LiveServer, narrow: Any) -> None:
    """Before: the pages could only be switched with the tabs; a wallet swipes between them."""
    mobile = _holder(live_server, 936)
    page = narrow.new_page()
    live_server.sign_in(page, mobile)
    page.goto(f"{live_server.url}/app/licence")
    _check_view(page, "code")
    _swipe(page, 120)  # to the right on the first page: nothing before it
    _check_view(page, "code")
    _swipe(page, -150)
    _check_view(page, "front")
    assert page.url.endswith("/app/licence?view=front")
    _swipe(page, -150)
    _check_view(page, "back")
    _swipe(page, -150)  # the last page: nothing after it
    _check_view(page, "back")
    _swipe(page, -40)  # too short to be a swipe
    _check_view(page, "back")
    _swipe(page, 150, dy=200)  # mostly vertical: a scroll, not a swipe
    _check_view(page, "back")
    _swipe(page, 150)
    _check_view(page, "front")
