"""Driver sign-in by SMS code through the pages: codes, limits, sessions, CSRF and redirects (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
import structlog
from fastapi.testclient import TestClient

from edl.accounts import OtpPolicy, TooManyCodesForClient
from edl.accounts.privacy import PRIVACY_NOTICE_VERSION
from edl.bootstrap import Container
from edl.db.models import AccountRow, AuditRow, OtpChallengeRow, WebSessionRow
from edl.web.csrf import unmask_token
from tests.auth_helpers import Clock, app_with_probes, csrf_of, last_code, sign_in_holder, sms_inbox

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 16, 2, 0, tzinfo=UTC)
MOBILE = "13800138000"


@pytest.fixture
def clock(container: Container) -> Clock:
    c = Clock(NOW)
    container.clock = c
    sms_inbox(container)
    return c


@pytest.fixture
def client(container: Container, clock: Clock) -> Iterator[TestClient]:
    with TestClient(app_with_probes(container), follow_redirects=False) as c:
        yield c


def ask_code(client: TestClient, mobile: str = MOBILE, **extra: str) -> tuple[str, object]:
    token = csrf_of(client)
    return token, client.post("/app/sign-in/code", data={"csrf": token, "mobile": mobile, **extra})


def verify(client: TestClient, code: str, mobile: str = MOBILE, **extra: str) -> object:
    """POST the code form, the privacy notice accepted unless `consent` says otherwise."""
    data = {"csrf": csrf_of(client), "mobile": mobile, "code": code, "consent": PRIVACY_NOTICE_VERSION, **extra}
    return client.post("/app/sign-in/verify", data=data)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def rows(container: Container, model: type) -> list:
    with container.sessions() as s:
        return list(s.scalars(sa.select(model)))


def audit(container: Container) -> list[tuple[str, str, str]]:
    with container.sessions() as s:
        return [(a.action, a.outcome, a.actor_kind) for a in s.scalars(sa.select(AuditRow).order_by(AuditRow.id))]


def set_cookie_of(response: object, name: str) -> str:
    headers = response.headers.get_list("set-cookie")  # type: ignore[attr-defined]
    found = [h for h in headers if h.startswith(f"{name}=")]
    assert found, f"no Set-Cookie {name} in {headers}"
    return found[0]


# ---- happy path -------------------------------------------------------------------------------------------------


def test_holder_signs_in_with_the_texted_code_and_the_account_is_created(
    container: Container, client: TestClient
) -> None:
    _, sent = ask_code(client, "+86 138 0013 8000")
    assert sent.status_code == 200
    assert "138****8000" in sent.text and 'name="code"' in sent.text
    code = last_code(container, MOBILE)
    r = verify(client, code)
    assert r.status_code == 303 and r.headers["location"] == "/app"
    accounts = rows(container, AccountRow)
    assert [(a.mobile, len(a.id), a.licence_number) for a in accounts] == [(MOBILE, 32, None)]
    me = client.get("/test/holder")
    assert me.status_code == 200 and me.json() == {"account_id": accounts[0].id, "mobile": MOBILE, "licence": None}
    assert [a[0] for a in audit(container)] == ["otp_sent", "sign_in"]


def test_the_second_sign_in_reuses_the_account(container: Container, client: TestClient, clock: Clock) -> None:
    first = sign_in_holder(client, container)
    clock.advance(minutes=2)
    with TestClient(app_with_probes(container), follow_redirects=False) as other:
        assert sign_in_holder(other, container) == first
    assert len(rows(container, AccountRow)) == 1


def test_only_a_hmac_of_the_code_and_a_hash_of_the_session_token_are_stored(
    container: Container, client: TestClient
) -> None:
    ask_code(client)
    code = last_code(container, MOBILE)
    (challenge,) = rows(container, OtpChallengeRow)
    assert code not in challenge.code_mac and len(challenge.code_mac) == 64
    r = verify(client, code)
    token = client.cookies.get("edl_session")
    assert token and r.status_code == 303
    (session,) = rows(container, WebSessionRow)
    assert session.token_hash == hashlib.sha256(token.encode()).hexdigest() and session.kind == "holder"
    assert token not in repr(rows(container, AuditRow))


def test_session_cookie_is_httponly_lax_and_site_wide(container: Container, client: TestClient) -> None:
    ask_code(client)
    header = set_cookie_of(verify(client, last_code(container, MOBILE)), "edl_session").lower()
    assert "httponly" in header and "samesite=lax" in header and "path=/" in header
    assert "secure" not in header  # plain http here; https below
    assert f"max-age={container.settings.session_hours * 3600}" in header


def test_session_cookie_is_secure_over_https(container: Container, clock: Clock) -> None:
    with TestClient(app_with_probes(container), base_url="https://testserver", follow_redirects=False) as c:
        token = csrf_of(c)
        c.post("/app/sign-in/code", data={"csrf": token, "mobile": MOBILE})
        code = last_code(container, MOBILE)
        r = c.post(
            "/app/sign-in/verify",
            data={"csrf": token, "mobile": MOBILE, "code": code, "consent": PRIVACY_NOTICE_VERSION},
        )
    assert "secure" in set_cookie_of(r, "edl_session").lower()


def test_sms_is_logged_with_the_number_and_the_code_masked(container: Container, client: TestClient) -> None:
    with structlog.testing.capture_logs() as logs:
        ask_code(client)
        code = last_code(container, MOBILE)
        verify(client, code)
    sms = [e for e in logs if e.get("event") == "sms_sent"]
    assert len(sms) == 1 and sms[0]["mobile"] == "*******8000" and "******" in sms[0]["text"]
    assert code not in repr(logs) and MOBILE not in repr(logs)
    assert code not in repr([(a.detail, a.subject, a.actor) for a in rows(container, AuditRow)])


# ---- refused codes ----------------------------------------------------------------------------------------------


def test_wrong_code_is_refused_counted_and_audited(container: Container, client: TestClient) -> None:
    ask_code(client)
    r = verify(client, wrong(last_code(container, MOBILE)))
    assert r.status_code == 400
    assert "验证码错误，还可再试 4 次" in r.text
    assert "edl_session" not in r.headers.get("set-cookie", "")
    assert rows(container, AccountRow) == [] and rows(container, WebSessionRow) == []
    assert rows(container, OtpChallengeRow)[0].attempts == 1
    assert audit(container)[-1] == ("sign_in_failed", "refused", "holder")
    with container.sessions() as s:
        assert s.scalars(sa.select(AuditRow.detail).order_by(AuditRow.id.desc())).first()["reason"] == "wrong_code"


def test_code_expires_after_its_ttl(container: Container, client: TestClient, clock: Clock) -> None:
    ask_code(client)
    code = last_code(container, MOBILE)
    clock.advance(seconds=container.settings.otp_ttl_seconds)
    r = verify(client, code)
    assert r.status_code == 400 and "验证码已过期" in r.text
    assert rows(container, AccountRow) == []


def test_code_still_works_just_before_it_expires(container: Container, client: TestClient, clock: Clock) -> None:
    ask_code(client)
    clock.advance(seconds=container.settings.otp_ttl_seconds - 1)
    assert verify(client, last_code(container, MOBILE)).status_code == 303


def test_too_many_wrong_tries_kill_the_code(container: Container, client: TestClient) -> None:
    ask_code(client)
    code = last_code(container, MOBILE)
    answers = [verify(client, wrong(code)) for _ in range(container.settings.otp_max_attempts)]
    assert [a.status_code for a in answers] == [400] * 5
    assert "还可再试 1 次" in answers[3].text and "错误次数过多" in answers[4].text
    r = verify(client, code)
    assert r.status_code == 400 and "重新获取验证码" in r.text
    assert rows(container, AccountRow) == []


def test_code_is_single_use(container: Container, client: TestClient) -> None:
    ask_code(client)
    code = last_code(container, MOBILE)
    assert verify(client, code).status_code == 303
    with TestClient(app_with_probes(container), follow_redirects=False) as other:
        r = verify(other, code)
    assert r.status_code == 400 and "已失效" in r.text
    assert len(rows(container, WebSessionRow)) == 1


def test_a_new_code_replaces_the_old_one(container: Container, client: TestClient, clock: Clock) -> None:
    ask_code(client)
    old = last_code(container, MOBILE)
    clock.advance(seconds=61)
    ask_code(client)
    new = last_code(container, MOBILE)
    if old != new:
        assert verify(client, old).status_code == 400
    assert verify(client, new).status_code == 303


@pytest.mark.parametrize("code", ["12345", "abcdef", "1234567", ""])
def test_malformed_code_is_refused_without_counting_a_try(container: Container, client: TestClient, code: str) -> None:
    ask_code(client)
    r = verify(client, code)
    assert r.status_code == 400 and "验证码应为6位数字" in r.text
    assert rows(container, OtpChallengeRow)[0].attempts == 0


@pytest.mark.parametrize("mobile", ["12800138000", "1380013800", "138001380001", "abc", "", "+1 415 555 0100"])
def test_invalid_mobile_is_refused_and_nothing_is_sent(container: Container, client: TestClient, mobile: str) -> None:
    _, r = ask_code(client, mobile)
    assert r.status_code == 400 and "手机号码格式有误" in r.text
    assert rows(container, OtpChallengeRow) == [] and sms_inbox(container).messages == []
    assert audit(container) == []


# ---- limits -----------------------------------------------------------------------------------------------------


def test_a_second_code_within_a_minute_is_refused_with_the_wait(
    container: Container, client: TestClient, clock: Clock
) -> None:
    ask_code(client)
    clock.advance(seconds=20)
    _, r = ask_code(client)
    assert r.status_code == 429 and r.headers["retry-after"] == "40"
    assert "请 40 秒后再重新获取" in r.text and 'name="code"' in r.text  # they can still type the first code
    assert len(rows(container, OtpChallengeRow)) == 1
    clock.advance(seconds=40)
    _, again = ask_code(client)
    assert again.status_code == 200 and len(rows(container, OtpChallengeRow)) == 2


def test_codes_per_number_are_limited_per_hour(container: Container, client: TestClient, clock: Clock) -> None:
    for _ in range(container.settings.otp_per_mobile_per_hour):
        _, r = ask_code(client)
        assert r.status_code == 200
        clock.advance(seconds=61)
    _, refused = ask_code(client)
    assert refused.status_code == 429 and "此号码获取验证码次数过多" in refused.text
    assert int(refused.headers["retry-after"]) == 3600 - 5 * 61
    assert len(rows(container, OtpChallengeRow)) == 5
    clock.advance(seconds=3600 - 5 * 61)
    assert ask_code(client)[1].status_code == 200


def test_codes_per_client_address_are_limited_per_hour(container: Container, clock: Clock) -> None:
    container.settings = container.settings.model_copy(update={"otp_per_client_per_hour": 3})
    with TestClient(app_with_probes(container), follow_redirects=False, client=("203.0.113.7", 5000)) as c:
        for n in range(3):
            assert ask_code(c, f"1390000000{n}")[1].status_code == 200
        _, refused = ask_code(c, "13900000009")
    assert refused.status_code == 429 and "此网络获取验证码次数过多" in refused.text
    with pytest.raises(TooManyCodesForClient):
        container.holder_sign_in.request_code("13900000008", client="203.0.113.7", at=clock())
    container.holder_sign_in.request_code("13900000008", client="198.51.100.1", at=clock())  # another address is fine
    with container.sessions() as s:
        per_client = dict(
            s.execute(sa.select(OtpChallengeRow.client, sa.func.count()).group_by(OtpChallengeRow.client)).all()
        )
    assert per_client == {"203.0.113.7": 3, "198.51.100.1": 1}


def test_policy_follows_the_settings(container: Container) -> None:
    policy = OtpPolicy.from_settings(container.settings)
    assert policy.ttl.total_seconds() == 300 and policy.max_attempts == 5
    assert (policy.per_mobile_per_hour, policy.per_client_per_hour) == (5, 20)


# ---- sessions ---------------------------------------------------------------------------------------------------


def test_pages_behind_sign_in_redirect_to_the_sign_in_page_with_next(client: TestClient) -> None:
    r = client.get("/test/holder", params={"x": "1"})
    assert r.status_code == 303 and r.headers["location"] == "/app/sign-in?next=%2Ftest%2Fholder%3Fx%3D1"
    api = client.get("/test/holder", headers={"Accept": "application/json"})
    assert api.status_code == 401 and api.json()["error"] == "sign_in_required"


def test_sign_in_goes_on_to_the_next_page(container: Container, client: TestClient) -> None:
    page = client.get("/app/sign-in", params={"next": "/test/holder?x=1"})
    assert 'name="next" value="/test/holder?x=1"' in page.text
    ask_code(client, next="/test/holder?x=1")
    r = verify(client, last_code(container, MOBILE), next="/test/holder?x=1")
    assert r.status_code == 303 and r.headers["location"] == "/test/holder?x=1"


@pytest.mark.parametrize(
    "target",
    ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", "evil.example", "/\t/evil"],
)
def test_open_redirect_is_refused(container: Container, client: TestClient, target: str) -> None:
    page = client.get("/app/sign-in", params={"next": target})
    assert 'name="next" value=""' in page.text
    ask_code(client)
    r = verify(client, last_code(container, MOBILE), next=target)
    assert r.status_code == 303 and r.headers["location"] == "/app"


def test_signed_in_holder_skips_the_sign_in_page(container: Container, client: TestClient) -> None:
    sign_in_holder(client, container)
    r = client.get("/app/sign-in", params={"next": "//evil.example"})
    assert r.status_code == 303 and r.headers["location"] == "/app"


def test_sign_out_revokes_the_session_and_clears_the_cookie(container: Container, client: TestClient) -> None:
    sign_in_holder(client, container)
    token = client.cookies.get("edl_session")
    r = client.post("/app/sign-out", data={"csrf": csrf_of(client)})
    assert r.status_code == 303 and r.headers["location"] == "/app/sign-in"
    assert 'edl_session=""' in set_cookie_of(r, "edl_session") or "max-age=0" in set_cookie_of(r, "edl_session").lower()
    (session,) = rows(container, WebSessionRow)
    assert session.revoked_at is not None
    client.cookies.set("edl_session", str(token))  # a copy of the old cookie is worthless now
    assert client.get("/test/holder").status_code == 303
    assert audit(container)[-1] == ("sign_out", "ok", "holder")


def test_session_ends_after_the_configured_hours(container: Container, client: TestClient, clock: Clock) -> None:
    sign_in_holder(client, container)
    clock.advance(hours=container.settings.session_hours, seconds=-1)
    assert client.get("/test/holder").status_code == 200
    clock.advance(seconds=1)
    assert client.get("/test/holder").status_code == 303


def test_a_holder_session_is_not_a_staff_session(container: Container, client: TestClient) -> None:
    sign_in_holder(client, container)
    client.cookies.set("edl_staff", str(client.cookies.get("edl_session")))
    r = client.get("/test/staff")
    assert r.status_code == 303 and r.headers["location"].startswith("/review/sign-in")


def test_signing_in_again_revokes_the_browser_s_previous_session(
    container: Container, client: TestClient, clock: Clock
) -> None:
    sign_in_holder(client, container)
    clock.advance(minutes=2)
    sign_in_holder(client, container)
    sessions = rows(container, WebSessionRow)
    assert len(sessions) == 2 and sum(s.revoked_at is None for s in sessions) == 1


# ---- CSRF -------------------------------------------------------------------------------------------------------


def test_form_pages_set_the_csrf_cookie_strict_once(client: TestClient) -> None:
    first = client.get("/app/sign-in")
    header = set_cookie_of(first, "edl_csrf").lower()
    assert "samesite=strict" in header and "path=/" in header
    shown = re.search(r'name="csrf" value="([^"]+)"', first.text).group(1)
    assert unmask_token(shown) == client.cookies.get("edl_csrf"), "the page carries a mask of the cookie's token"
    assert client.cookies.get("edl_csrf") not in first.text, "never the token itself (BREACH)"
    again = client.get("/app/sign-in")
    assert re.search(r'name="csrf" value="([^"]+)"', again.text).group(1) != shown, "a fresh mask each time"
    assert "edl_csrf" not in again.headers.get("set-cookie", "")
    assert "set-cookie" not in client.get("/healthz").headers


@pytest.mark.parametrize(
    ("data", "headers"),
    [
        ({"mobile": MOBILE}, {}),
        ({"mobile": MOBILE, "csrf": "x" * 43}, {}),
        ({"mobile": MOBILE, "csrf": "TOKEN"}, {"Origin": "https://evil.example"}),
        ({"mobile": MOBILE, "csrf": "TOKEN"}, {"Sec-Fetch-Site": "cross-site"}),
        ({"mobile": MOBILE, "csrf": "TOKEN"}, {"Origin": "null"}),
    ],
    ids=["missing", "wrong", "foreign-origin", "cross-site-fetch", "null-origin"],
)
def test_csrf_failures_are_refused_with_403_and_change_nothing(
    container: Container, client: TestClient, data: dict[str, str], headers: dict[str, str]
) -> None:
    token = csrf_of(client)
    data = {k: (token if v == "TOKEN" else v) for k, v in data.items()}
    r = client.post("/app/sign-in/code", data=data, headers=headers)
    assert r.status_code == 403
    assert "请刷新页面后重试" in r.text
    assert rows(container, OtpChallengeRow) == [] and sms_inbox(container).messages == []


def test_a_post_without_the_csrf_cookie_is_refused(container: Container, client: TestClient) -> None:
    token = csrf_of(client)
    client.cookies.delete("edl_csrf")
    assert client.post("/app/sign-in/code", data={"csrf": token, "mobile": MOBILE}).status_code == 403
    assert rows(container, OtpChallengeRow) == []


def test_csrf_header_and_same_origin_requests_are_accepted(container: Container, client: TestClient) -> None:
    token = csrf_of(client)
    r = client.post(
        "/app/sign-in/code",
        data={"mobile": MOBILE},
        headers={"X-CSRF-Token": token, "Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
    )
    assert r.status_code == 200 and len(rows(container, OtpChallengeRow)) == 1


def test_sign_out_needs_the_csrf_token(container: Container, client: TestClient) -> None:
    sign_in_holder(client, container)
    assert client.post("/app/sign-out", data={}).status_code == 403
    assert client.get("/test/holder").status_code == 200


def test_csrf_refusal_answers_json_to_json_clients(client: TestClient) -> None:
    r = client.post("/app/sign-in/code", json={"mobile": MOBILE}, headers={"Accept": "application/json"})
    assert r.status_code == 403 and r.json()["error"] == "csrf"


# ---- pages and dev inbox ------------------------------------------------------------------------------------------


def test_sign_in_pages_are_chinese_first_with_english(container: Container, client: TestClient) -> None:
    zh = client.get("/app/sign-in")
    assert '<html lang="zh-CN">' in zh.text and "登录电子驾驶证" in zh.text and 'type="tel"' in zh.text
    en = client.get("/app/sign-in", params={"lang": "en"})
    assert "Sign in to eDL" in en.text and "Send code" in en.text
    _, wrong_number = ask_code(client, "123")
    assert "not a mainland China mobile number" in wrong_number.text and "手机号码格式有误" not in wrong_number.text


def test_dev_inbox_exists_only_in_demo_mode(container: Container, client: TestClient) -> None:
    assert client.get("/dev/sms").status_code == 404
    _, sent = ask_code(client)
    assert "/dev/sms" not in sent.text


def test_dev_inbox_shows_the_texts_in_demo_mode(container: Container, clock: Clock) -> None:
    container.settings = container.settings.model_copy(update={"demo": True})
    with TestClient(app_with_probes(container), follow_redirects=False) as c:
        _, sent = ask_code(c)
        assert 'href="/dev/sms"' in sent.text
        inbox = c.get("/dev/sms")
    assert inbox.status_code == 200
    assert last_code(container, MOBILE) in inbox.text and "138****8000" in inbox.text and MOBILE not in inbox.text
