"""`edl photo check FILE...`: one JSON object per file on stdout; exit 0 all passed, 1 any refused, 2 any unreadable
(one line on stderr each, the other files still checked)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from edl.cli import app
from tests import faces

pytestmark = pytest.mark.integration

runner = CliRunner()


def lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


@pytest.fixture
def photos(tmp_path: Path) -> dict[str, Path]:
    files = {
        "good": faces.id_photo("astronaut"),
        "badge": faces.id_photo("hopper"),  # passes, with her name badge flagged as text
        "white_shirt": faces.jpeg(faces.shirt_photo_image("astronaut", (238, 238, 235))),
        "text_file": "不是照片 / not a photo\n".encode(),
    }
    out = {}
    for name, data in files.items():
        path = tmp_path / f"{name}.jpg"
        path.write_bytes(data)
        out[name] = path
    return out


def test_compliant_photo_prints_one_passed_object_and_exits_0(photos: dict[str, Path]) -> None:
    result = runner.invoke(app, ["photo", "check", str(photos["good"])])
    assert result.exit_code == 0, result.output
    [obj] = lines(result.stdout)
    flags = [f for f in obj.pop("flags") if f["code"] != "landmarks_unavailable"]  # a base install has no dlib
    assert obj == {"file": str(photos["good"]), "passed": True, "refusals": []} and flags == []


def test_flags_are_listed_with_both_messages_and_do_not_fail_the_photo(photos: dict[str, Path]) -> None:
    result = runner.invoke(app, ["photo", "check", str(photos["badge"])])
    assert result.exit_code == 0
    [obj] = lines(result.stdout)
    assert obj["passed"] is True
    [flag] = [f for f in obj["flags"] if f["code"] == "text_found"]
    assert "HOPPER" in flag["message_en"] and flag["message_zh"]


def test_a_refused_photo_gives_its_code_and_messages_and_exit_1(photos: dict[str, Path]) -> None:
    result = runner.invoke(app, ["photo", "check", str(photos["good"]), str(photos["white_shirt"])])
    assert result.exit_code == 1
    good, refused = lines(result.stdout)
    assert good["passed"] is True
    assert refused["passed"] is False and refused["file"] == str(photos["white_shirt"])
    [reason] = refused["refusals"]
    assert reason["code"] == "clothes_light"
    assert "深色" in reason["message_zh"] and "dark everyday clothes" in reason["message_en"]


def test_a_file_that_is_not_a_photo_is_refused_not_unreadable(photos: dict[str, Path]) -> None:
    result = runner.invoke(app, ["photo", "check", str(photos["text_file"])])
    assert result.exit_code == 1
    assert lines(result.stdout)[0]["refusals"][0]["code"] == "not_an_image"


@pytest.mark.parametrize("bad", ["missing.jpg", "folder"])
def test_an_unreadable_file_exits_2_with_one_line_and_the_others_are_still_checked(
    photos: dict[str, Path], tmp_path: Path, bad: str
) -> None:
    (tmp_path / "folder").mkdir()
    result = runner.invoke(app, ["photo", "check", str(tmp_path / bad), str(photos["good"])])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "cannot read" in result.stderr and bad in result.stderr
    assert [o["file"] for o in lines(result.stdout)] == [str(photos["good"])]


def test_unreadable_wins_over_refused(photos: dict[str, Path], tmp_path: Path) -> None:
    result = runner.invoke(app, ["photo", "check", str(photos["white_shirt"]), str(tmp_path / "gone.png")])
    assert result.exit_code == 2
    assert lines(result.stdout)[0]["passed"] is False


def test_many_files_give_exactly_one_json_line_each(photos: dict[str, Path]) -> None:
    args = [str(photos["good"]), str(photos["badge"])] * 3
    result = runner.invoke(app, ["photo", "check", *args])
    assert result.exit_code == 0
    assert [o["file"] for o in lines(result.stdout)] == args  # nothing else on stdout: the bar is on stderr


def test_measurements_on_request(photos: dict[str, Path]) -> None:
    result = runner.invoke(app, ["photo", "check", "--measurements", str(photos["good"])])
    m = lines(result.stdout)[0]["measurements"]
    assert m["faces_found"] == 1 and "clothes_luminance" in m and "flags" not in m


def test_no_file_is_a_usage_error() -> None:
    assert runner.invoke(app, ["photo", "check"]).exit_code == 2


def test_progress_bar_goes_to_stderr_on_a_terminal_from_five_files(photos: dict[str, Path]) -> None:
    args = [str(photos["good"])] * 5
    result = runner.invoke(app, ["photo", "check", *args], env={"TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "0"})
    assert result.exit_code == 0
    assert "\x1b[?25l" in result.stderr  # the live bar hid the cursor (transient: it is erased when done)
    assert len(lines(result.stdout)) == 5
    few = runner.invoke(app, ["photo", "check", *args[:4]], env={"TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "0"})
    assert few.stderr == ""
