"""Issue 16, item 4, through the pages (SQLite and PostgreSQL): the reviewer proposes on the reject form, a
supervisor confirms and lifts on the sanctions page (CSRF and the `confirm=yes` box required), the driver's home
and licence pages say the e-licence is stopped, why, and how to appeal; and the attacks on the console forms."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from edl.bootstrap import Container
from edl.db.models import ApplicationRow, AuditRow, ElicenceRow, SanctionRow
from edl.web import create_app
from tests.auth_helpers import csrf_of, sign_in_holder, sign_in_staff
from tests.integration.test_sanctions import CHENGDU, NOW, TIANJIN, holder_with_photo_change
from tests.workflow import prepare

pytestmark = pytest.mark.integration

MOBILE = "13912345678"


@pytest.fixture
def ready(container: Container) -> Container:
    prepare(container, NOW)
    return container


def _client(container: Container) -> TestClient:
    return TestClient(create_app(container), follow_redirects=False)


@pytest.fixture
def reviewer(ready: Container) -> Iterator[TestClient]:
    with _client(ready) as c:
        sign_in_staff(c, ready, "rev-tj", role="reviewer", authorities=[TIANJIN])
        yield c


@pytest.fixture
def supervisor(ready: Container) -> Iterator[TestClient]:
    with _client(ready) as c:
        sign_in_staff(c, ready, "sup-tj", role="supervisor", authorities=[TIANJIN])
        yield c


def _sanction(container: Container) -> SanctionRow:
    with container.sessions() as s:
        row = s.scalar(sa.select(SanctionRow))
    assert row is not None
    return row


def _propose(reviewer: TestClient, app_id: str, **extra: str) -> object:
    data = {
        "csrf": csrf_of(reviewer, "/review"), "decision": "reject", "reason": "marks", "note": "照片含广告文字",
        "confirm": "yes", "propose": "yes", "sanction_days": "30", **extra,
    }  # fmt: skip
    return reviewer.post(f"/review/applications/{app_id}/decision", data=data)


def _act(client: TestClient, sanction_id: str, action: str, **form: str) -> object:
    data = {"csrf": csrf_of(client, "/review"), "confirm": "yes", **form}
    return client.post(f"/review/sanctions/{sanction_id}/{action}", data={k: v for k, v in data.items() if v})


def test_propose_confirm_lift_through_the_pages_and_the_driver_sees_it(
    ready: Container, reviewer: TestClient, supervisor: TestClient
) -> None:
    app, elicence = holder_with_photo_change(ready, "秦恶意", mobile=MOBILE)
    page = reviewer.get(f"/review/applications/{app.id}")
    assert 'name="propose"' in page.text and "恶意上传" in page.text
    r = _propose(reviewer, app.id)
    assert r.status_code == 303, getattr(r, "text", "")
    sanction = _sanction(ready)
    assert (sanction.state, sanction.duration_days, sanction.proposed_by) == ("proposed", 30, "staff:rev-tj")

    listed = supervisor.get("/review/sanctions")
    assert listed.status_code == 200 and "秦恶意" in listed.text and "/confirm" in listed.text
    assert _act(supervisor, sanction.id, "confirm").status_code == 303  # type: ignore[attr-defined]
    assert _sanction(ready).state == "active"

    with _client(ready) as driver:
        sign_in_holder(driver, ready, MOBILE)
        home = driver.get("/app").text
        assert "电子驾驶证已停止使用" in home and "车管所" in home and "标记" in home
        card = driver.get("/app/licence")
        assert card.status_code == 200 and "data-stopped" in card.text and "data-live-qr" not in card.text
        assert driver.get("/app/licence/code").status_code == 403
        assert driver.get("/app/licence.pdf").status_code == 403

        assert _act(supervisor, sanction.id, "lift", note="窗口申诉核实").status_code == 303  # type: ignore[attr-defined]
        card = driver.get("/app/licence")
        assert "data-stopped" not in card.text and "data-live-qr" in card.text
        assert driver.get("/app/licence/code").status_code == 200
    with ready.sessions() as s:
        assert s.scalar(sa.select(ElicenceRow.suspended_until).where(ElicenceRow.id == elicence)) is None


def test_the_english_pages_say_it_too(ready: Container, reviewer: TestClient, supervisor: TestClient) -> None:
    app, _ = holder_with_photo_change(ready, "楚英文", mobile=MOBILE)
    _propose(reviewer, app.id, sanction_days="indefinite")
    page = supervisor.get("/review/sanctions", headers={"Accept-Language": "en"}).text
    assert "Until a supervisor lifts it" in page and "Confirm the stop" in page
    _act(supervisor, _sanction(ready).id, "confirm")
    with _client(ready) as driver:
        sign_in_holder(driver, ready, MOBILE)
        home = driver.get("/app", headers={"Accept-Language": "en"}).text
        assert "Your e-licence is stopped" in home and "vehicle administration office" in home
        assert "until lifted" in home


# --- attacks ---------------------------------------------------------------------------------------------------


def test_a_post_without_csrf_or_without_the_box_changes_nothing(
    ready: Container, reviewer: TestClient, supervisor: TestClient
) -> None:
    app, _ = holder_with_photo_change(ready, "齐无令")
    _propose(reviewer, app.id)
    sanction = _sanction(ready)
    no_csrf = supervisor.post(f"/review/sanctions/{sanction.id}/confirm", data={"confirm": "yes"})
    assert no_csrf.status_code == 403
    no_box = _act(supervisor, sanction.id, "confirm", confirm="")
    assert no_box.status_code == 400  # type: ignore[attr-defined]
    assert _sanction(ready).state == "proposed"
    with ready.sessions() as s:
        outcomes = list(s.scalars(sa.select(AuditRow.outcome).where(AuditRow.action == "sanction")))
    assert outcomes == ["proposed"]


def test_a_reviewer_cannot_confirm_and_another_authority_gets_404(ready: Container, reviewer: TestClient) -> None:
    app, _ = holder_with_photo_change(ready, "燕越权")
    _propose(reviewer, app.id)
    sanction = _sanction(ready)
    assert _act(reviewer, sanction.id, "confirm").status_code == 403  # type: ignore[attr-defined]
    with _client(ready) as chengdu:
        sign_in_staff(chengdu, ready, "sup-cd", role="supervisor", authorities=[CHENGDU])
        assert _act(chengdu, sanction.id, "confirm").status_code == 404  # type: ignore[attr-defined]
        assert "燕越权" not in chengdu.get("/review/sanctions").text
    assert _sanction(ready).state == "proposed"


def test_a_non_abuse_reason_with_the_box_is_refused_and_nothing_is_decided(
    ready: Container, reviewer: TestClient
) -> None:
    app, _ = holder_with_photo_change(ready, "赵背景")
    r = _propose(reviewer, app.id, reason="background")
    assert r.status_code == 400  # type: ignore[attr-defined]
    with ready.sessions() as s:
        assert s.get(ApplicationRow, app.id).state == "pending_review"  # type: ignore[union-attr]
        assert s.scalar(sa.select(sa.func.count()).select_from(SanctionRow)) == 0
    bad = _propose(reviewer, app.id, sanction_days="7")
    assert bad.status_code == 400  # type: ignore[attr-defined]


def test_the_driver_cannot_apply_during_the_sanction_through_the_page(
    ready: Container, reviewer: TestClient, supervisor: TestClient
) -> None:
    app, _ = holder_with_photo_change(ready, "魏再申", mobile=MOBILE)
    _propose(reviewer, app.id)
    _act(supervisor, _sanction(ready).id, "confirm")
    assert _sanction(ready).state == "active"
    with _client(ready) as driver:
        sign_in_holder(driver, ready, MOBILE)
        home = driver.get("/app").text
        assert "电子驾驶证已停止使用" in home
        assert "/app/apply/photo" not in home, "no way to apply is offered"
        token = csrf_of(driver, "/app")
        r = driver.post("/app/apply/stored", data={"csrf": token, "idempotency_key": "k1"})
        assert r.status_code == 400 and "车管所" in r.text, (r.status_code, r.headers.get("location"))
