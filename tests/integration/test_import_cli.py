"""`edl registry import` through the command line: exit codes and the one-line messages people see."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from edl.bootstrap import Container
from edl.cli.registry import registry_app
from edl.db.models import LicenceRow
from tests.unit.registry.factories import row, rows, write_csv

pytestmark = pytest.mark.integration


def invoke(container: Container, *args: str) -> tuple[int, str, str]:
    env = {
        "EDL_DATA_DIR": str(container.settings.data_dir),
        "EDL_DATABASE_URL": container.settings.resolved_database_url,
    }
    result = CliRunner().invoke(registry_app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def licences(container: Container) -> int:
    with container.sessions() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(LicenceRow)) or 0


def test_import_prints_a_one_line_summary(container: Container, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [*rows(4), row(4, birth_date="2023-02-30")])
    code, out, _ = invoke(container, "import", str(path), "--rejects", str(tmp_path / "bad.csv"), "--actor", "ops")
    assert code == 0
    assert out.count("\n") == 1
    assert "4 accepted (4 new, 0 changed, 0 unchanged), 1 rejected" in out and "rows/s" in out
    assert (tmp_path / "bad.csv").read_text(encoding="utf-8").startswith("line,reason,raw")
    assert licences(container) == 4


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("photo.csv", b"\x89PNG\r\n\x1a\n" + bytes(64), "photo.csv is a PNG image, not CSV text"),
        ("book.xlsx", b"PK\x03\x04", "unsupported file type .xlsx"),
        ("cols.csv", b"number,name\n1,2\n", "lacks required column(s): file_number"),
    ],
)
def test_refused_file_exits_2_with_one_line_and_writes_nothing(
    container: Container, tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    code, out, err = invoke(container, "import", str(path))
    assert code == 2
    assert out == ""
    assert err.startswith("edl: error: ") and message in err and err.count("\n") == 1
    assert licences(container) == 0


def test_missing_file_exits_2(container: Container, tmp_path: Path) -> None:
    code, _, err = invoke(container, "import", str(tmp_path / "nope.csv"))
    assert code == 2 and "no such file" in err
