"""SQLAlchemy models. The registry tables mirror `edl.domain.licence.Licence`; conversion lives in
`edl.registry.mapping` so the domain stays free of the ORM."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from edl.db.base import NAMING as NAMING
from edl.db.base import Base as Base
from edl.db.base import BigId
from edl.db.types import UtcDateTime

# The declarative base, its naming convention and BigId live in `edl.db.base` (shared with `edl.db.openid_models`).


class LicenceRow(Base):
    """One driving licence (机动车驾驶证) in the registry."""

    __tablename__ = "licences"

    number: Mapped[str] = mapped_column(String(18), primary_key=True)
    file_number: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    sex: Mapped[int] = mapped_column(SmallInteger)
    nationality: Mapped[str] = mapped_column(String(3))
    birth_date: Mapped[date] = mapped_column(Date)
    address: Mapped[str] = mapped_column(String(256))
    classes: Mapped[str] = mapped_column(String(64))
    first_issue: Mapped[date] = mapped_column(Date)
    validity_term: Mapped[str] = mapped_column(String(8))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    authority_code: Mapped[str] = mapped_column(String(6))
    authority_name: Mapped[str] = mapped_column(String(64))
    authority_city: Mapped[str] = mapped_column(String(32))
    statuses: Mapped[str] = mapped_column(String(16))
    points: Mapped[int] = mapped_column(SmallInteger, default=0)
    points_cycle_start: Mapped[date | None] = mapped_column(Date)
    photo_ref: Mapped[str | None] = mapped_column(String(64))
    photo_compliant: Mapped[bool] = mapped_column(Boolean, default=False)
    mobile: Mapped[str | None] = mapped_column(String(11))
    """登记手机号: the registered mobile number; binding needs a sign-in with it, notices go to it."""
    version: Mapped[int] = mapped_column(Integer, default=1)
    """Incremented by every change; later issues compare it to void or refresh e-licences."""
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (
        # Prefix search (LIKE 'x%') uses these on PostgreSQL whatever the database collation is.
        Index("ix_licences_number_pattern", "number", postgresql_ops={"number": "varchar_pattern_ops"}),
        Index("ix_licences_name_pattern", "name", postgresql_ops={"name": "varchar_pattern_ops"}),
        # Scope filters (`authority_code LIKE '37%'`): SQLite scans this narrow index (3x faster than the table);
        # PostgreSQL cannot use it for LIKE under a non-C collation, so it exists only on SQLite (migration 0012).
        Index("ix_licences_authority_code", "authority_code").ddl_if(dialect="sqlite"),
    )


class RecordRow(Base):
    """One driving-record entry (驾驶记录)."""

    __tablename__ = "driving_record"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    licence_number: Mapped[str] = mapped_column(ForeignKey("licences.number", ondelete="CASCADE"), index=True)
    on: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(String(256))
    points: Mapped[int] = mapped_column(SmallInteger, default=0)


class RegistryEvent(Base):
    """Append-only log of registry changes (a trigger refuses UPDATE and DELETE)."""

    __tablename__ = "registry_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    licence_number: Mapped[str] = mapped_column(String(18))
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    actor: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    licence_version: Mapped[int] = mapped_column(Integer)
    """The licence's version after this event."""

    __table_args__ = (Index("ix_registry_events_licence_id", "licence_number", "id"),)


class ImportRun(Base):
    """One `edl registry import`: what came in, what was refused, and where the rejects went."""

    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    accepted: Mapped[int] = mapped_column(BigInteger, default=0)
    rejected: Mapped[int] = mapped_column(BigInteger, default=0)
    actor: Mapped[str] = mapped_column(String(128))


class ElicenceRow(Base):
    """An issued e-licence (电子驾驶证): which licence version it reflects, who signed it, and whether it is void.

    The mdoc itself is not stored: it is re-signed from the registry on demand (short MSO validity keeps status
    fresh), so only what is needed to re-sign, void and audit it lives here.
    """

    __tablename__ = "elicences"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    licence_number: Mapped[str] = mapped_column(ForeignKey("licences.number", ondelete="RESTRICT"), index=True)
    licence_version: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    valid_until: Mapped[datetime] = mapped_column(UtcDateTime())
    """validUntil of the newest MSO signed for it."""
    signer_serial: Mapped[str] = mapped_column(String(64))
    device_key: Mapped[bytes] = mapped_column(LargeBinary)
    """The holder device's public key as a COSE_Key (CBOR)."""
    photo_ref: Mapped[str] = mapped_column(String(64))
    voided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    void_reason: Mapped[str | None] = mapped_column(String(64))
    issued_by: Mapped[str] = mapped_column(String(128))
    status_index: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    """This e-licence's index in the signed status list (Token Status List); a fresh one on every issuance."""
    suspended_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    """Set while a sanction runs (`SanctionRow`): the e-licence answers as suspended until then; NULL when lifted."""

    __table_args__ = (Index("ix_elicences_active", "licence_number", "voided_at"),)


class StatusSlotRow(Base):
    """Allocates status-list indices: one row per issued e-licence; the row id is the index (never reused)."""

    __tablename__ = "status_slots"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    elicence_id: Mapped[str] = mapped_column(String(32), unique=True)
    allocated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class StatusListRow(Base):
    """The newest signed status list token (CWT) of one list, shared by every app server.

    `changed_at` is bumped in the transaction of any change that can alter an e-licence's status (event, import,
    void, issuance); a token built before it is stale and is rebuilt on the next request.
    """

    __tablename__ = "status_lists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[bytes | None] = mapped_column(LargeBinary)
    built_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime())


# --- Accounts, applications, review, notifications and audit (issue 4) -------------------------------------------


class AccountRow(Base):
    """A driver's app account (12123 账号): signed in by mobile number, bound to at most one licence."""

    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    mobile: Mapped[str] = mapped_column(String(20), unique=True)
    licence_number: Mapped[str | None] = mapped_column(
        ForeignKey("licences.number", ondelete="RESTRICT"), unique=True, nullable=True
    )
    """One licence, one account: the unique constraint is the rule."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    bound_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    lang: Mapped[str] = mapped_column(String(2), default="zh")
    privacy_consent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    """When the holder accepted the privacy notice (个人信息保护告知); set when the account is created."""
    privacy_notice_version: Mapped[str | None] = mapped_column(String(16))
    """Which version of the notice they accepted (`edl.accounts.privacy.PRIVACY_NOTICE_VERSION`)."""


class OtpChallengeRow(Base):
    """A one-time sign-in code sent by SMS. Only an HMAC of the code is kept."""

    __tablename__ = "otp_challenges"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    mobile: Mapped[str] = mapped_column(String(20))
    client: Mapped[str] = mapped_column(String(64))
    """The client address that asked for it (rate limits per number and per address)."""
    code_mac: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    consumed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (
        Index("ix_otp_challenges_mobile_created", "mobile", "created_at"),
        Index("ix_otp_challenges_client_created", "client", "created_at"),
    )


class StaffUserRow(Base):
    """A traffic-police staff member of the review console, scoped to issuing authorities."""

    __tablename__ = "staff_users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    """reviewer, supervisor or admin."""
    authorities: Mapped[str] = mapped_column(String(512))
    """Comma-separated issuing-authority codes this user may act for, or '*' for all."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class WebSessionRow(Base):
    """A signed-in browser session (holder or staff). The cookie holds a random token; only its SHA-256 is kept."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    """holder or staff."""
    subject_id: Mapped[str] = mapped_column(String(32), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class FaceCheckRow(Base):
    """One real-person authentication (实人认证) attempt: live capture compared with a reference photo."""

    __tablename__ = "face_checks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"), index=True)
    licence_number: Mapped[str] = mapped_column(String(18))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    provider: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16))
    """passed, no_face, several_faces, mismatch, bad_image, no_reference."""
    distance: Mapped[float | None] = mapped_column(Float)
    purpose: Mapped[str] = mapped_column(String(16))
    """bind or apply."""
    frame_hashes: Mapped[str | None] = mapped_column(Text)
    """The perceptual hashes of the attempt's frames (hex, comma-separated): a later replay of them is refused."""

    __table_args__ = (Index("ix_face_checks_licence_at", "licence_number", "at"),)


class LivenessChallengeRow(Base):
    """A one-time liveness challenge (活体检测动作): the actions asked for, until when, and whether it was answered."""

    __tablename__ = "liveness_challenges"

    id: Mapped[str] = mapped_column(String(43), primary_key=True)
    """The nonce (32 random bytes, base64url)."""
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(16))
    actions: Mapped[str] = mapped_column(String(64))
    """Comma-separated `edl.domain.liveness.Action` values, in order."""
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_liveness_challenges_account_issued", "account_id", "issued_at"),)


class ApplicationRow(Base):
    """An e-licence application (申领) or a voluntary photo change, from submission to decision."""

    __tablename__ = "applications"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"), index=True)
    licence_number: Mapped[str] = mapped_column(ForeignKey("licences.number", ondelete="RESTRICT"), index=True)
    authority_code: Mapped[str] = mapped_column(String(6))
    """The licence's issuing authority when submitted: reviewers see only their authorities' queue."""
    kind: Mapped[str] = mapped_column(String(16))
    """stored_photo, camera, album (how the photo came)."""
    photo_change: Mapped[bool] = mapped_column(Boolean, default=False)
    """A voluntary photo change after issuance (the old e-licence stays until the new one is issued)."""
    state: Mapped[str] = mapped_column(String(16), index=True)
    """pending_review, issued, rejected, cancelled."""
    photo_ref: Mapped[str] = mapped_column(String(64))
    photo_checks: Mapped[dict[str, Any]] = mapped_column(JSON)
    """What the automatic checks measured (kept for the reviewer)."""
    idempotency_key: Mapped[str] = mapped_column(String(64))
    face_check_id: Mapped[str | None] = mapped_column(ForeignKey("face_checks.id", ondelete="RESTRICT"))
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    """Review deadline: submission + 1 working day (Chinese statutory calendar)."""
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(64))
    reject_code: Mapped[str | None] = mapped_column(String(32))
    reject_note: Mapped[str | None] = mapped_column(String(500))
    elicence_id: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (
        UniqueConstraint("account_id", "idempotency_key", name="uq_applications_account_idempotency"),
        Index("ix_applications_queue", "state", "due_at"),
    )


class SanctionRow(Base):
    """A sanction (停止电子驾驶证申请使用): rules in `edl.domain.sanction`; ends_at NULL: until lifted."""

    __tablename__ = "sanctions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    licence_number: Mapped[str] = mapped_column(ForeignKey("licences.number", ondelete="RESTRICT"), index=True)
    authority_code: Mapped[str] = mapped_column(String(6))
    application_id: Mapped[str | None] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    reason_code: Mapped[str] = mapped_column(String(32))
    reason_text: Mapped[str | None] = mapped_column(String(500))
    duration_days: Mapped[int | None] = mapped_column(Integer)
    proposed_by: Mapped[str] = mapped_column(String(64))
    proposed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    confirmed_by: Mapped[str | None] = mapped_column(String(64))
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    lifted_by: Mapped[str | None] = mapped_column(String(64))
    lifted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    lift_reason: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (Index("ix_sanctions_state_authority", "state", "authority_code"),)


class NotificationRow(Base):
    """An in-app message (站内消息) for a holder; written in the same transaction as the event it reports."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    title_zh: Mapped[str] = mapped_column(String(128))
    title_en: Mapped[str] = mapped_column(String(128))
    body_zh: Mapped[str] = mapped_column(String(1000))
    body_en: Mapped[str] = mapped_column(String(1000))
    link: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    pushed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_notifications_account_id", "account_id", "id"),)


class PushSubscriptionRow(Base):
    """A browser's Web Push subscription (endpoint and keys from PushManager.subscribe)."""

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(String(1024), unique=True)
    p256dh: Mapped[str] = mapped_column(String(256))
    auth: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class OutboxRow(Base):
    """A notice waiting to leave (SMS, Web Push), written in the transaction of the event it reports.

    The worker (`edl worker`, also inside `edl serve`) claims due rows, delivers them and marks them delivered, or
    schedules the next attempt with backoff. A rolled-back event leaves no row, so nothing is ever sent for it.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    """sms or push."""
    recipient: Mapped[str] = mapped_column(String(64))
    """An 11-digit mobile number (sms) or an account id (push)."""
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    """When the row is next due; a claim pushes it forward (the lease), so a crashed worker's row comes back."""
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(String(256))

    __table_args__ = (Index("ix_outbox_due", "delivered_at", "next_attempt_at"),)


class AuditRow(Base):
    """Append-only audit log (a trigger refuses UPDATE and DELETE): who did what to which record, and when."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor_kind: Mapped[str] = mapped_column(String(8))
    """holder, staff, system or cli."""
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(64))
    """A licence number, application id or account id."""
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    client: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_audit_log_subject_id", "subject", "id"),
        Index("ix_audit_log_action_at", "action", "at"),
        # staff sign-in throttling counts refused sign-ins per client address and per username (accounts.throttle)
        Index("ix_audit_log_action_client", "action", "client", "outcome", "at"),
        Index("ix_audit_log_action_subject", "action", "subject", "outcome", "at"),
    )


# --- Verification: relying parties and the verification log (issue 5) --------------------------------------------


class RelyingPartyRow(Base):
    """A registered verifier (law-enforcement terminal, insurer, car rental, employer...) and its API key.

    Only the SHA-256 of the key is kept (the key is 256 random bits, shown once). `fields`, when set, narrows or
    configures what the purpose allows (the insurer's fields are configured per party).
    """

    __tablename__ = "relying_parties"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    purpose: Mapped[str] = mapped_column(String(32))
    fields: Mapped[list[str] | None] = mapped_column(JSON)
    authorities: Mapped[str] = mapped_column(String(512))
    """Whose licences it may see: comma-separated area codes, or '*' for all (`edl.domain.scope.AuthorityScope`)."""
    key_prefix: Mapped[str] = mapped_column(String(24), unique=True)
    """The public start of the key (shown in lists so an admin can tell keys apart)."""
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    rate_per_minute: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(64))


class VerificationRow(Base):
    """Append-only log of every verification (a trigger refuses UPDATE and DELETE): who, purpose, when, result.

    The holder reads the rows of their licence ("who checked my licence").
    """

    __tablename__ = "verifications"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    relying_party_id: Mapped[str | None] = mapped_column(String(32))
    relying_party_name: Mapped[str] = mapped_column(String(128))
    purpose: Mapped[str] = mapped_column(String(32))
    method: Mapped[str] = mapped_column(String(16))
    """code (the signed 亮码), barcode (the e-licence number), or page (the verifier web page)."""
    channel: Mapped[str] = mapped_column(String(8))
    """api or web."""
    elicence_id: Mapped[str | None] = mapped_column(String(32))
    licence_number: Mapped[str | None] = mapped_column(String(18))
    valid: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16))
    """valid, suspended, revoked or unknown."""
    errors: Mapped[str] = mapped_column(String(256), default="")
    """Comma-separated error codes (empty when valid)."""
    client: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_verifications_licence_id", "licence_number", "id"),
        Index("ix_verifications_party_id", "relying_party_id", "id"),
    )


# The rows of OpenID4VP and OpenID4VCI (issue 15) live in their own module; imported here so that every model is
# on `Base.metadata` once this module is (the migrations check, the tests' truncation).
from edl.db.openid_models import PresentationRequestRow as PresentationRequestRow  # noqa: E402
from edl.db.openid_models import VciNonceRow as VciNonceRow  # noqa: E402
from edl.db.openid_models import VciOfferRow as VciOfferRow  # noqa: E402
from edl.db.openid_models import VciTokenRow as VciTokenRow  # noqa: E402
