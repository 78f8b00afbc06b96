"""`edl keys` and `edl trust`: thin commands over the authority, never printing key material."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from edl.cli.common import resolve_data_dir
from edl.cli.keys import keys_app
from edl.cli.trust import trust_app
from edl.pki import Authority, load_trust_roots

app = typer.Typer()
app.add_typer(keys_app, name="keys")
app.add_typer(trust_app, name="trust")
runner = CliRunner()


def test_init_rotate_and_export(tmp_path: Path) -> None:
    data = tmp_path / "data"
    init = runner.invoke(app, ["keys", "init", "--data-dir", str(data)])
    assert init.exit_code == 0, init.output
    assert "IACA root" in init.output
    rotate = runner.invoke(app, ["keys", "rotate-signer", "--data-dir", str(data)])
    assert rotate.exit_code == 0, rotate.output
    export = runner.invoke(app, ["trust", "export", "--data-dir", str(data), "--out", str(tmp_path / "trust")])
    assert export.exit_code == 0, export.output
    assert load_trust_roots(tmp_path / "trust" / "iaca-root.pem") == [Authority.open(data).root_certificate()]
    assert len(list((tmp_path / "trust").glob("ds-*.pem"))) == 2
    for output in (init.output, rotate.output, export.output):
        assert "PRIVATE KEY" not in output
    for key_file in (data / "keys").iterdir():
        body = key_file.read_text().splitlines()[1]
        assert body not in init.output + rotate.output + export.output


def test_second_init_fails_with_one_line_and_exit_2(tmp_path: Path) -> None:
    runner.invoke(app, ["keys", "init", "--data-dir", str(tmp_path)])
    again = runner.invoke(app, ["keys", "init", "--data-dir", str(tmp_path)])
    assert again.exit_code == 2
    assert again.output.count("\n") == 1 and "never replaced" in again.output


def test_rotate_without_authority_fails_with_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["keys", "rotate-signer", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2 and "edl keys init" in result.output


def test_data_dir_comes_from_option_then_environment_then_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EDL_DATA_DIR", raising=False)
    assert resolve_data_dir(None) == Path(".edl-data")
    monkeypatch.setenv("EDL_DATA_DIR", "/srv/edl")
    assert resolve_data_dir(None) == Path("/srv/edl")
    assert resolve_data_dir(Path("x")) == Path("x")


def test_environment_data_dir_is_used_by_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDL_DATA_DIR", str(tmp_path / "env-data"))
    assert runner.invoke(app, ["keys", "init"]).exit_code == 0
    assert (tmp_path / "env-data" / "pki" / "iaca.pem").exists()
