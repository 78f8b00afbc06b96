"""Regressions found reviewing the restructuring (COSE reader, caches, voiding in the bulk import).

Each test states what an attacker (or an unlucky batch) gets when the regression is present.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from edl.bootstrap import Container
from edl.credentials.statuslist import verify_status_list_token
from edl.db.models import ElicenceRow, StatusListRow
from edl.domain.credential_status import CredentialStatus
from edl.issuance.elicences import issue_elicence
from edl.issuance.status import status_list_uri
from edl.registry.importer import import_file
from edl.registry.portraits import render_portrait
from tests.unit.registry.factories import row, write_csv
from tests.workflow import prepare

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def _status_of(container: Container, index: int) -> CredentialStatus:
    token = container.status_list.current_token(at=NOW)
    result = verify_status_list_token(
        token, [container.authority.root_certificate()], at=NOW, expected_uri=status_list_uri(container.settings)
    )
    assert result.valid, result.errors
    return result.status_at(index)


def _changed_at(container: Container) -> datetime | None:
    with container.sessions() as s:
        found = s.get(StatusListRow, 1)
    return None if found is None else found.changed_at


@pytest.mark.integration
def test_import_batch_with_a_status_change_and_a_void_of_nothing_still_marks_the_status_list(
    container: Container, tmp_path: Path
) -> None:
    """registry/batches.py `_record`: ``if voids: void_elicences(...) elif status_changed: mark_changed(...)``.

    `void_elicences` returns early (no mark) when none of the voided licences has a live e-licence, so a batch
    that suspends licence A (live e-licence) and also changes the classes of licence B (no e-licence) never bumps
    ``status_lists.changed_at``: the published list keeps saying A is valid until its ttl runs out. The old
    importer marked the list for ``status_changed or voids``.
    """
    prepare(container, NOW)
    suspended, other = row(7), row(8)
    photo = container.photos.put(render_portrait(7, suspended["number"]))
    suspended |= {"photo_sha256": photo, "photo_compliant": "true"}
    import_file(
        container.engine,
        write_csv(tmp_path / "first.csv", [suspended, other]),
        tmp_path / "r1.csv",
        "test",
        clock=container.clock,
    )
    issued = issue_elicence(container.sessions, container.issuer, suspended["number"], actor="test", at=NOW)
    with container.sessions() as s:
        index = s.scalar(sa.select(ElicenceRow.status_index).where(ElicenceRow.id == issued.elicence_id))
    assert index is not None
    assert _status_of(container, index) is CredentialStatus.VALID  # the list is built and stored now
    before = _changed_at(container)

    # One batch: A is suspended (暂扣, status "D"); B (no e-licence) gets a new class, a voiding change.
    import_file(
        container.engine,
        write_csv(tmp_path / "again.csv", [suspended | {"statuses": "D"}, other | {"classes": "C1E"}]),
        tmp_path / "r2.csv",
        "test",
        clock=container.clock,
    )
    assert _changed_at(container) != before, "the suspension was imported but the status list was not marked"
    assert _status_of(container, index) is CredentialStatus.SUSPENDED


def _counts(container: Container, number: str) -> tuple[int, int, int, int, datetime | None]:
    from edl.db.models import AuditRow, NotificationRow, OutboxRow

    with container.sessions() as s:
        live = s.scalar(
            sa.select(sa.func.count())
            .select_from(ElicenceRow)
            .where(ElicenceRow.licence_number == number, ElicenceRow.voided_at.is_(None))
        )
        audits = s.scalar(sa.select(sa.func.count()).select_from(AuditRow).where(AuditRow.action == "void"))
        notes = s.scalar(sa.select(sa.func.count()).select_from(NotificationRow))
        pushes = s.scalar(sa.select(sa.func.count()).select_from(OutboxRow).where(OutboxRow.kind == "push"))
    return int(live or 0), int(audits or 0), int(notes or 0), int(pushes or 0), _changed_at(container)


@pytest.mark.integration
def test_a_failing_import_batch_rolls_back_its_voids_audits_notices_and_mark(
    container: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """batches.py: `void_elicences` runs on the SQLAlchemy Connection (`self._sa`) while the upsert ran on its
    driver connection; a failure after the void must roll all of it back (no voided e-licence without its audit
    row, no 'apply again' notice for a change that did not happen), and a success must commit all of it."""
    from edl.registry import batches
    from tests.workflow import seed_account

    prepare(container, NOW)
    record = row(7)
    photo = container.photos.put(render_portrait(7, record["number"]))
    record |= {"photo_sha256": photo, "photo_compliant": "true"}
    import_file(
        container.engine, write_csv(tmp_path / "a.csv", [record]), tmp_path / "r1.csv", "test", clock=container.clock
    )
    issue_elicence(container.sessions, container.issuer, record["number"], actor="test", at=NOW)
    seed_account(container, NOW, number=record["number"])
    before = _counts(container, record["number"])
    assert before[0] == 1

    real = batches.void_elicences

    def void_then_fail(*args: object, **kwargs: object) -> int:
        real(*args, **kwargs)  # type: ignore[arg-type]
        raise RuntimeError("disk full")

    monkeypatch.setattr(batches, "void_elicences", void_then_fail)
    changed = write_csv(tmp_path / "b.csv", [record | {"classes": "C1E"}])
    with pytest.raises(Exception, match="disk full"):
        import_file(container.engine, changed, tmp_path / "r2.csv", "test", clock=container.clock)
    assert _counts(container, record["number"]) == before

    monkeypatch.setattr(batches, "void_elicences", real)
    import_file(container.engine, changed, tmp_path / "r3.csv", "test", clock=container.clock)
    live, audits, notes, pushes, changed_at = _counts(container, record["number"])
    assert (live, audits, notes, pushes) == (0, before[1] + 1, before[2] + 1, before[3] + 1)
    assert changed_at != before[4]
