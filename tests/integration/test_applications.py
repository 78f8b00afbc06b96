"""The application workflow through its services, on SQLite and PostgreSQL: binding, real-person authentication,
the three photo cases, idempotency, review deadlines, voiding, notifications and the audit log."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from edl.applications.errors import AlreadyDecided, ApplicationRefused, FaceCheckFailed
from edl.applications.face import FaceOutcome
from edl.applications.photo_rules import PhotoRejected
from edl.bootstrap import Container
from edl.db.models import (
    AccountRow,
    ApplicationRow,
    AuditRow,
    ElicenceRow,
    FaceCheckRow,
    NotificationRow,
)
from edl.db.session import transaction
from edl.domain import Status, VehicleClass
from edl.domain.application import ApplicationState, Decision, PhotoSource
from edl.domain.dates import CHINA_TZ
from edl.registry import events
from edl.web.auth_deps import Role, StaffSession
from tests.faces import id_photo
from tests.workflow import REGISTERED_MOBILE, ScriptedFaceVerifier, capture, prepare, seed_account, seed_licence

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Beijing
REVIEWER = StaffSession("u1", "reviewer1", "审核员", Role.REVIEWER, frozenset({"120000"}))


@pytest.fixture
def face(container: Container) -> ScriptedFaceVerifier:
    return prepare(container, NOW)


def _bound(container: Container, **kw: object) -> tuple[str, str]:
    number = seed_licence(container, NOW, **kw)  # type: ignore[arg-type]
    account = seed_account(container, NOW, number=number)
    return number, account


def _face_ok(container: Container, account: str, at: datetime = NOW) -> None:
    assert container.face_checks.authenticate(account, capture(container, account, at=at), at=at).passed


def _rows(container: Container, model: type) -> list:  # type: ignore[type-arg]
    with container.sessions() as s:
        return list(s.scalars(sa.select(model)))


def _actions(container: Container) -> list[tuple[str, str]]:
    with container.sessions() as s:
        return [(r.action, r.outcome) for r in s.scalars(sa.select(AuditRow).order_by(AuditRow.id))]


# --- binding and real-person authentication --------------------------------------------------------------------


def test_binding_needs_matching_number_and_name_then_a_face_check(
    container: Container, face: ScriptedFaceVerifier
) -> None:
    number = seed_licence(container, NOW, name="王小明")
    account = seed_account(container, NOW, mobile=REGISTERED_MOBILE)
    with pytest.raises(ApplicationRefused) as refused:
        container.face_checks.bind_licence(account, number, "王小", capture(container, account, "bind", at=NOW), at=NOW)
    assert refused.value.code == "no_match"
    assert not face.calls, "no face comparison for a number/name mismatch"

    burst = capture(container, account, "bind", at=NOW)
    result = container.face_checks.bind_licence(account, number, "王小明", burst, at=NOW)
    assert result.passed
    (row,) = _rows(container, AccountRow)
    assert row.licence_number == number and row.bound_at is not None
    assert ("bind", "refused") in _actions(container) and ("bind", "ok") in _actions(container)
    assert ("face_auth", "passed") in _actions(container)


def test_one_licence_binds_to_one_account(container: Container, face: ScriptedFaceVerifier) -> None:
    number, _first = _bound(container)
    second = seed_account(container, NOW, mobile=REGISTERED_MOBILE)
    with pytest.raises(ApplicationRefused) as refused:
        container.face_checks.bind_licence(second, number, "张三", capture(container, second, "bind", at=NOW), at=NOW)
    assert refused.value.code == "bound_elsewhere"


def test_failed_face_check_refuses_binding_and_counts_as_an_attempt(
    container: Container, face: ScriptedFaceVerifier
) -> None:
    number = seed_licence(container, NOW)
    account = seed_account(container, NOW, mobile=REGISTERED_MOBILE)
    face.outcome = FaceOutcome.MISMATCH
    with pytest.raises(FaceCheckFailed):
        container.face_checks.bind_licence(account, number, "张三", capture(container, account, "bind", at=NOW), at=NOW)
    (check,) = _rows(container, FaceCheckRow)
    assert check.outcome == "mismatch"
    (row,) = _rows(container, AccountRow)
    assert row.licence_number is None


def test_face_attempts_are_limited_per_day(container: Container, face: ScriptedFaceVerifier) -> None:
    _number, account = _bound(container)
    face.outcome = FaceOutcome.NO_FACE
    for _ in range(container.settings.face_attempts_per_day):
        assert not container.face_checks.authenticate(account, capture(container, account, at=NOW), at=NOW).passed
    with pytest.raises(ApplicationRefused) as refused:
        container.face_checks.authenticate(account, capture(container, account, at=NOW), at=NOW)
    assert refused.value.code == "face_attempts_exhausted"
    face.outcome = FaceOutcome.PASSED
    tomorrow = NOW + timedelta(days=1)
    assert container.face_checks.authenticate(account, capture(container, account, at=tomorrow), at=tomorrow).passed


# --- case a: the stored photo ----------------------------------------------------------------------------------


def test_stored_photo_issues_the_elicence_at_once_and_notifies(
    container: Container, face: ScriptedFaceVerifier
) -> None:
    number, account = _bound(container)
    with pytest.raises(ApplicationRefused) as refused:
        container.applications.apply_with_stored_photo(account, idempotency_key="k1", at=NOW)
    assert refused.value.code == "face_check_required"
    _face_ok(container, account)
    app = container.applications.apply_with_stored_photo(account, idempotency_key="k1", at=NOW)
    assert app.state == ApplicationState.ISSUED and app.elicence_id
    (e,) = _rows(container, ElicenceRow)
    assert e.id == app.elicence_id and e.licence_number == number
    (note,) = _rows(container, NotificationRow)
    assert note.account_id == account and note.kind == "issued"
    actions = _actions(container)
    assert ("issue", "ok") in actions and ("submit", "ok") in actions


def test_a_double_submit_creates_one_application(container: Container, face: ScriptedFaceVerifier) -> None:
    _number, account = _bound(container)
    _face_ok(container, account)
    first = container.applications.apply_with_stored_photo(account, idempotency_key="same", at=NOW)
    again = container.applications.apply_with_stored_photo(account, idempotency_key="same", at=NOW)
    assert first.id == again.id
    assert len(_rows(container, ApplicationRow)) == 1 and len(_rows(container, ElicenceRow)) == 1


def test_concurrent_double_submit_creates_one_application(container: Container, face: ScriptedFaceVerifier) -> None:
    _number, account = _bound(container)
    _face_ok(container, account)
    results: list[object] = []
    barrier = threading.Barrier(2)

    def submit() -> None:
        barrier.wait()
        try:
            results.append(container.applications.apply_with_stored_photo(account, idempotency_key="race", at=NOW).id)
        except Exception as exc:  # the test reports what happened
            results.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 2
    ids = {r for r in results if isinstance(r, str)}
    assert len(ids) == 1, results
    assert len(_rows(container, ApplicationRow)) == 1 and len(_rows(container, ElicenceRow)) == 1


@pytest.mark.parametrize(
    ("statuses", "code"),
    [
        (frozenset({Status.SUSPENDED}), "status_D"),
        (frozenset({Status.REVOKED}), "status_F"),
        (frozenset({Status.EXAM_OVERDUE}), "status_P"),
        (frozenset({Status.REVIEW_OVERDUE}), "status_S"),
        (frozenset({Status.CANCELLED}), "status_G"),
        (frozenset({Status.STOPPED}), "status_J"),
    ],
)
def test_an_ineligible_licence_is_refused_with_the_reason_and_creates_nothing(
    container: Container, face: ScriptedFaceVerifier, statuses: frozenset[Status], code: str
) -> None:
    _number, account = _bound(container, statuses=statuses)
    _face_ok(container, account)
    with pytest.raises(ApplicationRefused) as refused:
        container.applications.apply_with_stored_photo(account, idempotency_key="k", at=NOW)
    assert refused.value.code == code
    assert "/" in str(refused.value)  # both languages
    assert _rows(container, ApplicationRow) == [] and _rows(container, ElicenceRow) == []
    assert ("submit", "refused") in _actions(container)


def test_an_expired_licence_is_refused(container: Container, face: ScriptedFaceVerifier) -> None:
    from datetime import date

    from edl.domain import ValidityTerm

    _number, account = _bound(
        container, term=ValidityTerm.SIX_YEARS, first_issue=date(2015, 3, 1), valid_from=date(2015, 3, 1)
    )
    _face_ok(container, account)
    with pytest.raises(ApplicationRefused) as refused:
        container.applications.apply_with_stored_photo(account, idempotency_key="k", at=NOW)
    assert refused.value.code == "expired"


def test_outside_the_rollout_is_refused(container: Container, face: ScriptedFaceVerifier) -> None:
    container.settings.rollout = "510100"
    _number, account = _bound(container)
    _face_ok(container, account)
    with pytest.raises(ApplicationRefused) as refused:
        container.applications.apply_with_stored_photo(account, idempotency_key="k", at=NOW)
    assert refused.value.code == "not_in_rollout"


# --- cases b and c: a submitted photo, reviewed ----------------------------------------------------------------


def test_a_rejected_photo_is_refused_at_once_and_never_stored(container: Container, face: ScriptedFaceVerifier) -> None:
    _number, account = _bound(container, compliant_photo=False)
    _face_ok(container, account)
    photos_before = sorted(p.name for p in container.settings.data_dir.rglob("*") if p.is_file())
    with pytest.raises(PhotoRejected):
        container.applications.submit_photo(
            account, b"not a photo", source=PhotoSource.ALBUM, idempotency_key="p1", at=NOW
        )
    assert sorted(p.name for p in container.settings.data_dir.rglob("*") if p.is_file()) == photos_before
    assert _rows(container, ApplicationRow) == []
    assert ("photo_rejected", "refused") in _actions(container)


def test_submitted_photo_waits_for_review_then_approval_issues(
    container: Container, face: ScriptedFaceVerifier
) -> None:
    number, account = _bound(container, compliant_photo=False)
    _face_ok(container, account)
    app = container.applications.submit_photo(
        account, id_photo("astronaut"), source=PhotoSource.CAMERA, idempotency_key="p1", at=NOW
    )
    assert app.state == ApplicationState.PENDING_REVIEW
    assert container.photos.exists(app.photo_ref)
    # Wednesday 10:00 Beijing → Thursday 10:00 Beijing
    assert app.due_at is not None
    assert app.due_at.astimezone(CHINA_TZ) == datetime(2026, 11, 26, 10, 0, tzinfo=CHINA_TZ)
    assert [i.application.id for i in container.reviews.queue(REVIEWER, at=NOW)] == [app.id]

    decided = container.reviews.decide(REVIEWER, app.id, Decision.APPROVE, at=NOW + timedelta(hours=2))
    assert decided.state == ApplicationState.ISSUED
    (e,) = _rows(container, ElicenceRow)
    assert e.photo_ref == app.photo_ref and e.licence_number == number
    kinds = [n.kind for n in _rows(container, NotificationRow)]
    assert kinds == ["submitted", "issued"]
    assert container.reviews.queue(REVIEWER, at=NOW) == []


def test_rejection_tells_the_holder_why_and_allows_a_new_submission(
    container: Container, face: ScriptedFaceVerifier
) -> None:
    _number, account = _bound(container, compliant_photo=False)
    _face_ok(container, account)
    app = container.applications.submit_photo(
        account, id_photo("astronaut"), source=PhotoSource.ALBUM, idempotency_key="p1", at=NOW
    )
    with pytest.raises(ApplicationRefused):
        container.applications.submit_photo(
            account, id_photo("astronaut"), source=PhotoSource.ALBUM, idempotency_key="p2", at=NOW
        )
    container.reviews.decide(REVIEWER, app.id, Decision.REJECT, reason_code="clothing", note="请换深色上衣", at=NOW)
    note = next(n for n in _rows(container, NotificationRow) if n.kind == "rejected")
    assert "制式服装" in note.body_zh and "请换深色上衣" in note.body_zh
    again = container.applications.submit_photo(
        account, id_photo("astronaut"), source=PhotoSource.ALBUM, idempotency_key="p2", at=NOW
    )
    assert again.state == ApplicationState.PENDING_REVIEW


def test_two_reviewers_deciding_at_once_yield_one_decision(container: Container, face: ScriptedFaceVerifier) -> None:
    _number, account = _bound(container, compliant_photo=False)
    _face_ok(container, account)
    app = container.applications.submit_photo(
        account, id_photo("astronaut"), source=PhotoSource.CAMERA, idempotency_key="p1", at=NOW
    )
    other = StaffSession("u2", "reviewer2", "审核员二", Role.REVIEWER, None)
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def run(staff: StaffSession, decision: Decision) -> None:
        barrier.wait()
        try:
            outcomes.append(container.reviews.decide(staff, app.id, decision, reason_code="quality", at=NOW).state)
        except AlreadyDecided as exc:
            outcomes.append(exc)
        except DBAPIError as exc:  # a lock timeout would be a bug too: report it
            outcomes.append(exc)

    threads = [
        threading.Thread(target=run, args=(REVIEWER, Decision.APPROVE)),
        threading.Thread(target=run, args=(other, Decision.REJECT)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(isinstance(o, AlreadyDecided) for o in outcomes) == 1, outcomes
    assert sum(isinstance(o, str) for o in outcomes) == 1, outcomes
    assert [a for a in _actions(container) if a[0] == "review"].__len__() == 1
    (row,) = _rows(container, ApplicationRow)
    assert row.state in (ApplicationState.ISSUED, ApplicationState.REJECTED)
    assert len(_rows(container, ElicenceRow)) == (1 if row.state == ApplicationState.ISSUED else 0)


def test_review_queue_is_ordered_by_deadline_across_golden_week(
    container: Container, face: ScriptedFaceVerifier
) -> None:
    # 2025-09-30 (Tue) 10:00 Beijing: National Day holidays 10-01..10-08 → due Thursday 2025-10-09 10:00.
    # 2025-10-10 (Fri) 15:00: 10-11 is a make-up working Saturday → due 2025-10-11 15:00.
    before = datetime(2025, 9, 30, 10, 0, tzinfo=CHINA_TZ)
    friday = datetime(2025, 10, 10, 15, 0, tzinfo=CHINA_TZ)
    apps = []
    for seq, at in ((201, friday), (203, before)):
        _number, account = _bound(container, compliant_photo=False, sequence=seq)
        _face_ok(container, account, at)
        apps.append(
            container.applications.submit_photo(
                account, id_photo("astronaut"), source=PhotoSource.CAMERA, idempotency_key="k", at=at
            )
        )
    by_id = {a.id: a for a in apps}
    assert by_id[apps[1].id].due_at.astimezone(CHINA_TZ) == datetime(2025, 10, 9, 10, 0, tzinfo=CHINA_TZ)
    assert by_id[apps[0].id].due_at.astimezone(CHINA_TZ) == datetime(2025, 10, 11, 15, 0, tzinfo=CHINA_TZ)
    queue = container.reviews.queue(REVIEWER, at=friday)
    assert [i.application.id for i in queue] == [apps[1].id, apps[0].id]
    assert [i.overdue for i in queue] == [True, False]
    supervisor = StaffSession("u3", "boss", "主管", Role.SUPERVISOR, None)
    assert [i.application.id for i in container.reviews.queue(supervisor, at=friday, overdue_only=True)] == [apps[1].id]
    with pytest.raises(ApplicationRefused):
        container.reviews.queue(REVIEWER, at=friday, overdue_only=True)


def test_reviewers_only_see_their_authorities(container: Container, face: ScriptedFaceVerifier) -> None:
    _number, account = _bound(container, compliant_photo=False, authority="510100", area="510104")
    _face_ok(container, account)
    app = container.applications.submit_photo(
        account, id_photo("astronaut"), source=PhotoSource.CAMERA, idempotency_key="k", at=NOW
    )
    assert container.reviews.queue(REVIEWER, at=NOW) == []
    with pytest.raises(ApplicationRefused):
        container.reviews.decide(REVIEWER, app.id, Decision.APPROVE, at=NOW)
    assert _rows(container, ElicenceRow) == []


# --- after issuance ----------------------------------------------------------------------------------------------


def test_photo_change_keeps_the_old_elicence_until_the_new_one_is_issued(
    container: Container, face: ScriptedFaceVerifier
) -> None:
    _number, account = _bound(container)
    _face_ok(container, account)
    first = container.applications.apply_with_stored_photo(account, idempotency_key="a", at=NOW)
    change = container.applications.submit_photo(
        account, id_photo("astronaut"), source=PhotoSource.ALBUM, idempotency_key="b", at=NOW
    )
    assert change.photo_change
    live = [e for e in _rows(container, ElicenceRow) if e.voided_at is None]
    assert [e.id for e in live] == [first.elicence_id]
    container.reviews.decide(REVIEWER, change.id, Decision.APPROVE, at=NOW + timedelta(hours=1))
    live = [e for e in _rows(container, ElicenceRow) if e.voided_at is None]
    assert len(live) == 1 and live[0].id != first.elicence_id and live[0].photo_ref == change.photo_ref


@pytest.mark.parametrize("event", ["classes", "renew", "authority"])
def test_a_new_card_voids_the_elicence_and_tells_the_holder_to_reapply(
    container: Container, face: ScriptedFaceVerifier, event: str
) -> None:
    from datetime import date

    from edl.domain import AUTHORITIES_BY_CODE, ValidityTerm

    number, account = _bound(container)
    _face_ok(container, account)
    container.applications.apply_with_stored_photo(account, idempotency_key="a", at=NOW)
    later = NOW + timedelta(days=1)
    with transaction(container.sessions) as s:
        if event == "classes":
            events.change_classes(s, number, (VehicleClass.B2,), actor="test", at=later)
        elif event == "renew":
            events.renew(s, number, ValidityTerm.LONG_TERM, date(2026, 11, 26), actor="test", at=later)
        else:
            events.change_authority(s, number, AUTHORITIES_BY_CODE["510100"], actor="test", at=later)
    (e,) = _rows(container, ElicenceRow)
    assert e.voided_at is not None
    assert [n.kind for n in _rows(container, NotificationRow)][-1] == "voided"
    assert ("void", "ok") in _actions(container)


def test_a_status_event_leaves_the_elicence_but_blocks_new_applications(
    container: Container, face: ScriptedFaceVerifier
) -> None:
    number, account = _bound(container)
    _face_ok(container, account)
    container.applications.apply_with_stored_photo(account, idempotency_key="a", at=NOW)
    with transaction(container.sessions) as s:
        events.set_status(s, number, Status.SUSPENDED, actor="test", at=NOW)
    (e,) = _rows(container, ElicenceRow)
    assert e.voided_at is None
    view = container.applications.overview(account, at=NOW)
    assert view.eligibility is not None and not view.eligibility.eligible
    assert view.licence is not None and Status.SUSPENDED in view.licence.statuses


# --- the audit log -----------------------------------------------------------------------------------------------


def test_the_audit_log_cannot_be_edited_or_deleted(container: Container, face: ScriptedFaceVerifier) -> None:
    _number, account = _bound(container)
    _face_ok(container, account)
    assert _rows(container, AuditRow)
    for statement in ("UPDATE audit_log SET outcome = 'forged'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError), container.engine.begin() as conn:
            conn.execute(sa.text(statement))
    assert all(r.outcome != "forged" for r in _rows(container, AuditRow))
