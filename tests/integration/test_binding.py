"""One account per licence: the holder unbinds, or a supervisor/admin releases the binding (scoped, audited), through
the real pages, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from edl.applications.errors import ApplicationRefused
from edl.bootstrap import Container
from edl.db.models import AccountRow, AuditRow, LicenceRow, OutboxRow
from edl.db.session import transaction
from edl.web import create_app
from tests.auth_helpers import csrf_of, sign_in_holder, sign_in_staff
from tests.workflow import REGISTERED_MOBILE, capture, prepare, seed_account, seed_licence

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 16, 2, 0, tzinfo=UTC)
NEW_MOBILE = "13700137000"


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    prepare(container, NOW)
    with TestClient(create_app(container), follow_redirects=False) as c:
        yield c


def _bound_to(container: Container, account: str) -> str | None:
    with container.sessions() as s:
        return s.get(AccountRow, account).licence_number  # type: ignore[union-attr]


def _audit(container: Container, action: str) -> list[tuple[str, str]]:
    with container.sessions() as s:
        return [(r.actor, r.outcome) for r in s.scalars(sa.select(AuditRow).where(AuditRow.action == action))]


def _texts(container: Container) -> list[str]:
    with container.sessions() as s:
        return [str(r.payload["text"]) for r in s.scalars(sa.select(OutboxRow).where(OutboxRow.kind == "sms"))]


def _new_registered_mobile(container: Container, number: str) -> None:
    """The holder updated the number at a counter (registry import)."""
    with transaction(container.sessions) as s:
        s.get(LicenceRow, number).mobile = NEW_MOBILE  # type: ignore[union-attr]


def test_the_holder_unbinds_and_the_licence_may_be_bound_again(client: TestClient, container: Container) -> None:
    number = seed_licence(container, NOW)
    old = seed_account(container, NOW, number=number, mobile="13900000001")
    _new_registered_mobile(container, number)
    with pytest.raises(ApplicationRefused) as refused:
        newcomer = seed_account(container, NOW, mobile=NEW_MOBILE)
        container.face_checks.bind_licence(newcomer, number, "张三", capture(container, newcomer, "bind"), at=NOW)
    assert refused.value.code == "bound_elsewhere", "bound to one account: no other may bind it"

    account = sign_in_holder(client, container, mobile="13900000001")
    assert account == old
    assert "解除绑定" in client.get("/app").text
    r = client.post("/app/unbind", data={"csrf": csrf_of(client)})
    assert r.status_code == 303
    assert _bound_to(container, old) is None
    assert _audit(container, "unbind") == [(f"holder:{old}", "ok")]
    assert any("已解除" in t for t in _texts(container))


def test_unbind_needs_the_csrf_token(client: TestClient, container: Container) -> None:
    number = seed_licence(container, NOW)
    sign_in_holder(client, container, mobile=REGISTERED_MOBILE)
    with container.sessions() as s:
        account = s.scalar(sa.select(AccountRow.id).where(AccountRow.mobile == REGISTERED_MOBILE))
    with transaction(container.sessions) as s:
        s.get(AccountRow, account).licence_number = number  # type: ignore[union-attr]
    assert client.post("/app/unbind", data={}).status_code == 403
    assert _bound_to(container, account) == number  # type: ignore[arg-type]


def test_a_supervisor_releases_a_binding_in_scope_audited_and_the_new_number_binds(
    client: TestClient, container: Container
) -> None:
    number = seed_licence(container, NOW)  # 天津 (120000)
    taker = seed_account(container, NOW, number=number, mobile="13900000002")
    _new_registered_mobile(container, number)
    sign_in_staff(client, container, "sup1", "supervisor", authorities=["120000"])
    page = client.get(f"/registry/{number}")
    assert "137****7000" in page.text and NEW_MOBILE not in page.text, "the registered mobile is shown masked"
    assert "139****0002" in page.text, "the bound account's number, masked"
    r = client.post(f"/registry/{number}/release", data={"csrf": csrf_of(client, f"/registry/{number}")})
    assert r.status_code == 303
    assert _bound_to(container, taker) is None
    assert _audit(container, "release_binding") == [("staff:sup1", "ok")]
    assert any("交警部门已解除" in t for t in _texts(container))
    newcomer = seed_account(container, NOW, mobile=NEW_MOBILE)
    assert container.face_checks.bind_licence(
        newcomer, number, "张三", capture(container, newcomer, "bind", at=NOW), at=NOW
    ).passed


def test_a_reviewer_may_not_release_and_a_supervisor_elsewhere_sees_no_licence(
    client: TestClient, container: Container
) -> None:
    number = seed_licence(container, NOW)
    account = seed_account(container, NOW, number=number, mobile="13900000003")
    sign_in_staff(client, container, "rev1", "reviewer", authorities=["120000"])
    assert "解除绑定" not in client.get(f"/registry/{number}").text
    r = client.post(f"/registry/{number}/release", data={"csrf": csrf_of(client, f"/registry/{number}")})
    assert r.status_code == 403
    client.cookies.clear()
    sign_in_staff(client, container, "sup37", "supervisor", authorities=["370000"])
    r = client.post(f"/registry/{number}/release", data={"csrf": csrf_of(client, "/registry")})
    assert r.status_code == 404
    assert _bound_to(container, account) == number
    assert _audit(container, "release_binding") == []
