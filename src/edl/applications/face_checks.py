"""Real-person authentication (实人认证) as the holder takes it: a liveness challenge, an attempt compared with the
registry's stored photo, and binding a licence to the account, which needs a passed attempt.

Every attempt is counted towards the daily limits (per account and per licence), a failed one too, and audited. The
face comparison runs in the bounded image pool; when it is full the step raises `PoolBusy` and the attempt is not
counted. Call these methods off the event loop.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from edl.applications import realperson
from edl.applications.errors import ApplicationRefused, FaceCheckFailed, NotFound
from edl.applications.face import FaceComparison, FaceOutcome, FaceVerifier
from edl.applications.holder_steps import audited, bound_licence_row, holder_audit, load_account
from edl.applications.realperson import PENDING, FacePurpose
from edl.audit import Action
from edl.config import Settings
from edl.db.models import AccountRow, FaceCheckRow, LicenceRow
from edl.db.session import transaction
from edl.domain import IdNumber
from edl.domain.licence import mask_mobile
from edl.domain.liveness import Failure, LiveCapture, Verdict
from edl.notifications import messages
from edl.notifications.outbox import text_registered_mobile
from edl.storage.photos import PhotoNotFound, PhotoStore
from edl.worker_pool import WorkerPool

CHALLENGES_PER_ATTEMPT = 3
"""Challenges an account may start a day, per real-person attempt it has (a camera refused, a page reloaded)."""

_NO_REFERENCE = FaceComparison(
    FaceOutcome.NO_REFERENCE,
    None,
    "登记库中没有您的存档照片，无法在线实人认证。请携带身份证到车辆管理所办理。",
    "The registry holds no photo of you, so real-person authentication cannot be done online. "
    "Visit a vehicle administration office with your ID card.",
)
_NO_MATCH = "证号与姓名不匹配，请核对后重试 / the licence number and name do not match: check them and try again"


@dataclass(frozen=True)
class FaceCheckResult:
    id: str
    comparison: FaceComparison

    @property
    def passed(self) -> bool:
        return self.comparison.passed


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


class FaceChecks:
    """Challenges, attempts and binding, with what they use: the database, the photo store (the reference photo),
    the face verifier (`verifier()` builds it on first use: the model takes a moment to load, and a challenge can be
    issued without it), the image pool, the attempt limits in `settings`, and the generator of challenge actions."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        photos: PhotoStore,
        verifier: Callable[[], FaceVerifier],
        workers: WorkerPool,
        settings: Settings,
        *,
        rng: random.Random,
    ) -> None:
        self._sessions = sessions
        self._photos = photos
        self._verifier = verifier
        self._workers = workers
        self._settings = settings
        self._rng = rng

    def issue_challenge(self, account_id: str, purpose: str, *, at: datetime) -> realperson.Challenge:
        """A liveness challenge for the holder's next attempt (refused when today's attempts are used up)."""
        with self._sessions() as session:
            account = load_account(session, account_id)
            realperson.refuse_unless_attempts_left(
                session,
                at=at,
                account_id=account_id,
                number=account.licence_number if purpose == FacePurpose.APPLY else None,
                per_account=self._settings.face_attempts_per_day,
                per_licence=self._settings.face_attempts_per_licence_per_day,
            )
        return realperson.issue_challenge(
            self._sessions,
            account_id,
            purpose,
            at=at,
            rng=self._rng,
            per_day=CHALLENGES_PER_ATTEMPT * self._settings.face_attempts_per_day,
        )

    def authenticate(
        self, account_id: str, capture: LiveCapture, *, at: datetime, client: str | None = None
    ) -> FaceCheckResult:
        """Real-person authentication of a bound holder before applying: the liveness burst against the stored
        photo."""
        with self._sessions() as session:
            account = load_account(session, account_id)
            number = bound_licence_row(session, account).number
        return self._face_check(account_id, number, capture, purpose=FacePurpose.APPLY, at=at, client=client)

    def bind_licence(
        self,
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
            self._refuse_unless_bindable(account_id, clean, name)
            result = self._face_check(account_id, clean, capture, purpose=FacePurpose.BIND, at=at, client=client)
            if not result.passed:
                raise FaceCheckFailed(
                    result.comparison.outcome.value, f"{result.comparison.message_zh} / {result.comparison.message_en}"
                )
            self._bind(account_id, clean, at=at, client=client)
            return result

        return audited(self._sessions, account_id, clean, Action.BIND, step, at=at, client=client)

    def _refuse_unless_bindable(self, account_id: str, number: str, name: str) -> None:
        with self._sessions() as session:
            account = load_account(session, account_id)
            if account.licence_number is not None:
                raise ApplicationRefused(
                    "already_bound", "此账号已绑定驾驶证 / this account is already bound to a licence"
                )
            row = session.get(LicenceRow, number)
            if row is None or row.name.strip() != name.strip():
                raise ApplicationRefused("no_match", _NO_MATCH)
            refuse_unless_registered_mobile(row, account)
            owner = session.scalar(select(AccountRow.id).where(AccountRow.licence_number == number))
            if owner is not None:
                raise ApplicationRefused(
                    "bound_elsewhere",
                    "此驾驶证已绑定其他账号：须先由该账号解除绑定，或到车辆管理所办理窗口申请解除。 / this licence is "
                    "bound to another account: that account must unbind it first, or ask a vehicle administration "
                    "office counter to release it.",
                )

    def _bind(self, account_id: str, number: str, *, at: datetime, client: str | None) -> None:
        try:
            with transaction(self._sessions) as session:
                account = load_account(session, account_id)
                account.licence_number = number
                account.bound_at = at
                session.flush()
                row = session.get(LicenceRow, number)
                if row is None:
                    raise ApplicationRefused("no_match", _NO_MATCH)
                refuse_unless_registered_mobile(row, account)  # the registry may have changed meanwhile
                holder_audit(session, account_id, at=at, action=Action.BIND, subject=number, client=client)
                text_registered_mobile(session, number, messages.sms_bound(number, account.mobile), at=at)
        except IntegrityError:
            raise ApplicationRefused(
                "bound_elsewhere", "此驾驶证已绑定其他账号 / this licence is bound to another account"
            ) from None

    def _reference_photo(self, row: LicenceRow) -> bytes | None:
        if not row.photo_ref:
            return None
        try:
            return self._photos.get(row.photo_ref)
        except PhotoNotFound:
            return None

    def _face_check(
        self,
        account_id: str,
        number: str,
        capture: LiveCapture,
        *,
        purpose: str,
        at: datetime,
        client: str | None,
    ) -> FaceCheckResult:
        """Run and record one attempt: the challenge is used up and the attempt counted (a failed one too).

        The attempt's row is written as `pending` in the transaction that counts the attempts and takes the
        challenge, under locks on the account and the licence, so that attempts sent side by side cannot all see room
        under the daily limits (PostgreSQL; SQLite serialises its writers anyway). It gets its outcome when the check
        is done."""
        check_id = uuid.uuid4().hex
        verifier = self._verifier()
        with transaction(self._sessions) as session:
            session.get(AccountRow, account_id, with_for_update=True)
            row = session.get(LicenceRow, number, with_for_update=True)
            if row is None:
                raise NotFound("no_licence", "登记库中没有此驾驶证 / no such licence in the registry")
            realperson.refuse_unless_attempts_left(
                session,
                at=at,
                account_id=account_id,
                number=number,
                per_account=self._settings.face_attempts_per_day,
                per_licence=self._settings.face_attempts_per_licence_per_day,
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
        reference = self._reference_photo(row)
        detail_rule: dict[str, object] = {}
        hashes: tuple[int, ...] = ()
        if reference is None:
            comparison, distance = _NO_REFERENCE, None
        else:
            try:
                result = self._workers.call(verifier.check, actions, capture.frames, reference, earlier)
            except BaseException:
                with transaction(self._sessions) as session:  # not checked (the pool was full): not an attempt
                    session.execute(delete(FaceCheckRow).where(FaceCheckRow.id == check_id))
                raise
            verdict = result.verdict
            if not verdict.passed and verdict.failure is None:  # a provider that failed without saying why
                verdict = Verdict(False, Failure.MISMATCH, detail=dict(verdict.detail))
            zh, en = verdict.message()
            outcome = FaceOutcome.PASSED if verdict.passed else FaceOutcome(str(verdict.failure))
            comparison = FaceComparison(outcome, result.distance, zh, en)
            hashes, distance = result.hashes, result.distance
            detail_rule = dict(verdict.detail)
        with transaction(self._sessions) as session:
            session.execute(
                update(FaceCheckRow)
                .where(FaceCheckRow.id == check_id)
                .values(
                    outcome=comparison.outcome.value,
                    distance=distance,
                    frame_hashes=realperson.hashes_text(hashes),
                )
            )
            holder_audit(
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
