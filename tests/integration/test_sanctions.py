"""Issue 16, item 4: the sanction for malicious uploads, on SQLite and PostgreSQL, through the services.

A reviewer rejects a photo for an abuse reason and proposes a sanction; a supervisor of the same authority (not the
proposer) confirms it: the e-licence answers as suspended online and in the status list, the paper licence's
statuses are untouched, new applications are refused with the reason and the way to appeal; a supervisor lifts it
(or its term runs out) and the e-licence is valid again. Every step is audited and told to the driver; each attack
tried is kept here (the reviewer confirming, the proposer confirming their own proposal, a supervisor of another
authority, a driver applying during the sanction, a second proposal, approving a pending application).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from edl.applications.errors import AlreadyDecided, ApplicationRefused, NotFound
from edl.applications.results import Application
from edl.bootstrap import Container
from edl.credentials.statuslist import verify_status_list_token
from edl.db.models import AuditRow, ElicenceRow, LicenceRow, NotificationRow, SanctionRow
from edl.db.session import transaction
from edl.domain.application import Decision, PhotoSource
from edl.domain.credential_status import CredentialStatus
from edl.domain.sanction import INDEFINITE_UNTIL, Proposal, SanctionRefused, SanctionState
from edl.domain.scope import AuthorityScope
from edl.issuance.elicences import issue_elicence
from edl.issuance.status import status_list_uri
from edl.verification.lookup import Portraits, judge
from edl.verification.parties import Party
from edl.verification.purposes import Field, Purpose
from edl.web.auth_deps import Role, StaffSession
from tests.faces import id_photo
from tests.workflow import capture, prepare, seed_account, seed_licence

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Beijing
TIANJIN, CHENGDU = "120000", "510100"
API = "/api/v1/verifications"
REVIEWER = StaffSession("u1", "rev1", "审核员", Role.REVIEWER, frozenset({TIANJIN}))
SUPERVISOR = StaffSession("u2", "sup1", "主管甲", Role.SUPERVISOR, frozenset({TIANJIN}))
OTHER_SUPERVISOR = StaffSession("u3", "sup2", "主管乙", Role.SUPERVISOR, frozenset({TIANJIN}))
CHENGDU_SUPERVISOR = StaffSession("u4", "sup3", "成都主管", Role.SUPERVISOR, frozenset({CHENGDU}))
ADMIN = StaffSession("u5", "admin1", "管理员", Role.ADMIN, None)


@pytest.fixture
def ready(container: Container) -> Container:
    prepare(container, NOW)
    return container


_sequence = iter(range(901, 999, 2))


def holder_with_photo_change(
    container: Container, name: str, *, at: datetime = NOW, mobile: str | None = None
) -> tuple[Application, str]:
    """A licence with a live e-licence whose holder submitted a new photo (pending review): (application, e-licence
    id)."""
    earlier = at - timedelta(hours=1)
    number = seed_licence(container, earlier, name=name, sequence=next(_sequence))
    elicence = issue_elicence(container.sessions, container.issuer, number, actor="test", at=earlier).elicence_id
    account = seed_account(container, earlier, number=number, mobile=mobile)
    assert container.face_checks.authenticate(account, capture(container, account, at=earlier), at=earlier).passed
    app = container.applications.submit_photo(
        account, id_photo(), source=PhotoSource.CAMERA, idempotency_key=uuid.uuid4().hex, at=earlier
    )
    return app, elicence


def propose(container: Container, app: Application, *, days: int | None = 30, reason: str = "marks") -> str:
    container.reviews.decide(
        REVIEWER, app.id, Decision.REJECT, reason_code=reason, note="照片上有广告文字", propose=Proposal(days), at=NOW
    )
    with container.sessions() as s:
        sanction_id = s.scalar(sa.select(SanctionRow.id).where(SanctionRow.application_id == app.id))
    assert sanction_id is not None
    return sanction_id


def suspended_until(container: Container, elicence_id: str) -> datetime | None:
    with container.sessions() as s:
        return s.scalar(sa.select(ElicenceRow.suspended_until).where(ElicenceRow.id == elicence_id))


def list_status(container: Container, elicence_id: str, at: datetime) -> CredentialStatus:
    with container.sessions() as s:
        index = s.scalar(sa.select(ElicenceRow.status_index).where(ElicenceRow.id == elicence_id))
    token = container.status_list.current_token(at=at)
    result = verify_status_list_token(
        token, [container.authority.root_certificate()], at=at, expected_uri=status_list_uri(container.settings)
    )
    assert result.valid and index is not None
    return result.status_at(index)


def online(container: Container, number: str, at: datetime) -> tuple[bool, CredentialStatus, str]:
    """What online verification's registry read (`edl.verification.lookup.judge`) answers at `at` for a verified
    code of licence `number`'s live e-licence: (valid, status, the registry status in Chinese). (No new code is made:
    none can be signed during a stop; a code made before it identifies the same e-licence.)"""
    with transaction(container.sessions) as s:
        elicence_id = s.scalar(
            sa.select(ElicenceRow.id).where(ElicenceRow.licence_number == number, ElicenceRow.voided_at.is_(None))
        )
    party = Party("p1", "租车", Purpose.RENTAL, (Field.NAME, Field.STATUS), 0, AuthorityScope.of(None))
    with container.engine.connect() as conn:
        verdict = judge(
            conn, party, Portraits(container.photos), elicence_id=elicence_id, serial=None, claims=None,
            method="code", at=at,
        )  # fmt: skip
    assert verdict.registry_status is not None
    return verdict.valid, verdict.status, str(verdict.registry_status["zh"])


def sanction_audit(container: Container) -> list[tuple[str, str, str]]:
    with container.sessions() as s:
        rows = s.execute(
            sa.select(AuditRow.actor, AuditRow.outcome, AuditRow.subject)
            .where(AuditRow.action == "sanction")
            .order_by(AuditRow.id)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def notices(container: Container, account_id: str) -> list[str]:
    with container.sessions() as s:
        return list(
            s.scalars(
                sa.select(NotificationRow.kind)
                .where(NotificationRow.account_id == account_id)
                .order_by(NotificationRow.id)
            )
        )


def apply_again(container: Container, app: Application, at: datetime) -> Application:
    assert container.face_checks.authenticate(app.account_id, capture(container, app.account_id, at=at), at=at).passed
    return container.applications.submit_photo(
        app.account_id, id_photo(), source=PhotoSource.CAMERA, idempotency_key=uuid.uuid4().hex, at=at
    )


# --- end to end ----------------------------------------------------------------------------------------------------


def test_propose_confirm_lift_suspends_then_restores_the_elicence_only(ready: Container) -> None:
    app, elicence = holder_with_photo_change(ready, "孙恶意")
    number = app.licence_number
    assert online(ready, number, NOW)[:2] == (True, CredentialStatus.VALID)
    sanction_id = propose(ready, app, days=30)
    assert suspended_until(ready, elicence) is None, "a proposal alone changes nothing for the driver"
    assert ready.sanctions.get(SUPERVISOR, sanction_id, at=NOW).state is SanctionState.PROPOSED

    at = NOW + timedelta(minutes=5)
    confirmed = ready.sanctions.confirm(SUPERVISOR, sanction_id, at=at)
    assert confirmed.state is SanctionState.ACTIVE and confirmed.ends_at == at + timedelta(days=30)
    assert suspended_until(ready, elicence) == at + timedelta(days=30)
    valid, status, said = online(ready, number, at + timedelta(minutes=1))
    assert (valid, status) == (False, CredentialStatus.SUSPENDED) and "停止使用" in said and "正常" in said
    assert list_status(ready, elicence, at + timedelta(minutes=1)) is CredentialStatus.SUSPENDED
    with ready.sessions() as s:
        licence = s.get(LicenceRow, number)
        assert licence is not None and licence.statuses == "A", "the paper licence's own status is untouched"

    with pytest.raises(ApplicationRefused) as refused:
        apply_again(ready, app, at + timedelta(hours=1))
    assert refused.value.code == "sanctioned"
    assert (
        "车管所" in str(refused.value) and "counter" in str(refused.value) and "违反公序良俗" not in str(refused.value)
    )
    assert "标记" in str(refused.value), "the reason is given"
    overview = ready.applications.overview(app.account_id, at=at + timedelta(hours=1))
    assert overview.sanction is not None and overview.sanction.id == sanction_id

    lifted_at = at + timedelta(days=2)
    ready.sanctions.lift(SUPERVISOR, sanction_id, reason="窗口申诉后核实为误判", at=lifted_at)
    assert suspended_until(ready, elicence) is None
    assert online(ready, number, lifted_at + timedelta(minutes=1))[:2] == (True, CredentialStatus.VALID)
    assert list_status(ready, elicence, lifted_at + timedelta(minutes=1)) is CredentialStatus.VALID
    assert apply_again(ready, app, lifted_at + timedelta(hours=1)).state == "pending_review"

    assert [(actor, outcome) for actor, outcome, _ in sanction_audit(ready)] == [
        ("staff:rev1", "proposed"),
        ("staff:sup1", "confirmed"),
        ("staff:sup1", "lifted"),
    ]
    assert {subject for *_, subject in sanction_audit(ready)} == {number}
    kinds = notices(ready, app.account_id)
    assert kinds.index("rejected") < kinds.index("sanctioned") < kinds.index("sanction_lifted")


def test_a_sanction_that_runs_out_ends_by_itself_in_answers_and_the_list(ready: Container) -> None:
    app, elicence = holder_with_photo_change(ready, "周到期")
    sanction_id = propose(ready, app, days=30)
    ready.sanctions.confirm(SUPERVISOR, sanction_id, at=NOW)
    during = NOW + timedelta(days=30, seconds=-30)
    assert list_status(ready, elicence, during) is CredentialStatus.SUSPENDED  # built and stored during the term
    after = NOW + timedelta(days=30, seconds=1)  # well within the list's ttl: only the end makes it stale
    assert (after - during).total_seconds() < ready.settings.status_list_ttl_seconds
    assert list_status(ready, elicence, after) is CredentialStatus.VALID, "the stored list is stale once it ended"
    assert online(ready, app.licence_number, after)[:2] == (True, CredentialStatus.VALID)
    assert ready.sanctions.get(SUPERVISOR, sanction_id, at=after).state is SanctionState.ENDED
    assert apply_again(ready, app, after).state == "pending_review"

    assert ready.sanctions.close_ended(at=after) == 1
    assert ready.sanctions.close_ended(at=after) == 0, "closing twice does nothing"
    assert suspended_until(ready, elicence) is None
    assert list_status(ready, elicence, after + timedelta(seconds=1)) is CredentialStatus.VALID
    assert sanction_audit(ready)[-1][:2] == ("system", "ended")
    assert notices(ready, app.account_id)[-2:] == ["submitted", "sanction_lifted"]


def test_an_indefinite_sanction_runs_until_lifted(ready: Container) -> None:
    app, elicence = holder_with_photo_change(ready, "吴无期")
    sanction_id = propose(ready, app, days=None, reason="not_holder")
    confirmed = ready.sanctions.confirm(SUPERVISOR, sanction_id, at=NOW)
    assert confirmed.ends_at is None and suspended_until(ready, elicence) == INDEFINITE_UNTIL
    years = NOW + timedelta(days=3650)
    assert ready.sanctions.close_ended(at=years) == 0
    assert list_status(ready, elicence, NOW + timedelta(minutes=1)) is CredentialStatus.SUSPENDED
    assert "直至解除" in confirmed.notice.zh and "until lifted" in confirmed.notice.en


def test_a_pending_application_cannot_be_approved_during_a_sanction(ready: Container) -> None:
    app, elicence = holder_with_photo_change(ready, "郑待批")
    sanction_id = propose(ready, app)
    waiting = apply_again(ready, app, NOW + timedelta(minutes=1))  # a proposal alone does not stop applying
    ready.sanctions.confirm(SUPERVISOR, sanction_id, at=NOW + timedelta(minutes=2))
    with pytest.raises(ApplicationRefused) as refused:
        ready.reviews.decide(REVIEWER, waiting.id, Decision.APPROVE, at=NOW + timedelta(minutes=3))
    assert refused.value.code == "sanctioned"
    assert ready.applications.get_application(app.account_id, waiting.id).state == "pending_review"
    with ready.sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(ElicenceRow)) == 1, "nothing was issued"
    assert suspended_until(ready, elicence) is not None


def test_no_path_issues_a_fresh_e_licence_during_a_sanction(ready: Container) -> None:
    """Attack: an operator's `edl credential issue` (or any direct issuance) during a stop would make a new e-licence
    row without `suspended_until`, i.e. a valid e-licence again. Every issuance is refused while the stop runs."""
    from edl.issuance.elicences import IssuanceRefused, issue_elicence

    app, elicence = holder_with_photo_change(ready, "钱绕过")
    sanction_id = propose(ready, app)
    ready.sanctions.confirm(SUPERVISOR, sanction_id, at=NOW)
    with pytest.raises(IssuanceRefused, match="窗口申诉"):
        issue_elicence(
            ready.sessions, ready.issuer, app.licence_number, actor="operator", at=NOW + timedelta(minutes=1)
        )
    with ready.sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(ElicenceRow)) == 1, "nothing was issued"
    assert suspended_until(ready, elicence) is not None
    ready.sanctions.lift(SUPERVISOR, sanction_id, reason="申诉成立", at=NOW + timedelta(minutes=2))
    issued = issue_elicence(
        ready.sessions, ready.issuer, app.licence_number, actor="operator", at=NOW + timedelta(minutes=3)
    )
    assert issued.elicence_id != elicence


# --- attacks and refusals --------------------------------------------------------------------------------------


def test_only_an_abuse_reason_can_propose(ready: Container) -> None:
    app, _ = holder_with_photo_change(ready, "冯背景")
    with pytest.raises(SanctionRefused) as refused:
        ready.reviews.decide(REVIEWER, app.id, Decision.REJECT, reason_code="background", propose=Proposal(30), at=NOW)
    assert refused.value.code == "not_abuse"
    with pytest.raises(ApplicationRefused):
        ready.reviews.decide(REVIEWER, app.id, Decision.APPROVE, propose=Proposal(30), at=NOW)
    with pytest.raises(SanctionRefused):
        ready.reviews.decide(REVIEWER, app.id, Decision.REJECT, reason_code="marks", propose=Proposal(7), at=NOW)
    with ready.sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(SanctionRow)) == 0
    assert ready.applications.get_application(app.account_id, app.id).state == "pending_review", "nothing decided"


def test_a_reviewer_cannot_confirm_and_the_proposer_cannot_confirm_their_own(ready: Container) -> None:
    app, elicence = holder_with_photo_change(ready, "陈自批")
    sanction_id = propose(ready, app)
    with pytest.raises(SanctionRefused) as refused:
        ready.sanctions.confirm(REVIEWER, sanction_id, at=NOW)
    assert refused.value.code == "forbidden"
    with pytest.raises(SanctionRefused):
        ready.sanctions.confirm(ADMIN, sanction_id, at=NOW)

    app2, _ = holder_with_photo_change(ready, "褚主管提")
    ready.reviews.decide(SUPERVISOR, app2.id, Decision.REJECT, reason_code="marks", propose=Proposal(30), at=NOW)
    with ready.sessions() as s:
        own = s.scalar(sa.select(SanctionRow.id).where(SanctionRow.application_id == app2.id))
    assert own is not None
    with pytest.raises(SanctionRefused) as refused:
        ready.sanctions.confirm(SUPERVISOR, own, at=NOW)
    assert refused.value.code == "own_proposal"
    assert ready.sanctions.confirm(OTHER_SUPERVISOR, own, at=NOW).state is SanctionState.ACTIVE

    assert suspended_until(ready, elicence) is None, "the refused confirmations changed nothing"
    refusals = [(actor, outcome) for actor, outcome, _ in sanction_audit(ready) if outcome == "refused"]
    assert refusals == [("staff:rev1", "refused"), ("staff:admin1", "refused"), ("staff:sup1", "refused")]


def test_a_supervisor_of_another_authority_does_not_see_or_act(ready: Container) -> None:
    app, elicence = holder_with_photo_change(ready, "卫外地")
    sanction_id = propose(ready, app)
    assert ready.sanctions.listing(CHENGDU_SUPERVISOR, at=NOW) == []
    with pytest.raises(NotFound):
        ready.sanctions.confirm(CHENGDU_SUPERVISOR, sanction_id, at=NOW)
    ready.sanctions.confirm(SUPERVISOR, sanction_id, at=NOW)
    with pytest.raises(NotFound):
        ready.sanctions.lift(CHENGDU_SUPERVISOR, sanction_id, reason="越权", at=NOW)
    assert suspended_until(ready, elicence) is not None
    assert [s.id for s in ready.sanctions.listing(SUPERVISOR, at=NOW)] == [sanction_id]


def test_deciding_twice_or_lifting_what_is_not_running_is_refused(ready: Container) -> None:
    app, _ = holder_with_photo_change(ready, "蒋两次")
    sanction_id = propose(ready, app)
    with pytest.raises(AlreadyDecided) as not_running:
        ready.sanctions.lift(SUPERVISOR, sanction_id, reason="未生效", at=NOW)
    assert not_running.value.code == "not_running"
    ready.sanctions.confirm(SUPERVISOR, sanction_id, at=NOW)
    with pytest.raises(AlreadyDecided):
        ready.sanctions.confirm(OTHER_SUPERVISOR, sanction_id, at=NOW)
    with pytest.raises(SanctionRefused) as refused:
        ready.sanctions.lift(SUPERVISOR, sanction_id, reason="  ", at=NOW)
    assert refused.value.code == "reason_required"


def test_one_standing_sanction_per_licence(ready: Container) -> None:
    app, _ = holder_with_photo_change(ready, "沈再提")
    propose(ready, app)
    later = apply_again(ready, app, NOW + timedelta(minutes=1))  # the proposal alone does not stop applying
    with pytest.raises(SanctionRefused) as refused:
        ready.reviews.decide(
            REVIEWER,
            later.id,
            Decision.REJECT,
            reason_code="marks",
            propose=Proposal(30),
            at=NOW + timedelta(minutes=2),
        )
    assert refused.value.code == "already_sanctioned"


def test_a_declined_proposal_changes_nothing_for_the_driver(ready: Container) -> None:
    app, elicence = holder_with_photo_change(ready, "韩未准")
    sanction_id = propose(ready, app)
    declined = ready.sanctions.decline(SUPERVISOR, sanction_id, note="证据不足", at=NOW)
    assert declined.state is SanctionState.DECLINED
    assert suspended_until(ready, elicence) is None
    assert "sanctioned" not in notices(ready, app.account_id)
    assert ready.sanctions.listing(SUPERVISOR, at=NOW) == []
