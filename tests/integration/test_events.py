from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from edl.bootstrap import Container
from edl.db.models import LicenceRow, RegistryEvent
from edl.db.session import transaction
from edl.domain import AUTHORITIES_BY_CODE, InvalidLicence, Status, ValidityTerm, VehicleClass
from edl.domain.events import EventKind
from edl.registry import events
from edl.registry.mapping import licence_from_row, row_values
from tests.factories import licence

pytestmark = pytest.mark.integration
AT = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def _insert(container: Container, **kw: object) -> str:
    lic = licence(**kw)  # type: ignore[arg-type]
    with transaction(container.sessions) as s:
        s.add(LicenceRow(**row_values(lic, at=AT), version=1))
    return str(lic.number)


def _load(container: Container, number: str) -> LicenceRow:
    with container.sessions() as s:
        return s.get_one(LicenceRow, number)


def test_status_set_and_cleared_are_logged_with_actor_and_version(container: Container) -> None:
    n = _insert(container)
    with transaction(container.sessions) as s:
        ev = events.set_status(s, n, Status.SUSPENDED, actor="officer:0042", at=AT)
    assert ev.kind is EventKind.STATUS_SET and ev.version == 2
    assert _load(container, n).statuses == "D"
    with transaction(container.sessions) as s:
        events.clear_status(s, n, Status.SUSPENDED, actor="officer:0042", at=AT)
    row = _load(container, n)
    assert row.statuses == "A" and row.version == 3
    with container.sessions() as s:
        log = events.events_for(s, n)
    assert [e.kind for e in log] == ["status_cleared", "status_set"]
    assert log[1].actor == "officer:0042" and log[1].payload == {"status": "D"} and log[1].licence_version == 2


def test_points_reaching_twelve_add_points_limit_status(container: Container) -> None:
    n = _insert(container)
    with transaction(container.sessions) as s:
        events.add_points(s, n, 6, date(2026, 1, 5), "超速50%以上", actor="system", at=AT)
        events.add_points(s, n, 6, date(2026, 2, 5), "闯红灯", actor="system", at=AT)
    with container.sessions() as s:
        row = s.get_one(LicenceRow, n)
        lic = licence_from_row(row, row_records(s, n))
    assert lic.points is not None and lic.points.total == 12
    assert Status.POINTS_LIMIT in lic.statuses
    assert [e.points for e in lic.record if e.points] == [6, 6]


def row_records(s: sa.orm.Session, n: str) -> list:  # type: ignore[type-arg]
    from edl.db.models import RecordRow

    return list(s.execute(sa.select(RecordRow).where(RecordRow.licence_number == n)).scalars())


def test_class_change_renewal_and_authority_change_are_voiding_events(container: Container) -> None:
    n = _insert(container)
    with transaction(container.sessions) as s:
        a = events.change_classes(s, n, (VehicleClass.B2,), actor="clerk", at=AT)
        b = events.renew(s, n, ValidityTerm.LONG_TERM, date(2026, 11, 1), actor="clerk", at=AT)
        c = events.change_authority(s, n, AUTHORITIES_BY_CODE["510100"], actor="clerk", at=AT)
        d = events.change_address(s, n, "成都市武侯区人民南路1号", actor="clerk", at=AT)
    assert [x.kind.voids_elicence for x in (a, b, c, d)] == [True, True, True, False]
    row = _load(container, n)
    assert (row.classes, row.validity_term, row.valid_until, row.authority_code) == ("B2", "long", None, "510100")
    assert row.version == 5


def test_invalid_change_changes_nothing(container: Container) -> None:
    n = _insert(container)
    with pytest.raises(InvalidLicence), transaction(container.sessions) as s:
        events.add_points(s, n, 5, date(2026, 1, 5), "?", actor="system", at=AT)
    assert _load(container, n).version == 1
    with container.sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(RegistryEvent)) == 0


def test_unknown_licence_is_refused(container: Container) -> None:
    with pytest.raises(events.LicenceNotFound), transaction(container.sessions) as s:
        events.set_status(s, "11010519491231002X", Status.SUSPENDED, actor="x", at=AT)


def test_event_log_cannot_be_edited_or_deleted(container: Container) -> None:
    n = _insert(container)
    with transaction(container.sessions) as s:
        events.set_status(s, n, Status.SUSPENDED, actor="x", at=AT)
    for stmt in (sa.update(RegistryEvent).values(actor="forged"), sa.delete(RegistryEvent)):
        with pytest.raises(DBAPIError), container.engine.begin() as conn:
            conn.execute(stmt)
    with container.sessions() as s:
        assert s.scalar(sa.select(RegistryEvent.actor)) == "x"
