"""`edl licence ...`: show a registry licence and apply registry events (one command per event kind)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Annotated

import typer

from edl.bootstrap import Container
from edl.cli.common import fail, open_container
from edl.db.session import transaction
from edl.domain import AUTHORITIES_BY_CODE, DomainError, IssuingAuthority, Status, ValidityTerm, parse_classes
from edl.registry import events
from edl.registry.events import AppliedEvent

licence_app = typer.Typer(
    help="Show a licence and record registry events (状态、增驾、换证、记分 …).", no_args_is_help=True
)

Number = Annotated[str, typer.Argument(help="licence number (证号, 18 characters)")]
Actor = Annotated[str, typer.Option("--actor", help="who makes the change (recorded in the event log)")]


def _container() -> Container:
    return open_container()


def _run(number: str, actor: str, apply: Callable[..., AppliedEvent], *args: object) -> None:
    c = _container()
    try:
        with transaction(c.sessions) as s:
            ev = apply(s, number, *args, actor=actor, at=c.clock())
    except DomainError as exc:
        fail(str(exc))
    finally:
        c.dispose()
    out = {"event": ev.id, "kind": ev.kind.value, "licence": number, "version": ev.version}
    if ev.kind.voids_elicence:
        out["voided_elicences"] = ev.voided_elicences
    typer.echo(json.dumps(out))


def _parse_status(code: str) -> Status:
    try:
        return Status.parse(code)
    except DomainError as exc:
        fail(str(exc))


@licence_app.command("show")
def show(number: Number) -> None:
    """Print one licence as JSON."""
    from edl.db.models import LicenceRow
    from edl.registry.mapping import licence_from_row

    c = _container()
    with c.sessions() as s:
        row = s.get(LicenceRow, number.strip().upper())
        if row is None:
            fail(f"no licence {number} in the registry")
        lic = licence_from_row(row)
        today = c.clock().date()
        out = {
            "number": str(lic.number),
            "file_number": lic.file_number,
            "name": lic.holder.name,
            "classes": [k.value for k in lic.classes],
            "validity": {
                "term": lic.validity.term.value,
                "from": str(lic.validity.start),
                "until": str(lic.validity.end) if lic.validity.end else None,
            },
            "authority": lic.authority.name,
            "statuses": sorted(x.value for x in lic.effective_statuses(today)),
            "points": lic.points_on(today),
            "version": row.version,
            "eligible": lic.eligibility(today, c.rollout).eligible,
        }
    c.dispose()
    typer.echo(json.dumps(out, ensure_ascii=False))


@licence_app.command("set-status")
def set_status(number: Number, status: str, actor: Actor = "cli") -> None:
    """Add a status, e.g. D (暂扣)."""
    _run(number, actor, events.set_status, _parse_status(status))


@licence_app.command("clear-status")
def clear_status(number: Number, status: str, actor: Actor = "cli") -> None:
    """Remove a status."""
    _run(number, actor, events.clear_status, _parse_status(status))


@licence_app.command("change-classes")
def change_classes(number: Number, classes: str, actor: Actor = "cli") -> None:
    """增驾/降级: new classes, e.g. "A2D" (voids the e-licence)."""
    try:
        parsed = parse_classes(classes)
    except DomainError as exc:
        fail(str(exc))
    _run(number, actor, events.change_classes, parsed)


@licence_app.command("renew")
def renew(
    number: Number,
    term: Annotated[str, typer.Argument(help="6, 10 or long (长期)")],
    start: Annotated[str, typer.Argument(help="YYYY-MM-DD")],
    actor: Actor = "cli",
) -> None:
    """换证: a new validity period (voids the e-licence)."""
    try:
        parsed_term, parsed_start = ValidityTerm.parse(term), date.fromisoformat(start)
    except (DomainError, ValueError) as exc:
        fail(str(exc))
    _run(number, actor, events.renew, parsed_term, parsed_start)


@licence_app.command("change-authority")
def change_authority(number: Number, code: str, name: str = "", city: str = "", actor: Actor = "cli") -> None:
    """转入: another issuing authority (a pilot-city code, or --name/--city for others; voids the e-licence)."""
    try:
        authority = AUTHORITIES_BY_CODE.get(code) if not name else IssuingAuthority(code, name, city or name)
    except DomainError as exc:
        fail(str(exc))
    if authority is None:
        fail(f"unknown authority code {code}: give --name and --city")
    _run(number, actor, events.change_authority, authority)


@licence_app.command("add-points")
def add_points(number: Number, points: int, description: str, on: str = "", actor: Actor = "cli") -> None:
    """记分 for an offence (12, 9, 6, 3 or 1 points) on --on (default today)."""
    try:
        when = date.fromisoformat(on) if on else _container().clock().date()
    except ValueError as exc:
        fail(str(exc))
    _run(number, actor, events.add_points, points, when, description)


@licence_app.command("change-address")
def change_address(number: Number, address: str, actor: Actor = "cli") -> None:
    """住址变更."""
    _run(number, actor, events.change_address, address)
