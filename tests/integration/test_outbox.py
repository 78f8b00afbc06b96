"""The notice outbox and its worker, on SQLite and PostgreSQL, with real outside parts: SMS through a local HTTP
gateway that checks the webhook signature (as tests/security/test_sms_gateway.py), Web Push through the local push
service of tests/integration/test_push.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from edl.accounts.sms import WEBHOOK_KEY_NAME
from edl.applications.errors import ApplicationRefused
from edl.bootstrap import Container
from edl.db.models import LicenceRow, OutboxRow
from edl.domain import VehicleClass
from edl.notifications.outbox import enqueue_sms
from edl.notifications.worker import OutboxWorker, backoff
from edl.registry import events
from edl.registry.portraits import render_portrait
from tests.auth_helpers import Clock
from tests.integration.test_push import (
    Browser,
    PushService,
    add_subscription,
    make_account,
    push_service,  # noqa: F401 - the fixture
    pushed_at,
)
from tests.security.test_sms_gateway import NOW, Gateway, _serve
from tests.workflow import REGISTERED_MOBILE, capture, prepare, seed_account, seed_licence

pytestmark = pytest.mark.integration


@pytest.fixture
def clock(container: Container) -> Clock:
    prepare(container, NOW)
    c = Clock(NOW)
    container.clock = c
    return c


@pytest.fixture
def gateway(container: Container, clock: Clock) -> Iterator[Gateway]:
    key = container.secret(WEBHOOK_KEY_NAME)
    with _serve(Gateway(key)) as gw:
        container.settings = container.settings.model_copy(update={"sms_url": gw.url, "sms_timeout_seconds": 0.5})
        yield gw


def _outbox(container: Container) -> list[OutboxRow]:
    with container.sessions() as s:
        return list(s.scalars(sa.select(OutboxRow).order_by(OutboxRow.id)))


def _bound_with_face_check(container: Container) -> tuple[str, str]:
    number = seed_licence(container, NOW)
    account = seed_account(container, NOW, mobile=REGISTERED_MOBILE)
    container.face_checks.bind_licence(account, number, "张三", capture(container, account, "bind", at=NOW), at=NOW)
    return number, account


def test_binding_texts_the_registered_mobile_through_the_gateway(container: Container, gateway: Gateway) -> None:
    number, _account = _bound_with_face_check(container)
    assert gateway.received == [], "nothing leaves in the binding's request"
    report = container.outbox_worker().run_once()
    assert report.delivered >= 1 and report.failed == 0
    (sms,) = gateway.received
    assert sms["to"] == f"+86{REGISTERED_MOBILE}" and number[-4:] in sms["text"] and "绑定" in sms["text"]
    assert all(row.delivered_at is not None for row in _outbox(container))
    assert container.outbox_worker().run_once().delivered == 0, "a delivered notice is not sent again"
    assert len(gateway.received) == 1


def test_issuance_texts_the_registered_mobile(container: Container, gateway: Gateway) -> None:
    _number, account = _bound_with_face_check(container)
    assert container.face_checks.authenticate(account, capture(container, account, at=NOW), at=NOW).passed
    container.applications.apply_with_stored_photo(account, idempotency_key="k1", at=NOW)
    container.outbox_worker().run_once()
    texts = [m["text"] for m in gateway.received]
    assert any("电子驾驶证已签发" in t for t in texts), texts
    assert all(m["to"] == f"+86{REGISTERED_MOBILE}" for m in gateway.received)


def test_a_gateway_error_is_retried_with_backoff_until_delivered(
    container: Container, gateway: Gateway, clock: Clock
) -> None:
    with container.sessions.begin() as s:
        enqueue_sms(s, REGISTERED_MOBILE, "测试通知 / test notice", at=NOW)
    gateway.status = 503
    worker = container.outbox_worker()
    assert worker.run_once().failed == 1
    (row,) = _outbox(container)
    assert row.delivered_at is None and row.attempts == 1 and "503" in (row.last_error or "")
    assert row.next_attempt_at == NOW + backoff(1)
    assert worker.run_once().failed == 0, "not due again before its backoff"
    clock.at = NOW + backoff(1)
    assert worker.run_once().failed == 1
    gateway.status = 200
    clock.at = NOW + backoff(1) + backoff(2)
    assert worker.run_once().delivered == 1
    (row,) = _outbox(container)
    assert row.delivered_at is not None and row.attempts == 3 and row.last_error is None
    assert backoff(1) == timedelta(seconds=30) and backoff(50) == timedelta(hours=1)


def test_a_rolled_back_change_sends_nothing(container: Container, gateway: Gateway) -> None:
    with pytest.raises(RuntimeError), container.sessions.begin() as s:
        enqueue_sms(s, REGISTERED_MOBILE, "不应发送 / must not be sent", at=NOW)
        s.flush()
        raise RuntimeError("the event fails after its notice was written")
    # and a refused binding (another number signed in) rolls back: no notice either
    number = seed_licence(container, NOW)
    stranger = seed_account(container, NOW, mobile="13900000077")
    with pytest.raises(ApplicationRefused):
        container.face_checks.bind_licence(
            stranger, number, "张三", capture(container, stranger, "bind", at=NOW), at=NOW
        )
    assert _outbox(container) == []
    assert container.outbox_worker().run_once().delivered == 0
    assert gateway.received == []


def test_a_claimed_notice_is_not_claimed_again_by_another_worker(container: Container, clock: Clock) -> None:
    with container.sessions.begin() as s:
        for i in range(3):
            enqueue_sms(s, REGISTERED_MOBILE, f"n{i}", at=NOW)
    first = OutboxWorker(container.sessions, sms=container.sms, push=container.notifier, clock=clock, batch=2)
    second = OutboxWorker(container.sessions, sms=container.sms, push=container.notifier, clock=clock)
    a = first.claim(NOW)
    b = second.claim(NOW)
    assert len(a) == 2 and len(b) == 1 and not {n.id for n in a} & {n.id for n in b}
    assert second.claim(NOW) == [], "claimed rows wait for their lease to end"
    assert len(second.claim(NOW + timedelta(minutes=6))) == 3, "a crashed worker's rows come back after the lease"


def test_an_inbox_message_is_pushed_by_the_worker(
    container: Container,
    clock: Clock,
    push_service: PushService,  # noqa: F811
) -> None:
    account = make_account(container)
    add_subscription(container, account, push_service.endpoint("a"), Browser())
    _number, bound = _bound_with_face_check(container)
    assert container.face_checks.authenticate(bound, capture(container, bound, at=NOW), at=NOW).passed
    container.applications.apply_with_stored_photo(bound, idempotency_key="k1", at=NOW)
    add_subscription(container, bound, push_service.endpoint("b"), Browser())
    assert push_service.received == []
    container.outbox_worker().run_once()
    assert [r.path for r in push_service.received] == ["/push/b"]
    (push,) = [r for r in _outbox(container) if r.kind == "push"]
    assert push.delivered_at is not None and pushed_at(container, int(push.payload["notification_id"]))


def test_a_void_by_a_registry_event_reaches_the_browser(
    container: Container,
    clock: Clock,
    push_service: PushService,  # noqa: F811
) -> None:
    """Voids made by `edl licence …` (events) only reached the inbox before; now their push is in the outbox."""
    number, account = _bound_with_face_check(container)
    assert container.face_checks.authenticate(account, capture(container, account, at=NOW), at=NOW).passed
    container.applications.apply_with_stored_photo(account, idempotency_key="k1", at=NOW)
    container.outbox_worker().run_once()
    add_subscription(container, account, push_service.endpoint("v"), Browser())
    with container.sessions.begin() as s:
        events.change_classes(s, number, (VehicleClass.C1, VehicleClass.E), at=NOW, actor="cli")
    container.outbox_worker().run_once()
    assert [r.path for r in push_service.received] == ["/push/v"]


def test_a_void_by_an_import_reaches_the_browser_and_a_mobile_column_is_kept(
    container: Container,
    clock: Clock,
    tmp_path: Path,
    push_service: PushService,  # noqa: F811
) -> None:
    """The importer voids in SQL; its inbox rows now come with their Web Push in the outbox, in the same batch."""
    from edl.issuance.elicences import issue_elicence
    from edl.registry.importer import import_file
    from tests.unit.registry.factories import row, write_csv

    photo = container.photos.put(render_portrait(7, "x"))
    first = row(0, photo_sha256=photo, mobile="+86 138-0013-8000")
    import_file(
        container.engine, write_csv(tmp_path / "a.csv", [first]), tmp_path / "r.csv", "test", clock=container.clock
    )
    number = first["number"]
    with container.sessions() as s:
        assert s.get(LicenceRow, number).mobile == REGISTERED_MOBILE  # type: ignore[union-attr]
    account = seed_account(container, NOW, number=number)
    issue_elicence(container.sessions, container.issuer, number, actor="test", at=NOW)
    add_subscription(container, account, push_service.endpoint("imp"), Browser())
    container.outbox_worker().run_once()  # the issuance SMS (LogSmsSender here)
    renewed = row(0, valid_from="2026-06-01", valid_until="2036-06-01", photo_sha256=photo, mobile=REGISTERED_MOBILE)
    import_file(
        container.engine, write_csv(tmp_path / "b.csv", [renewed]), tmp_path / "r.csv", "test", clock=container.clock
    )
    pushes = [r for r in _outbox(container) if r.kind == "push"]
    assert len(pushes) == 1 and pushes[0].recipient == account and pushes[0].delivered_at is None
    container.outbox_worker().run_once()
    assert [r.path for r in push_service.received] == ["/push/imp"]


def test_edl_worker_once_delivers_what_is_due_through_the_gateway(container: Container, gateway: Gateway) -> None:
    import typer
    from typer.testing import CliRunner

    from edl.cli.worker import worker

    with container.sessions.begin() as s:
        enqueue_sms(s, REGISTERED_MOBILE, "来自 edl worker / from edl worker", at=NOW)
    env = {
        "EDL_DATA_DIR": str(container.settings.data_dir),
        "EDL_DATABASE_URL": container.settings.resolved_database_url,
        "EDL_SMS_URL": gateway.url,
    }
    cli = typer.Typer()
    cli.command()(worker)
    result = CliRunner().invoke(cli, ["--once"], env=env)
    assert result.exit_code == 0, result.output
    assert "notices delivered: 1" in result.stdout
    assert [m["text"] for m in gateway.received] == ["来自 edl worker / from edl worker"]
