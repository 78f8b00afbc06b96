"""`edl demo`: the main job. Prepares the demo (keys, synthetic drivers with portraits imported into the registry,
demo staff and relying parties; idempotent), then serves it on 127.0.0.1."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import func, select

from edl.accounts.staff import Role, add_staff_user, list_staff_users
from edl.audit import ActorKind
from edl.bootstrap import Container
from edl.cli.common import open_container, run_server
from edl.db.models import ApplicationRow, LicenceRow
from edl.db.session import transaction
from edl.pki import Authority
from edl.pki.files import PRIVATE_FILE_MODE, write_atomic


def demo(
    count: Annotated[int, typer.Option(min=1, max=100_000, help="synthetic drivers to load on first start")] = 1000,
    port: Annotated[int | None, typer.Option(help="port (default EDL_PORT, 8000)")] = None,
    seed: Annotated[int, typer.Option(help="seed for the synthetic data")] = 2021,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="prepare everything, then exit")] = False,
) -> None:
    """The main job: data directory, migrations, keys, synthetic drivers, then the web server on 127.0.0.1."""

    container = open_container(migrate=True)
    container.settings.demo = True
    container.settings.host = "127.0.0.1"
    if "EDL_FACE_PROVIDER" not in os.environ:
        # The demo's drivers have drawn portraits that no face model recognises: a named lenient provider.
        container.settings.face_provider = "lenient-demo"
    if port:
        container.settings.port = port
    summary = prepare_demo(container, count=count, seed=seed, echo=typer.echo)
    for line in summary:
        typer.echo(line)
    if no_serve:
        container.dispose()
        return
    typer.echo(f"eDL demo: open http://127.0.0.1:{container.settings.port}/  (Ctrl+C stops)")
    run_server(container)


def prepare_demo(container: Container, *, count: int, seed: int, echo: Callable[[str], None]) -> list[str]:
    """Make what the demo needs if it is missing; return lines that say what is there."""
    from edl.registry.generator import generate
    from edl.registry.importer import import_file

    data_dir = container.settings.data_dir
    now = container.clock()
    authority = Authority.open(data_dir)
    if not authority.is_initialised():
        authority.init(at=now)
        echo("created the issuing-authority root certificate and a document signer (keys are owner-only)")
    with container.sessions() as s:
        existing = s.scalar(select(func.count()).select_from(LicenceRow)) or 0
    if existing == 0:
        out = data_dir / "demo-drivers.csv"
        echo(f"generating {count:,} synthetic drivers with portraits …")
        generated = generate(out, count, seed=seed, as_of=now.date(), photos=container.photos)
        echo(generated.summary())
        report = import_file(container.engine, out, actor="demo", clock=container.clock)
        echo(report.summary())
        existing = report.accepted
    staff_file = _demo_staff(container, echo=echo)
    parties_file = _demo_parties(container, echo=echo)
    root = authority.root_certificate()
    samples = _demo_samples(container)
    return [
        f"data directory: {data_dir.resolve()}",
        f"database: {container.engine.url.render_as_string(hide_password=True)}",
        f"registry: {existing:,} licences",
        f"trust anchor: {root.subject.rfc4514_string()} (export with `edl trust export --out DIR`)",
        f"review console: /review (demo staff accounts and passwords in {staff_file}, owner-only)",
        "driver app: /app (sign-in codes appear on /dev/sms in the demo)",
        f"verifier page: /verify (demo relying-party API keys in {parties_file}, owner-only)",
        "trust bundle: /.well-known/edl/trust · status list: /status-lists/1",
        *(
            f"try the driver app ({d['case']} photo) as {d['name']}: sign in with {d['mobile']}, bind {d['number']}"
            for d in samples
        ),
        f"landing page: / (lists the entry points and these drivers; samples in {data_dir / SAMPLES_FILE})",
    ]


SAMPLES_FILE = "demo-samples.json"
"""The three sample drivers the landing page (/) lists in demo mode; written by the demo, owner-only."""
SAMPLE_CASES = ("stored", "camera", "album")
"""One sample per photo case: the compliant stored photo reused (case a), a new photo taken with the camera or
chosen from the album as an ID photo (case b: the stored photo is the old blue-background one)."""
SAMPLE_MIN_VALIDITY_DAYS = 180
"""A sample's licence stays valid at least this long, so it is still eligible while someone tries the demo."""


def _demo_samples(container: Container) -> list[dict[str, str]]:
    """Three eligible drivers, one per photo case, written to SAMPLES_FILE for the landing page; chosen again on
    each start, so a sample who has since applied or been suspended is replaced. Synthetic people only."""
    from edl.registry.mapping import licence_from_row

    today = container.clock().date()
    rollout = container.rollout
    wanted = {"stored": True, "camera": False, "album": False}
    picked: dict[str, dict[str, str]] = {}
    taken: set[str] = set()
    with container.sessions() as s:
        busy = set(s.scalars(select(ApplicationRow.licence_number)))
        for case in SAMPLE_CASES:
            rows = s.scalars(
                select(LicenceRow)
                .where(
                    LicenceRow.statuses == "A",
                    LicenceRow.photo_compliant.is_(wanted[case]),
                    LicenceRow.photo_ref.is_not(None),
                    LicenceRow.mobile.is_not(None),
                )
                .order_by(LicenceRow.number)
                .limit(50)
            )
            for row in rows:
                lic = licence_from_row(row)
                if row.number in taken or row.number in busy or not lic.eligibility(today, rollout).eligible:
                    continue
                if lic.validity.end is not None and (lic.validity.end - today).days < SAMPLE_MIN_VALIDITY_DAYS:
                    continue
                picked[case] = {"case": case, "name": row.name, "mobile": row.mobile or "", "number": row.number}
                taken.add(row.number)
                break
    samples = [picked[c] for c in SAMPLE_CASES if c in picked]
    path = container.settings.data_dir / SAMPLES_FILE
    document = {"samples": samples, "staff_file": "demo-staff.txt", "parties_file": "demo-parties.txt"}
    write_atomic(path, json.dumps(document, ensure_ascii=False, indent=1).encode(), mode=PRIVATE_FILE_MODE)
    return samples


DEMO_STAFF = (
    ("reviewer", Role.REVIEWER, "审核员（演示）"),
    ("supervisor", Role.SUPERVISOR, "主管（演示）"),
    ("admin", Role.ADMIN, "管理员（演示）"),
)


def _demo_staff(container: Container, *, echo: Callable[[str], None]) -> Path:
    """Staff accounts for the review console, once: generated passwords go to an owner-only file (never the log)."""
    path = container.settings.data_dir / "demo-staff.txt"
    if path.exists():
        return path
    lines = []
    with transaction(container.sessions) as session:
        if list_staff_users(session):
            return path
        for username, role, name in DEMO_STAFF:
            made = add_staff_user(
                session,
                username,
                role=role,
                authorities=None,
                display_name=name,
                actor_kind=ActorKind.CLI,
                actor="demo",
                at=container.clock(),
            )
            lines.append(f"{username}\t{role.value}\t{made.password}")
    write_atomic(path, ("\n".join(lines) + "\n").encode(), mode=PRIVATE_FILE_MODE)
    echo(f"created demo staff accounts {', '.join(u for u, _r, _n in DEMO_STAFF)} (passwords in {path})")
    return path


DEMO_PARTIES = (
    ("交警执法终端（演示）", "police"),
    ("汽车租赁门店（演示）", "rental"),
    ("用人单位（演示）", "employer"),
    ("保险公司（演示）", "insurer"),
)


def _demo_parties(container: Container, *, echo: Callable[[str], None]) -> Path:
    """One relying party per purpose, once: their API keys go to an owner-only file (never the log)."""
    from edl.verification.parties import list_parties, register_party
    from edl.verification.purposes import Purpose

    path = container.settings.data_dir / "demo-parties.txt"
    if path.exists():
        return path
    lines = []
    with transaction(container.sessions) as session:
        if list_parties(session):
            return path
        for name, purpose in DEMO_PARTIES:
            _party, key = register_party(
                session, name=name, purpose=Purpose(purpose), actor="demo", at=container.clock()
            )
            lines.append(f"{purpose}\t{key}\t{name}")
    write_atomic(path, ("\n".join(lines) + "\n").encode(), mode=PRIVATE_FILE_MODE)
    echo(f"created demo relying parties ({', '.join(p for _n, p in DEMO_PARTIES)}; API keys in {path})")
    return path
