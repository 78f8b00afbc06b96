"""A holder's Web Push subscriptions (from the browser's `PushSubscription.toJSON()`): checked, then stored.

The endpoint is a URL the server will POST to, so only https is accepted (http only on this machine's loopback,
for a local push service in tests); the keys must be the sizes RFC 8291 gives, and p256dh a point on P-256.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from edl.db.models import PushSubscriptionRow
from edl.domain.errors import DomainError

MAX_SUBSCRIPTIONS_PER_ACCOUNT = 10
MAX_ENDPOINT_CHARS = 1024
P256DH_BYTES = 65
AUTH_BYTES = 16
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_B64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")


class InvalidSubscription(DomainError):
    """A push subscription that cannot be used (bad endpoint or keys); nothing is stored."""


def host_allowed(host: str, allowed: frozenset[str]) -> bool:
    """`host` is one of `allowed` or a subdomain of one (entries are host names, e.g. 'push.services.mozilla.com')."""
    host = host.lower().rstrip(".")
    return any(host == a or host.endswith("." + a) for a in allowed)


def check_endpoint(endpoint: str, allowed_hosts: frozenset[str] | None = None) -> str:
    """The push service URL: https (http only on loopback), a host, no user name or password in it.

    With `allowed_hosts` (the web route always passes `EDL_PUSH_SERVICE_HOSTS`), the host must be a known push
    service: otherwise any signed-in holder could make the server POST to an address of their choosing."""
    text = endpoint.strip() if isinstance(endpoint, str) else ""
    if not text or len(text) > MAX_ENDPOINT_CHARS:
        raise InvalidSubscription(
            f"推送地址为空或过长（最多 {MAX_ENDPOINT_CHARS} 个字符）/ "
            f"the push endpoint is empty or longer than {MAX_ENDPOINT_CHARS} characters"
        )
    try:
        parts = urlsplit(text)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise InvalidSubscription("推送地址格式有误 / the push endpoint is not a valid URL") from exc
    if not host or parts.username is not None or parts.password is not None or any(c.isspace() for c in text):
        raise InvalidSubscription("推送地址格式有误 / the push endpoint is not a valid URL")
    if allowed_hosts is not None and not host_allowed(host, allowed_hosts):
        raise InvalidSubscription(
            f"不支持的推送服务 {host} / {host} is not a known push service (EDL_PUSH_SERVICE_HOSTS)"
        )
    if parts.scheme == "https" or (parts.scheme == "http" and host in LOOPBACK_HOSTS):
        return text
    raise InvalidSubscription("推送地址必须使用 https / the push endpoint must be an https URL")


def _b64url_bytes(value: str, name: str, size: int) -> bytes:
    text = value.strip() if isinstance(value, str) else ""
    if not _B64URL.match(text):
        raise InvalidSubscription(f"密钥 {name} 不是 base64url 编码 / key {name} is not base64url")
    try:
        raw = base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidSubscription(f"密钥 {name} 不是 base64url 编码 / key {name} is not base64url") from exc
    if len(raw) != size:
        raise InvalidSubscription(
            f"密钥 {name} 长度应为 {size} 字节，实际为 {len(raw)} 字节 / "
            f"key {name} must be {size} bytes, not {len(raw)}"
        )
    return raw


def check_keys(p256dh: str, auth: str) -> tuple[str, str]:
    """The browser's keys, normalised to unpadded base64url: p256dh an uncompressed P-256 point, auth 16 bytes."""
    point = _b64url_bytes(p256dh, "p256dh", P256DH_BYTES)
    if point[0] != 0x04:
        raise InvalidSubscription("密钥 p256dh 不是未压缩的 P-256 点 / key p256dh is not an uncompressed P-256 point")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError as exc:
        raise InvalidSubscription("密钥 p256dh 不在 P-256 曲线上 / key p256dh is not a point on P-256") from exc
    secret = _b64url_bytes(auth, "auth", AUTH_BYTES)

    def encode(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    return encode(point), encode(secret)


def subscribe(
    session: Session,
    account_id: str,
    endpoint: str,
    p256dh: str,
    auth: str,
    *,
    at: datetime,
    allowed_hosts: frozenset[str] | None = None,
) -> PushSubscriptionRow:
    """Store the browser's subscription for `account_id` (in `session`'s transaction).

    An endpoint already known moves to this account with the new keys (the browser belongs to whoever signed in
    last). Beyond MAX_SUBSCRIPTIONS_PER_ACCOUNT the oldest of the account's subscriptions is dropped.
    """
    url = check_endpoint(endpoint, allowed_hosts)
    key, secret = check_keys(p256dh, auth)
    row = session.scalar(select(PushSubscriptionRow).where(PushSubscriptionRow.endpoint == url))
    if row is None:
        row = PushSubscriptionRow(account_id=account_id, endpoint=url, p256dh=key, auth=secret, created_at=at)
        session.add(row)
    else:
        row.account_id, row.p256dh, row.auth, row.created_at = account_id, key, secret, at
    session.flush()
    _drop_oldest_beyond_limit(session, account_id, keep=row.id)
    return row


def _drop_oldest_beyond_limit(session: Session, account_id: str, *, keep: int) -> None:
    count = session.scalar(
        select(func.count()).select_from(PushSubscriptionRow).where(PushSubscriptionRow.account_id == account_id)
    )
    excess = int(count or 0) - MAX_SUBSCRIPTIONS_PER_ACCOUNT
    if excess <= 0:
        return
    oldest = list(
        session.scalars(
            select(PushSubscriptionRow.id)
            .where(PushSubscriptionRow.account_id == account_id, PushSubscriptionRow.id != keep)
            .order_by(PushSubscriptionRow.created_at, PushSubscriptionRow.id)
            .limit(excess)
        )
    )
    session.execute(delete(PushSubscriptionRow).where(PushSubscriptionRow.id.in_(oldest)))


def unsubscribe(session: Session, account_id: str, endpoint: str) -> bool:
    """Forget the holder's subscription at `endpoint`; another account's is left alone. True if one was removed."""
    text = endpoint.strip() if isinstance(endpoint, str) else ""
    result = session.execute(
        delete(PushSubscriptionRow).where(
            PushSubscriptionRow.account_id == account_id, PushSubscriptionRow.endpoint == text
        )
    )
    return bool(getattr(result, "rowcount", 0))


def subscriptions_of(session: Session, account_id: str) -> list[PushSubscriptionRow]:
    return list(
        session.scalars(
            select(PushSubscriptionRow)
            .where(PushSubscriptionRow.account_id == account_id)
            .order_by(PushSubscriptionRow.id)
        )
    )
