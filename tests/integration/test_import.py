"""`import_file` on a real database (SQLite and PostgreSQL): counts, idempotence, versions, rejects, refusals."""

from __future__ import annotations

import csv
import gzip
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from edl.bootstrap import Container
from edl.db.models import ImportRun, LicenceRow, RegistryEvent
from edl.domain.events import EventKind
from edl.registry.formats import ImportRefused, RowParser
from edl.registry.importer import BatchWriter, ImportAborted, ImportReport, import_file
from edl.registry.mapping import licence_from_row, row_values
from tests.conftest import _truncate
from tests.unit.registry.factories import TODAY, row, rows, write_csv, write_jsonl

pytestmark = pytest.mark.integration


def run(container: Container, path: Path, **kwargs: object) -> ImportReport:
    return import_file(
        container.engine, path, path.with_suffix(".rejects.csv"), "test", **kwargs, clock=container.clock
    )  # type: ignore[arg-type]


def rejects(path: Path) -> list[tuple[int, str]]:
    with path.with_suffix(".rejects.csv").open(encoding="utf-8", newline="") as fh:
        return [(int(r["line"]), r["reason"]) for r in csv.DictReader(fh)]


def stored(container: Container) -> dict[str, LicenceRow]:
    with container.sessions() as s:
        return {r.number: r for r in s.scalars(sa.select(LicenceRow))}


def count(container: Container, model: type[LicenceRow] | type[ImportRun]) -> int:
    with container.sessions() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def test_import_stores_every_valid_row_as_the_domain_licence(container: Container, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", rows(25))
    report = run(container, path)
    assert (report.rows, report.inserted, report.updated, report.unchanged, report.rejected) == (25, 25, 0, 0, 0)
    licences = stored(container)
    assert len(licences) == 25
    first = licences[row(0)["number"]]
    assert licence_from_row(first) == RowParser(TODAY).licence(row(0))
    assert first.version == 1


def test_import_run_is_recorded(container: Container, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [*rows(3), row(3, number="bad")])
    report = run(container, path)
    with container.sessions() as s:
        recorded = s.get_one(ImportRun, report.run_id)
    assert (recorded.accepted, recorded.rejected, recorded.actor) == (3, 1, "test")
    assert recorded.sha256 == report.sha256 and len(recorded.sha256) == 64
    assert recorded.source == str(path.resolve()) and recorded.finished_at is not None


def test_reimporting_the_same_file_changes_nothing(container: Container, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", rows(30))
    run(container, path)
    before = {n: (r.version, r.updated_at) for n, r in stored(container).items()}
    again = run(container, path, batch_size=7)
    assert (again.inserted, again.updated, again.unchanged, again.rejected) == (0, 0, 30, 0)
    assert {n: (r.version, r.updated_at) for n, r in stored(container).items()} == before


def test_equivalent_spellings_count_as_unchanged(container: Container, tmp_path: Path) -> None:
    run(container, write_csv(tmp_path / "a.csv", [row(0, classes="C1E", sex="1", validity_term="10")]))
    again = run(container, write_csv(tmp_path / "b.csv", [row(0, classes="e c1", sex="男", validity_term="十年")]))
    assert again.unchanged == 1 and stored(container)[row(0)["number"]].version == 1


def test_a_changed_row_bumps_its_version_and_only_its_own(container: Container, tmp_path: Path) -> None:
    run(container, write_csv(tmp_path / "a.csv", rows(3)))
    changed = [row(0), row(1, statuses="D", address="成都市青羊区西大街2号"), row(2)]
    report = run(container, write_csv(tmp_path / "b.csv", changed))
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 2)
    licences = stored(container)
    assert [licences[row(i)["number"]].version for i in range(3)] == [1, 2, 1]
    assert licences[row(1)["number"]].statuses == "D"


def test_changed_row_gets_the_import_time(container: Container, tmp_path: Path) -> None:
    run(container, write_csv(tmp_path / "a.csv", rows(1)))
    later = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    container.clock = lambda: later
    run(container, write_csv(tmp_path / "b.csv", [row(0, points="6")]))
    updated = stored(container)[row(0)["number"]]
    assert updated.version == 2 and updated.updated_at.replace(tzinfo=UTC) == later


@pytest.mark.parametrize("batch_size", [1000, 2])
def test_duplicate_numbers_keep_the_first_and_reject_the_later(
    container: Container, tmp_path: Path, batch_size: int
) -> None:
    data = [row(0), row(1), row(0, name="李四"), row(2), row(1, file_number="510199999999")]
    path = write_csv(tmp_path / "a.csv", data)
    report = run(container, path, batch_size=batch_size)
    assert (report.inserted, report.rejected) == (3, 2)
    assert rejects(path) == [
        (4, "duplicate licence number, first at line 2 / 证号重复"),
        (6, "duplicate licence number, first at line 3 / 证号重复"),
    ]
    assert stored(container)[row(0)["number"]].name == "张伟"


def test_a_later_valid_row_is_not_a_duplicate_of_a_rejected_one(container: Container, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [row(0, birth_date="2023-02-30"), row(0)])
    report = run(container, path)
    assert (report.inserted, report.rejected) == (1, 1)


@pytest.mark.parametrize("batch_size", [1000, 1])
def test_file_number_of_another_licence_is_rejected(container: Container, tmp_path: Path, batch_size: int) -> None:
    run(container, write_csv(tmp_path / "a.csv", rows(2)))
    taken = row(5, file_number=row(1)["file_number"])
    path = write_csv(tmp_path / "b.csv", [row(4), taken, row(6), row(7, file_number=row(4)["file_number"])])
    report = run(container, path, batch_size=batch_size)
    assert (report.inserted, report.rejected) == (2, 2)
    assert rejects(path) == [
        (3, f"file_number already belongs to licence {row(1)['number']} / 档案编号已被其他证号占用"),
        (5, _same_file_reason(batch_size)),
    ]
    assert count(container, LicenceRow) == 4


def _same_file_reason(batch_size: int) -> str:
    if batch_size == 1:  # the first holder was committed in an earlier batch
        return f"file_number already belongs to licence {row(4)['number']} / 档案编号已被其他证号占用"
    return f"file_number already used by licence {row(4)['number']} at line 2 / 档案编号重复"


def test_bad_rows_are_rejected_with_line_and_reason_and_the_rest_imported(container: Container, tmp_path: Path) -> None:
    bad_check = row(1)["number"][:17] + ("0" if row(1)["number"][17] != "0" else "1")
    path = write_csv(tmp_path / "a.csv", [row(0), row(1, number=bad_check), row(2, first_issue="2023-02-30"), row(3)])
    report = run(container, path)
    assert (report.inserted, report.rejected) == (2, 2)
    found = rejects(path)
    assert [line for line, _ in found] == [3, 4]
    assert found[0][1].startswith("number:") and "校验位" in found[0][1]
    assert found[1][1] == "first_issue: 2023-02-30 is not a real calendar date / 日期不存在"


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_truncated_last_line_is_rejected_and_the_rest_imported(
    container: Container, tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"a{suffix}"
    (write_csv if suffix == ".csv" else write_jsonl)(path, rows(4))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 25])
    report = run(container, path)
    last = 5 if suffix == ".csv" else 4
    assert (report.inserted, report.rejected) == (3, 1)
    assert rejects(path) == [(last, "truncated last line: no line break at the end / 末行不完整")]


def test_non_utf8_row_is_rejected_and_recorded_readably(container: Container, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", rows(3))
    lines = path.read_bytes().split(b"\n")
    lines[3] = lines[3].replace("张伟".encode(), "张伟".encode("gbk"))
    path.write_bytes(b"\n".join(lines))
    report = run(container, path)
    assert (report.inserted, report.rejected) == (2, 1)
    with path.with_suffix(".rejects.csv").open(encoding="utf-8", newline="") as fh:
        [reject] = list(csv.DictReader(fh))
    assert reject["line"] == "4" and "UTF-8" in reject["reason"] and "\\xd5\\xc5" in reject["raw"]


def test_gzip_jsonl_imports(container: Container, tmp_path: Path) -> None:
    plain = write_jsonl(tmp_path / "a.jsonl", rows(5)).read_bytes()
    path = tmp_path / "a.jsonl.gz"
    path.write_bytes(gzip.compress(plain))
    assert run(container, path).inserted == 5


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("photo.csv", _png()),
        ("book.xlsx", b"PK\x03\x04rest-of-a-zip"),
        ("short.csv", b"number,file_number,name\n" + b"11010519491231002X,110101000001,x\n"),
        ("short.jsonl", b'{"number": "11010519491231002X", "name": "x"}\n'),
    ],
)
def test_refused_file_writes_nothing(container: Container, tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImportRefused):
        run(container, path)
    assert count(container, LicenceRow) == 0
    assert count(container, ImportRun) == 0
    assert not path.with_suffix(".rejects.csv").exists()


def test_a_licence_written_by_the_orm_is_unchanged_by_importing_the_same_record(
    container: Container, tmp_path: Path
) -> None:
    lic = RowParser(TODAY).licence(row(0))
    with container.sessions.begin() as s:
        s.add(LicenceRow(**row_values(lic), version=1))
    report = run(container, write_csv(tmp_path / "a.csv", [row(0)]))
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, 1)
    assert stored(container)[row(0)["number"]].version == 1


def test_a_failure_mid_file_keeps_committed_batches_and_a_rerun_completes(
    container: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_csv(tmp_path / "a.csv", rows(5))
    real_write = BatchWriter.write
    calls = {"n": 0}

    def failing_write(self: BatchWriter, *args: object) -> object:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("connection lost")
        return real_write(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(BatchWriter, "write", failing_write)
    with pytest.raises(ImportAborted, match="connection lost"):
        run(container, path, batch_size=2)
    assert count(container, LicenceRow) == 2
    with container.sessions() as s:
        [unfinished] = s.scalars(sa.select(ImportRun))
    assert unfinished.finished_at is None and unfinished.accepted == 2

    monkeypatch.setattr(BatchWriter, "write", real_write)
    report = run(container, path, batch_size=2)
    assert (report.inserted, report.unchanged, report.rejected) == (3, 2, 0)


def test_text_with_tabs_backslashes_and_quotes_is_stored_exactly(container: Container, tmp_path: Path) -> None:
    address = '成都市\\武侯区\t"人民路",1号\r\n2栋'
    path = write_jsonl(tmp_path / "a.jsonl", [row(0, address=address, name="N\\A")])
    assert run(container, path).inserted == 1
    licence = stored(container)[row(0)["number"]]
    assert (licence.address, licence.name) == (address, "N\\A")


def test_a_batch_of_only_rejected_rows_is_fine(container: Container, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [row(0), row(1, sex="2"), row(2, sex="2"), row(3)])
    report = run(container, path, batch_size=1)
    assert (report.inserted, report.rejected, report.rows) == (2, 2, 4)


def events(container: Container) -> list[tuple[str, str, str, int, dict[str, object]]]:
    with container.sessions() as s:
        found = s.scalars(sa.select(RegistryEvent).order_by(RegistryEvent.id))
        return [(e.licence_number, e.kind, e.actor, e.licence_version, e.payload) for e in found]


def test_a_first_import_and_an_unchanged_reimport_record_no_events(container: Container, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", rows(5))
    run(container, path)
    run(container, path)
    assert events(container) == []


@pytest.mark.parametrize("batch_size", [1000, 2])
def test_a_changed_row_is_recorded_as_the_events_it_implies(
    container: Container, tmp_path: Path, batch_size: int
) -> None:
    run(container, write_csv(tmp_path / "a.csv", rows(3)))
    changed = [row(0), row(1, statuses="DH", classes="C1E", address="成都市青羊区西大街2号"), row(2, points="6")]
    report = run(container, write_csv(tmp_path / "b.csv", changed), batch_size=batch_size)
    one, two = row(1)["number"], row(2)["number"]
    kinds = {(n, k) for n, k, *_ in events(container)}
    assert kinds == {
        (one, "classes_changed"),
        (one, "address_changed"),
        (one, "status_set"),
        (two, "record_corrected"),
    }
    by_kind = {(n, k): (actor, version, payload) for n, k, actor, version, payload in events(container)}
    actor, version, payload = by_kind[(one, "classes_changed")]
    assert (actor, version) == ("test", 2)
    assert payload == {"classes": "C1E", "previous": {"classes": "C1"}, "import_run": report.run_id}
    statuses = [p["status"] for n, k, _, _, p in events(container) if k == "status_set"]
    assert sorted(statuses) == ["D", "H"]
    assert by_kind[(two, "record_corrected")][2]["points"] == 6


def test_a_cleared_status_and_a_renewal_by_import_are_events(container: Container, tmp_path: Path) -> None:
    run(container, write_csv(tmp_path / "a.csv", [row(0, statuses="D")]))
    renewed = row(0, statuses="A", valid_from="2028-06-01", valid_until="2038-06-01", points="0", points_cycle_start="")
    container.clock = lambda: datetime(2028, 6, 2, tzinfo=UTC)
    run(container, write_csv(tmp_path / "b.csv", [renewed]))
    kinds = sorted(k for _, k, *_ in events(container))
    assert kinds == ["record_corrected", "renewed", "status_cleared"]
    assert EventKind.RENEWED.voids_elicence


def snapshot(container: Container, *reports: ImportReport) -> object:
    """Everything an import leaves: every stored column, the events, the runs' counts, the reports' counts."""
    with container.sessions() as s:
        table = [
            {c.key: getattr(r, c.key) for c in sa.inspect(LicenceRow).column_attrs}
            for r in s.scalars(sa.select(LicenceRow).order_by(LicenceRow.number))
        ]
        runs = sorted((r.accepted, r.rejected, r.finished_at is not None) for r in s.scalars(sa.select(ImportRun)))
    counts = [(r.rows, r.inserted, r.updated, r.unchanged, r.rejected) for r in reports]
    return table, [(n, k, a, v, p) for n, k, a, v, p in events(container)], runs, counts


def test_batches_of_new_numbers_and_batches_with_changes_give_the_same_table_as_the_upsert_alone(
    container: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch none of whose numbers is stored is copied straight into `licences` on PostgreSQL
    (`PostgresWriter._copy_fresh`) and takes a plain INSERT from the staging table on SQLite (`batches._FRESH`).
    The same files imported with every batch forced through the general upsert leave exactly the same table,
    events, counts and rejects."""
    from edl.registry import batches

    looked_up = {"batches": 0}
    real_changes = BatchWriter._changes

    def counting(self: BatchWriter, cur: object) -> object:
        looked_up["batches"] += 1
        return real_changes(self, cur)  # type: ignore[arg-type]

    monkeypatch.setattr(BatchWriter, "_changes", counting)
    container.clock = lambda: datetime(2026, 11, 25, 4, tzinfo=UTC)
    taken = row(9, file_number=row(0)["file_number"])
    data = [
        row(4),  # batch 1: new numbers only
        row(5),
        row(1, statuses="D", address="成都市青羊区西大街2号"),  # batch 2: a changed row and a new one
        row(6),
        row(2),  # batch 3: an unchanged row, and a number first seen in batch 1
        row(4, name="李四"),
        taken,  # batch 4: new numbers, one with a file number that another licence holds
        row(7),
        row(8),  # batch 5: a new number, and one seen in batch 1
        row(5, name="王五"),
    ]

    def scenario(tag: str) -> tuple[object, list[tuple[int, str]], int]:
        looked_up["batches"] = 0
        first = run(container, write_csv(tmp_path / f"{tag}-a.csv", rows(4)), batch_size=2)
        path = write_csv(tmp_path / f"{tag}-b.csv", data)
        second = run(container, path, batch_size=2)
        return snapshot(container, first, second), rejects(path), looked_up["batches"]

    with monkeypatch.context() as forced:
        forced.setattr(batches, "_FRESH", "SELECT 0")  # never fresh: every batch takes the upsert
        forced.setattr(batches.PostgresWriter, "_copy_fresh", lambda self, cur, prepared: None)
        upserted, upsert_rejects, upsert_lookups = scenario("upsert")
    _truncate(container)
    fresh, fresh_rejects, fresh_lookups = scenario("fresh")

    assert fresh == upserted
    assert (
        fresh_rejects
        == upsert_rejects
        == [
            (7, "duplicate licence number, first at line 2 / 证号重复"),
            (8, f"file_number already belongs to licence {row(0)['number']} / 档案编号已被其他证号占用"),
            (11, "duplicate licence number, first at line 3 / 证号重复"),
        ]
    )
    table, found, _, counts = fresh  # type: ignore[misc]
    assert counts == [(4, 4, 0, 0, 0), (10, 5, 1, 1, 3)]
    assert sorted(k for _, k, *_ in found) == ["address_changed", "status_set"]
    assert len(table) == 9
    # Old values are looked up once a batch by the upsert (7), once more after the taken file number (8). With
    # fresh batches: not in a.csv's two nor in b.csv's first; batch 4 is fresh but its COPY or INSERT hits the
    # taken file number and it falls back to the upsert (b.csv's batches 2, 3, 4 and 5: 4).
    assert (upsert_lookups, fresh_lookups) == (8, 4)


def test_a_number_repeated_after_several_fresh_batches_is_still_a_duplicate(
    container: Container, tmp_path: Path
) -> None:
    """Fresh batches' numbers are remembered without an index until a batch needs them (PostgreSQL): they are
    found then, and so are those of fresh batches after it."""
    data = [row(0), row(1), row(2), row(3), row(4), row(1, name="李四"), row(5), row(6), row(7), row(6, name="王五")]
    path = write_csv(tmp_path / "a.csv", data)
    report = run(container, path, batch_size=2)
    assert (report.inserted, report.rejected) == (8, 2)
    assert rejects(path) == [
        (7, "duplicate licence number, first at line 3 / 证号重复"),
        (11, "duplicate licence number, first at line 9 / 证号重复"),
    ]
    assert stored(container)[row(1)["number"]].name == "张伟"
    assert stored(container)[row(6)["number"]].name == "张伟"


def test_an_unchanged_batch_writes_nothing_and_a_new_row_among_unchanged_ones_is_inserted(
    container: Container, tmp_path: Path
) -> None:
    """A staged batch whose rows are all stored and unchanged skips the upsert; one new row among them does not."""
    container.clock = lambda: datetime(2026, 11, 25, 4, tzinfo=UTC)
    run(container, write_csv(tmp_path / "a.csv", rows(4)))
    before = {n: (r.version, r.updated_at) for n, r in stored(container).items()}
    container.clock = lambda: datetime(2026, 11, 26, 4, tzinfo=UTC)
    data = [row(0), row(1), row(2), row(5), row(3, points="6"), row(6)]
    report = run(container, write_csv(tmp_path / "b.csv", data), batch_size=2)
    assert (report.inserted, report.updated, report.unchanged, report.rejected) == (2, 1, 3, 0)
    after = stored(container)
    assert {n: (r.version, r.updated_at) for n, r in after.items() if n in before and n != row(3)["number"]} == {
        n: v for n, v in before.items() if n != row(3)["number"]
    }
    assert after[row(3)["number"]].version == 2
    assert (after[row(5)["number"]].version, after[row(6)["number"]].version) == (1, 1)
