"""Generated registry files import cleanly on both databases, through the service and the command line."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from edl.bootstrap import Container
from edl.cli.registry import registry_app
from edl.db.models import LicenceRow
from edl.registry.generator import generate
from edl.registry.importer import import_file

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("name", ["gen.csv", "gen.jsonl.gz"])
def test_generated_file_imports_with_no_rejects(container: Container, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    generate(path, 1500, seed=4, as_of=date.today())
    report = import_file(
        container.engine, path, tmp_path / "rejects.csv", "test", batch_size=400, clock=container.clock
    )
    assert (report.inserted, report.rejected) == (1500, 0)
    again = import_file(container.engine, path, tmp_path / "rejects.csv", "test", clock=container.clock)
    assert (again.unchanged, again.updated) == (1500, 0)


def test_generate_command_stores_portraits_where_the_app_finds_them(container: Container, tmp_path: Path) -> None:
    env = {
        "EDL_DATA_DIR": str(container.settings.data_dir),
        "EDL_DATABASE_URL": container.settings.resolved_database_url,
    }
    out = tmp_path / "small.csv"
    result = CliRunner().invoke(registry_app, ["generate", "--count", "40", "--out", str(out), "--seed", "9"], env=env)
    assert result.exit_code == 0, result.output
    assert "40 records" in result.stdout
    result = CliRunner().invoke(registry_app, ["import", str(out)], env=env)
    assert result.exit_code == 0 and "0 rejected" in result.stdout
    with container.sessions() as s:
        refs = list(s.scalars(sa.select(LicenceRow.photo_ref).where(LicenceRow.photo_ref.is_not(None))))
    assert refs and all(container.photos.exists(ref) for ref in refs)


def test_generate_refuses_an_unsupported_extension(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        registry_app,
        ["generate", "--count", "5", "--out", str(tmp_path / "x.xlsx")],
        env={"EDL_DATA_DIR": str(tmp_path)},
    )
    assert result.exit_code == 2 and "unsupported file type .xlsx" in result.stderr
