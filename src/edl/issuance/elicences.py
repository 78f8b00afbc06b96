"""Issue an e-licence for a registry licence: eligibility, portrait, mdoc signed by the current document signer.

Used by `edl credential issue` and by the application workflow. One transaction: the e-licence row and the void
of any earlier e-licence of the same licence are written together, or not at all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import cbor2
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from edl import audit
from edl.audit import Action, ActorKind
from edl.credentials import MDL_DOCTYPE, IssuanceError, device_response, generate_device_key, issue_mdoc
from edl.credentials.cose import cose_key
from edl.credentials.licence_mdl import mdl_namespaces
from edl.db.models import ElicenceRow, SanctionRow
from edl.db.session import transaction
from edl.domain import DomainError, Licence, Rollout
from edl.domain.dates import china_date
from edl.domain.sanction import SanctionState
from edl.issuance.status import allocate_index, mark_changed
from edl.issuance.voiding import REISSUED, void_elicence
from edl.notifications import messages
from edl.notifications.outbox import text_registered_mobile
from edl.pki import Authority, PkiError, Signer
from edl.pki.files import read_at_most
from edl.registry.events import LicenceNotFound, load_for_update
from edl.registry.mapping import licence_from_row
from edl.storage.photos import PhotoNotFound, PhotoStore

MAX_ACTOR = 128
"""The length of `elicences.issued_by`."""
MAX_DEVICE_KEY_BYTES = 64 * 1024
"""A P-256 public key in PEM is under 200 bytes; a larger file is refused unread."""


class IssuanceRefused(DomainError):
    """No e-licence can be issued; the message says why in plain words."""


@dataclass(frozen=True)
class Issuer:
    """What issuing uses: the authority's document signers, the photo store, the rollout (which licences may get
    an e-licence) and how long a signed MSO stays valid."""

    authority: Authority
    photos: PhotoStore
    rollout: Rollout
    mso_validity_hours: int


@dataclass(frozen=True)
class IssuedElicence:
    elicence_id: str
    licence_number: str
    issuer_signed: bytes
    device_response: bytes
    valid_from: datetime
    valid_until: datetime
    device_private_key_pem: bytes | None
    """The holder device key, when eDL generated one (the caller hands it to the holder; never stored here)."""


def load_device_public_key(path: Path) -> ec.EllipticCurvePublicKey:
    """A holder device public key from a PEM file (P-256; the file at most `MAX_DEVICE_KEY_BYTES`)."""
    try:
        key = serialization.load_pem_public_key(read_at_most(path, MAX_DEVICE_KEY_BYTES))
    except (OSError, ValueError) as exc:
        raise IssuanceRefused(f"cannot read a device public key from {path}: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise IssuanceRefused("the device key must be an EC P-256 public key")
    return key


def refuse_if_stopped(session: Session, number: str, *, at: datetime) -> None:
    """No e-licence while a sanction for malicious uploads is in force on licence `number` (issue 16): every path
    that issues (an approved application, `edl credential issue`) is refused, so a stop cannot be side-stepped by
    issuing afresh (a new e-licence row would start without `suspended_until`)."""
    stop = session.execute(
        select(SanctionRow.id, SanctionRow.ends_at)
        .where(
            SanctionRow.licence_number == number,
            SanctionRow.state == SanctionState.ACTIVE.value,
            SanctionRow.ends_at.is_(None) | (SanctionRow.ends_at > at),
        )
        .limit(1)
    ).first()
    if stop is not None:
        raise IssuanceRefused(
            "电子驾驶证已停止申请使用（恶意上传或使用不合规照片），请持身份证到车管所窗口申诉 / "
            "the e-licence is stopped (malicious or non-compliant photos): appeal at a vehicle administration office "
            "counter"
        )


def sign_licence(
    session: Session,
    issuer: Issuer,
    lic: Licence,
    portrait_ref: str | None,
    device_key: ec.EllipticCurvePublicKey,
    *,
    at: datetime,
) -> tuple[bytes, Signer, datetime]:
    """(IssuerSigned, signer, validUntil) of an mdoc for `lic` bound to `device_key`, after every check issuing
    makes: eligibility (status, validity, rollout), no running sanction, a stored portrait, a current signer.
    Used by issuance and by signing for a holder-held key (`edl.issuance.device_bound`)."""
    verdict = lic.eligibility(china_date(at), issuer.rollout)
    if not verdict.eligible:
        raise IssuanceRefused(
            "；".join(r[1] for r in verdict.reasons) + " / " + " ".join(r[2] for r in verdict.reasons)
        )
    refuse_if_stopped(session, str(lic.number), at=at)
    if not portrait_ref:
        raise IssuanceRefused("没有存档照片，请先提交照片 / no stored photo: submit a photo first")
    try:
        portrait = issuer.photos.get(portrait_ref)
        signer = issuer.authority.current_signer(at)
    except (PhotoNotFound, PkiError) as exc:
        raise IssuanceRefused(str(exc)) from None
    valid_until = min(at + timedelta(hours=issuer.mso_validity_hours), signer.certificate.not_valid_after_utc)
    try:
        issued = issue_mdoc(
            MDL_DOCTYPE,
            mdl_namespaces(lic, portrait=portrait, generated_at=at, valid_from=at),
            signer,
            device_key,
            valid_from=at,
            valid_until=valid_until,
            signed_at=at,
        )
    except IssuanceError as exc:
        raise IssuanceRefused(f"签发失败 / cannot sign: {exc}") from None
    return issued, signer, valid_until


def issue_elicence(
    sessions: sessionmaker[Session],
    issuer: Issuer,
    number: str,
    *,
    device_key: ec.EllipticCurvePublicKey | None = None,
    actor: str,
    at: datetime,
) -> IssuedElicence:
    """Issue (or re-issue) the e-licence of licence `number` in a transaction of its own; refuse with every reason
    when it is not eligible."""
    with transaction(sessions) as session:
        return issue_in_session(session, issuer, number, device_key=device_key, actor=actor, at=at)


def issue_in_session(
    session: Session,
    issuer: Issuer,
    number: str,
    *,
    device_key: ec.EllipticCurvePublicKey | None = None,
    photo_ref: str | None = None,
    actor: str,
    actor_kind: ActorKind = ActorKind.CLI,
    at: datetime,
    photo_change: bool = False,
) -> IssuedElicence:
    """Issue inside the caller's transaction (the application workflow writes its own rows beside it).

    `photo_ref` is the reviewed application photo; default: the registry's stored photo. The previous e-licence of
    the licence is voided in the same transaction, so the old one stays valid until the new one exists. The
    registered mobile is told by SMS (`photo_change`: a new photo, not a first issuance), through the outbox.
    """
    if len(actor) > MAX_ACTOR:
        raise IssuanceRefused(f"actor: at most {MAX_ACTOR} characters / 操作人过长")
    now = at
    try:
        row = load_for_update(session, number)
    except LicenceNotFound:
        raise IssuanceRefused(f"登记库中没有此驾驶证 / no licence {number} in the registry") from None
    lic = licence_from_row(row)
    portrait_ref = photo_ref or lic.photo_ref
    private_key = None
    if device_key is None:
        private_key = generate_device_key()
        device_key = private_key.public_key()
    issued, signer, valid_until = sign_licence(session, issuer, lic, portrait_ref, device_key, at=now)
    void_elicence(session, row.number, REISSUED, at=now, actor=actor)
    elicence_id = uuid.uuid4().hex
    status_index = allocate_index(session, elicence_id, at=now)  # fresh on every issuance, never reused
    session.add(
        ElicenceRow(
            id=elicence_id,
            licence_number=row.number,
            licence_version=row.version,
            issued_at=now,
            valid_until=valid_until,
            signer_serial=format(signer.certificate.serial_number, "x"),
            device_key=cbor2.dumps(cose_key(device_key)),
            photo_ref=portrait_ref,
            issued_by=actor,
            status_index=status_index,
        )
    )
    mark_changed(session, at=now)
    audit.record(
        session,
        at=now,
        actor_kind=actor_kind,
        actor=actor,
        action=Action.ISSUE,
        subject=row.number,
        detail={"elicence_id": elicence_id, "signer": format(signer.certificate.serial_number, "x")},
    )
    text_registered_mobile(session, row.number, messages.sms_issued(row.number, photo_change=photo_change), at=now)
    pem = (
        private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        if private_key is not None
        else None
    )
    return IssuedElicence(
        elicence_id=elicence_id,
        licence_number=row.number,
        issuer_signed=issued,
        device_response=device_response([(MDL_DOCTYPE, issued)]),
        valid_from=now.replace(microsecond=0),
        valid_until=valid_until.replace(microsecond=0),
        device_private_key_pem=pem,
    )
