"""`edl registry …`: import registry files and generate synthetic ones. Thin: parse, call a service, print."""

from __future__ import annotations

import getpass
from datetime import datetime
from pathlib import Path
from time import perf_counter
from types import TracebackType

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from edl.bootstrap import bootstrap
from edl.cli.common import fail, settings
from edl.registry.formats import ImportRefused
from edl.registry.generator import PHOTOS_UP_TO, generate, photos_by_default
from edl.registry.importer import DEFAULT_BATCH, ImportAborted, ImportProgress, import_file

registry_app = typer.Typer(
    help="The licence registry (信息系统): import records from CSV / JSON Lines, generate synthetic ones.",
    no_args_is_help=True,
)


class _Bar:
    """A Rich progress bar on stderr (so stdout carries only the summary line) with rows and rows/s."""

    def __init__(self, label: str) -> None:
        self._started = perf_counter()
        console = Console(stderr=True)
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rows]:>12,} rows"),
            TextColumn("{task.fields[rate]:>9,.0f} rows/s"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        )
        self._task = self._progress.add_task(label, total=None, rows=0, rate=0.0)

    def __enter__(self) -> _Bar:
        self._progress.start()
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self._progress.stop()

    def update(self, done: int, total: int, rows: int) -> None:
        rate = rows / max(perf_counter() - self._started, 1e-9)
        self._progress.update(self._task, completed=done, total=total, rows=rows, rate=rate)

    def imported(self, p: ImportProgress) -> None:
        self.update(p.bytes_read, p.bytes_total, p.rows)


def _default_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@registry_app.command("import")
def import_command(
    file: Path = typer.Argument(..., help="CSV (.csv) or JSON Lines (.jsonl, .ndjson) file, optionally .gz"),
    rejects: Path | None = typer.Option(
        None, "--rejects", help="CSV of rejected rows: line, reason, raw [default: FILE.rejects.csv]"
    ),
    actor: str = typer.Option(_default_actor(), "--actor", help="who runs the import (recorded in import_runs)"),
    batch_size: int = typer.Option(DEFAULT_BATCH, "--batch-size", min=100, max=200_000, help="rows per transaction"),
) -> None:
    """Import licence records; re-importing a file changes nothing. See docs/registry-format.md."""
    if not file.is_file():
        fail(f"{file}: no such file")
    container = bootstrap(settings(), migrate=True)
    try:
        with _Bar("importing") as bar:
            report = import_file(
                container.engine,
                file,
                rejects,
                actor,
                progress=bar.imported,
                batch_size=batch_size,
                clock=container.clock,
            )
    except ImportRefused as exc:
        fail(str(exc))
    except ImportAborted as exc:
        typer.echo(f"edl: import aborted: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        container.dispose()
    typer.echo(report.summary())


@registry_app.command("generate")
def generate_command(
    count: int = typer.Option(..., "--count", min=1, help="number of records"),
    out: Path = typer.Option(..., "--out", help="output file: .csv or .jsonl/.ndjson, optionally .gz"),
    seed: int = typer.Option(0, "--seed", help="same seed, count and --as-of: same file"),
    photos: bool | None = typer.Option(
        None,
        "--photos/--no-photos",
        help=f"render portraits into the photo store [default: on up to {PHOTOS_UP_TO:,} records]",
    ),
    as_of: datetime | None = typer.Option(
        None, "--as-of", formats=["%Y-%m-%d"], help="the date the data describes [default: today]"
    ),
) -> None:
    """Write realistic synthetic licence records (some ineligible for an e-licence), importable with 0 rejects."""
    render = photos_by_default(count) if photos is None else photos
    store = bootstrap(settings()).photos if render else None
    try:
        with _Bar("generating") as bar:
            report = generate(
                out,
                count,
                seed=seed,
                as_of=as_of.date() if as_of else None,
                photos=store,
                progress=lambda done: bar.update(done, count, done),
            )
    except ImportRefused as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{out}: cannot write: {exc.strerror or exc}")
    typer.echo(report.summary())
