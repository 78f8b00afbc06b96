"""The holder's inbox page, its unread badge and the push opt-in endpoints, through HTTP as a signed-in holder."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from starlette.requests import Request

from edl.bootstrap import Container
from edl.db.models import AccountRow, NotificationRow, PushSubscriptionRow
from edl.notifications.inbox import Message, notify, unread_count
from edl.notifications.push import WebPushNotifier
from edl.web import create_app
from edl.web.holder.home import badge_text, unread_badge_count
from tests.auth_helpers import sign_in_holder
from tests.integration.test_push import Browser, PushService, b64url, push_service  # noqa: F401 - the fixture

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 15, 2, 0, tzinfo=UTC)
MOBILE = "13800138000"


def message(n: int, link: str | None = "/app/applications") -> Message:
    return Message("submitted", f"消息{n}号", f"Message number {n}", f"正文{n}", f"Body {n}", link)


def write(container: Container, account_id: str, msg: Message, *, minutes: int = 0) -> int:
    with container.sessions.begin() as session:
        notify(session, account_id, msg, at=NOW + timedelta(minutes=minutes))
        newest = session.scalar(select(func.max(NotificationRow.id)).where(NotificationRow.account_id == account_id))
        assert newest is not None
        return newest


def unread(container: Container, account_id: str) -> int:
    with container.sessions() as session:
        return unread_count(session, account_id)


def other_account(container: Container) -> str:
    account_id = uuid.uuid4().hex
    with container.sessions.begin() as session:
        session.add(AccountRow(id=account_id, mobile="13900139000", created_at=NOW, lang="zh"))
    return account_id


def stored_subscriptions(container: Container) -> int:
    with container.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(PushSubscriptionRow)) or 0)


@pytest.fixture
def app(container: Container) -> FastAPI:
    app = create_app(container)

    @app.get("/test/badge")
    def badge(request: Request) -> dict[str, int]:
        return {"count": unread_badge_count(request)}

    return app


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as c:
        yield c


@pytest.fixture
def holder(client: TestClient, container: Container) -> str:
    return sign_in_holder(client, container, mobile=MOBILE)


def csrf(client: TestClient) -> str:
    """This browser's CSRF token (a page hands it out; the cookie holds the same value)."""
    if not client.cookies.get("edl_csrf"):
        client.get("/app/inbox")
    token = client.cookies.get("edl_csrf")
    assert token
    return token


def titles(html: str) -> list[str]:
    return re.findall(r"消息(\d+)号", html)


# --- the inbox page ------------------------------------------------------------------------------------------------


def test_inbox_shows_the_holders_messages_newest_first_with_unread_ones_marked(
    client: TestClient, container: Container, holder: str
) -> None:
    first = write(container, holder, message(1), minutes=0)
    write(container, holder, message(2), minutes=5)
    write(container, holder, message(3), minutes=10)
    write(container, other_account(container), message(9))
    with container.sessions.begin() as session:
        session.get_one(NotificationRow, first).read_at = NOW + timedelta(hours=1)

    response = client.get("/app/inbox")

    assert response.status_code == 200
    html = response.text
    assert titles(html) == ["3", "2", "1"]  # another holder's message 9 is not there
    assert html.count("inbox-item inbox-unread") == 2
    assert "2 条未读消息" in html
    assert "2026-03-15 10:10" in html  # Beijing time


def test_opening_the_inbox_leaves_messages_unread(client: TestClient, container: Container, holder: str) -> None:
    write(container, holder, message(1))
    client.get("/app/inbox")
    client.get("/app/inbox")
    assert unread(container, holder) == 1


def test_mark_all_read_marks_every_message_read(client: TestClient, container: Container, holder: str) -> None:
    for n in range(3):
        write(container, holder, message(n))

    response = client.post("/app/inbox/read", data={"csrf": csrf(client)})

    assert response.status_code == 303
    assert response.headers["location"] == "/app/inbox"
    assert unread(container, holder) == 0
    page = client.get("/app/inbox").text
    assert "没有未读消息" in page and "inbox-unread" not in page and "全部标为已读" not in page


def test_one_message_can_be_marked_read_alone(client: TestClient, container: Container, holder: str) -> None:
    one = write(container, holder, message(1))
    write(container, holder, message(2))

    client.post("/app/inbox/read", data={"csrf": csrf(client), "id": str(one)})

    assert unread(container, holder) == 1
    with container.sessions() as session:
        assert session.get_one(NotificationRow, one).read_at is not None


def test_another_holders_message_cannot_be_marked_read(client: TestClient, container: Container, holder: str) -> None:
    stranger = other_account(container)
    theirs = write(container, stranger, message(1))

    response = client.post("/app/inbox/read", data={"csrf": csrf(client), "id": str(theirs)})

    assert response.status_code == 303
    assert unread(container, stranger) == 1


def test_mark_read_without_the_csrf_token_is_refused_and_changes_nothing(
    client: TestClient, container: Container, holder: str
) -> None:
    write(container, holder, message(1))
    csrf(client)

    response = client.post("/app/inbox/read", data={"csrf": "x" * 43})

    assert response.status_code == 403
    assert unread(container, holder) == 1


def test_mark_read_with_a_malformed_id_is_a_400(client: TestClient, container: Container, holder: str) -> None:
    write(container, holder, message(1))
    response = client.post("/app/inbox/read", data={"csrf": csrf(client), "id": "1; drop"})
    assert response.status_code == 400
    assert unread(container, holder) == 1


def test_signed_out_visitor_is_sent_to_sign_in(client: TestClient) -> None:
    response = client.get("/app/inbox")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/app/sign-in")


def test_message_links_to_its_page_and_only_to_this_site(client: TestClient, container: Container, holder: str) -> None:
    write(container, holder, message(1, "/app/applications/abc"))
    write(container, holder, message(2, "https://evil.example/phish"))
    write(container, holder, message(3, None))

    html = client.get("/app/inbox").text

    assert 'href="/app/applications/abc"' in html
    assert "evil.example" not in html
    assert html.count("查看详情") == 1


def test_inbox_page_speaks_english_when_asked(client: TestClient, container: Container, holder: str) -> None:
    write(container, holder, message(1))
    html = client.get("/app/inbox?lang=en").text
    assert "Message number 1" in html and "消息1号" not in html
    assert "1 unread message" in html and "Turn on push notifications" in html
    assert "1 unread messages" not in html, "one message, singular"


def test_inbox_page_loads_push_script_from_our_own_files_only(
    client: TestClient, container: Container, holder: str
) -> None:
    response = client.get("/app/inbox")
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", response.text, flags=re.S)
    assert any('src="/static/push.js' in attrs for attrs, _body in scripts), "the push opt-in script is missing"
    assert all('src="/static/' in attrs and body.strip() == "" for attrs, body in scripts)
    assert not re.search(r"<[^>]*\son[a-z]+\s*=", response.text), "inline event handler"
    assert 'data-key-url="/app/push/key"' in response.text
    assert 'data-sw-url="/app/sw.js"' in response.text


# --- the badge -----------------------------------------------------------------------------------------------------


def test_badge_counts_the_signed_in_holders_unread_messages(
    client: TestClient, container: Container, holder: str
) -> None:
    write(container, holder, message(1))
    write(container, holder, message(2))
    write(container, other_account(container), message(3))
    assert client.get("/test/badge").json() == {"count": 2}
    client.post("/app/inbox/read", data={"csrf": csrf(client)})
    assert client.get("/test/badge").json() == {"count": 0}


def test_badge_is_empty_for_a_signed_out_visitor(client: TestClient) -> None:
    assert client.get("/test/badge").json() == {"count": 0}


def test_badge_text_caps_large_numbers() -> None:
    assert [badge_text(n) for n in (0, 1, 99, 100)] == ["", "1", "99", "99+"]


# --- the push opt-in endpoints -------------------------------------------------------------------------------------


def subscription_json(endpoint: str, browser: Browser) -> dict[str, object]:
    """What `PushSubscription.toJSON()` gives in a browser."""
    return {"endpoint": endpoint, "expirationTime": None, "keys": {"p256dh": browser.p256dh, "auth": browser.auth}}


def test_subscribed_browser_gets_the_holders_notifications(
    client: TestClient,
    container: Container,
    holder: str,
    push_service: PushService,  # noqa: F811 - the fixture
) -> None:
    browser = Browser()
    refused = client.post(
        "/app/push/subscribe",
        json=subscription_json(push_service.endpoint("phone"), browser),
        headers={"X-CSRF-Token": csrf(client)},
    )
    assert refused.status_code == 400, "only known push services: the server must not POST wherever it is told"
    container.settings.push_service_hosts = "127.0.0.1"  # this test's local push service
    response = client.post(
        "/app/push/subscribe",
        json=subscription_json(push_service.endpoint("phone"), browser),
        headers={"X-CSRF-Token": csrf(client)},
    )
    assert response.status_code == 201
    note_id = write(container, holder, message(1))

    notifier = container.notifier
    assert isinstance(notifier, WebPushNotifier)
    notifier.deliver([note_id])
    assert notifier.flush(10)

    (got,) = push_service.received
    assert browser.decrypt(got.body) == {"title": "消息1号", "body": "正文1", "url": "/app/applications", "id": note_id}


def _keys(browser: Browser, **overrides: str) -> dict[str, str]:
    return {"p256dh": browser.p256dh, "auth": browser.auth, **overrides}


BAD_BODIES: dict[str, Callable[[Browser], object]] = {
    "http endpoint": lambda b: {"endpoint": "http://push.example.com/x", "keys": _keys(b)},
    "ftp endpoint": lambda b: {"endpoint": "ftp://push.example.com/x", "keys": _keys(b)},
    "point off the curve": lambda b: {
        "endpoint": "https://push.example.com/x",
        "keys": _keys(b, p256dh=b64url(b"\x04" + b"\x01" * 64)),
    },
    "short auth": lambda b: {"endpoint": "https://push.example.com/x", "keys": _keys(b, auth=b64url(b"short"))},
    "no keys": lambda b: {"endpoint": "https://push.example.com/x"},
    "endpoint not a string": lambda b: {"endpoint": 5, "keys": _keys(b)},
    "not an object": lambda b: ["not", "an", "object"],
}


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
def test_bad_subscription_is_a_400_and_nothing_is_stored(
    client: TestClient, container: Container, holder: str, case: str
) -> None:
    body = BAD_BODIES[case](Browser())

    response = client.post("/app/push/subscribe", json=body, headers={"X-CSRF-Token": csrf(client)})

    assert response.status_code == 400
    assert response.json()["error"]
    assert stored_subscriptions(container) == 0


def test_body_that_is_not_json_is_a_400(client: TestClient, container: Container, holder: str) -> None:
    response = client.post(
        "/app/push/subscribe",
        content=b"{not json",
        headers={"X-CSRF-Token": csrf(client), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert stored_subscriptions(container) == 0


def test_subscribe_without_the_csrf_header_is_refused(client: TestClient, container: Container, holder: str) -> None:
    csrf(client)
    response = client.post("/app/push/subscribe", json=subscription_json("https://push.example.com/x", Browser()))
    assert response.status_code == 403
    assert stored_subscriptions(container) == 0


def test_unsubscribe_forgets_this_browser(client: TestClient, container: Container, holder: str) -> None:
    browser = Browser()
    body = subscription_json("https://fcm.googleapis.com/fcm/send/x", browser)
    client.post("/app/push/subscribe", json=body, headers={"X-CSRF-Token": csrf(client)})
    assert stored_subscriptions(container) == 1

    response = client.post("/app/push/unsubscribe", json=body, headers={"X-CSRF-Token": csrf(client)})

    assert response.status_code == 200 and response.json() == {"unsubscribed": True}
    assert stored_subscriptions(container) == 0
