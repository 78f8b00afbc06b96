"""`edl photo check FILE...`: run the automatic photo checks on photos from disk (e.g. to decide which stored registry
photos are compliant before an import), with exactly the rules an upload meets (`edl.applications.photos`).

Thin: read each file, call `check_photo`, print one JSON object per file on stdout:
`{"file", "passed", "refusals": [{"code", "message_zh", "message_en"}], "flags": [...same...]}` (the checks stop
at the first refusal, so `refusals` holds at most one). Exit 0 when every photo passed, 1 when any was refused,
2 when a file could not be read (one line on stderr for each; the other files are still checked). No database,
nothing written.
"""

from __future__ import annotations

import errno
import json
import stat
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from edl.applications.photo_rules import DEFAULT_RULES, PhotoRejected
from edl.applications.photos import check_photo
from edl.pki.files import FileTooLarge, read_at_most

photo_app = typer.Typer(help="Photos: check them against the e-licence photo rules (照片要求).", no_args_is_help=True)

PROGRESS_FROM = 5
"""A progress bar on stderr from this many files (and only when stderr is a terminal)."""


def _read(path: Path) -> bytes:
    """The file's bytes (`FileTooLarge` past the upload limit). Only a regular file is read: opening a FIFO waits
    for a writer forever, and a device (/dev/zero, /dev/stdin) is no photo."""
    if not stat.S_ISREG(path.stat().st_mode):
        raise OSError(errno.EINVAL, "not a regular file / 不是普通文件")
    return read_at_most(path, DEFAULT_RULES.max_bytes)


def _result(path: Path, data: bytes, *, measurements: bool) -> dict[str, Any]:
    try:
        checked = check_photo(data, rules=DEFAULT_RULES)
    except PhotoRejected as refused:
        return {
            "file": str(path),
            "passed": False,
            "refusals": [{"code": refused.code, "message_zh": refused.message_zh, "message_en": refused.message_en}],
            "flags": [],
        }
    out: dict[str, Any] = {
        "file": str(path),
        "passed": True,
        "refusals": [],
        "flags": [f.as_dict() for f in checked.flags],
    }
    if measurements:
        out["measurements"] = {k: v for k, v in checked.measurements.items() if k != "flags"}
    return out


@photo_app.command("check")
def check(
    files: Annotated[list[Path], typer.Argument(help="photo files (JPEG or PNG)", show_default=False)],
    measurements: Annotated[
        bool, typer.Option("--measurements", help="add what was measured to each passed photo's object")
    ] = False,
) -> None:
    """Check photos against every automatic rule; one JSON object per file on stdout."""
    console = Console(stderr=True)
    refused = unreadable = False
    progress = Progress(
        TextColumn("检查照片 / checking photos"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=len(files) < PROGRESS_FROM or not console.is_terminal,
    )
    with progress:
        task = progress.add_task("photos", total=len(files))
        for path in files:
            try:
                data = _read(path)
            except FileTooLarge:
                data = b"\0" * (DEFAULT_RULES.max_bytes + 1)  # refused as file_too_large, with the limit in words
            except OSError as exc:
                unreadable = True
                reason = exc.strerror or type(exc).__name__
                typer.echo(f"edl: error: cannot read {path}: {reason}", err=True)
                progress.advance(task)
                continue
            result = _result(path, data, measurements=measurements)
            refused = refused or not result["passed"]
            typer.echo(json.dumps(result, ensure_ascii=False))
            progress.advance(task)
    if unreadable:
        raise typer.Exit(2)
    if refused:
        raise typer.Exit(1)
