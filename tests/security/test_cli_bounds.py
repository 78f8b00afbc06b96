"""Every CLI input is bounded, and bad input is one line on stderr with exit 2 (issue 10), never a traceback.

`edl verify` keeps its contract: exit 1 for a credential that is not valid, 2 for input it cannot read. Oversized
files are sparse files here (truncate), so the tests cost no disk and no memory when the bounds hold.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import typer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from typer.testing import CliRunner

from edl.applications.holidays import HolidayFileInvalid, read_holidays_file
from edl.bootstrap import Container
from edl.cli import trust as cli_trust
from edl.cli.licence import licence_app
from edl.cli.registry import registry_app
from edl.cli.staff import staff_app
from edl.cli.verify import verify_command
from edl.db.models import ImportRun, LicenceRow
from edl.issuance.elicences import IssuanceRefused, load_device_public_key
from edl.pki import Authority
from edl.registry.files import MAX_LINE
from edl.registry.importer import import_file
from tests.unit.registry.factories import row, write_csv, write_jsonl
from tests.vectors.annexd import IACA_ROOT_PEM, VECTORS

ROOT_PEM = VECTORS / IACA_ROOT_PEM
MiB = 1024 * 1024

verify_app = typer.Typer()
verify_app.command("verify")(verify_command)
verify_app.command("noop")(lambda: None)  # two commands, so "verify" stays a subcommand name
trust_app = typer.Typer()
trust_app.callback()(lambda: None)
trust_app.command("fetch")(cli_trust.trust_fetch)


def invoke(app: typer.Typer, *args: str, env: dict[str, str] | None = None, stdin: bytes | None = None) -> Any:
    return CliRunner().invoke(app, list(args), env=env, input=stdin)


def assert_refused(result: Any, *fragments: str) -> None:
    """Exit 2 with exactly one line on stderr, `edl: error: …`, and no traceback."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 2, (result.exit_code, result.output[-500:])
    assert result.stderr.startswith("edl: error: ") and result.stderr.count("\n") == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr


def sparse(path: Path, size: int, head: bytes = b"") -> Path:
    path.write_bytes(head)
    with path.open("r+b") as fh:
        fh.truncate(size)
    return path


def db_env(container: Container) -> dict[str, str]:
    return {
        "EDL_DATA_DIR": str(container.settings.data_dir),
        "EDL_DATABASE_URL": container.settings.resolved_database_url,
    }


def count(container: Container, model: type[LicenceRow] | type[ImportRun]) -> int:
    with container.sessions() as s:
        return int(s.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


# --- edl registry import -------------------------------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize(
    ("first_line", "message"),
    [
        (b"[" * 100_000, f"line 1 is longer than {MAX_LINE} bytes"),  # the finding
        (b"[" * 10_000, "line 1 is not a JSON object"),  # fits in a line, far too deep for json
        (b'{"number": ' + b"{" * 5_000, "line 1 is not a JSON object"),
    ],
    ids=["100k-brackets", "10k-brackets", "deep-object"],
)
def test_a_hostile_first_json_line_refuses_the_file_and_changes_nothing(
    container: Container, tmp_path: Path, first_line: bytes, message: str
) -> None:
    path = tmp_path / "deep.jsonl"
    path.write_bytes(first_line + b"\n" + json.dumps(row(0)).encode() + b"\n")

    result = invoke(registry_app, "import", str(path), env=db_env(container))

    assert_refused(result, message)
    assert count(container, LicenceRow) == 0 and count(container, ImportRun) == 0
    assert not (tmp_path / "deep.jsonl.rejects.csv").exists()


@pytest.mark.integration
def test_a_deep_json_line_among_good_ones_is_a_rejected_row_with_its_reason(
    container: Container, tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "mixed.jsonl", [row(0)])
    with path.open("ab") as fh:
        fh.write(b"[" * 10_000 + b"\n")
        fh.write(b'{"number": ' + b"[" * 40 + b"\n")
        fh.write(json.dumps(row(1), ensure_ascii=False).encode() + b"\n")

    result = invoke(registry_app, "import", str(path), env=db_env(container))

    assert result.exit_code == 0, result.output
    assert "2 accepted" in result.stdout and "2 rejected" in result.stdout
    reasons = (tmp_path / "mixed.jsonl.rejects.csv").read_text(encoding="utf-8")
    assert reasons.count("JSON nested deeper than 32 levels") == 2
    assert count(container, LicenceRow) == 2


@pytest.mark.integration
def test_a_huge_number_is_a_rejected_row_not_an_aborted_import(container: Container, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "points.csv", [row(0), row(1, points="9" * 5000)])

    report = import_file(container.engine, path, tmp_path / "rejects.csv", "test", clock=container.clock)

    assert report.accepted == 1 and report.rejected == 1
    assert "points:" in (tmp_path / "rejects.csv").read_text(encoding="utf-8")


@pytest.mark.integration
def test_a_first_csv_line_longer_than_a_line_may_be_is_refused(container: Container, tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_bytes(b"number," + b"x" * (MAX_LINE + 10) + b"\n")

    assert_refused(invoke(registry_app, "import", str(path), env=db_env(container)), "longer than")
    assert count(container, ImportRun) == 0


@pytest.mark.integration
def test_a_reject_file_that_is_the_input_itself_is_refused_and_the_input_survives(
    container: Container, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "in.csv", [row(0), row(1, birth_date="2023-02-30")])
    before = path.read_bytes()

    result = invoke(registry_app, "import", str(path), "--rejects", str(path), env=db_env(container))

    assert_refused(result, "is the input file itself")
    assert path.read_bytes() == before
    assert count(container, LicenceRow) == 0 and count(container, ImportRun) == 0


@pytest.mark.integration
def test_an_actor_longer_than_the_log_stores_is_refused(container: Container, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "in.csv", [row(0)])

    result = invoke(registry_app, "import", str(path), "--actor", "a" * 200, env=db_env(container))

    assert_refused(result, "longer than 128")
    assert count(container, LicenceRow) == 0 and count(container, ImportRun) == 0


@pytest.mark.integration
@pytest.mark.parametrize(
    "args",
    [
        ["set-status", "{n}", "D", "--actor", "a" * 200],
        ["add-points", "{n}", "3", "长" * 300],
        ["change-authority", "{n}", "110000", "--name", "长" * 100, "--city", "北京"],
    ],
    ids=["actor", "description", "authority-name"],
)
def test_licence_events_refuse_values_longer_than_the_log_stores(
    container: Container, tmp_path: Path, args: list[str]
) -> None:
    record = row(0)
    import_file(
        container.engine,
        write_csv(tmp_path / "in.csv", [record]),
        tmp_path / "rejects.csv",
        "test",
        clock=container.clock,
    )
    with container.sessions() as s:
        version = s.scalar(sa.select(LicenceRow.version))

    result = invoke(licence_app, *[a.format(n=record["number"]) for a in args], env=db_env(container))

    assert_refused(result, "at most")
    with container.sessions() as s:
        assert s.scalar(sa.select(LicenceRow.version)) == version, "nothing changed"


# --- edl verify ------------------------------------------------------------------------------------------------


def test_an_mdoc_file_past_the_cap_is_unreadable_exit_2(tmp_path: Path) -> None:
    big = sparse(tmp_path / "big.cbor", 5 * MiB, b"\xa1")
    assert_refused(invoke(verify_app, "verify", "--mdoc", str(big), "--trust", str(ROOT_PEM)), "larger than")


def test_deep_cbor_in_an_mdoc_is_not_valid_exit_1_with_a_reason(tmp_path: Path) -> None:
    deep = tmp_path / "deep.cbor"
    deep.write_bytes(b"\x81" * 100_000 + b"\x00")
    result = invoke(verify_app, "verify", "--mdoc", str(deep), "--trust", str(ROOT_PEM))
    assert result.exit_code == 1, result.output
    out = json.loads(result.stdout)
    assert out["valid"] is False and out["errors"][0]["code"] == "malformed"


def test_a_status_list_past_the_cap_is_unreadable_exit_2(tmp_path: Path) -> None:
    big = sparse(tmp_path / "status.cwt", 9 * MiB)
    result = invoke(verify_app, "verify", "--qr", "EDL1:AAAA", "--trust", str(ROOT_PEM), "--status-list", str(big))
    assert_refused(result, "larger than")


@pytest.mark.parametrize("option", ["--trust", "--signers"])
def test_a_certificate_file_past_the_cap_is_unreadable_exit_2(tmp_path: Path, option: str) -> None:
    padded = tmp_path / "padded.pem"
    padded.write_bytes(ROOT_PEM.read_bytes() + b"\n" * (2 * MiB))  # a real certificate, then megabytes of nothing
    args = ["--trust", str(padded)] if option == "--trust" else ["--trust", str(ROOT_PEM), "--signers", str(padded)]
    assert_refused(invoke(verify_app, "verify", "--qr", "EDL1:AAAA", *args), "larger than")


def test_an_image_file_past_the_cap_is_unreadable_exit_2(tmp_path: Path) -> None:
    big = sparse(tmp_path / "code.png", 40 * MiB, b"\x89PNG\r\n\x1a\n")
    result = invoke(verify_app, "verify", "--qr-image", str(big), "--trust", str(ROOT_PEM))
    assert_refused(result, "larger than")


def test_a_code_text_far_too_long_is_not_valid_exit_1(tmp_path: Path) -> None:
    result = invoke(verify_app, "verify", "--qr", "EDL1:" + "A" * 100_000, "--trust", str(ROOT_PEM))
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["errors"][0]["code"] == "code_too_large"


# --- PEM and password inputs -----------------------------------------------------------------------------------


def test_a_device_key_file_past_the_cap_is_refused_unread(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    padded = tmp_path / "device.pem"
    padded.write_bytes(pem + b"\n" * (1 * MiB))
    with pytest.raises(IssuanceRefused, match="larger than"):
        load_device_public_key(padded)
    (tmp_path / "ok.pem").write_bytes(pem)
    assert load_device_public_key(tmp_path / "ok.pem").public_numbers() == key.public_numbers()


def test_a_password_on_stdin_that_is_not_utf8_is_refused_in_one_line(tmp_path: Path) -> None:
    result = invoke(
        staff_app,
        "add",
        "alice",
        "--role",
        "reviewer",
        "--authority",
        "110000",
        "--password-stdin",
        env={"EDL_DATA_DIR": str(tmp_path)},
        stdin=b"\xff\xfe\xfd not text\n",
    )
    assert_refused(result, "not UTF-8")


@pytest.mark.integration
def test_a_password_on_stdin_longer_than_allowed_is_refused_without_reading_it_all(container: Container) -> None:
    result = invoke(
        staff_app,
        "add",
        "alice",
        "--role",
        "reviewer",
        "--authority",
        "110000",
        "--password-stdin",
        env=db_env(container),
        stdin=b"p" * (5 * MiB),
    )
    assert_refused(result, "at most 256")


# --- edl trust fetch -------------------------------------------------------------------------------------------


@pytest.fixture
def root_pem(tmp_path: Path) -> Path:
    authority = Authority.open(tmp_path / "authority")
    authority.init(at=datetime.now(UTC) - timedelta(days=1))
    path = tmp_path / "root.pem"
    path.write_bytes(authority.root_certificate().public_bytes(serialization.Encoding.PEM))
    return path


@pytest.fixture
def hostile_server() -> Iterator[str]:
    """Answers GET /slow a byte every 0.2 s (for up to 8 s) and GET /short with fewer bytes than it declared."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # http.server's naming
            self.send_response(200)
            self.send_header("Content-Type", "application/cbor")
            if self.path == "/short":
                self.send_header("Content-Length", "100000")
                self.end_headers()
                self.wfile.write(b"\xa0" * 10)
                return
            self.send_header("Content-Length", "40")
            self.end_headers()
            for _ in range(40):
                try:
                    self.wfile.write(b"\x00")
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(0.2)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_trickling_trust_server_is_cut_off_at_the_download_deadline(
    tmp_path: Path, root_pem: Path, hostile_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_trust, "DOWNLOAD_SECONDS", 1)
    url = hostile_server
    started = time.monotonic()
    result = invoke(trust_app, "fetch", url + "/slow", "--out", str(tmp_path / "trust"), "--root", str(root_pem))
    assert_refused(result, "took longer than")
    assert time.monotonic() - started < 5
    assert not (tmp_path / "trust").exists()


def test_a_trust_answer_cut_short_is_refused_in_one_line(tmp_path: Path, root_pem: Path, hostile_server: str) -> None:
    url = hostile_server
    result = invoke(trust_app, "fetch", url + "/short", "--out", str(tmp_path / "trust"), "--root", str(root_pem))
    assert_refused(result)
    assert not (tmp_path / "trust").exists()


@pytest.mark.parametrize("url", ["http://[::1", "ftp://example.com/x", "http://127.0.0.1:99999/x"])
def test_a_malformed_trust_url_is_refused_in_one_line(tmp_path: Path, root_pem: Path, url: str) -> None:
    assert_refused(invoke(trust_app, "fetch", url, "--out", str(tmp_path / "trust"), "--root", str(root_pem)))


def test_a_deep_or_huge_installed_trust_state_is_refused_in_one_line(tmp_path: Path, root_pem: Path) -> None:
    out = tmp_path / "trust"
    out.mkdir()
    (out / "iaca-root.pem").write_bytes(root_pem.read_bytes())
    for state in (b"[" * 100_000, b'{"version": 1, "iat": 1, "x": ' + b"[" * 1000 + b"]" * 1000 + b"}"):
        (out / "trust.json").write_bytes(state)
        result = invoke(trust_app, "fetch", "http://127.0.0.1:9/x", "--out", str(out))
        assert_refused(result, "trust.json")


# --- the holiday file (read by edl serve) ----------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"[" * 100_000, b'{"2027": ' + b"{" * 5000, b'{"2027": ' + b"9" * 5000 + b"}"])
def test_a_hostile_holiday_file_is_refused_with_its_reason(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "holidays.json"
    path.write_bytes(content)
    with pytest.raises(HolidayFileInvalid):
        read_holidays_file(path)
    sparse(path, 2 * MiB, b"{}")
    with pytest.raises(HolidayFileInvalid, match="larger than"):
        read_holidays_file(path)
