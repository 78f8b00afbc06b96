"""The published status list on a real database (SQLite and PostgreSQL): indices, changes, rebuilds, the route."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from edl.bootstrap import Container
from edl.credentials.statuslist import StatusListResult, verify_status_list_token
from edl.db.models import ElicenceRow, StatusListRow
from edl.db.session import transaction
from edl.domain import Status
from edl.domain.classes import parse_classes
from edl.domain.credential_status import CredentialStatus
from edl.issuance import status as status_publication
from edl.issuance.elicences import issue_elicence
from edl.issuance.status import mark_changed, status_list_uri
from edl.registry import events
from edl.registry.importer import import_file
from edl.registry.portraits import render_portrait
from tests.unit.registry.factories import row, write_csv
from tests.workflow import prepare, seed_licence

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


@pytest.fixture
def issuing(container: Container) -> Container:
    prepare(container, NOW)
    return container


def _list(container: Container, at: datetime = NOW) -> StatusListResult:
    token = container.status_list.current_token(at=at)
    result = verify_status_list_token(
        token,
        [container.authority.root_certificate()],
        at=at,
        expected_uri=status_list_uri(container.settings),
    )
    assert result.valid, result.errors
    return result


def _index(container: Container, elicence_id: str) -> int:
    with container.sessions() as s:
        index = s.scalar(sa.select(ElicenceRow.status_index).where(ElicenceRow.id == elicence_id))
    assert index is not None
    return index


def _row(container: Container) -> StatusListRow:
    with container.sessions() as s:
        found = s.get(StatusListRow, 1)
    assert found is not None
    return found


def test_every_issuance_takes_a_fresh_index_and_the_replaced_one_is_revoked(issuing: Container) -> None:
    number = seed_licence(issuing, NOW)
    first = issue_elicence(issuing.sessions, issuing.issuer, number, actor="test", at=NOW)
    second = issue_elicence(issuing.sessions, issuing.issuer, number, actor="test", at=NOW + timedelta(minutes=1))
    old, new = _index(issuing, first.elicence_id), _index(issuing, second.elicence_id)
    assert old != new and new > old
    listed = _list(issuing, NOW + timedelta(minutes=2))
    assert listed.status_at(old) is CredentialStatus.REVOKED
    assert listed.status_at(new) is CredentialStatus.VALID


def test_a_suspension_in_the_registry_shows_in_the_list_and_its_clearing_too(issuing: Container) -> None:
    number = seed_licence(issuing, NOW)
    index = _index(issuing, issue_elicence(issuing.sessions, issuing.issuer, number, actor="test", at=NOW).elicence_id)
    assert _list(issuing).status_at(index) is CredentialStatus.VALID
    with transaction(issuing.sessions) as s:
        events.set_status(s, number, Status.SUSPENDED, actor="test", at=NOW)  # same instant: still a change
    assert _list(issuing).status_at(index) is CredentialStatus.SUSPENDED
    with transaction(issuing.sessions) as s:
        events.clear_status(s, number, Status.SUSPENDED, actor="test", at=NOW + timedelta(minutes=1))
    assert _list(issuing, NOW + timedelta(minutes=1)).status_at(index) is CredentialStatus.VALID


def test_a_revoking_status_and_a_voiding_event_give_revoked(issuing: Container) -> None:
    revoked_no = seed_licence(issuing, NOW, sequence=201)
    voided_no = seed_licence(issuing, NOW, sequence=203)
    revoked = _index(
        issuing, issue_elicence(issuing.sessions, issuing.issuer, revoked_no, actor="test", at=NOW).elicence_id
    )
    voided = _index(
        issuing, issue_elicence(issuing.sessions, issuing.issuer, voided_no, actor="test", at=NOW).elicence_id
    )
    with transaction(issuing.sessions) as s:
        events.set_status(s, revoked_no, Status.REVOKED, actor="test", at=NOW)
        events.change_classes(s, voided_no, parse_classes("C1 D"), actor="test", at=NOW)
    listed = _list(issuing)
    assert listed.status_at(revoked) is CredentialStatus.REVOKED
    assert listed.status_at(voided) is CredentialStatus.REVOKED


def test_a_reimport_with_status_zankou_suspends_the_elicence(issuing: Container, tmp_path: Path) -> None:
    record = row(7)
    photo = issuing.photos.put(render_portrait(7, record["number"]))
    record |= {"photo_sha256": photo, "photo_compliant": "true"}
    import_file(
        issuing.engine, write_csv(tmp_path / "first.csv", [record]), tmp_path / "r1.csv", "test", clock=issuing.clock
    )
    index = _index(
        issuing, issue_elicence(issuing.sessions, issuing.issuer, record["number"], actor="test", at=NOW).elicence_id
    )
    assert _list(issuing).status_at(index) is CredentialStatus.VALID
    changed_before = _row(issuing).changed_at
    import_file(
        issuing.engine,
        write_csv(tmp_path / "again.csv", [record | {"statuses": "D"}]),
        tmp_path / "r2.csv",
        "test",
        clock=issuing.clock,
    )
    assert _row(issuing).changed_at != changed_before
    assert _list(issuing).status_at(index) is CredentialStatus.SUSPENDED


def test_an_unchanged_reimport_does_not_mark_a_change(issuing: Container, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [row(3)])
    import_file(issuing.engine, path, tmp_path / "r1.csv", "test", clock=issuing.clock)
    issuing.status_list.current_token(at=NOW)
    before = _row(issuing)
    import_file(issuing.engine, path, tmp_path / "r2.csv", "test", clock=issuing.clock)
    after = _row(issuing)
    assert after.changed_at == before.changed_at
    assert issuing.status_list.current_token(at=NOW) == before.token


def test_the_token_is_stored_and_served_until_something_changes(issuing: Container) -> None:
    number = seed_licence(issuing, NOW)
    issue_elicence(issuing.sessions, issuing.issuer, number, actor="test", at=NOW)
    first = issuing.status_list.current_token(at=NOW)
    assert issuing.status_list.current_token(at=NOW + timedelta(seconds=10)) == first  # stored, not re-signed
    stored = _row(issuing)
    assert stored.token == first and stored.built_at is not None and stored.expires_at is not None
    with transaction(issuing.sessions) as s:
        mark_changed(s, at=NOW)
    assert issuing.status_list.current_token(at=NOW + timedelta(seconds=10)) != first


def test_a_token_older_than_its_ttl_is_rebuilt(issuing: Container) -> None:
    first = issuing.status_list.current_token(at=NOW)
    ttl = issuing.settings.status_list_ttl_seconds
    assert issuing.status_list.current_token(at=NOW + timedelta(seconds=ttl - 1)) == first
    later = NOW + timedelta(seconds=ttl)
    rebuilt = issuing.status_list.current_token(at=later)
    assert rebuilt != first
    assert _list(issuing, later).iat == later


def test_the_row_is_created_when_missing(issuing: Container) -> None:
    with transaction(issuing.sessions) as s:
        s.execute(sa.delete(StatusListRow))
    listed = _list(issuing)
    assert listed.size >= 1 and listed.exp == NOW + timedelta(hours=issuing.settings.status_list_validity_hours)
    with transaction(issuing.sessions) as s:
        s.execute(sa.delete(StatusListRow))
        mark_changed(s, at=NOW)
    assert _row(issuing).changed_at is not None


def test_the_list_covers_the_highest_index(issuing: Container) -> None:
    numbers = [seed_licence(issuing, NOW, sequence=301 + 2 * i) for i in range(5)]
    indices = [
        _index(issuing, issue_elicence(issuing.sessions, issuing.issuer, n, actor="test", at=NOW).elicence_id)
        for n in numbers
    ]
    listed = _list(issuing)
    assert listed.size > max(indices)
    assert all(listed.status_at(i) is CredentialStatus.VALID for i in indices)


def test_a_change_during_a_build_is_not_lost(issuing: Container, monkeypatch: pytest.MonkeyPatch) -> None:
    number = seed_licence(issuing, NOW)
    index = _index(issuing, issue_elicence(issuing.sessions, issuing.issuer, number, actor="test", at=NOW).elicence_id)
    later = NOW + timedelta(minutes=10)
    real = status_publication.build_list
    calls = {"n": 0}

    def build_then_change(session: object, *, today: object, at: object) -> bytearray:
        lst = real(session, today=today, at=at)  # type: ignore[arg-type]
        calls["n"] += 1
        if calls["n"] == 1:  # the registry changes after the build read it, before it is stored, and by a
            with transaction(issuing.sessions) as s:  # writer whose clock is behind the builder's
                events.set_status(s, number, Status.SUSPENDED, actor="test", at=NOW + timedelta(minutes=1))
        return lst

    monkeypatch.setattr(status_publication, "build_list", build_then_change)
    root = [issuing.authority.root_certificate()]
    stale = verify_status_list_token(issuing.status_list.current_token(at=later), root, at=later)
    assert stale.status_at(index) is CredentialStatus.VALID  # (built before the change)
    assert _list(issuing, later).status_at(index) is CredentialStatus.SUSPENDED
    assert calls["n"] == 2


def test_the_route_serves_the_token_with_its_type_and_cache_lifetime(issuing: Container) -> None:
    from edl.web.app import create_app

    number = seed_licence(issuing, NOW)
    index = _index(issuing, issue_elicence(issuing.sessions, issuing.issuer, number, actor="test", at=NOW).elicence_id)
    with TestClient(create_app(issuing)) as client:
        response = client.get("/status-lists/1")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/statuslist+cwt"
    assert response.headers["cache-control"] == f"public, max-age={issuing.settings.status_list_ttl_seconds}"
    result = verify_status_list_token(
        response.content,
        [issuing.authority.root_certificate()],
        at=NOW,
        expected_uri=status_list_uri(issuing.settings),
    )
    assert result.valid and result.status_at(index) is CredentialStatus.VALID


def test_the_route_says_why_when_there_is_no_authority(container: Container) -> None:
    from edl.web.app import create_app

    container.clock = lambda: NOW
    with TestClient(create_app(container)) as client:
        response = client.get("/status-lists/1")
    assert response.status_code == 503
    assert "暂不可用" in response.text and "not available" in response.text
