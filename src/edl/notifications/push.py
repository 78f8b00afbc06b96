"""Web Push (RFC 8030/8291/8292) to the browsers a holder subscribed, on top of the in-app inbox.

The inbox row is written in the event's own transaction; after that transaction commits, the service hands the new
notification ids to a `Notifier`. Delivery is best effort: it runs on a small background pool, never raises into the
caller and never holds a web request for longer than it takes to queue the ids.

The VAPID key (the application server's identity towards the push services) is an EC P-256 key made at run time in
`<data_dir>/secrets/vapid.pem`, owner-only, never logged.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import stat
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from edl.db.models import AccountRow, NotificationRow, PushSubscriptionRow
from edl.pki.files import PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, ensure_dir, write_atomic
from edl.server_secrets import InsecureSecretFile

log = structlog.get_logger("edl.notifications")

VAPID_FILE = "vapid.pem"
PUSH_TIMEOUT_SECONDS = 5.0
PUSH_TTL_SECONDS = 24 * 3600
"""How long a push service keeps a message for a phone that is offline."""
PUSH_WORKERS = 2
PUSH_BODY_CHARS = 200
"""The push payload is capped (~4 KB encrypted); the full text is in the inbox."""
INBOX_URL = "/app/inbox"
GONE_STATUSES = frozenset({404, 410})
"""The push service no longer knows the subscription (the browser unsubscribed or the user revoked permission)."""


class Notifier(Protocol):
    """Delivery of in-app notifications beyond the inbox; called after the event's transaction commits."""

    def deliver(self, notification_ids: Sequence[int]) -> None:
        """Queue delivery of these NotificationRow ids; never raises, returns at once."""
        ...

    def push_now(self, notification_ids: Sequence[int]) -> PushReport:
        """Deliver these NotificationRow ids now (the outbox worker); never raises."""
        ...


class NullNotifier:
    """Inbox only: nothing is delivered beyond the rows already written."""

    def deliver(self, notification_ids: Sequence[int]) -> None:
        return None

    def push_now(self, notification_ids: Sequence[int]) -> PushReport:
        return PushReport()

    def flush(self, timeout: float | None = None) -> bool:
        return True


# --- the VAPID key -------------------------------------------------------------------------------------------------


class InsecureVapidKey(InsecureSecretFile):
    """The VAPID key file may be read by group or others, or is not a plain file."""


class InvalidVapidKey(RuntimeError):
    """The VAPID key file is not an unencrypted EC P-256 private key in PEM."""


def vapid_key_path(data_dir: Path) -> Path:
    return data_dir / "secrets" / VAPID_FILE


def load_or_create_vapid_key(data_dir: Path) -> ec.EllipticCurvePrivateKey:
    """The server's VAPID key, created on first use (0600 in a 0700 folder); an existing one is reused."""
    folder = ensure_dir(data_dir / "secrets", PRIVATE_DIR_MODE)
    path = folder / VAPID_FILE
    if not path.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
            write_atomic(path, pem, mode=PRIVATE_FILE_MODE, replace=False)
    return load_vapid_key(path)


def load_vapid_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """Read a VAPID key, refusing one that group or others could read (it signs as this server)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise InsecureVapidKey(
            f"无法读取 VAPID 密钥 {path}（{exc.strerror}）/ cannot read the VAPID key {path} ({exc.strerror})"
        ) from exc
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        mode = stat.S_IMODE(info.st_mode)
        if not stat.S_ISREG(info.st_mode) or mode & 0o077:
            raise InsecureVapidKey(
                f"VAPID 密钥 {path} 可被其他用户读取（权限 {mode:o}），请执行 chmod 600 / "
                f"the VAPID key {path} is readable by group or others (mode {mode:o}); chmod 600 it"
            )
        data = handle.read()
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise InvalidVapidKey(
            f"{path} 不是可用的 VAPID 私钥 / {path} is not a usable VAPID private key (PEM, unencrypted)"
        ) from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise InvalidVapidKey(f"{path} 不是 P-256 密钥 / {path} is not an EC P-256 key")
    return key


def vapid_public_key_b64url(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> str:
    """The application server key for `PushManager.subscribe`: the uncompressed point, base64url without '='."""
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    point = public.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(point).rstrip(b"=").decode("ascii")


# --- what is sent --------------------------------------------------------------------------------------------------


def safe_link(link: str | None) -> str:
    """A same-site path to open on click; anything else (other sites, schemes) falls back to the inbox."""
    if link and link.startswith("/") and not link.startswith("//") and "\\" not in link:
        return link
    return INBOX_URL


def push_payload(note: NotificationRow, lang: str) -> dict[str, Any]:
    """The JSON the service worker shows: title, body (shortened), the page to open, the inbox id."""
    english = lang == "en"
    body = note.body_en if english else note.body_zh
    if len(body) > PUSH_BODY_CHARS:
        body = body[: PUSH_BODY_CHARS - 1] + "…"
    return {
        "title": note.title_en if english else note.title_zh,
        "body": body,
        "url": safe_link(note.link),
        "id": note.id,
    }


class Outcome(StrEnum):
    SENT = "sent"
    GONE = "gone"
    FAILED = "failed"


@dataclass
class PushReport:
    """What one delivery round did (counts of subscriptions)."""

    sent: int = 0
    gone: int = 0
    failed: int = 0
    notifications_pushed: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Target:
    id: int
    endpoint: str
    p256dh: str
    auth: str


# --- the notifier --------------------------------------------------------------------------------------------------


class WebPushNotifier:
    """Sends each notification to every browser its holder subscribed, in the holder's language (AccountRow.lang)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        vapid_key: ec.EllipticCurvePrivateKey | Path,
        subject: str,
        *,
        clock: Callable[[], datetime] | None = None,
        timeout: float = PUSH_TIMEOUT_SECONDS,
        ttl: int = PUSH_TTL_SECONDS,
        workers: int = PUSH_WORKERS,
    ) -> None:
        if not (subject.startswith("mailto:") or subject.startswith("https://")):
            raise ValueError(f"VAPID subject must be a mailto: or https: URL, not {subject!r}")
        from py_vapid import Vapid02

        key = load_vapid_key(vapid_key) if isinstance(vapid_key, Path) else vapid_key
        self._vapid = Vapid02(private_key=key)
        self.application_server_key = vapid_public_key_b64url(key)
        self._sessions = sessions
        self._subject = subject
        self._clock = clock or (lambda: datetime.now(UTC))
        self._timeout = timeout
        self._ttl = ttl
        self._workers = workers
        self._executor: ThreadPoolExecutor | None = None
        self._pending: set[Future[PushReport]] = set()
        self._lock = threading.Lock()
        self._local = threading.local()

    def deliver(self, notification_ids: Sequence[int]) -> None:
        """Queue the push of these notifications on the background pool; returns at once, never raises."""
        try:
            ids = [int(i) for i in notification_ids]
            if not ids:
                return
            with self._lock:
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="edl-push")
                future = self._executor.submit(self.push_now, ids)
                self._pending.add(future)
            future.add_done_callback(self._done)
        except Exception as exc:  # push is best effort; the inbox row is already committed
            log.error("push_not_queued", error=type(exc).__name__)

    def _done(self, future: Future[PushReport]) -> None:
        with self._lock:
            self._pending.discard(future)

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Wait for queued deliveries (tests, shutdown); True when none is left."""
        with self._lock:
            pending = set(self._pending)
        _done, not_done = wait(pending, timeout=timeout)
        return not not_done

    def close(self, timeout: float | None = 10.0) -> None:
        """Finish queued deliveries and stop the pool."""
        self.flush(timeout)
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    def push_now(self, notification_ids: Sequence[int]) -> PushReport:
        """Push these notifications synchronously (what `deliver` runs in the background); never raises."""
        report = PushReport()
        for notification_id in notification_ids:
            try:
                self._push_one(int(notification_id), report)
            except Exception as exc:  # one broken row must not stop the others
                log.error("push_error", notification_id=notification_id, error=type(exc).__name__)
                report.failed += 1
        return report

    def _push_one(self, notification_id: int, report: PushReport) -> None:
        with self._sessions() as session:
            note = session.get(NotificationRow, notification_id)
            if note is None or note.pushed_at is not None:
                return  # gone, or pushed already: delivering twice is harmless
            account_id = note.account_id
            lang = session.scalar(select(AccountRow.lang).where(AccountRow.id == account_id)) or "zh"
            payload = json.dumps(push_payload(note, lang), ensure_ascii=False, separators=(",", ":"))
            targets = [
                _Target(s.id, s.endpoint, s.p256dh, s.auth)
                for s in session.scalars(
                    select(PushSubscriptionRow)
                    .where(PushSubscriptionRow.account_id == account_id)
                    .order_by(PushSubscriptionRow.id)
                )
            ]
        if not targets:
            return
        # No database connection is held while the push services answer.
        outcomes = [(target, self._send(target, payload, account_id, notification_id)) for target in targets]
        gone = [t for t, outcome in outcomes if outcome is Outcome.GONE]
        sent = sum(1 for _t, outcome in outcomes if outcome is Outcome.SENT)
        report.sent += sent
        report.gone += len(gone)
        report.failed += sum(1 for _t, outcome in outcomes if outcome is Outcome.FAILED)
        with self._sessions.begin() as session:
            for target in gone:
                # Only the subscription that answered 'gone': not one the browser re-registered meanwhile.
                session.execute(
                    delete(PushSubscriptionRow).where(
                        PushSubscriptionRow.id == target.id,
                        PushSubscriptionRow.endpoint == target.endpoint,
                        PushSubscriptionRow.p256dh == target.p256dh,
                    )
                )
            if sent:
                session.execute(
                    update(NotificationRow)
                    .where(NotificationRow.id == notification_id, NotificationRow.pushed_at.is_(None))
                    .values(pushed_at=self._clock())
                )
        if sent:
            report.notifications_pushed.append(notification_id)

    def _send(self, target: _Target, payload: str, account_id: str, notification_id: int) -> Outcome:
        from pywebpush import WebPushException, webpush

        host = urlsplit(target.endpoint).hostname or "-"
        fields = {"account_id": account_id, "notification_id": notification_id, "push_host": host}
        try:
            webpush(
                subscription_info={"endpoint": target.endpoint, "keys": {"p256dh": target.p256dh, "auth": target.auth}},
                data=payload,
                vapid_private_key=self._vapid,
                vapid_claims={"sub": self._subject},  # webpush adds aud and exp to this dict: a fresh one each time
                content_encoding="aes128gcm",
                timeout=self._timeout,
                ttl=self._ttl,
                headers={"Urgency": "normal"},
                requests_session=self._http(),
            )
        except WebPushException as exc:
            status = exc.status_code
            if status in GONE_STATUSES:
                log.info("push_subscription_gone", status=status, **fields)
                return Outcome.GONE
            log.warning("push_failed", status=status, **fields)
            return Outcome.FAILED
        except Exception as exc:  # network errors, timeouts, a key the encryption refuses
            log.warning("push_failed", status=None, error=type(exc).__name__, **fields)
            return Outcome.FAILED
        log.info("push_sent", **fields)
        return Outcome.SENT

    def _http(self) -> requests.Session:
        """One HTTP session per worker thread; redirects are refused (a push service never redirects)."""
        http: requests.Session | None = getattr(self._local, "http", None)
        if http is None:
            http = requests.Session()
            http.max_redirects = 0
            self._local.http = http
        return http


def build_notifier(
    sessions: sessionmaker[Session],
    vapid_key: ec.EllipticCurvePrivateKey,
    *,
    subject: str,
    clock: Callable[[], datetime],
) -> Notifier:
    """The serving notifier: Web Push signed with `vapid_key` (see `load_or_create_vapid_key`), claiming `subject`
    (EDL_VAPID_SUBJECT) towards the push services."""
    return WebPushNotifier(sessions, vapid_key, subject, clock=clock)
