"""The holder's side of the application (申领): bind a licence, real-person authentication, apply, change the photo.

Every step runs in one transaction with its audit entry and inbox message; a refused step writes only its audit
entry (and, for real-person authentication, the attempt, which counts towards the daily limit). Push delivery of the
inbox messages and the SMS notices to the registered mobile go through the outbox (`edl.notifications.outbox`),
written in the step's transaction and delivered by the worker after commit.

The image work (the photo checks, the face comparison) runs in the container's bounded pool (`image_workers`); when
it is full the step raises `PoolBusy` before anything is written. Call these functions off the event loop.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TypeVar

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from edl import audit
from edl.applications import realperson
from edl.applications.errors import ApplicationRefused, FaceCheckFailed, NotFound
from edl.applications.face import FaceComparison, FaceOutcome
from edl.applications.photos import DEFAULT_RULES, PhotoRejected, check_photo
from edl.audit import Action, ActorKind
from edl.bootstrap import Container
from edl.db.models import AccountRow, ApplicationRow, ElicenceRow, FaceCheckRow, LicenceRow
from edl.db.session import transaction
from edl.domain import Eligibility, IdNumber, Licence
from edl.domain.application import ApplicationState, PhotoSource, check_transition
from edl.domain.dates import CHINA_TZ, china_date
from edl.domain.licence import mask_mobile
from edl.domain.liveness import Failure, LiveCapture, Verdict
from edl.issuance.elicences import IssuanceRefused, issue_in_session
from edl.notifications import messages
from edl.notifications.inbox import notify
from edl.notifications.outbox import text_registered_mobile
from edl.registry.events import load_for_update
from edl.registry.mapping import licence_from_row
from edl.storage.photos import PhotoNotFound

T = TypeVar("T")
IDEMPOTENCY_KEY_MAX = 64
CHALLENGES_PER_ATTEMPT = 3
"""Challenges an account may start a day, per real-person attempt it has (a camera refused, a page reloaded)."""
PENDING = "pending"
"""The outcome of an attempt whose frames are still being checked."""


class FacePurpose:
    BIND = "bind"
    APPLY = "apply"


@dataclass(frozen=True)
class Overview:
    """What the holder's home page shows: the licence, whether and how they may apply, and where things stand."""

    account: AccountRow
    licence: Licence | None
    eligibility: Eligibility | None
    stored_photo_usable: bool
    """Case 1: the registry holds a compliant photo that can be used at once."""
    elicence: ElicenceRow | None
    pending: ApplicationRow | None
    applications: list[ApplicationRow]
    face_check_fresh: bool
    face_attempts_left: int


@dataclass(frozen=True)
class FaceCheckResult:
    id: str
    comparison: FaceComparison

    @property
    def passed(self) -> bool:
        return self.comparison.passed


def _holder(account_id: str) -> str:
    return f"holder:{account_id}"


def _account(session: Session, account_id: str) -> AccountRow:
    account = session.get(AccountRow, account_id)
    if account is None:
        raise NotFound("account", "账号不存在，请重新登录 / no such account: sign in again")
    return account


def _bound_licence_row(session: Session, account: AccountRow, *, lock: bool = False) -> LicenceRow:
    if account.licence_number is None:
        raise ApplicationRefused("not_bound", "请先绑定您的驾驶证 / bind your driving licence to this account first")
    if lock:
        return load_for_update(session, account.licence_number)
    row = session.get(LicenceRow, account.licence_number)
    if row is None:  # the registry no longer holds it
        raise ApplicationRefused("no_licence", "登记库中已没有此驾驶证 / the registry no longer holds this licence")
    return row


def _live_elicence(session: Session, number: str) -> ElicenceRow | None:
    return session.scalar(
        select(ElicenceRow).where(ElicenceRow.licence_number == number, ElicenceRow.voided_at.is_(None))
    )


def _pending(session: Session, account_id: str) -> ApplicationRow | None:
    return session.scalar(
        select(ApplicationRow).where(
            ApplicationRow.account_id == account_id,
            ApplicationRow.state == ApplicationState.PENDING_REVIEW.value,
        )
    )


def face_attempts_left(session: Session, container: Container, account_id: str, *, at: datetime) -> int:
    used = realperson.attempts_today(session, at=at, account_id=account_id)
    return max(0, container.settings.face_attempts_per_day - used)


def _face_check_fresh(session: Session, container: Container, account: AccountRow, *, at: datetime) -> bool:
    since = at - timedelta(minutes=container.settings.face_check_valid_minutes)
    found = session.scalar(
        select(FaceCheckRow.id).where(
            FaceCheckRow.account_id == account.id,
            FaceCheckRow.licence_number == account.licence_number,
            FaceCheckRow.outcome == FaceOutcome.PASSED.value,
            FaceCheckRow.at >= since,
        )
    )
    return found is not None


def _require_fresh_face_check(session: Session, container: Container, account: AccountRow, *, at: datetime) -> None:
    if not _face_check_fresh(session, container, account, at=at):
        raise ApplicationRefused(
            "face_check_required",
            f"请先完成实人认证（{container.settings.face_check_valid_minutes}分钟内有效） / complete real-person "
            f"authentication first (it is valid for {container.settings.face_check_valid_minutes} minutes)",
        )


def _refuse_if_ineligible(licence: Licence, container: Container, *, at: datetime) -> None:
    verdict = licence.eligibility(china_date(at), container.rollout)
    if not verdict.eligible:
        raise ApplicationRefused(
            verdict.reasons[0][0],
            "；".join(r[1] for r in verdict.reasons) + " / " + " ".join(r[2] for r in verdict.reasons),
        )


def _holder_audit(
    session: Session,
    account_id: str,
    *,
    at: datetime,
    action: Action,
    subject: str,
    outcome: str = "ok",
    detail: dict[str, object] | None = None,
    client: str | None = None,
) -> None:
    """An audit entry for something the holder did, in `session`'s transaction."""
    audit.record(
        session,
        at=at,
        actor_kind=ActorKind.HOLDER,
        actor=_holder(account_id),
        action=action,
        subject=subject,
        outcome=outcome,
        detail=detail,
        client=client,
    )


def _audit_refusal(
    container: Container,
    account_id: str,
    subject: str,
    action: Action,
    exc: ApplicationRefused | PhotoRejected,
    *,
    at: datetime,
    client: str | None,
) -> None:
    """Record a refused step in its own transaction (the step itself wrote nothing)."""
    with transaction(container.sessions) as session:
        _holder_audit(
            session,
            account_id,
            at=at,
            action=action,
            subject=subject,
            outcome="refused",
            detail={"code": exc.code},
            client=client,
        )


def _audited(
    container: Container,
    account_id: str,
    subject: str,
    action: Action,
    step: Callable[[], T],
    *,
    at: datetime,
    client: str | None,
) -> T:
    try:
        return step()
    except (ApplicationRefused, PhotoRejected) as exc:
        kind = Action.PHOTO_REJECTED if isinstance(exc, PhotoRejected) else action
        _audit_refusal(container, account_id, subject, kind, exc, at=at, client=client)
        raise


# --- overview ---------------------------------------------------------------------------------------------------


def overview(container: Container, account_id: str, *, at: datetime) -> Overview:
    with container.sessions() as session:
        account = _account(session, account_id)
        licence = eligibility = None
        stored_ok = False
        elicence = pending = None
        apps: list[ApplicationRow] = []
        fresh = False
        if account.licence_number is not None:
            row = session.get(LicenceRow, account.licence_number)
            if row is not None:
                licence = licence_from_row(row)
                eligibility = licence.eligibility(china_date(at), container.rollout)
                stored_ok = bool(licence.photo_ref and licence.photo_compliant)
            elicence = _live_elicence(session, account.licence_number)
            pending = _pending(session, account.id)
            apps = list(
                session.scalars(
                    select(ApplicationRow)
                    .where(ApplicationRow.account_id == account.id)
                    .order_by(ApplicationRow.submitted_at.desc())
                    .limit(20)
                )
            )
            fresh = _face_check_fresh(session, container, account, at=at)
        left = face_attempts_left(session, container, account.id, at=at)
        return Overview(account, licence, eligibility, stored_ok, elicence, pending, apps, fresh, left)


def get_application(container: Container, account_id: str, application_id: str) -> ApplicationRow:
    with container.sessions() as session:
        app = session.get(ApplicationRow, application_id)
        if app is None or app.account_id != account_id:
            raise NotFound("no_application", "没有这份申请 / no such application")
        return app


# --- real-person authentication -----------------------------------------------------------------------------------


def _reference_photo(container: Container, row: LicenceRow) -> bytes | None:
    if not row.photo_ref:
        return None
    try:
        return container.photos.get(row.photo_ref)
    except PhotoNotFound:
        return None


_NO_REFERENCE = FaceComparison(
    FaceOutcome.NO_REFERENCE,
    None,
    "登记库中没有您的存档照片，无法在线实人认证。请携带身份证到车辆管理所办理。",
    "The registry holds no photo of you, so real-person authentication cannot be done online. "
    "Visit a vehicle administration office with your ID card.",
)


def issue_challenge(container: Container, account_id: str, purpose: str, *, at: datetime) -> realperson.Challenge:
    """A liveness challenge for the holder's next attempt (refused when today's attempts are used up)."""
    with container.sessions() as session:
        account = _account(session, account_id)
        realperson.refuse_unless_attempts_left(
            session,
            at=at,
            account_id=account_id,
            number=account.licence_number if purpose == FacePurpose.APPLY else None,
            per_account=container.settings.face_attempts_per_day,
            per_licence=container.settings.face_attempts_per_licence_per_day,
        )
    return realperson.issue_challenge(
        container.sessions,
        account_id,
        purpose,
        at=at,
        rng=container.liveness_rng,
        per_day=CHALLENGES_PER_ATTEMPT * container.settings.face_attempts_per_day,
    )


def _face_check(
    container: Container,
    account_id: str,
    number: str,
    capture: LiveCapture,
    *,
    purpose: str,
    at: datetime,
    client: str | None,
) -> FaceCheckResult:
    """Run and record one attempt: the challenge is used up and the attempt counted (a failed one too).

    The attempt's row is written as `pending` in the transaction that counts the attempts and takes the challenge,
    under locks on the account and the licence, so that attempts sent side by side cannot all see room under the
    daily limits (PostgreSQL; SQLite serialises its writers anyway). It gets its outcome when the check is done."""
    check_id = uuid.uuid4().hex
    verifier = container.face_verifier
    with transaction(container.sessions) as session:
        session.get(AccountRow, account_id, with_for_update=True)
        row = session.get(LicenceRow, number, with_for_update=True)
        if row is None:
            raise NotFound("no_licence", "登记库中没有此驾驶证 / no such licence in the registry")
        realperson.refuse_unless_attempts_left(
            session,
            at=at,
            account_id=account_id,
            number=number,
            per_account=container.settings.face_attempts_per_day,
            per_licence=container.settings.face_attempts_per_licence_per_day,
        )
        actions = realperson.take_challenge(session, account_id, capture.challenge, purpose, at=at)
        earlier = realperson.earlier_hashes(session, number)
        session.add(
            FaceCheckRow(
                id=check_id,
                account_id=account_id,
                licence_number=number,
                at=at,
                provider=verifier.name,
                outcome=PENDING,
                purpose=purpose,
            )
        )
    reference = _reference_photo(container, row)
    detail_rule: dict[str, object] = {}
    if reference is None:
        comparison, hashes, distance = _NO_REFERENCE, (), None
    else:
        try:
            result = container.image_workers.call(verifier.check, actions, capture.frames, reference, earlier)
        except BaseException:
            with transaction(container.sessions) as session:  # not checked (the pool was full): not an attempt
                session.execute(delete(FaceCheckRow).where(FaceCheckRow.id == check_id))
            raise
        verdict = result.verdict
        if not verdict.passed and verdict.failure is None:  # a provider that failed without saying why
            verdict = Verdict(False, Failure.MISMATCH, detail=dict(verdict.detail))
        zh, en = verdict.message()
        outcome = FaceOutcome.PASSED if verdict.passed else FaceOutcome(str(verdict.failure))
        comparison, hashes, distance = FaceComparison(outcome, result.distance, zh, en), result.hashes, result.distance
        detail_rule = dict(verdict.detail)
    with transaction(container.sessions) as session:
        session.execute(
            update(FaceCheckRow)
            .where(FaceCheckRow.id == check_id)
            .values(
                outcome=comparison.outcome.value,
                distance=distance,
                frame_hashes=realperson.hashes_text(hashes),
            )
        )
        _holder_audit(
            session,
            account_id,
            at=at,
            action=Action.FACE_AUTH,
            subject=number,
            outcome="passed" if comparison.passed else "failed",
            detail={
                "provider": verifier.name,
                "outcome": comparison.outcome.value,
                "distance": distance,
                "purpose": purpose,
                "actions": [a.value for a in actions],
                "frames": len(capture.frames),
                **({"rule": detail_rule} if detail_rule else {}),
            },
            client=client,
        )
    return FaceCheckResult(check_id, comparison)


def authenticate(
    container: Container, account_id: str, capture: LiveCapture, *, at: datetime, client: str | None = None
) -> FaceCheckResult:
    """Real-person authentication of a bound holder before applying: the liveness burst against the stored photo."""
    with container.sessions() as session:
        account = _account(session, account_id)
        row = _bound_licence_row(session, account)
    return _face_check(container, account_id, row.number, capture, purpose=FacePurpose.APPLY, at=at, client=client)


# --- binding ------------------------------------------------------------------------------------------------------


def refuse_unless_registered_mobile(row: LicenceRow, account: AccountRow) -> None:
    """Binding needs a sign-in with the licence's registered mobile (登记手机号); otherwise the holder updates the
    number at a counter (办理窗口) first. The refusal shows the registered number masked (138****8000)."""
    if not row.mobile:
        raise ApplicationRefused(
            "no_registered_mobile",
            "登记库中没有此驾驶证的登记手机号，无法在线绑定。请携带身份证到车辆管理所办理窗口登记手机号后再绑定。 / "
            "the registry holds no mobile number for this licence, so it cannot be bound online: register your "
            "mobile number at a vehicle administration office counter (办理窗口) first, then bind.",
        )
    if row.mobile != account.mobile:
        masked = mask_mobile(row.mobile)
        raise ApplicationRefused(
            "mobile_mismatch",
            f"您登录的手机号与驾驶证的登记手机号（{masked}）不一致。请用登记手机号登录后绑定；如该号码已不再使用，"
            f"请携带身份证到车辆管理所办理窗口更新登记手机号。 / the number you signed in with is not this "
            f"licence's registered mobile ({masked}): sign in with that number to bind, or, if you no longer use "
            "it, update it at a vehicle administration office counter (办理窗口) first.",
        )


_NO_MATCH = "证号与姓名不匹配，请核对后重试 / the licence number and name do not match: check them and try again"


def bind_licence(
    container: Container,
    account_id: str,
    number: str,
    name: str,
    capture: LiveCapture,
    *,
    at: datetime,
    client: str | None = None,
) -> FaceCheckResult:
    """Bind the account to a licence: number + name must match the registry, then real-person authentication.

    One licence, one account. A mismatch says only that the two do not match (no hint which is wrong).
    """
    clean = IdNumber.parse(number).value

    def step() -> FaceCheckResult:
        with container.sessions() as session:
            account = _account(session, account_id)
            if account.licence_number is not None:
                raise ApplicationRefused(
                    "already_bound", "此账号已绑定驾驶证 / this account is already bound to a licence"
                )
            row = session.get(LicenceRow, clean)
            if row is None or row.name.strip() != name.strip():
                raise ApplicationRefused("no_match", _NO_MATCH)
            refuse_unless_registered_mobile(row, account)
            owner = session.scalar(select(AccountRow.id).where(AccountRow.licence_number == clean))
            if owner is not None:
                raise ApplicationRefused(
                    "bound_elsewhere",
                    "此驾驶证已绑定其他账号：须先由该账号解除绑定，或到车辆管理所办理窗口申请解除。 / this licence is "
                    "bound to another account: that account must unbind it first, or ask a vehicle administration "
                    "office counter to release it.",
                )
        result = _face_check(container, account_id, clean, capture, purpose=FacePurpose.BIND, at=at, client=client)
        if not result.passed:
            raise FaceCheckFailed(
                result.comparison.outcome.value, f"{result.comparison.message_zh} / {result.comparison.message_en}"
            )
        try:
            with transaction(container.sessions) as session:
                account = _account(session, account_id)
                account.licence_number = clean
                account.bound_at = at
                session.flush()
                row = session.get(LicenceRow, clean)
                if row is None:
                    raise ApplicationRefused("no_match", _NO_MATCH)
                refuse_unless_registered_mobile(row, account)  # the registry may have changed meanwhile
                _holder_audit(
                    session,
                    account_id,
                    at=at,
                    action=Action.BIND,
                    subject=clean,
                    client=client,
                )
                text_registered_mobile(session, clean, messages.sms_bound(clean, account.mobile), at=at)
        except IntegrityError:
            raise ApplicationRefused(
                "bound_elsewhere", "此驾驶证已绑定其他账号 / this licence is bound to another account"
            ) from None
        return result

    return _audited(container, account_id, clean, Action.BIND, step, at=at, client=client)


# --- applying -----------------------------------------------------------------------------------------------------


def _check_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > IDEMPOTENCY_KEY_MAX or not key.isascii():
        raise ApplicationRefused(
            "bad_idempotency_key", "请求缺少有效的提交编号，请刷新页面后重试 / the form is stale: reload and try again"
        )
    return key


def _by_key(session: Session, account_id: str, key: str) -> ApplicationRow | None:
    return session.scalar(
        select(ApplicationRow).where(ApplicationRow.account_id == account_id, ApplicationRow.idempotency_key == key)
    )


def _once(container: Container, account_id: str, key: str, make: Callable[[], ApplicationRow]) -> ApplicationRow:
    """Idempotency: the same key returns the application it made, even when two requests race."""
    with container.sessions() as session:
        existing = _by_key(session, account_id, key)
    if existing is not None:
        return existing
    try:
        return make()
    except IntegrityError:
        with container.sessions() as session:
            existing = _by_key(session, account_id, key)
        if existing is None:
            raise
        return existing


def apply_with_stored_photo(
    container: Container,
    account_id: str,
    *,
    idempotency_key: str,
    at: datetime,
    client: str | None = None,
    device_key: ec.EllipticCurvePublicKey | None = None,
) -> ApplicationRow:
    """Case 1: the registry's compliant stored photo; after real-person authentication the e-licence is issued now."""
    key = _check_key(idempotency_key)
    subject = account_id

    def make() -> ApplicationRow:
        with transaction(container.sessions) as session:
            account = _account(session, account_id)
            row = _bound_licence_row(session, account, lock=True)
            licence = licence_from_row(row)
            _refuse_if_ineligible(licence, container, at=at)
            if not (licence.photo_ref and licence.photo_compliant):
                raise ApplicationRefused(
                    "no_stored_photo",
                    "登记库中没有符合要求的存档照片，请拍摄或上传照片 / the registry holds no compliant photo of you: "
                    "take or upload one",
                )
            if _pending(session, account.id) is not None:
                raise ApplicationRefused(
                    "pending", "您有一份申请正在审核中 / you already have an application in review"
                )
            _require_fresh_face_check(session, container, account, at=at)
            app = ApplicationRow(
                id=uuid.uuid4().hex,
                account_id=account.id,
                licence_number=row.number,
                authority_code=row.authority_code,
                kind=PhotoSource.STORED.value,
                photo_change=_live_elicence(session, row.number) is not None,
                state=ApplicationState.ISSUED.value,
                photo_ref=licence.photo_ref,
                photo_checks={},
                idempotency_key=key,
                submitted_at=at,
                decided_at=at,
                decided_by="system",
            )
            session.add(app)
            session.flush()  # a racing duplicate fails here, before anything is signed
            try:
                issued = issue_in_session(
                    session,
                    container,
                    row.number,
                    device_key=device_key,
                    photo_ref=licence.photo_ref,
                    actor=_holder(account.id),
                    actor_kind=ActorKind.HOLDER,
                    at=at,
                    photo_change=app.photo_change,
                )
            except IssuanceRefused as exc:
                raise ApplicationRefused("issuance_refused", str(exc)) from None
            app.elicence_id = issued.elicence_id
            _holder_audit(
                session,
                account.id,
                at=at,
                action=Action.SUBMIT,
                subject=row.number,
                detail={"application": app.id, "kind": app.kind},
                client=client,
            )
            notify(session, account.id, messages.issued(photo_change=app.photo_change), at=at)
        return app

    return _audited(
        container,
        account_id,
        subject,
        Action.SUBMIT,
        lambda: _once(container, account_id, key, make),
        at=at,
        client=client,
    )


def submit_photo(
    container: Container,
    account_id: str,
    data: bytes,
    *,
    source: PhotoSource,
    idempotency_key: str,
    at: datetime,
    client: str | None = None,
) -> ApplicationRow:
    """Cases 2 and 3 (and a voluntary photo change): automatic checks, then the review queue.

    A photo that fails a check is refused with the reason and never stored.
    """
    if not source.needs_review:
        raise ApplicationRefused("bad_source", "照片来源无效 / unknown photo source")
    key = _check_key(idempotency_key)

    def make() -> ApplicationRow:
        with container.sessions() as session:
            account = _account(session, account_id)
            row = _bound_licence_row(session, account)
            _refuse_if_ineligible(licence_from_row(row), container, at=at)
            if _pending(session, account.id) is not None:
                raise ApplicationRefused(
                    "pending",
                    "您有一份申请正在审核中，请等待审核结果或撤回后再提交 / you already have an application in review: "
                    "wait for the decision or withdraw it first",
                )
            _require_fresh_face_check(session, container, account, at=at)
        rules = replace(DEFAULT_RULES, max_bytes=container.settings.max_upload_bytes)
        checked = container.image_workers.call(check_photo, data, rules=rules)
        due = container.calendar.review_deadline(at)
        with transaction(container.sessions) as session:
            account = _account(session, account_id)
            row = _bound_licence_row(session, account, lock=True)
            if _pending(session, account.id) is not None:
                raise ApplicationRefused(
                    "pending", "您有一份申请正在审核中 / you already have an application in review"
                )
            ref = container.photos.put(checked.jpeg)
            app = ApplicationRow(
                id=uuid.uuid4().hex,
                account_id=account.id,
                licence_number=row.number,
                authority_code=row.authority_code,
                kind=source.value,
                photo_change=_live_elicence(session, row.number) is not None,
                state=ApplicationState.PENDING_REVIEW.value,
                photo_ref=ref,
                photo_checks=checked.measurements,
                idempotency_key=key,
                submitted_at=at,
                due_at=due,
            )
            session.add(app)
            session.flush()
            _holder_audit(
                session,
                account.id,
                at=at,
                action=Action.SUBMIT,
                subject=row.number,
                detail={"application": app.id, "kind": app.kind, "photo_change": app.photo_change},
                client=client,
            )
            local_due = due.astimezone(CHINA_TZ)
            notify(
                session,
                account.id,
                messages.submitted(
                    due_zh=f"{local_due:%Y年%m月%d日 %H:%M}", due_en=f"{local_due:%Y-%m-%d %H:%M} Beijing time"
                ),
                at=at,
            )
        return app

    return _audited(
        container,
        account_id,
        account_id,
        Action.SUBMIT,
        lambda: _once(container, account_id, key, make),
        at=at,
        client=client,
    )


def cancel_application(container: Container, account_id: str, application_id: str, *, at: datetime) -> ApplicationRow:
    """Withdraw an application that is still in review."""
    with transaction(container.sessions) as session:
        app = session.get(ApplicationRow, application_id, with_for_update=True)
        if app is None or app.account_id != account_id:
            raise NotFound("no_application", "没有这份申请 / no such application")
        check_transition(ApplicationState(app.state), ApplicationState.CANCELLED)
        app.state = ApplicationState.CANCELLED.value
        app.decided_at = at
        app.decided_by = _holder(account_id)
        _holder_audit(
            session,
            account_id,
            at=at,
            action=Action.SUBMIT,
            subject=app.licence_number,
            outcome="cancelled",
            detail={"application": app.id},
        )
        return app
