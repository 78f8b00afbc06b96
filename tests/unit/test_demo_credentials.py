"""`edl demo` lists its sign-in secrets in the terminal that started it (issue 13: a first-time visitor reaches the
console and the verifier page without opening a file), read back from the owner-only files; never on a web page."""

from __future__ import annotations

from pathlib import Path

from edl.cli.demo import demo_credentials


def test_the_terminal_gets_every_staff_password_and_party_key(tmp_path: Path) -> None:
    (tmp_path / "demo-staff.txt").write_text("reviewer\treviewer\tpw-r-123\nadmin\tadmin\tpw-a-456\n", "utf-8")
    (tmp_path / "demo-parties.txt").write_text("police\tedl_rp_police\t交警\nrental\tedl_rp_rental\t租车\n", "utf-8")
    text = "\n".join(demo_credentials(tmp_path))
    for secret in ("pw-r-123", "pw-a-456", "edl_rp_police", "edl_rp_rental"):
        assert secret in text
    assert "/review/sign-in" in text and "/verify" in text


def test_nothing_when_the_files_are_missing_or_not_what_the_demo_wrote(tmp_path: Path) -> None:
    assert demo_credentials(tmp_path) == []
    (tmp_path / "demo-staff.txt").write_text("garbage\n", "utf-8")
    (tmp_path / "demo-parties.txt").write_text("\n", "utf-8")
    assert demo_credentials(tmp_path) == []
