"""The language switch on pages reached by a form POST, in real Chromium (issue 13, item 2).

Before: the switch was this page's URL plus `?lang=en`; on a page answering a POST (`/app/sign-in/code`,
`/app/sign-in/verify`, `/app/bind`, `/verify/sign-in`, `/verify/upload`) that asked for a POST-only path by GET and
showed a 405 page. Now the switch sets the `lang` cookie and goes back to the page the form is on, shown by GET:
each test switches there and lands on a 200 page in English, then switches back to Chinese.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from edl.db.session import transaction
from edl.verification.purposes import Purpose
from tests.browser.conftest import LiveServer, Shots

pytestmark = pytest.mark.browser

_mobiles = itertools.count(13655500001)


def switch(page: Any, shots: Shots, step: str, *, to: str, path: str) -> None:
    """Press the header's language switch: a 200 page at `path`, in language `to` (the cookie remembers it)."""
    with page.expect_navigation() as nav:
        page.click("a.lang-switch")
    response = nav.value
    assert response is not None and response.status == 200, f"{response.status if response else None} at {page.url}"
    assert re.search(rf"//[^/]+{re.escape(path)}$", page.url), page.url
    assert page.get_attribute("html", "lang") == ("en" if to == "en" else "zh-CN")
    assert any(c["name"] == "lang" and c["value"] == to for c in page.context.cookies())
    shots(page, step)


def posted(page: Any, path: str) -> None:
    assert re.search(rf"//[^/]+{re.escape(path)}$", page.url), f"expected the POST answer at {path}, got {page.url}"


def test_switch_on_the_code_pages_of_sign_in(live_server: LiveServer, phone: Any, shots: Shots) -> None:
    page = phone.new_page()
    mobile = str(next(_mobiles))
    page.goto(f"{live_server.url}/app/sign-in")
    page.fill("input[name=mobile]", mobile)
    page.check("input[name=consent]")
    page.click("form button[type=submit]")
    page.wait_for_selector("input[name=code]")
    posted(page, "/app/sign-in/code")
    shots(page, "code-page-zh")
    switch(page, shots, "sign-in-en", to="en", path="/app/sign-in")
    assert "Sign in" in page.inner_text("main") or "sign in" in page.inner_text("main").lower()

    page.fill("input[name=mobile]", mobile)
    page.check("input[name=consent]")
    page.click("form button[type=submit]")
    page.wait_for_selector("input[name=code]")
    page.fill("input[name=code]", "000000")
    page.locator("form", has=page.locator("input[name=code]")).locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/app/sign-in/verify$"))
    shots(page, "wrong-code-en")
    switch(page, shots, "sign-in-zh", to="zh", path="/app/sign-in")


def test_switch_on_the_bind_answer(live_server: LiveServer, phone: Any, shots: Shots) -> None:
    page = phone.new_page()
    live_server.sign_in(page, str(next(_mobiles)))
    page.fill("input[name=number]", "110105199001011234")
    page.fill("input[name=name]", "张三")
    with page.expect_navigation():  # without a live capture: the answer is the bind form with an error, at /app/bind
        page.evaluate("document.querySelector('form[action$=\"/app/bind\"]').submit()")
    posted(page, "/app/bind")
    shots(page, "bind-answer-zh")
    switch(page, shots, "home-en", to="en", path="/app")
    switch(page, shots, "home-zh", to="zh", path="/app")


def test_switch_on_the_verifier_answers(live_server: LiveServer, phone: Any, shots: Shots) -> None:
    from edl.verification.parties import register_party

    with transaction(live_server.container.sessions) as s:
        _party, key = register_party(s, name="语言租车", purpose=Purpose.RENTAL, actor="test", at=datetime.now(UTC))
    page = phone.new_page()
    page.goto(f"{live_server.url}/verify")
    page.fill("input[name=key]", "edl_rp_" + "x" * 43)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r".*/verify/sign-in$"))
    shots(page, "bad-key-zh")
    switch(page, shots, "verify-en", to="en", path="/verify")

    page.fill("input[name=key]", key)
    page.click("form button[type=submit]")
    page.wait_for_selector("#upload-title")
    with page.expect_navigation():  # nothing chosen: the answer is the check page with a message, at /verify/upload
        page.evaluate("document.querySelector('form.upload-form').submit()")
    posted(page, "/verify/upload")
    shots(page, "upload-answer-en")
    switch(page, shots, "verify-zh", to="zh", path="/verify")
    assert page.locator("#upload-title").count() == 1, "still signed in, on the check page"
