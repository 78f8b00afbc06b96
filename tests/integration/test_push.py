"""Web Push end to end: a real push service on 127.0.0.1 checks the VAPID signature and decrypts what arrives.

The browser side is played by the test: it makes its own P-256 key pair and auth secret (what
`PushManager.subscribe` would), so the payload can only be read if the server encrypted it to those keys (RFC 8291).
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
import pytest
import structlog
import structlog.testing
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from edl.bootstrap import Container
from edl.db.models import AccountRow, NotificationRow, PushSubscriptionRow
from edl.notifications.inbox import Message, notify
from edl.notifications.push import (
    NullNotifier,
    WebPushNotifier,
    load_or_create_vapid_key,
    vapid_public_key_b64url,
)
from edl.notifications.subscriptions import (
    MAX_SUBSCRIPTIONS_PER_ACCOUNT,
    InvalidSubscription,
    subscribe,
    subscriptions_of,
    unsubscribe,
)
from edl.web import create_app
from tests.auth_helpers import sign_in_holder

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 15, 2, 0, tzinfo=UTC)
ISSUED = Message(
    "issued",
    "电子驾驶证申请成功",
    "E-licence issued",
    "您的电子驾驶证已生成，可在“我的电子驾驶证”中查看和出示。",
    "Your electronic driving licence is ready.",
    "/app",
)


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- a push service on this machine --------------------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class PushService:
    """Answers POST /push/<name> with the status set for <name> (201 by default) and keeps what it got."""

    port: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def endpoint(self, name: str) -> str:
        return f"{self.origin}/push/{name}"


@pytest.fixture
def push_service() -> Iterator[PushService]:
    service = PushService()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            service.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            if service.delay:
                time.sleep(service.delay)
            self.send_response(service.statuses.get(self.path.rsplit("/", 1)[-1], 201))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # silence the default stderr log
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    service.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield service
    server.shutdown()
    server.server_close()


@dataclass
class Browser:
    """The keys a browser makes when it subscribes (RFC 8291 §2: an ECDH P-256 pair and a 16-byte auth secret)."""

    private_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth_secret: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def p256dh(self) -> str:
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(point)

    @property
    def auth(self) -> str:
        return b64url(self.auth_secret)

    def decrypt(self, body: bytes) -> dict[str, Any]:
        plain = http_ece.decrypt(body, private_key=self.private_key, auth_secret=self.auth_secret, version="aes128gcm")
        data: dict[str, Any] = json.loads(plain)
        return data


def verify_vapid(header: str, *, public_key: str, audience: str, subject: str) -> dict[str, Any]:
    """Check `Authorization: vapid t=<JWT>,k=<key>` (RFC 8292) the way a push service does; return the claims."""
    scheme, _, params = header.partition(" ")
    assert scheme == "vapid"
    parts = dict(p.strip().split("=", 1) for p in params.split(","))
    assert parts["k"] == public_key
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(parts["k"]))
    head, claims, signature = parts["t"].split(".")
    raw = b64url_decode(signature)
    assert len(raw) == 64
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))  # raises InvalidSignature
    assert json.loads(b64url_decode(head)) == {"typ": "JWT", "alg": "ES256"}
    decoded: dict[str, Any] = json.loads(b64url_decode(claims))
    assert decoded["aud"] == audience
    assert decoded["sub"] == subject
    assert time.time() < decoded["exp"] <= time.time() + 24 * 3600
    return decoded


# --- data ----------------------------------------------------------------------------------------------------------


def make_account(container: Container, *, lang: str = "zh", mobile: str | None = None) -> str:
    account_id = uuid.uuid4().hex
    with container.sessions.begin() as session:
        session.add(
            AccountRow(
                id=account_id,
                mobile=mobile or f"139{uuid.uuid4().int % 10**8:08d}",
                created_at=NOW,
                lang=lang,
            )
        )
    return account_id


def write_notification(container: Container, account_id: str, message: Message = ISSUED) -> int:
    with container.sessions.begin() as session:
        notify(session, account_id, message, at=NOW)
        newest = session.scalar(select(func.max(NotificationRow.id)).where(NotificationRow.account_id == account_id))
        assert newest is not None
        return newest


def add_subscription(container: Container, account_id: str, endpoint: str, browser: Browser) -> None:
    with container.sessions.begin() as session:
        subscribe(session, account_id, endpoint, browser.p256dh, browser.auth, at=NOW)


def pushed_at(container: Container, notification_id: int) -> datetime | None:
    with container.sessions() as session:
        return session.scalar(select(NotificationRow.pushed_at).where(NotificationRow.id == notification_id))


def endpoints(container: Container) -> set[str]:
    with container.sessions() as session:
        return set(session.scalars(select(PushSubscriptionRow.endpoint)))


def notifier_of(container: Container) -> WebPushNotifier:
    notifier = container.notifier
    assert isinstance(notifier, WebPushNotifier)
    return notifier


# --- delivery ------------------------------------------------------------------------------------------------------


def test_push_reaches_the_browser_signed_with_vapid_and_encrypted_to_its_keys(
    container: Container, push_service: PushService
) -> None:
    account = make_account(container)
    browser = Browser()
    add_subscription(container, account, push_service.endpoint("phone"), browser)
    note_id = write_notification(container, account)

    notifier = notifier_of(container)
    notifier.deliver([note_id])
    assert notifier.flush(10)

    assert len(push_service.received) == 1
    got = push_service.received[0]
    assert got.path == "/push/phone"
    vapid_key = vapid_public_key_b64url(load_or_create_vapid_key(container.settings.data_dir))
    verify_vapid(
        got.headers["authorization"],
        public_key=vapid_key,
        audience=push_service.origin,
        subject=container.settings.vapid_subject,
    )
    assert got.headers["content-encoding"] == "aes128gcm"
    assert got.headers["ttl"] == str(24 * 3600)
    assert ISSUED.title_zh.encode() not in got.body  # encrypted on the wire
    assert browser.decrypt(got.body) == {
        "title": ISSUED.title_zh,
        "body": ISSUED.body_zh,
        "url": "/app",
        "id": note_id,
    }
    assert pushed_at(container, note_id) is not None


def test_push_is_in_the_language_the_holder_chose(container: Container, push_service: PushService) -> None:
    account = make_account(container, lang="en")
    browser = Browser()
    add_subscription(container, account, push_service.endpoint("en"), browser)
    note_id = write_notification(container, account)

    notifier_of(container).push_now([note_id])

    payload = browser.decrypt(push_service.received[0].body)
    assert (payload["title"], payload["body"]) == (ISSUED.title_en, ISSUED.body_en)


def test_every_browser_of_the_holder_gets_it_and_no_one_else(container: Container, push_service: PushService) -> None:
    holder, other = make_account(container), make_account(container)
    phone, laptop, stranger = Browser(), Browser(), Browser()
    add_subscription(container, holder, push_service.endpoint("phone"), phone)
    add_subscription(container, holder, push_service.endpoint("laptop"), laptop)
    add_subscription(container, other, push_service.endpoint("stranger"), stranger)
    note_id = write_notification(container, holder)

    report = notifier_of(container).push_now([note_id])

    assert report.sent == 2
    by_path = {r.path: r for r in push_service.received}
    assert set(by_path) == {"/push/phone", "/push/laptop"}
    assert phone.decrypt(by_path["/push/phone"].body)["id"] == note_id
    assert laptop.decrypt(by_path["/push/laptop"].body)["id"] == note_id


def test_gone_subscription_is_deleted_and_the_others_still_get_the_message(
    container: Container, push_service: PushService
) -> None:
    account = make_account(container)
    push_service.statuses["old"] = 410
    push_service.statuses["lost"] = 404
    add_subscription(container, account, push_service.endpoint("old"), Browser())
    add_subscription(container, account, push_service.endpoint("lost"), Browser())
    add_subscription(container, account, push_service.endpoint("new"), Browser())
    note_id = write_notification(container, account)

    notifier = notifier_of(container)
    notifier.deliver([note_id])
    assert notifier.flush(10)

    assert endpoints(container) == {push_service.endpoint("new")}
    assert pushed_at(container, note_id) is not None


def test_410_for_the_only_subscription_deletes_it_and_leaves_the_message_unpushed(
    container: Container, push_service: PushService
) -> None:
    account = make_account(container)
    push_service.statuses["old"] = 410
    add_subscription(container, account, push_service.endpoint("old"), Browser())
    note_id = write_notification(container, account)

    report = notifier_of(container).push_now([note_id])

    assert (report.sent, report.gone) == (0, 1)
    assert endpoints(container) == set()
    assert pushed_at(container, note_id) is None


def test_push_service_error_keeps_the_subscription_and_never_reaches_the_caller(
    container: Container, push_service: PushService
) -> None:
    account = make_account(container)
    push_service.statuses["busy"] = 500
    add_subscription(container, account, push_service.endpoint("busy"), Browser())
    add_subscription(container, account, "http://127.0.0.1:9/push/nobody-listens", Browser())
    note_id = write_notification(container, account)

    notifier = notifier_of(container)
    with structlog.testing.capture_logs() as logs:
        notifier.deliver([note_id, 999_999])  # and an id that does not exist
        assert notifier.flush(10)

    assert len(endpoints(container)) == 2
    assert pushed_at(container, note_id) is None
    assert notifier.push_now([note_id]).failed == 2
    failures = [entry for entry in logs if entry["event"] == "push_failed"]
    assert len(failures) == 2 and {entry["account_id"] for entry in failures} == {account}
    assert "/push/" not in repr(logs)  # the endpoint (a capability URL) is never logged


def test_delivery_returns_at_once_even_when_the_push_service_is_slow(
    container: Container, push_service: PushService
) -> None:
    account = make_account(container)
    push_service.delay = 3.0
    add_subscription(container, account, push_service.endpoint("slow"), Browser())
    note_id = write_notification(container, account)
    notifier = WebPushNotifier(
        container.sessions, load_or_create_vapid_key(container.settings.data_dir), "mailto:ops@example.org", timeout=0.5
    )

    started = time.monotonic()
    notifier.deliver([note_id])
    assert time.monotonic() - started < 0.5
    assert notifier.flush(10)  # the 0.5 s timeout ends the attempt, not the 3 s answer
    assert time.monotonic() - started < 2.5
    assert pushed_at(container, note_id) is None
    notifier.close()


def test_a_pushed_notification_is_not_pushed_twice(container: Container, push_service: PushService) -> None:
    account = make_account(container)
    add_subscription(container, account, push_service.endpoint("phone"), Browser())
    note_id = write_notification(container, account)

    notifier = notifier_of(container)
    notifier.push_now([note_id])
    notifier.push_now([note_id])

    assert len(push_service.received) == 1


def test_holder_without_subscriptions_has_only_the_inbox(container: Container, push_service: PushService) -> None:
    account = make_account(container)
    note_id = write_notification(container, account)

    report = notifier_of(container).push_now([note_id])

    assert (report.sent, report.failed, push_service.received) == (0, 0, [])
    assert NullNotifier().deliver([note_id]) is None


# --- subscriptions -------------------------------------------------------------------------------------------------


def test_endpoint_known_already_moves_to_the_account_that_subscribed_last(
    container: Container, push_service: PushService
) -> None:
    first, second = make_account(container), make_account(container)
    endpoint = push_service.endpoint("shared")
    add_subscription(container, first, endpoint, Browser())
    browser = Browser()
    add_subscription(container, second, endpoint, browser)

    with container.sessions() as session:
        assert subscriptions_of(session, first) == []
        (row,) = subscriptions_of(session, second)
    assert (row.endpoint, row.p256dh, row.auth) == (endpoint, browser.p256dh, browser.auth)


def test_oldest_subscription_makes_way_beyond_the_limit(container: Container, push_service: PushService) -> None:
    account = make_account(container)
    for n in range(MAX_SUBSCRIPTIONS_PER_ACCOUNT + 1):
        with container.sessions.begin() as session:
            b = Browser()
            subscribe(session, account, push_service.endpoint(f"d{n}"), b.p256dh, b.auth, at=NOW + timedelta(minutes=n))

    left = endpoints(container)
    assert len(left) == MAX_SUBSCRIPTIONS_PER_ACCOUNT
    assert push_service.endpoint("d0") not in left
    assert push_service.endpoint(f"d{MAX_SUBSCRIPTIONS_PER_ACCOUNT}") in left


def test_unsubscribe_removes_only_the_holders_own(container: Container, push_service: PushService) -> None:
    owner, other = make_account(container), make_account(container)
    endpoint = push_service.endpoint("mine")
    add_subscription(container, owner, endpoint, Browser())

    with container.sessions.begin() as session:
        assert unsubscribe(session, other, endpoint) is False
    assert endpoints(container) == {endpoint}
    with container.sessions.begin() as session:
        assert unsubscribe(session, owner, endpoint) is True
    assert endpoints(container) == set()


@pytest.mark.parametrize(
    ("endpoint", "p256dh", "auth"),
    [
        ("http://push.example.com/x", None, None),
        ("https://push.example.com/x", b64url(os.urandom(64)), None),
        ("https://push.example.com/x", None, b64url(os.urandom(8))),
    ],
)
def test_bad_subscription_stores_nothing(
    container: Container, endpoint: str, p256dh: str | None, auth: str | None
) -> None:
    account = make_account(container)
    browser = Browser()
    with pytest.raises(InvalidSubscription), container.sessions.begin() as session:
        subscribe(session, account, endpoint, p256dh or browser.p256dh, auth or browser.auth, at=NOW)
    with container.sessions() as session:
        assert session.scalar(select(func.count()).select_from(PushSubscriptionRow)) == 0


# --- the key (signed-in drivers) and the service worker (public) --------------------------------------------------


def test_key_endpoint_is_for_signed_in_drivers(container: Container) -> None:
    with TestClient(create_app(container), follow_redirects=False) as client:
        assert client.get("/app/push/key").status_code == 303


def test_key_endpoint_gives_the_key_the_pushes_are_signed_with(container: Container) -> None:
    with TestClient(create_app(container)) as client:
        sign_in_holder(client, container)
        response = client.get("/app/push/key")
    assert response.status_code == 200
    assert response.json() == {"key": vapid_public_key_b64url(load_or_create_vapid_key(container.settings.data_dir))}


def test_key_endpoint_says_push_is_off_with_the_inbox_only_notifier(container: Container) -> None:
    container.notifier = NullNotifier()
    with TestClient(create_app(container)) as client:
        sign_in_holder(client, container)
        assert client.get("/app/push/key").status_code == 404


def test_service_worker_is_served_for_the_app_scope(container: Container) -> None:
    with TestClient(create_app(container)) as client:
        response = client.get("/app/sw.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["service-worker-allowed"] == "/app/"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "showNotification" in response.text and "notificationclick" in response.text


def test_insecure_vapid_key_turns_push_off_and_is_not_used(container: Container) -> None:
    load_or_create_vapid_key(container.settings.data_dir)
    (container.settings.data_dir / "secrets" / "vapid.pem").chmod(0o644)
    with TestClient(create_app(container)) as client:
        sign_in_holder(client, container)
        assert client.get("/app/push/key").status_code == 404
