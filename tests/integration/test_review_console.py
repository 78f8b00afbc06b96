"""The staff review console through its pages, on SQLite and PostgreSQL: the queue by deadline and by authority,
the photos only for staff in scope, approve → e-licence, reject → the holder is told why, refusals that change
nothing, the overdue list for supervisors, CSRF, the audit log; and two reviewers deciding the same application."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from edl.applications.errors import AlreadyDecided
from edl.bootstrap import Container
from edl.db.models import ApplicationRow, AuditRow, ElicenceRow, NotificationRow
from edl.domain.application import ApplicationState, Decision, PhotoSource
from edl.web import create_app
from edl.web.auth_deps import Role, StaffSession
from edl.web.masking import mask_number
from tests.auth_helpers import csrf_of, sign_in_staff
from tests.faces import id_photo
from tests.workflow import capture, prepare, seed_account, seed_licence

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Beijing
TIANJIN, CHENGDU = "120000", "510100"


@pytest.fixture
def ready(container: Container) -> Container:
    prepare(container, NOW)
    return container


@pytest.fixture
def client(ready: Container) -> Iterator[TestClient]:
    with TestClient(create_app(ready), follow_redirects=False) as c:
        yield c


_sequence = iter(range(101, 999, 2))


def pending(container: Container, name: str, *, hours_ago: float = 1, authority: str = TIANJIN) -> ApplicationRow:
    """A pending application built through the real service: bound account, passed face check, a compliant photo."""
    at = NOW - timedelta(hours=hours_ago)
    area = "120101" if authority == TIANJIN else "510104"
    number = seed_licence(container, at, name=name, sequence=next(_sequence), area=area, authority=authority)
    account = seed_account(container, at, number=number)
    assert container.face_checks.authenticate(account, capture(container, account, at=at), at=at).passed
    return container.applications.submit_photo(
        account, id_photo(), source=PhotoSource.CAMERA, idempotency_key=uuid.uuid4().hex, at=at
    )


def reviewer_of(client: TestClient, container: Container, authority: str = TIANJIN, role: str = "reviewer") -> None:
    sign_in_staff(client, container, f"{role}{authority}", role=role, authorities=[authority])


def decide(client: TestClient, app_id: str, **form: str | None) -> object:
    """A decision as the page's form sends it: the required confirmation box ticked unless `confirm` says otherwise."""
    data = {"csrf": csrf_of(client, "/review"), "confirm": "yes", **form}
    return client.post(f"/review/applications/{app_id}/decision", data={k: v for k, v in data.items() if v is not None})


def state_of(container: Container, app_id: str) -> ApplicationRow:
    with container.sessions() as s:
        row = s.get(ApplicationRow, app_id)
        assert row is not None
        return row


def review_audit(container: Container) -> list[AuditRow]:
    with container.sessions() as s:
        return list(s.scalars(sa.select(AuditRow).where(AuditRow.action == "review").order_by(AuditRow.id)))


def messages_of(container: Container, account_id: str) -> list[NotificationRow]:
    with container.sessions() as s:
        return list(
            s.scalars(
                sa.select(NotificationRow).where(NotificationRow.account_id == account_id).order_by(NotificationRow.id)
            )
        )


def elicences(container: Container) -> list[ElicenceRow]:
    with container.sessions() as s:
        return list(s.scalars(sa.select(ElicenceRow)))


# --- the queue ----------------------------------------------------------------------------------------------------


def test_queue_needs_a_staff_sign_in(client: TestClient) -> None:
    r = client.get("/review")
    assert r.status_code == 303 and r.headers["location"].startswith("/review/sign-in")


def test_queue_lists_own_authorities_by_deadline_with_masked_numbers(client: TestClient, ready: Container) -> None:
    later = pending(ready, "李后到", hours_ago=1)
    earlier = pending(ready, "王先到", hours_ago=5)
    elsewhere = pending(ready, "成都人", hours_ago=6, authority=CHENGDU)
    reviewer_of(client, ready)
    r = client.get("/review")
    assert r.status_code == 200
    html = r.text
    assert html.index("王先到") < html.index("李后到"), "the nearest deadline comes first"
    assert "成都人" not in html and elsewhere.id not in html
    assert mask_number(earlier.licence_number) in html and earlier.licence_number not in html
    assert f"/review/applications/{later.id}" in html
    assert "拍摄照片" in html and "还剩" in html  # kind and the deadline hint


def test_reviewer_of_another_authority_gets_404_on_the_page_and_both_photos(
    client: TestClient, ready: Container
) -> None:
    chengdu = pending(ready, "成都人", authority=CHENGDU)
    reviewer_of(client, ready, TIANJIN)
    for path in ("", "/photo", "/registry-photo"):
        r = client.get(f"/review/applications/{chengdu.id}{path}")
        assert r.status_code == 404, path
        assert not r.headers["content-type"].startswith("image/")
    assert decide(client, chengdu.id, decision="approve").status_code == 404
    assert state_of(ready, chengdu.id).state == ApplicationState.PENDING_REVIEW.value


def test_review_page_shows_both_photos_checks_and_the_face_check(client: TestClient, ready: Container) -> None:
    app = pending(ready, "张审核")
    reviewer_of(client, ready)
    r = client.get(f"/review/applications/{app.id}")
    assert r.status_code == 200
    html = r.text
    assert f"/review/applications/{app.id}/photo" in html and f"/review/applications/{app.id}/registry-photo" in html
    assert app.licence_number in html  # the reviewer sees the full number on the review page
    assert "本人与登记库照片一致" in html and "scripted-test" in html  # face check: outcome and provider
    assert "脸宽占照片宽度" in html and "背景亮度" in html  # the automatic measurements, readable
    assert 'value="other"' in html and 'value="background"' in html  # the standard reasons

    photo = client.get(f"/review/applications/{app.id}/photo")
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    assert photo.content == ready.photos.get(app.photo_ref)
    assert photo.headers["cache-control"] == "private, no-store"
    registry = client.get(f"/review/applications/{app.id}/registry-photo")
    assert registry.status_code == 200 and registry.headers["cache-control"] == "private, no-store"
    assert registry.content != photo.content


def test_what_the_automatic_checks_could_not_judge_is_flagged_beside_the_photo(
    client: TestClient, ready: Container
) -> None:
    """Issue 16: rules that only warn (an editing app named in the photo's metadata, a uniform's colour, text) reach
    the reviewer as flags above the measurements; a photo with none shows no flag box."""
    from tests.faces import edited_photo

    clean = pending(ready, "干净照")
    at = NOW - timedelta(hours=1)
    number = seed_licence(ready, at, name="修图照", sequence=next(_sequence), area="120101", authority=TIANJIN)
    account = seed_account(ready, at, number=number)
    assert ready.face_checks.authenticate(account, capture(ready, account, at=at), at=at).passed
    edited = ready.applications.submit_photo(
        account, edited_photo(), source=PhotoSource.ALBUM, idempotency_key=uuid.uuid4().hex, at=at
    )
    reviewer_of(client, ready)
    html = client.get(f"/review/applications/{edited.id}").text
    assert "请人工核对" in html and "photo-flags" in html
    assert "MeituXiuXiu" in html or "修图" in html, "the flag says what was found"
    assert "photo-flags" not in client.get(f"/review/applications/{clean.id}").text
    en = client.get(f"/review/applications/{edited.id}", headers={"Accept-Language": "en"}).text
    assert "Check by eye" in en


def test_english_page_is_available(client: TestClient, ready: Container) -> None:
    pending(ready, "张英文")
    reviewer_of(client, ready)
    assert "Applications to review" in client.get("/review?lang=en").text


# --- decisions ----------------------------------------------------------------------------------------------------


def test_approve_issues_the_elicence_tells_the_holder_and_is_audited(client: TestClient, ready: Container) -> None:
    app = pending(ready, "赵通过")
    reviewer_of(client, ready)
    r = decide(client, app.id, decision="approve")
    assert r.status_code == 303
    assert r.headers["location"] == f"/review?done={app.id}&result=approved"
    confirmation = client.get(r.headers["location"])
    assert "已通过赵通过的申请" in confirmation.text
    assert f"/review/applications/{app.id}" not in confirmation.text, "the decided application left the queue"

    row = state_of(ready, app.id)
    assert row.state == ApplicationState.ISSUED.value and row.decided_by == f"staff:reviewer{TIANJIN}"
    (elicence,) = elicences(ready)
    assert elicence.id == row.elicence_id and elicence.photo_ref == app.photo_ref
    assert [m.kind for m in messages_of(ready, app.account_id)] == ["submitted", "issued"]
    (audit,) = review_audit(ready)
    assert (audit.outcome, audit.actor, audit.subject) == ("approve", f"staff:reviewer{TIANJIN}", app.licence_number)
    assert audit.detail["application"] == app.id


def test_reject_with_reason_and_note_tells_the_holder_why(client: TestClient, ready: Container) -> None:
    app = pending(ready, "钱退回")
    reviewer_of(client, ready)
    r = decide(client, app.id, decision="reject", reason="background", note="请站在白墙前重新拍摄")
    assert r.status_code == 303 and r.headers["location"].endswith("result=rejected")
    assert "已退回钱退回的申请" in client.get(r.headers["location"]).text

    row = state_of(ready, app.id)
    assert (row.state, row.reject_code, row.reject_note) == ("rejected", "background", "请站在白墙前重新拍摄")
    assert elicences(ready) == []
    told = messages_of(ready, app.account_id)[-1]
    assert told.kind == "rejected"
    assert "背景不是白色" in told.body_zh and "请站在白墙前重新拍摄" in told.body_zh
    (audit,) = review_audit(ready)
    assert audit.outcome == "reject" and audit.detail["reason"] == "background"


def test_reject_without_a_reason_is_refused_and_changes_nothing(client: TestClient, ready: Container) -> None:
    app = pending(ready, "孙无因")
    reviewer_of(client, ready)
    r = decide(client, app.id, decision="reject", note="看不清")
    assert r.status_code == 400
    assert "请选择退回原因" in r.text and "看不清" in r.text, "the refusal is shown with the note kept"
    assert state_of(ready, app.id).state == ApplicationState.PENDING_REVIEW.value
    assert review_audit(ready) == [] and elicences(ready) == []
    assert [m.kind for m in messages_of(ready, app.account_id)] == ["submitted"]


def test_other_reason_without_a_note_is_refused(client: TestClient, ready: Container) -> None:
    app = pending(ready, "周其他")
    reviewer_of(client, ready)
    r = decide(client, app.id, decision="reject", reason="other", note="   ")
    assert r.status_code == 400 and "请填写说明" in r.text
    assert state_of(ready, app.id).state == ApplicationState.PENDING_REVIEW.value
    assert review_audit(ready) == []


def test_unknown_decision_or_reason_is_refused(client: TestClient, ready: Container) -> None:
    app = pending(ready, "吴乱填")
    reviewer_of(client, ready)
    assert decide(client, app.id, decision="maybe").status_code == 400
    assert decide(client, app.id, decision="reject", reason="no-such-reason").status_code == 400
    assert state_of(ready, app.id).state == ApplicationState.PENDING_REVIEW.value


def test_deciding_after_another_reviewer_answers_409_and_keeps_the_first_decision(ready: Container) -> None:
    app = pending(ready, "郑两次")
    web = create_app(ready)
    with TestClient(web, follow_redirects=False) as first, TestClient(web, follow_redirects=False) as second:
        sign_in_staff(first, ready, "colleague", role="reviewer", authorities=[TIANJIN])
        reviewer_of(second, ready)
        page = second.get(f"/review/applications/{app.id}")
        assert 'name="decision"' in page.text, "the second reviewer has the form open"
        assert decide(first, app.id, decision="approve").status_code == 303
        late = decide(second, app.id, decision="reject", reason="quality")
    assert late.status_code == 409
    assert "已由其他审核员处理" in late.text and "colleague" in late.text and "已发放电子驾驶证" in late.text
    assert state_of(ready, app.id).state == ApplicationState.ISSUED.value
    assert len(review_audit(ready)) == 1 and len(elicences(ready)) == 1


def test_decision_without_csrf_token_is_refused(client: TestClient, ready: Container) -> None:
    app = pending(ready, "冯无令")
    reviewer_of(client, ready)
    r = client.post(f"/review/applications/{app.id}/decision", data={"decision": "approve"})
    assert r.status_code == 403
    assert state_of(ready, app.id).state == ApplicationState.PENDING_REVIEW.value
    assert review_audit(ready) == []


def test_decided_application_page_shows_the_outcome_without_a_form(client: TestClient, ready: Container) -> None:
    app = pending(ready, "陈已办")
    reviewer_of(client, ready)
    decide(client, app.id, decision="reject", reason="clothing")
    html = client.get(f"/review/applications/{app.id}").text
    assert "审核未通过" in html and "请穿深色便服" in html
    assert 'name="decision"' not in html


# --- the overdue list ---------------------------------------------------------------------------------------------


def test_overdue_list_is_refused_for_reviewers_and_shown_to_supervisors(ready: Container) -> None:
    late = pending(ready, "褚超期", hours_ago=50)  # Monday 08:00 Beijing: due Tuesday 08:00
    pending(ready, "卫按时", hours_ago=1)
    app = create_app(ready)
    with TestClient(app, follow_redirects=False) as reviewer:
        reviewer_of(reviewer, ready)
        refused = reviewer.get("/review/overdue")
        assert refused.status_code == 403 and "只有主管可以查看超期申请" in refused.text
        queue = reviewer.get("/review").text
        assert 'href="/review/overdue"' not in queue
    with TestClient(app, follow_redirects=False) as supervisor:
        reviewer_of(supervisor, ready, role="supervisor")
        r = supervisor.get("/review/overdue")
        assert r.status_code == 200
        assert "褚超期" in r.text and "卫按时" not in r.text and "已超期" in r.text
        assert f"/review/applications/{late.id}" in r.text
        assert "count-alert" in supervisor.get("/review").text, "the overdue count is highlighted"


# --- two reviewers at once ------------------------------------------------------------------------------------------


def test_two_reviewers_deciding_at_once_record_exactly_one_decision(ready: Container) -> None:
    app = pending(ready, "蒋并发")
    staff = [StaffSession(f"u{i}", f"reviewer{i}", f"审核员{i}", Role.REVIEWER, frozenset({TIANJIN})) for i in (1, 2)]
    choices = [(Decision.APPROVE, None), (Decision.REJECT, "quality")]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def run(who: StaffSession, decision: Decision, reason: str | None) -> None:
        barrier.wait()
        try:
            ready.reviews.decide(who, app.id, decision, reason_code=reason, at=NOW)
            outcomes.append(decision.value)
        except AlreadyDecided:
            outcomes.append("already_decided")

    threads = [threading.Thread(target=run, args=(s, d, r)) for s, (d, r) in zip(staff, choices, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) in (["already_decided", "approve"], ["already_decided", "reject"]), outcomes
    won = next(o for o in outcomes if o != "already_decided")
    (audit,) = review_audit(ready)
    assert audit.outcome == won
    row = state_of(ready, app.id)
    if won == "approve":
        assert row.state == "issued" and len(elicences(ready)) == 1
    else:
        assert row.state == "rejected" and row.reject_code == "quality" and elicences(ready) == []
    assert [m.kind for m in messages_of(ready, app.account_id)].count("submitted") == 1
    assert len(messages_of(ready, app.account_id)) == 2


# --- issue 13, item 4: the lenient demo compared nothing; destructive decisions need their confirmation ----------


def _jpeg() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 64), (180, 150, 130)).save(out, "JPEG")
    return out.getvalue()


def test_a_lenient_demo_pass_is_labelled_not_compared_never_a_green_tick(client: TestClient, ready: Container) -> None:
    from edl.applications.face import LenientDemoVerifier
    from edl.db.models import FaceCheckRow
    from edl.domain.liveness import LiveCapture, TimedFrame

    ready.face_verifier = LenientDemoVerifier()  # what the demo runs without dlib
    at = NOW - timedelta(hours=1)
    number = seed_licence(ready, at, name="演示人", sequence=991, area="120101", authority=TIANJIN)
    account = seed_account(ready, at, number=number)
    challenge = ready.face_checks.issue_challenge(account, "apply", at=at)
    burst = LiveCapture(challenge.nonce, tuple(TimedFrame(t, _jpeg()) for t in challenge.frame_times))
    assert ready.face_checks.authenticate(account, burst, at=at).passed, "the lenient provider lets it through"
    with ready.sessions() as s:
        assert [r.provider for r in s.scalars(sa.select(FaceCheckRow))] == ["lenient-demo"], "the record says who"
    app = ready.applications.submit_photo(
        account, id_photo(), source=PhotoSource.CAMERA, idempotency_key=uuid.uuid4().hex, at=at
    )
    reviewer_of(client, ready)
    zh = client.get(f"/review/applications/{app.id}").text
    assert "未比对（演示模式）" in zh
    assert "本人与登记库照片一致" not in zh and "✓ 通过" not in zh
    assert 'data-face="neutral"' in zh and 'data-face="ok"' not in zh
    en = client.get(f"/review/applications/{app.id}", headers={"Accept-Language": "en"}).text
    assert "Not compared (demo mode)" in en and "matching the registry photo" not in en


def test_a_real_pass_keeps_its_tick(client: TestClient, ready: Container) -> None:
    app = pending(ready, "真比对")
    reviewer_of(client, ready)
    html = client.get(f"/review/applications/{app.id}").text
    assert 'data-face="ok"' in html and "未比对" not in html


@pytest.mark.parametrize("form", [{"decision": "approve"}, {"decision": "reject", "reason": "quality"}])
def test_a_decision_without_its_confirmation_box_does_nothing(
    client: TestClient, ready: Container, form: dict[str, str]
) -> None:
    app = pending(ready, "待确认")
    reviewer_of(client, ready)
    page = client.get(f"/review/applications/{app.id}").text
    assert page.count('name="confirm" value="yes" required') == 2, "both forms carry a required confirmation box"
    told = len(messages_of(ready, app.account_id))
    for confirm in (None, "", "no"):
        r = decide(client, app.id, confirm=confirm, **form)
        assert r.status_code == 400  # type: ignore[attr-defined]
        assert "请先勾选确认框" in r.text  # type: ignore[attr-defined]
    assert state_of(ready, app.id).state == ApplicationState.PENDING_REVIEW.value
    assert review_audit(ready) == [] and elicences(ready) == []
    assert len(messages_of(ready, app.account_id)) == told, "the holder is told nothing"
    assert decide(client, app.id, **form).status_code == 303  # type: ignore[attr-defined]
