"""Online verification for relying parties: a 亮码 or a scanned barcode, checked against the LIVE registry.

`verify_for_party` is what `POST /api/v1/verifications` and the verifier page call:

1. **Code** (``EDL1:...``): `edl.credentials.livecode.verify_code` with the authority's root and every document-signer
   certificate (signature, signer chain, time). **Barcode**: the short-lived number under the Code 128
   (`edl.credentials.barcode`: the e-licence's status-list index, the time step and an HMAC tag), accepted only in
   its own step and the next; an older one is refused as `barcode_expired`, a wrong tag as `barcode_invalid`, the
   fixed e-licence id as `barcode_static_id`, all before the registry is read. A barcode carries no signature, so
   the answer says so in `warnings` and rests on the registry alone.
2. The e-licence and its licence are read in one query (by e-licence id, or by status-list index for a barcode) on
   the primary database, so a suspension entered a moment ago counts at once (a replica could lag). The status is
   `edl.domain.credential_status.credential_status` of the registry's statuses, the licence's validity and the
   e-licence's void (a voided e-licence is revoked). The code's own status snapshot (``st``) is for offline
   verifiers: online the registry decides.
3. A code that verifies but whose e-licence the registry does not know has status `unknown`; the purpose's policy
   decides (police refuse; the others accept with a warning, seeing only what the code itself says). A barcode the
   registry does not know is refused (nothing was verified at all).
4. Only the fields the party's purpose allows are returned (`Party.fields`), and only for a licence inside the
   party's authority scope (`Party.scope`, `edl.domain.scope`): outside it the answer is `valid: false`, status
   `unknown`, error `outside_scope`, no fields and no registry status (logged like every other call).
5. One `VerificationRow` is written for every call that reaches here, valid or not (bad codes too). On SQLite in
   the same transaction as the read. On PostgreSQL on a dedicated verification engine (`edl.db.session.
   verification_engine_options`): autocommit (the select is one consistent snapshot, then one insert: two
   statements, no BEGIN/COMMIT, no pre-ping) and ``-c synchronous_commit=off`` as a connection option, so the insert
   returns before the WAL reaches disk and a database crash can lose the last fraction of a second of
   verification-log rows (never registry data: only this engine's connections have the setting, and the database
   stays consistent). `EDL_VERIFICATION_DURABLE_LOG=true` trades it back.

Per process, the trust anchors (root and DS certificates) are kept while the signer index is unchanged
(`Authority.signers()` re-reads on change), and portraits (content-addressed, so immutable) are kept in a small LRU.
"""

from __future__ import annotations

import asyncio
import base64
import threading
import weakref
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, Final

import anyio
import anyio.to_thread
from cryptography import x509
from sqlalchemy import Engine, bindparam, event, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import Connection

from edl.credentials.barcode import BarcodeRefused
from edl.credentials.errors import ErrorCode, VerificationError
from edl.credentials.livecode import CodeClaims, CodeResult, verify_code
from edl.db.models import ElicenceRow, LicenceRow, RecordRow
from edl.db.session import make_verification_engine
from edl.domain.classes import parse_classes
from edl.domain.credential_status import CredentialStatus, credential_status
from edl.domain.dates import china_date
from edl.domain.points import PointsCycle
from edl.domain.status import Status, format_statuses, normalise_statuses, parse_statuses
from edl.pki.trust import TrustStore, trust_store
from edl.storage.photos import PhotoNotFound
from edl.verification.log import record_verification
from edl.verification.purposes import RULES, Field, Purpose, UnknownPolicy

if TYPE_CHECKING:
    from edl.bootstrap import Container
    from edl.pki import Authority
    from edl.verification.parties import Party

METHOD_CODE: Final = "code"
METHOD_BARCODE: Final = "barcode"
CHANNELS: Final = frozenset({"api", "web"})
PHOTO_CACHE_SIZE: Final = 512
ELICENCE_NOT_FOUND: Final = "elicence_not_found"
OUTSIDE_SCOPE: Final = "outside_scope"
_SEX = {1: ("男", "male"), 2: ("女", "female")}

BARCODE_WARNING: Final = (
    "条码只含一个短时有效的号码，没有签名：结果仅来自登记库的实时查询，请核对照片与本人 / "
    "a barcode holds only a short-lived number and no signature: this result rests on the live registry alone; "
    "compare the photo with the person"
)
UNKNOWN_WARNING: Final = (
    "无法确认电子驾驶证状态：登记库中没有此电子驾驶证，只能依据码内信息 / "
    "the e-licence's status could not be confirmed: the registry does not know this e-licence, so only what the "
    "code itself says is shown"
)


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a verification is not valid: a stable code and a message ('中文 / English' or the verifier's)."""

    code: str
    message: str

    def to_json_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}

    @classmethod
    def of(cls, error: VerificationError) -> Problem:
        return cls(error.code.value, error.message)


@dataclass(frozen=True)
class OnlineResult:
    """The answer to one online verification, already cut down to what the party's purpose allows."""

    valid: bool
    status: CredentialStatus
    purpose: Purpose
    method: str
    fields: Mapping[str, Any]
    registry_status: Mapping[str, Any] | None
    errors: tuple[Problem, ...]
    warnings: tuple[str, ...]
    checked_at: datetime
    verification_id: int | None
    elicence_id: str | None = field(default=None, repr=False)
    licence_number: str | None = field(default=None, repr=False)
    code_expires_at: datetime | None = None

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "status": self.status.value,
            "registry_status": dict(self.registry_status) if self.registry_status is not None else None,
            "purpose": self.purpose.value,
            "method": self.method,
            "fields": dict(self.fields),
            "errors": [e.to_json_dict() for e in self.errors],
            "warnings": list(self.warnings),
            "checked_at": _iso(self.checked_at),
            "code_expires_at": _iso(self.code_expires_at) if self.code_expires_at else None,
            "verification_id": self.verification_id,
        }


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def _aware(at: datetime | None) -> datetime | None:
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


# --- per-process caches --------------------------------------------------------------------------------------------


class _Anchors:
    """The root (as a TrustStore) and DS certificates of one Authority, rebuilt when its signer records change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[int, tuple[Authority, tuple[int, ...], TrustStore, tuple[x509.Certificate, ...]]] = {}

    def get(self, authority: Authority) -> tuple[TrustStore, tuple[x509.Certificate, ...]]:
        records = authority.signers()  # re-read only when the signer index changes
        stamp = tuple(id(r.certificate) for r in records)
        hit = self._entries.get(id(authority))
        if hit is not None and hit[0] is authority and hit[1] == stamp:
            return hit[2], hit[3]
        with self._lock:
            store = trust_store([authority.root_certificate()])
            certs = tuple(r.certificate for r in records)
            if len(self._entries) > 16:
                self._entries.clear()
            self._entries[id(authority)] = (authority, stamp, store, certs)
            return store, certs


class _Photos:
    """Portrait bytes as Base64, by content reference (immutable), least recently used dropped first."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, container: Container, ref: str) -> tuple[str, str] | None:
        with self._lock:
            hit = self._items.get(ref)
            if hit is not None:
                self._items.move_to_end(ref)
                return hit
        try:
            data = container.photos.get(ref)
        except PhotoNotFound:
            return None
        value = (_media_type(data), base64.b64encode(data).decode("ascii"))
        with self._lock:
            self._items[ref] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value


def _media_type(data: bytes) -> str:
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


_anchors = _Anchors()
_photos = _Photos(PHOTO_CACHE_SIZE)


def trust_anchors(container: Container) -> tuple[TrustStore, tuple[x509.Certificate, ...]]:
    """(trusted roots, candidate DS certificates) of this deployment, cached per process."""
    return _anchors.get(container.authority)


# --- the registry read ---------------------------------------------------------------------------------------------

_SELECT = select(
    ElicenceRow.id,
    ElicenceRow.licence_number,
    ElicenceRow.voided_at,
    ElicenceRow.void_reason,
    ElicenceRow.photo_ref.label("elicence_photo_ref"),
    LicenceRow.name,
    LicenceRow.sex,
    LicenceRow.nationality,
    LicenceRow.birth_date,
    LicenceRow.address,
    LicenceRow.file_number,
    LicenceRow.classes,
    LicenceRow.first_issue,
    LicenceRow.valid_from,
    LicenceRow.valid_until,
    LicenceRow.authority_code,
    LicenceRow.authority_name,
    LicenceRow.authority_city,
    LicenceRow.statuses,
    LicenceRow.points,
    LicenceRow.points_cycle_start,
    LicenceRow.photo_ref,
).join(LicenceRow, LicenceRow.number == ElicenceRow.licence_number)
_LOOKUP = _SELECT.where(ElicenceRow.id == bindparam("key"))
"""By e-licence id (a verified code's ``eid``)."""
_LOOKUP_BY_INDEX = _SELECT.where(ElicenceRow.status_index == bindparam("key"))
"""By status-list index (a current barcode number's serial; a unique index)."""
_RECORD = (
    select(RecordRow.on, RecordRow.kind, RecordRow.description, RecordRow.points)
    .where(RecordRow.licence_number == bindparam("number"))
    .order_by(RecordRow.on, RecordRow.id)
)
_RECORD_AGG_PG = (
    select(
        func.json_agg(
            aggregate_order_by(
                func.json_build_array(RecordRow.on, RecordRow.kind, RecordRow.description, RecordRow.points),
                RecordRow.on,
                RecordRow.id,
            )
        )
    )
    .where(RecordRow.licence_number == LicenceRow.number)
    .correlate(LicenceRow)
    .scalar_subquery()
)
_LOOKUP_PG_RECORD = _LOOKUP.add_columns(_RECORD_AGG_PG.label("driving_record"))
"""PostgreSQL, for purposes that see the driving record: it comes in the same select (one round trip), as a JSON
array of ``[on, kind, description, points]`` in date order (NULL when there are none)."""
_LOOKUP_BY_INDEX_PG_RECORD = _LOOKUP_BY_INDEX.add_columns(_RECORD_AGG_PG.label("driving_record"))


# --- the dedicated verification engines (PostgreSQL) --------------------------------------------------------------


class _Engines:
    """Per main engine: the dedicated verification engine on PostgreSQL (see `edl.db.session.
    verification_engine_options`), and per event loop the thread limiter of the API. Disposed with the main engine
    (`Container.dispose`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sync: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()
        self._limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
            weakref.WeakKeyDictionary()
        )

    def sync(self, container: Container) -> Engine:
        main = container.engine
        hit = self._sync.get(main)
        if hit is not None:
            return hit
        with self._lock:
            hit = self._sync.get(main)
            if hit is None:
                settings = container.settings
                hit = self._sync[main] = make_verification_engine(
                    main.url.render_as_string(hide_password=False),
                    pool_size=settings.verification_pool_size,
                    durable=settings.verification_durable_log,
                )
                if not event.contains(main, "engine_disposed", self._disposed):
                    event.listen(main, "engine_disposed", self._disposed)
            return hit

    def limiter(self, container: Container) -> anyio.CapacityLimiter:
        """At most `verification_pool_size` API verifications in worker threads at once (per event loop): every
        thread finds a free connection, and few threads compete for the GIL."""
        loop = asyncio.get_running_loop()
        hit = self._limiters.get(loop)
        if hit is None:
            hit = self._limiters[loop] = anyio.CapacityLimiter(container.settings.verification_pool_size)
        return hit

    def _disposed(self, main: Engine) -> None:
        with self._lock:
            sync = self._sync.pop(main, None)
        if sync is not None:
            sync.dispose()


_engines = _Engines()


def verification_engine(container: Container) -> Engine:
    """The dedicated sync verification engine of `container` on PostgreSQL (built on first use)."""
    return _engines.sync(container)


@dataclass(frozen=True, slots=True)
class _Verdict:
    valid: bool
    status: CredentialStatus
    errors: tuple[Problem, ...]
    warnings: tuple[str, ...]
    fields: dict[str, Any]
    registry_status: dict[str, Any] | None
    elicence_id: str | None
    licence_number: str | None


def _status_names(statuses: frozenset[Status]) -> list[dict[str, str]]:
    held = format_statuses(statuses)
    return [{"code": s.value, "zh": s.info.name_zh, "en": s.info.name_en} for s in Status if s.value in held]


def _registry_status(row: Any, statuses: frozenset[Status], status: CredentialStatus) -> dict[str, Any]:
    names = _status_names(statuses)
    voided = row.voided_at is not None
    zh = "、".join(n["zh"] for n in names)
    en = ", ".join(n["en"] for n in names)
    if voided:
        zh, en = f"电子驾驶证已作废（{zh}）", f"e-licence voided ({en})"
    return {
        "codes": format_statuses(statuses),
        "statuses": names,
        "zh": zh,
        "en": en,
        "licence_valid_until": row.valid_until.isoformat() if row.valid_until else None,
        "elicence_voided": voided,
        "void_reason": row.void_reason if voided else None,
        "credential_status": status.value,
    }


def _driving_record(conn: Connection, row: Any) -> list[dict[str, Any]]:
    """The driving record of the row's licence: from the lookup itself (PostgreSQL) or one more select."""
    if conn.dialect.name == "postgresql":
        return [{"on": on, "kind": k, "description": d, "points": p} for on, k, d, p in row.driving_record or ()]
    return [
        {"on": r.on.isoformat(), "kind": r.kind, "description": r.description, "points": r.points}
        for r in conn.execute(_RECORD, {"number": row.licence_number})
    ]


def _fields(
    container: Container,
    conn: Connection,
    row: Any,
    allowed: tuple[Field, ...],
    status: CredentialStatus,
    today: date,
) -> dict[str, Any]:
    """The allowed fields of the registry row (and the driving record / photo only when allowed)."""
    out: dict[str, Any] = {}
    for f in allowed:
        if f is Field.NAME:
            out[f.value] = row.name
        elif f is Field.PHOTO:
            ref = row.elicence_photo_ref or row.photo_ref
            photo = _photos.get(container, ref) if ref else None
            out[f.value] = {"media_type": photo[0], "data": photo[1]} if photo else None
        elif f is Field.SEX:
            zh, en = _SEX.get(row.sex, (str(row.sex), str(row.sex)))
            out[f.value] = {"code": row.sex, "zh": zh, "en": en}
        elif f is Field.NATIONALITY:
            out[f.value] = row.nationality
        elif f is Field.BIRTH_DATE:
            out[f.value] = row.birth_date.isoformat()
        elif f is Field.ADDRESS:
            out[f.value] = row.address
        elif f is Field.LICENCE_NUMBER:
            out[f.value] = row.licence_number
        elif f is Field.FILE_NUMBER:
            out[f.value] = row.file_number
        elif f is Field.CLASSES:
            out[f.value] = [c.value for c in parse_classes(row.classes)]
        elif f is Field.FIRST_ISSUE:
            out[f.value] = row.first_issue.isoformat()
        elif f is Field.VALID_FROM:
            out[f.value] = row.valid_from.isoformat()
        elif f is Field.VALID_UNTIL:
            out[f.value] = row.valid_until.isoformat() if row.valid_until else None
        elif f is Field.ISSUING_AUTHORITY:
            out[f.value] = {"code": row.authority_code, "name": row.authority_name, "city": row.authority_city}
        elif f is Field.STATUS:
            out[f.value] = status.value
        elif f is Field.POINTS:
            cycle = PointsCycle(row.points_cycle_start, row.points) if row.points_cycle_start else None
            out[f.value] = cycle.points_on(today, row.first_issue) if cycle else 0
        elif f is Field.DRIVING_RECORD:
            out[f.value] = _driving_record(conn, row)
    return out


def _claims_fields(claims: CodeClaims, allowed: tuple[Field, ...]) -> dict[str, Any]:
    """What the code itself says, for a code whose e-licence the registry does not know (warn policy)."""
    out: dict[str, Any] = {}
    if Field.CLASSES in allowed:
        out[Field.CLASSES.value] = list(claims.classes)
    if Field.VALID_UNTIL in allowed:
        out[Field.VALID_UNTIL.value] = claims.licence_valid_until.isoformat() if claims.licence_valid_until else None
    if Field.STATUS in allowed:
        out[Field.STATUS.value] = CredentialStatus.UNKNOWN.value
    return out


_STATUS_ERRORS = {
    CredentialStatus.SUSPENDED: Problem(
        ErrorCode.STATUS_SUSPENDED.value,
        "驾驶证当前处于暂扣等不能使用的状态 / the licence is currently suspended or otherwise not usable",
    ),
    CredentialStatus.REVOKED: Problem(
        ErrorCode.STATUS_REVOKED.value,
        "电子驾驶证已作废或驾驶证已被吊销、撤销、注销 / the e-licence was voided or the licence revoked",
    ),
    CredentialStatus.UNKNOWN: Problem(
        ErrorCode.STATUS_UNKNOWN.value, "无法确认电子驾驶证状态 / the e-licence's status could not be confirmed"
    ),
}


_OUTSIDE = Problem(
    OUTSIDE_SCOPE,
    "此驾驶证的发证机关不在本核验方的管辖范围内，不提供信息 / "
    "the licence's issuing authority is outside this relying party's scope: nothing about it is shown",
)


def _judge(
    container: Container,
    conn: Connection,
    party: Party,
    *,
    elicence_id: str | None,
    serial: int | None,
    claims: CodeClaims | None,
    method: str,
    at: datetime,
) -> _Verdict:
    """Status and fields of an identified e-licence (code verified: by id; current barcode: by status-list index)."""
    warnings: tuple[str, ...] = (BARCODE_WARNING,) if method == METHOD_BARCODE else ()
    by_index = serial is not None
    statement = _lookup_statement(conn, party, by_index=by_index)
    row = conn.execute(statement, {"key": serial if by_index else elicence_id}).first()
    if row is None:
        not_found = Problem(ELICENCE_NOT_FOUND, "登记库中没有此电子驾驶证 / the registry has no such e-licence")
        if claims is None:  # a barcode: nothing was verified at all
            return _Verdict(False, CredentialStatus.UNKNOWN, (not_found,), warnings, {}, None, elicence_id, None)
        rule = RULES[party.purpose]
        if rule.unknown is UnknownPolicy.WARN:
            fields = _claims_fields(claims, party.fields)
            return _Verdict(True, CredentialStatus.UNKNOWN, (), (UNKNOWN_WARNING,), fields, None, elicence_id, None)
        refused = (not_found, _STATUS_ERRORS[CredentialStatus.UNKNOWN])
        return _Verdict(False, CredentialStatus.UNKNOWN, refused, (), {}, None, elicence_id, None)
    if not party.scope.covers(row.authority_code):
        return _Verdict(False, CredentialStatus.UNKNOWN, (_OUTSIDE,), warnings, {}, None, row.id, row.licence_number)
    today = china_date(at)
    statuses = normalise_statuses(parse_statuses(row.statuses))
    if row.valid_until is not None and row.valid_until < today:
        statuses = normalise_statuses({*statuses, Status.RENEWAL_OVERDUE})
    status = credential_status(
        statuses, licence_valid_until=row.valid_until, today=today, voided=row.voided_at is not None
    )
    errors: tuple[Problem, ...] = () if status is CredentialStatus.VALID else (_STATUS_ERRORS[status],)
    return _Verdict(
        status is CredentialStatus.VALID,
        status,
        errors,
        warnings,
        _fields(container, conn, row, party.fields, status, today),
        _registry_status(row, statuses, status),
        row.id,
        row.licence_number,
    )


def _lookup_statement(conn: Connection, party: Party, *, by_index: bool) -> Any:
    if conn.dialect.name == "postgresql" and Field.DRIVING_RECORD in party.fields:
        return _LOOKUP_BY_INDEX_PG_RECORD if by_index else _LOOKUP_PG_RECORD
    return _LOOKUP_BY_INDEX if by_index else _LOOKUP


@dataclass(frozen=True, slots=True)
class _Prepared:
    """What is known before the database is asked: the method, the code's verification and its e-licence id, or the
    barcode's serial (status-list index) or why the barcode was refused."""

    method: str
    code_result: CodeResult | None
    elicence_id: str | None
    now: datetime
    serial: int | None = None
    barcode_refused: Problem | None = None


def _prepare(
    container: Container, code: str | None, barcode: str | None, channel: str, at: datetime | None
) -> _Prepared:
    """Check the arguments and verify the code (signature, chain, time): CPU only, no I/O."""
    if (code is None) == (barcode is None):
        raise ValueError("give exactly one of code and barcode")
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    now = at or container.clock()
    if now.tzinfo is None:
        raise ValueError("`at` must be timezone-aware")
    if code is not None:
        trust, signers = trust_anchors(container)
        leeway = timedelta(seconds=container.settings.clock_skew_seconds)
        result = verify_code(code, trust, signers, at=now, leeway=leeway)
        eid = result.claims.elicence_id if result.valid and result.claims is not None else None
        return _Prepared(METHOD_CODE, result, eid, now)
    assert barcode is not None
    try:
        serial = container.barcodes.read(barcode, at=now)
    except BarcodeRefused as exc:
        return _Prepared(METHOD_BARCODE, None, None, now, barcode_refused=Problem(exc.code.value, exc.message))
    return _Prepared(METHOD_BARCODE, None, None, now, serial=serial)


def _check_and_log(
    conn: Connection,
    container: Container,
    party: Party,
    prep: _Prepared,
    *,
    channel: str,
    client: str | None,
) -> tuple[_Verdict, int]:
    """The registry read and the verification-log row on `conn` (two statements on PostgreSQL, see module doc)."""
    if prep.elicence_id is None and prep.serial is None:
        if prep.code_result is not None:
            errors = tuple(Problem.of(e) for e in prep.code_result.errors)
        else:
            assert prep.barcode_refused is not None
            errors = (prep.barcode_refused,)
        warnings: tuple[str, ...] = (BARCODE_WARNING,) if prep.method == METHOD_BARCODE else ()
        verdict = _Verdict(False, CredentialStatus.UNKNOWN, errors, warnings, {}, None, None, None)
    else:
        claims = prep.code_result.claims if prep.code_result is not None else None
        verdict = _judge(
            container,
            conn,
            party,
            elicence_id=prep.elicence_id,
            serial=prep.serial,
            claims=claims,
            method=prep.method,
            at=prep.now,
        )
    verification_id = record_verification(
        conn,
        at=prep.now,
        party_id=party.id,
        party_name=party.name,
        purpose=party.purpose.value,
        method=prep.method,
        channel=channel,
        elicence_id=verdict.elicence_id,
        licence_number=verdict.licence_number,
        valid=verdict.valid,
        status=verdict.status.value,
        errors=tuple(e.code for e in verdict.errors),
        client=client,
    )
    return verdict, verification_id


def _result(party: Party, prep: _Prepared, verdict: _Verdict, verification_id: int) -> OnlineResult:
    claims = prep.code_result.claims if prep.code_result is not None else None
    return OnlineResult(
        valid=verdict.valid,
        status=verdict.status,
        purpose=party.purpose,
        method=prep.method,
        fields=verdict.fields,
        registry_status=verdict.registry_status,
        errors=verdict.errors,
        warnings=verdict.warnings,
        checked_at=prep.now,
        verification_id=verification_id,
        elicence_id=verdict.elicence_id,
        licence_number=verdict.licence_number,
        code_expires_at=_aware(claims.expires_at) if claims is not None else None,
    )


def verify_for_party(
    container: Container,
    party: Party,
    *,
    code: str | None = None,
    barcode: str | None = None,
    channel: str = "api",
    client: str | None = None,
    at: datetime | None = None,
) -> OnlineResult:
    """Verify a code text or a barcode for `party` (exactly one of them) and log it; see the module doc.

    Blocking (for threads: the verifier page, the CLI, tests); the API's event loop uses `averify_for_party`.
    Raises ValueError when neither or both are given (a caller's bug: the web layer checks its input first).
    """
    prep = _prepare(container, code, barcode, channel, at)
    if container.engine.dialect.name == "postgresql":
        with _engines.sync(container).connect() as conn:
            verdict, verification_id = _check_and_log(conn, container, party, prep, channel=channel, client=client)
    else:
        with container.engine.begin() as conn:
            verdict, verification_id = _check_and_log(conn, container, party, prep, channel=channel, client=client)
    return _result(party, prep, verdict, verification_id)


async def averify_for_party(
    container: Container,
    party: Party,
    *,
    code: str | None = None,
    barcode: str | None = None,
    channel: str = "api",
    client: str | None = None,
    at: datetime | None = None,
) -> OnlineResult:
    """`verify_for_party` for an event loop: the whole verification (signature, select, insert) in ONE worker-thread
    hop, with at most `verification_pool_size` of them at once per event loop (the verification engine's pool size,
    so a thread never waits for a connection and few threads compete for the GIL).

    Measured against psycopg's asyncio connections through SQLAlchemy's asyncio extension (every statement awaited
    in the loop): that cost about 4.0 ms of server CPU per verification, this about 3.2 ms (docs/benchmarks.md).
    """
    call = partial(verify_for_party, container, party, code=code, barcode=barcode, channel=channel, client=client)
    return await anyio.to_thread.run_sync(partial(call, at=at), limiter=_engines.limiter(container))


__all__ = [
    "ELICENCE_NOT_FOUND",
    "METHOD_BARCODE",
    "METHOD_CODE",
    "OUTSIDE_SCOPE",
    "OnlineResult",
    "Problem",
    "averify_for_party",
    "trust_anchors",
    "verification_engine",
    "verify_for_party",
]
