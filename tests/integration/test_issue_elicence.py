from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from edl.bootstrap import Container
from edl.credentials import verify_mdoc
from edl.credentials.licence_mdl import CN_NS, MDL_NS
from edl.db.models import ElicenceRow, LicenceRow
from edl.db.session import transaction
from edl.domain import Status
from edl.issuance.elicences import IssuanceRefused, issue_elicence
from edl.registry.portraits import render_portrait
from tests.factories import licence

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


@pytest.fixture
def issuing(container: Container) -> Container:
    container.clock = lambda: NOW
    container.authority.init(at=NOW - timedelta(days=1))
    return container


def _insert(container: Container, *, photo: bool = True, **kw: object) -> str:
    lic = licence(**kw)  # type: ignore[arg-type]
    ref = container.photos.put(render_portrait(7, str(lic.number))) if photo else None
    lic = lic.replace(photo_ref=ref, photo_compliant=photo)
    from edl.registry.mapping import row_values

    with transaction(container.sessions) as s:
        s.add(LicenceRow(**row_values(lic, at=NOW), version=1))
    return str(lic.number)


def _elicences(container: Container) -> list[ElicenceRow]:
    with container.sessions() as s:
        return list(s.execute(sa.select(ElicenceRow).order_by(ElicenceRow.issued_at)).scalars())


def test_issued_elicence_verifies_under_the_authority_root(issuing: Container) -> None:
    n = _insert(issuing, name="欧阳娜娜")
    issued = issue_elicence(issuing.sessions, issuing.issuer, n, actor="test", at=issuing.clock())
    result = verify_mdoc(issued.device_response, [issuing.authority.root_certificate()], at=NOW + timedelta(hours=1))
    assert result.valid, result.errors
    mdl = result.claims[MDL_NS]
    assert mdl["document_number"] == n
    assert mdl["family_name"] == "OUYANG" and mdl["family_name_national_character"] == "欧阳"
    assert mdl["birth_date"] == date(1990, 5, 17)
    assert mdl["issuing_country"] == "CN" and mdl["un_distinguishing_sign"] == "CHN"
    assert mdl["portrait"][:2] == b"\xff\xd8"
    assert result.claims[CN_NS]["vehicle_classes"] == "C1"
    assert issued.device_private_key_pem is not None
    (row,) = _elicences(issuing)
    assert row.id == issued.elicence_id and row.voided_at is None and row.licence_version == 1


def test_mso_validity_is_short_and_enforced(issuing: Container) -> None:
    issued = issue_elicence(issuing.sessions, issuing.issuer, _insert(issuing), actor="test", at=issuing.clock())
    assert issued.valid_until - issued.valid_from == timedelta(hours=72)
    late = verify_mdoc(
        issued.issuer_signed, [issuing.authority.root_certificate()], at=issued.valid_until + timedelta(seconds=1)
    )
    assert not late.valid and "expired" in {e.code for e in late.errors}


@pytest.mark.parametrize("status", [Status.SUSPENDED, Status.REVOKED, Status.EXAM_OVERDUE, Status.REVIEW_OVERDUE])
def test_ineligible_licence_is_refused_with_reason_and_nothing_is_written(issuing: Container, status: Status) -> None:
    n = _insert(issuing, statuses=frozenset({status}))
    with pytest.raises(IssuanceRefused, match=status.info.name_zh):
        issue_elicence(issuing.sessions, issuing.issuer, n, actor="test", at=issuing.clock())
    assert _elicences(issuing) == []


def test_expired_licence_is_refused(issuing: Container) -> None:
    from edl.domain import ValidityTerm

    n = _insert(issuing, term=ValidityTerm.SIX_YEARS, valid_from=date(2019, 1, 1))
    with pytest.raises(IssuanceRefused, match="过期"):
        issue_elicence(issuing.sessions, issuing.issuer, n, actor="test", at=issuing.clock())


def test_licence_without_stored_photo_is_refused(issuing: Container) -> None:
    with pytest.raises(IssuanceRefused, match="照片"):
        issue_elicence(
            issuing.sessions, issuing.issuer, _insert(issuing, photo=False), actor="test", at=issuing.clock()
        )


def test_unknown_licence_is_refused(issuing: Container) -> None:
    with pytest.raises(IssuanceRefused, match="no licence"):
        issue_elicence(issuing.sessions, issuing.issuer, "11010519491231002X", actor="test", at=issuing.clock())


def test_reissue_voids_the_previous_elicence(issuing: Container) -> None:
    n = _insert(issuing)
    first = issue_elicence(issuing.sessions, issuing.issuer, n, actor="test", at=issuing.clock())
    second = issue_elicence(issuing.sessions, issuing.issuer, n, actor="test", at=issuing.clock())
    rows = {r.id: r for r in _elicences(issuing)}
    assert rows[first.elicence_id].void_reason == "reissued"
    assert rows[second.elicence_id].voided_at is None


def _live(container: Container) -> list[tuple[str, str | None]]:
    return [(e.licence_number, e.void_reason) for e in _elicences(container) if e.voided_at is None]


def test_a_class_change_voids_the_elicence_and_a_status_change_does_not(issuing: Container) -> None:
    from edl.domain import VehicleClass
    from edl.registry.events import change_classes, set_status

    n = _insert(issuing)
    issue_elicence(issuing.sessions, issuing.issuer, n, actor="test", at=issuing.clock())
    with transaction(issuing.sessions) as s:
        set_status(s, n, Status.SUSPENDED, actor="test", at=NOW)
    assert _live(issuing) == [(n, None)]  # shown at once on the pages, but the e-licence stays
    with transaction(issuing.sessions) as s:
        applied = change_classes(s, n, (VehicleClass.C1, VehicleClass.E), actor="test", at=NOW)
    assert applied.voided_elicences == 1
    assert _live(issuing) == []
    assert [e.void_reason for e in _elicences(issuing)] == ["classes_changed"]


def test_a_reimport_that_renews_the_licence_voids_its_elicence(issuing: Container, tmp_path: Path) -> None:
    from edl.registry.importer import import_file
    from tests.unit.registry.factories import row, write_csv

    import_file(
        issuing.engine, write_csv(tmp_path / "a.csv", [row(0), row(1)]), tmp_path / "r.csv", "test", clock=issuing.clock
    )
    with transaction(issuing.sessions) as s:
        for number in (row(0)["number"], row(1)["number"]):
            s.execute(sa.update(LicenceRow).where(LicenceRow.number == number).values(photo_ref=_photo(issuing)))
    for number in (row(0)["number"], row(1)["number"]):
        issue_elicence(issuing.sessions, issuing.issuer, number, actor="test", at=issuing.clock())
    renewed = row(0, valid_from="2026-06-01", valid_until="2036-06-01", photo_sha256=_photo(issuing))
    same = row(1, photo_sha256=_photo(issuing))
    import_file(
        issuing.engine, write_csv(tmp_path / "b.csv", [renewed, same]), tmp_path / "r.csv", "test", clock=issuing.clock
    )
    voided = {e.licence_number: e.void_reason for e in _elicences(issuing) if e.voided_at is not None}
    assert voided == {row(0)["number"]: "renewed"}


def _photo(container: Container) -> str:
    return container.photos.put(render_portrait(7, "x"))
