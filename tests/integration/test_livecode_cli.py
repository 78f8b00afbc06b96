"""`edl credential code` and `edl verify --qr / --qr-image / --status-list` end to end, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import segno
import typer
from PIL import Image
from typer.testing import CliRunner

from edl.bootstrap import Container
from edl.cli.credential import credential_code
from edl.cli.verify import verify_command
from edl.db.session import transaction
from edl.domain import Status
from edl.issuance.elicences import issue_elicence
from edl.registry.events import set_status
from tests.workflow import seed_licence

pytestmark = pytest.mark.integration

app = typer.Typer()
app.command("code")(credential_code)
app.command("verify")(verify_command)


@pytest.fixture
def world(container: Container, tmp_path: Path) -> dict[str, Any]:
    now = datetime.now(UTC).replace(microsecond=0)  # the CLI signs with the real clock
    container.clock = lambda: now
    container.authority.init(at=now - timedelta(days=1))
    number = seed_licence(container, now)
    elicence = issue_elicence(container.sessions, container.issuer, number, actor="test", at=now)
    exported = container.authority.export_trust(tmp_path / "trust")
    return {"now": now, "number": number, "elicence_id": elicence.elicence_id, "root": exported.root}


def invoke(container: Container, *args: str) -> tuple[int, str, str]:
    env = {
        "EDL_DATA_DIR": str(container.settings.data_dir),
        "EDL_DATABASE_URL": container.settings.resolved_database_url,
    }
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def make(container: Container, number: str) -> str:
    code, out, err = invoke(container, "code", number)
    assert code == 0, err
    assert out.count("\n") == 1 and out.startswith("EDL1:")
    return out.strip()


def verify(container: Container, world: dict[str, Any], *args: str, late: int = 5) -> tuple[int, dict[str, Any]]:
    at = (world["now"] + timedelta(seconds=late)).isoformat()
    code, out, err = invoke(container, "verify", "--trust", str(world["root"]), "--at", at, *args)
    if code == 2:
        return 2, {"stderr": err}
    return code, json.loads(out)


def test_a_printed_code_verifies_with_the_exported_trust_files(container: Container, world: dict[str, Any]) -> None:
    text = make(container, world["number"])
    code, out = verify(container, world, "--qr", text)
    assert code == 0, out
    assert out["valid"] is True and out["doctype"] == "cn.edl.code.1"
    assert out["claims"]["elicence_id"] == world["elicence_id"] and out["claims"]["classes"] == ["C1"]
    assert out["status"] == "unknown" and out["warnings"]  # no status list given: accepted with a warning
    code, out = verify(container, world, "--qr", text, "--purpose", "police")
    assert code == 1 and {e["code"] for e in out["errors"]} == {"status_unknown"}


def test_an_expired_code_is_refused_with_exit_1(container: Container, world: dict[str, Any]) -> None:
    text = make(container, world["number"])
    code, out = verify(container, world, "--qr", text, late=181)
    assert code == 1 and out["errors"][0]["code"] == "expired" and out["claims"] == {}


def test_status_list_gives_valid_then_suspended_after_a_registry_change(
    container: Container, world: dict[str, Any], tmp_path: Path
) -> None:
    text = make(container, world["number"])
    listed = tmp_path / "status.cwt"
    listed.write_bytes(container.status_list.current_token(at=world["now"]))
    code, out = verify(container, world, "--qr", text, "--status-list", str(listed), "--purpose", "police")
    assert (code, out["status"], out["warnings"]) == (0, "valid", [])
    with transaction(container.sessions) as s:
        set_status(s, world["number"], Status.SUSPENDED, actor="test", at=world["now"] + timedelta(seconds=1))
    listed.write_bytes(container.status_list.current_token(at=world["now"] + timedelta(seconds=2)))
    code, out = verify(container, world, "--qr", text, "--status-list", str(listed))
    assert (code, out["status"]) == (1, "suspended")
    assert {e["code"] for e in out["errors"]} == {"status_suspended"}


def test_an_unverifiable_status_list_gives_unknown(container: Container, world: dict[str, Any], tmp_path: Path) -> None:
    text = make(container, world["number"])
    listed = tmp_path / "status.cwt"
    listed.write_bytes(b"not a token")
    code, out = verify(container, world, "--qr", text, "--status-list", str(listed))
    assert (code, out["status"]) == (0, "unknown") and "status_list_invalid" in out["warnings"][0]


def test_a_screenshot_of_the_qr_verifies(container: Container, world: dict[str, Any], tmp_path: Path) -> None:
    text = make(container, world["number"])
    png = tmp_path / "code.png"
    segno.make(text, error="m", boost_error=False).save(str(png), scale=4, border=4)
    code, out = verify(container, world, "--qr-image", str(png))
    assert code == 0 and out["valid"] is True and out["claims"]["elicence_id"] == world["elicence_id"]


def test_an_image_without_a_code_is_not_valid_and_a_non_image_is_unreadable(
    container: Container, world: dict[str, Any], tmp_path: Path
) -> None:
    blank = tmp_path / "blank.png"
    Image.new("RGB", (200, 200), "white").save(blank)
    code, out = verify(container, world, "--qr-image", str(blank))
    assert code == 1 and out["errors"][0]["code"] == "no_code" and out["valid"] is False
    other = tmp_path / "other.png"
    segno.make("hello, not a licence", error="m").save(str(other), scale=4)
    code, out = verify(container, world, "--qr-image", str(other))
    assert code == 1 and out["errors"][0]["code"] == "code_prefix"
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"\x00 not an image")
    code, out = verify(container, world, "--qr-image", str(junk))
    assert code == 2 and out["stderr"].startswith("edl: error: cannot read an image")


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--qr", "EDL1:X", "--qr-image", "x.png"],
        ["--qr", "EDL1:X", "--purpose", "astrologer"],
        ["--qr", "EDL1:X", "--status-list", "/nonexistent/list"],
        ["--qr", "EDL1:X", "--signers", "/nonexistent/ds.pem"],
        ["--qr-image", "/nonexistent/code.png"],
    ],
)
def test_bad_arguments_exit_2_with_one_line(container: Container, world: dict[str, Any], args: list[str]) -> None:
    code, out = verify(container, world, *args)
    assert code == 2 and out["stderr"].startswith("edl: error: ") and out["stderr"].count("\n") == 1


def test_code_for_an_unknown_licence_or_one_without_an_elicence_exits_2(
    container: Container, world: dict[str, Any]
) -> None:
    code, out, err = invoke(container, "code", "11010519491231002X")
    assert (code, out) == (2, "") and err.startswith("edl: error: ") and "no licence" in err
    other = seed_licence(container, world["now"], sequence=456)
    code, out, err = invoke(container, "code", other)
    assert (code, out) == (2, "") and "no live e-licence" in err


def test_a_suspended_licence_gets_a_code_that_says_so(container: Container, world: dict[str, Any]) -> None:
    with transaction(container.sessions) as s:
        set_status(s, world["number"], Status.SUSPENDED, actor="test", at=world["now"])
    text = make(container, world["number"])
    code, out = verify(container, world, "--qr", text)
    assert (code, out["status"]) == (1, "suspended")


def test_a_revoked_licence_gets_no_code(container: Container, world: dict[str, Any]) -> None:
    with transaction(container.sessions) as s:
        set_status(s, world["number"], Status.REVOKED, actor="test", at=world["now"])
    code, _out, err = invoke(container, "code", world["number"])
    assert code == 2 and "revoked" in err
