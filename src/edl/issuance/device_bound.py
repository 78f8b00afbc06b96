"""An mdoc bound to a key the holder keeps (issue 15): the driver's app (WebCrypto) or a standard wallet (OpenID4VCI).

The e-licence (`ElicenceRow`) stays the one the application workflow issued; what changes is its holder device key:
the mdoc signed here carries `key` as its MSO `deviceKeyInfo.deviceKey`, and the row records it, so online checks of a
presentation find the e-licence by (licence number, device key) and an mdoc bound to an earlier key answers as
"not the current device". Signing again for the key already recorded only renews the MSO (short validity).
The private key never reaches the server: callers pass a public key whose possession they have checked.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

import cbor2
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select
from sqlalchemy.orm import Session

from edl import audit
from edl.audit import Action, ActorKind
from edl.credentials.cose import cose_key
from edl.db.models import ElicenceRow
from edl.issuance.elicences import IssuanceRefused, Issuer, sign_licence
from edl.notifications import messages
from edl.notifications.outbox import text_registered_mobile
from edl.registry.events import LicenceNotFound, load_for_update
from edl.registry.mapping import licence_from_row


class DeviceKeyChanged(IssuanceRefused):
    """The e-licence was bound to another key after the caller's challenge was made (a stale or replayed request)."""


@dataclass(frozen=True)
class BoundMdoc:
    elicence_id: str
    licence_number: str
    issuer_signed: bytes
    """The IssuerSigned CBOR (18013-5 §8.3.2.1.2.2): what a wallet stores and presents from."""
    valid_from: datetime
    valid_until: datetime
    rebound: bool
    """True when `key` replaced another device key (an mdoc bound to the old key no longer passes online checks)."""


def device_key_bytes(key: ec.EllipticCurvePublicKey) -> bytes:
    """The stored form of a device key (`elicences.device_key`): the CBOR of its COSE_Key."""
    return cbor2.dumps(cose_key(key))


def key_digest(stored: bytes | None) -> str:
    """A short digest of a stored device key (or of none), for challenges that must not outlive a re-binding."""
    return hashlib.sha256(stored or b"").hexdigest()[:24]


def current_device_key(session: Session, number: str) -> bytes | None:
    """The stored device key (COSE_Key CBOR) of licence `number`'s live e-licence; None without one."""
    return session.execute(
        select(ElicenceRow.device_key)
        .where(ElicenceRow.licence_number == number, ElicenceRow.voided_at.is_(None))
        .order_by(ElicenceRow.issued_at.desc())
        .limit(1)
    ).scalar_one_or_none()


def check_device_key(key: object) -> ec.EllipticCurvePublicKey:
    """`key` when it is an EC P-256 public key; the holder's app and OpenID4VCI wallets are asked for ES256."""
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise IssuanceRefused("设备密钥须为 P-256 公钥 / the device key must be an EC P-256 public key")
    return key


def sign_for_device_key(
    session: Session,
    issuer: Issuer,
    number: str,
    key: ec.EllipticCurvePublicKey,
    *,
    actor: str,
    actor_kind: ActorKind,
    channel: str,
    at: datetime,
    expected_key_digest: str | None = None,
) -> BoundMdoc:
    """Sign the live e-licence of licence `number` for device key `key` inside the caller's transaction.

    Refused (`IssuanceRefused`, a message a person can act on) when the licence has no live e-licence, is no longer
    eligible (suspended, revoked, expired...), or a sanction stops its e-licence. Audited as `device_key`.
    `expected_key_digest` (`key_digest` of the key the e-licence had when the caller's challenge was made): refused
    when the e-licence has been bound to another key since, so a captured binding request cannot be replayed to
    move the e-licence back.
    """
    check_device_key(key)
    try:
        row = load_for_update(session, number)
    except LicenceNotFound:
        raise IssuanceRefused(f"登记库中没有此驾驶证 / no licence {number} in the registry") from None
    elicence = session.execute(
        select(ElicenceRow)
        .where(ElicenceRow.licence_number == number, ElicenceRow.voided_at.is_(None))
        .order_by(ElicenceRow.issued_at.desc())
        .limit(1)
        .with_for_update()
    ).scalar_one_or_none()
    if elicence is None:
        raise IssuanceRefused("没有有效的电子驾驶证，请先申领 / no live e-licence: apply for one first")
    if expected_key_digest is not None and key_digest(bytes(elicence.device_key)) != expected_key_digest:
        raise DeviceKeyChanged(
            "电子驾驶证已绑定到其他设备，请重试 / "
            "the e-licence was bound to another key since this request began: try again"
        )
    issued, signer, valid_until = sign_licence(session, issuer, licence_from_row(row), elicence.photo_ref, key, at=at)
    stored = device_key_bytes(key)
    rebound = bytes(elicence.device_key) != stored
    elicence.device_key = stored
    elicence.valid_until = max(elicence.valid_until, valid_until)
    elicence.signer_serial = format(signer.certificate.serial_number, "x")
    if rebound and channel == "openid4vci":  # the driver's own app re-binding as it presents stays quiet
        text_registered_mobile(session, number, messages.sms_added_to_wallet(number), at=at)
    audit.record(
        session,
        at=at,
        actor_kind=actor_kind,
        actor=actor,
        action=Action.DEVICE_KEY,
        subject=number,
        outcome="rebound" if rebound else "renewed",
        detail={"elicence_id": elicence.id, "channel": channel, "signer": elicence.signer_serial},
    )
    return BoundMdoc(
        elicence_id=elicence.id,
        licence_number=number,
        issuer_signed=issued,
        valid_from=at.replace(microsecond=0),
        valid_until=valid_until.replace(microsecond=0),
        rebound=rebound,
    )
