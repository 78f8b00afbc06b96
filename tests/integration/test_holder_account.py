"""The driver's way in and "我的" (issue 13, item 3): the privacy notice and explicit consent before the first sign-in
registers an account, a resend countdown that matches the server's throttle, the "我的" page (masked phone and
licence, unbind with a confirmation step, sign-out, privacy notice, who checked my licence), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from edl.accounts.privacy import PRIVACY_NOTICE_VERSION
from edl.bootstrap import Container
from edl.db.models import AccountRow, AuditRow
from edl.web import create_app
from edl.web.masking import mask_number
from tests.auth_helpers import Clock, csrf_of, last_code, sign_in_holder, sms_inbox
from tests.workflow import REGISTERED_MOBILE, prepare, seed_account, seed_licence

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 16, 2, 0, tzinfo=UTC)
MOBILE = "13800138000"
COUNTDOWN = re.compile(r'data-countdown="(\d+)"')


@pytest.fixture
def clock(container: Container) -> Clock:
    prepare(container, NOW)
    c = Clock(NOW)
    container.clock = c
    sms_inbox(container)
    return c


@pytest.fixture
def client(container: Container, clock: Clock) -> Iterator[TestClient]:
    with TestClient(create_app(container), follow_redirects=False) as c:
        yield c


def ask_code(client: TestClient, mobile: str = MOBILE, **extra: str):  # type: ignore[no-untyped-def]
    return client.post("/app/sign-in/code", data={"csrf": csrf_of(client), "mobile": mobile, **extra})


def verify(client: TestClient, code: str, mobile: str = MOBILE, **extra: str):  # type: ignore[no-untyped-def]
    return client.post("/app/sign-in/verify", data={"csrf": csrf_of(client), "mobile": mobile, "code": code, **extra})


def accounts(container: Container) -> list[AccountRow]:
    with container.sessions() as s:
        return list(s.scalars(sa.select(AccountRow)))


def countdown(html: str) -> int:
    found = COUNTDOWN.search(html)
    assert found, "the code page's resend button carries no countdown"
    return int(found.group(1))


def main_of(html: str) -> str:
    return html.split('<main id="main"', 1)[1].split("</main>", 1)[0]


# ---- privacy notice and consent -----------------------------------------------------------------------------------


def test_the_sign_in_page_shows_the_notice_and_an_unticked_required_consent_box(client: TestClient) -> None:
    page = client.get("/app/sign-in")
    assert page.status_code == 200
    html = page.text
    box = re.search(r"<input[^>]*name=\"consent\"[^>]*>", html)
    assert box, "no consent box on the sign-in page"
    assert 'type="checkbox"' in box.group() and "required" in box.group() and "checked" not in box.group()
    assert f'value="{PRIVACY_NOTICE_VERSION}"' in box.group()
    assert 'href="/privacy"' in html
    for said in ("手机号码", "驾驶证", "人脸核验", "查验", "保存期限"):
        assert said in html, f"the notice does not say {said}"
    # the driver's chrome: no staff registry heading, footer or link
    assert "/registry" not in html and "仅供授权工作人员使用" not in html and "工作人员查询" not in html
    # one primary action: the only submit button of the page
    assert len(re.findall(r"<button", main_of(html))) == 1


def test_a_crafted_verify_without_consent_creates_no_account_and_keeps_the_code(
    container: Container, client: TestClient, clock: Clock
) -> None:
    assert ask_code(client).status_code == 200  # no consent field either
    code = last_code(container, MOBILE)
    refused = verify(client, code)  # the form field left out entirely
    assert refused.status_code == 400
    assert accounts(container) == []
    assert "edl_session" not in refused.headers.get("set-cookie", "")
    assert re.search(r'<input[^>]*name="consent"[^>]*type="checkbox"', refused.text), "the box is shown again"
    assert "个人信息保护告知" in refused.text
    stale = verify(client, code, consent="2019-01-01")  # a version other than the notice in force is no consent
    assert stale.status_code == 400 and accounts(container) == []
    clock.advance(seconds=5)
    done = verify(client, code, consent=PRIVACY_NOTICE_VERSION)  # the same code still works once accepted
    assert done.status_code == 303
    (account,) = accounts(container)
    assert account.privacy_consent_at == clock.at
    assert account.privacy_notice_version == PRIVACY_NOTICE_VERSION
    with container.sessions() as s:
        detail = s.scalar(sa.select(AuditRow.detail).where(AuditRow.action == "sign_in"))
    assert detail is not None and detail["new_account"] is True and detail["privacy_notice"] == PRIVACY_NOTICE_VERSION


def test_consent_ticked_on_the_mobile_page_is_carried_to_the_code_page(
    container: Container, client: TestClient
) -> None:
    sent = ask_code(client, consent=PRIVACY_NOTICE_VERSION)
    assert re.search(rf'<input type="hidden" name="consent" value="{PRIVACY_NOTICE_VERSION}">', sent.text)
    assert 'type="checkbox"' not in sent.text
    assert verify(client, last_code(container, MOBILE), consent=PRIVACY_NOTICE_VERSION).status_code == 303
    assert len(accounts(container)) == 1


def test_an_existing_account_signs_in_again_without_being_registered_twice(
    container: Container, client: TestClient, clock: Clock
) -> None:
    first = sign_in_holder(client, container, MOBILE)
    clock.advance(minutes=2)
    with TestClient(create_app(container), follow_redirects=False) as other:
        ask_code(other)
        assert verify(other, last_code(container, MOBILE)).status_code == 303
    assert [a.id for a in accounts(container)] == [first]


def test_the_privacy_notice_is_public_and_says_what_why_and_how_long(client: TestClient) -> None:
    page = client.get("/privacy")
    assert page.status_code == 200
    for said in ("手机号码", "驾驶证绑定", "人脸核验", "查验记录", "为什么需要", "保存多久", PRIVACY_NOTICE_VERSION):
        assert said in page.text
    english = client.get("/privacy?lang=en")
    assert "Privacy notice" in english.text and "How long we keep it" in english.text


# ---- the resend countdown follows the server's throttle ------------------------------------------------------------


def test_the_resend_countdown_is_the_wait_the_server_enforces(
    container: Container, client: TestClient, clock: Clock
) -> None:
    sent = ask_code(client, consent=PRIVACY_NOTICE_VERSION)
    assert countdown(sent.text) == 60
    clock.advance(seconds=15)
    too_soon = ask_code(client, consent=PRIVACY_NOTICE_VERSION)
    assert too_soon.status_code == 429 and countdown(too_soon.text) == 45
    assert too_soon.headers["Retry-After"] == "45"
    clock.advance(seconds=5)
    code = last_code(container, MOBILE)
    wrong = verify(client, f"{(int(code) + 1) % 10**6:06d}", consent=PRIVACY_NOTICE_VERSION)
    assert wrong.status_code == 400 and countdown(wrong.text) == 40, "after a wrong code the wait goes on"
    clock.advance(seconds=40)
    assert countdown(verify(client, "000000", consent=PRIVACY_NOTICE_VERSION).text) == 0
    assert ask_code(client).status_code == 200, "at zero the server sends again"


def test_the_countdown_covers_the_hourly_limit_too(container: Container, client: TestClient, clock: Clock) -> None:
    for _ in range(container.settings.otp_per_mobile_per_hour):
        assert ask_code(client).status_code == 200
        clock.advance(seconds=61)
    wait = countdown(verify(client, "000000", consent=PRIVACY_NOTICE_VERSION).text)
    refused = ask_code(client)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) == wait > 60


# ---- 我的 ---------------------------------------------------------------------------------------------------------


def test_me_shows_the_masked_mobile_and_not_bound(container: Container, client: TestClient) -> None:
    sign_in_holder(client, container, MOBILE)
    page = client.get("/app/me")
    assert page.status_code == 200
    assert "138****8000" in page.text and MOBILE not in page.text
    assert "未绑定" in page.text
    assert 'href="/privacy"' in page.text
    assert 'action="/app/sign-out"' in page.text and 'name="csrf"' in page.text
    assert "/app/me/unbind" not in page.text and "/app/checks" not in page.text  # nothing bound: nothing to unbind
    assert "2026-03-16" in page.text, "the consent on record is shown with its date"


def test_me_is_in_the_tab_bar_of_every_driver_page(container: Container, client: TestClient) -> None:
    sign_in_holder(client, container, REGISTERED_MOBILE)
    for path in ("/app", "/app/applications", "/app/inbox", "/app/me"):
        page = client.get(path)
        assert page.status_code == 200, path
        tabbar = page.text.split('<nav class="tabbar"', 1)[1].split("</nav>", 1)[0]
        assert 'href="/app/me"' in tabbar, f"{path} has no 我的 tab"
    assert re.search(r'href="/app/me" aria-current="page"', client.get("/app/me").text)


def test_me_shows_the_bound_licence_masked_and_links_to_the_checks(container: Container, client: TestClient) -> None:
    number = seed_licence(container, NOW)
    seed_account(container, NOW, number=number, mobile="13900000001")
    sign_in_holder(client, container, "13900000001")
    page = client.get("/app/me").text
    assert mask_number(number) in page and number not in page
    assert 'href="/app/checks"' in page and 'href="/app/me/unbind"' in page
    assert client.get("/app/checks").status_code == 200


def test_unbinding_takes_a_confirmation_step_that_works_without_javascript(
    container: Container, client: TestClient
) -> None:
    number = seed_licence(container, NOW)
    account = seed_account(container, NOW, number=number, mobile="13900000001")
    sign_in_holder(client, container, "13900000001")
    home = client.get("/app").text
    assert 'action="/app/unbind"' not in home, "the home page unbinds only through the confirmation"
    assert 'href="/app/me/unbind"' in home
    confirm = client.get("/app/me/unbind")
    assert confirm.status_code == 200
    form = re.search(r'<form[^>]*action="/app/unbind"[^>]*>(.*?)</form>', confirm.text, re.S)
    assert form and 'name="csrf"' in form.group(1), "a plain HTML form posts the confirmation"
    assert 'href="/app/me"' in confirm.text  # cancel
    with container.sessions() as s:
        assert s.get(AccountRow, account).licence_number == number  # type: ignore[union-attr]  # asking did nothing
    done = client.post("/app/unbind", data={"csrf": csrf_of(client)})
    assert done.status_code == 303
    with container.sessions() as s:
        assert s.get(AccountRow, account).licence_number is None  # type: ignore[union-attr]
    assert client.get("/app/me/unbind").headers["location"] == "/app/me"
    assert "未绑定" in client.get("/app/me").text


def test_sign_out_ends_the_session_and_the_old_cookie_no_longer_works(container: Container, client: TestClient) -> None:
    sign_in_holder(client, container, MOBILE)
    old = client.cookies.get("edl_session")
    assert old and client.get("/app/me").status_code == 200
    assert client.post("/app/sign-out", data={}).status_code == 403, "sign-out needs the CSRF token"
    out = client.post("/app/sign-out", data={"csrf": csrf_of(client)})
    assert out.status_code == 303 and out.headers["location"] == "/app/sign-in"
    assert client.get("/app/me").status_code == 303
    with TestClient(create_app(container), follow_redirects=False) as replay:
        replay.cookies.set("edl_session", old)
        again = replay.get("/app/me")
        assert again.status_code == 303 and again.headers["location"].startswith("/app/sign-in")
