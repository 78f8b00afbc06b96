"""Issue 11's takeover, replayed: sign in with any mobile number, POST /app/bind with the victim's licence number,
name and registry photo. Before the fix this answered 303 (bound); binding now needs the licence's registered
mobile (登记手机号), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from edl.bootstrap import Container
from edl.db.models import AccountRow, AuditRow, ElicenceRow, FaceCheckRow, LicenceRow, OutboxRow
from edl.web import create_app
from tests.auth_helpers import csrf_of, post_burst, sign_in_holder
from tests.workflow import REGISTERED_MOBILE, prepare, seed_licence

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 16, 2, 0, tzinfo=UTC)
ATTACKER = "13900000099"


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    prepare(container, NOW)
    with TestClient(create_app(container), follow_redirects=False) as c:
        yield c


def _registry_photo(container: Container, number: str) -> bytes:
    with container.sessions() as s:
        ref = s.get(LicenceRow, number).photo_ref  # type: ignore[union-attr]
    assert ref
    return container.photos.get(ref)


def _bind(client: TestClient, number: str, name: str, photo: bytes):  # type: ignore[no-untyped-def]
    """The attack as a burst: the registry photo as every frame of a liveness answer."""
    return post_burst(client, "/app/bind", {"number": number, "name": name}, "bind", every=photo)


def _refusals(container: Container) -> list[dict[str, object]]:
    with container.sessions() as s:
        rows = s.scalars(sa.select(AuditRow).where(AuditRow.action == "bind", AuditRow.outcome == "refused"))
        return [r.detail for r in rows]


def test_takeover_with_number_name_and_photo_fails_at_binding(client: TestClient, container: Container) -> None:
    victim = seed_licence(container, NOW, name="张三")  # registered mobile 13800138000
    attacker = sign_in_holder(client, container, mobile=ATTACKER)
    r = _bind(client, victim, "张三", _registry_photo(container, victim))
    assert r.status_code == 400, "the takeover must not bind (it answered 303 before)"
    assert "138****8000" in r.text and "办理窗口" in r.text
    assert "13800138000" not in r.text, "the registered number is shown masked only"
    with container.sessions() as s:
        assert s.get(AccountRow, attacker).licence_number is None  # type: ignore[union-attr]
        assert s.scalar(sa.select(sa.func.count()).select_from(FaceCheckRow)) == 0, "refused before the face check"
        assert s.scalar(sa.select(sa.func.count()).select_from(OutboxRow).where(OutboxRow.kind == "sms")) == 0
    assert {"code": "mobile_mismatch"} in _refusals(container)
    # the rest of the chain has nothing to work with
    client.post("/app/apply/stored", data={"csrf": csrf_of(client), "idempotency_key": "k1"})
    assert client.get("/app/licence/code").status_code != 200
    with container.sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(ElicenceRow)) == 0


def test_binding_in_english_says_to_update_the_number_at_a_counter(client: TestClient, container: Container) -> None:
    victim = seed_licence(container, NOW)
    sign_in_holder(client, container, mobile=ATTACKER)
    r = post_burst(client, "/app/bind", {"number": victim, "name": "张三"}, "bind", headers={"Accept-Language": "en"})
    assert r.status_code == 400 and "registered mobile (138****8000)" in r.text and "counter" in r.text


def test_licence_without_a_registered_mobile_cannot_be_bound_online(client: TestClient, container: Container) -> None:
    number = seed_licence(container, NOW, mobile=None)
    account = sign_in_holder(client, container)
    r = _bind(client, number, "张三", _registry_photo(container, number))
    assert r.status_code == 400 and "没有此驾驶证的登记手机号" in r.text
    with container.sessions() as s:
        assert s.get(AccountRow, account).licence_number is None  # type: ignore[union-attr]
    assert {"code": "no_registered_mobile"} in _refusals(container)


def test_the_holder_signed_in_with_the_registered_mobile_binds_and_is_texted(
    client: TestClient, container: Container
) -> None:
    number = seed_licence(container, NOW)
    account = sign_in_holder(client, container, mobile=REGISTERED_MOBILE)
    r = _bind(client, number, "张三", _registry_photo(container, number))
    assert r.status_code == 303, r.text
    with container.sessions() as s:
        assert s.get(AccountRow, account).licence_number == number  # type: ignore[union-attr]
        (sms,) = s.scalars(sa.select(OutboxRow).where(OutboxRow.kind == "sms"))
    assert sms.recipient == REGISTERED_MOBILE and number[-4:] in str(sms.payload["text"])
    assert sms.delivered_at is None, "delivered by the worker after commit, not in the request"
