"""`edl relying-party ...`: relying parties (核验方) and their API keys: add, list, revoke. Every change is audited.

`add` prints the key once on stdout (the warning that it will not be shown again goes to stderr, so a script can
capture the key alone). `add` needs the party's authority scope spelled out: `--authority CODE` (repeat for several;
a province code such as 370000 covers the whole province) or `--all-authorities` (national), never a silent default.
`list` shows each party's scope and never a key, only its public prefix.
"""

from __future__ import annotations

from typing import Annotated

import typer

from edl.accounts import AccountError, parse_authorities
from edl.audit import ActorKind
from edl.cli.common import cli_actor, fail, open_container
from edl.db.session import transaction
from edl.domain.dates import CHINA_TZ
from edl.domain.scope import AuthorityScope
from edl.verification.parties import PartyRefused, list_parties, register_party, revoke_party
from edl.verification.purposes import InvalidPurpose, parse_purpose

relying_app = typer.Typer(help="Relying parties (verifiers) and their API keys.", no_args_is_help=True)


@relying_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="the party's name, e.g. 'Example Car Rental, front desk'")],
    purpose: Annotated[str | None, typer.Option("--purpose", help="police, rental, employer or insurer")] = None,
    fields: Annotated[
        str | None,
        typer.Option("--fields", help="comma-separated fields (narrows the purpose's; configures an insurer's)"),
    ] = None,
    rate: Annotated[
        int | None, typer.Option("--rate", help="requests per minute (default: EDL_RATE_LIMIT_PER_MINUTE)")
    ] = None,
    authority: Annotated[
        list[str] | None,
        typer.Option("--authority", help="area code (6 digits) whose licences it may check; repeat for several"),
    ] = None,
    all_authorities: Annotated[
        bool, typer.Option("--all-authorities", help="national: it may check licences of every authority")
    ] = False,
) -> None:
    """Register a relying party; prints its API key once."""
    if purpose is None:
        fail("--purpose is required: police, rental, employer or insurer")
    try:
        chosen = parse_purpose(purpose)
    except InvalidPurpose as exc:
        fail(str(exc))
    if not authority and not all_authorities:
        fail("give --authority CODE (repeat for several) or --all-authorities: a party's scope is never assumed")
    try:
        scope = AuthorityScope.of(parse_authorities(authority or [], all_authorities=all_authorities))
    except AccountError as exc:
        fail(str(exc))
    field_list = [f for f in fields.split(",") if f.strip()] if fields is not None else None
    if fields is not None and not field_list:
        fail("--fields is empty: name at least one field, or leave it out for the purpose's own")
    c = open_container()
    try:
        with transaction(c.sessions) as s:
            party, key = register_party(
                s,
                name=name,
                purpose=chosen,
                fields=field_list,
                rate_per_minute=rate,
                scope=scope,
                actor=cli_actor(),
                actor_kind=ActorKind.CLI,
                at=c.clock(),
            )
        default_rate = c.settings.rate_limit_per_minute
    except PartyRefused as exc:
        fail(str(exc))
    finally:
        c.dispose()
    typer.echo(
        f"registered relying party {party.name} (id {party.id}; purpose {party.purpose.value}; "
        f"fields {','.join(f.value for f in party.fields)}; {party.limit(default_rate)} per minute; "
        f"authorities {_scope_text(party.scope)})",
        err=True,
    )
    typer.echo("its API key follows; it is shown only this once and cannot be shown again:", err=True)
    typer.echo(key)


@relying_app.command("list")
def list_command(
    active: Annotated[bool, typer.Option("--active", help="only parties whose key is not revoked")] = False,
) -> None:
    """A table of relying parties: id, name, purpose, fields, authorities, key prefix, rate, state (never the key)."""
    from rich.console import Console
    from rich.table import Table

    c = open_container()
    try:
        with c.sessions() as s:
            parties = list_parties(s, include_revoked=not active)
        default_rate = c.settings.rate_limit_per_minute
    finally:
        c.dispose()
    table = Table(title="relying parties", show_lines=False)
    for column in ("id", "name", "purpose", "fields", "authorities", "key", "per min", "created", "state"):
        table.add_column(column, overflow="fold")
    for p in parties:
        state = f"revoked {p.revoked_at.astimezone(CHINA_TZ):%Y-%m-%d %H:%M}" if p.revoked_at else "active"
        table.add_row(
            p.id,
            p.name,
            p.purpose.value,
            ",".join(f.value for f in p.fields),
            _scope_text(p.scope),
            p.key_prefix + "…",
            str(p.rate_per_minute) if p.rate_per_minute else f"{default_rate} (default)",
            f"{p.created_at.astimezone(CHINA_TZ):%Y-%m-%d %H:%M}",
            state,
        )
    Console(width=200 if not typer.get_text_stream("stdout").isatty() else None).print(table)
    if not parties:
        typer.echo("no relying parties", err=True)


def _scope_text(scope: AuthorityScope) -> str:
    return "* (all)" if scope.codes is None else ",".join(sorted(scope.codes))


@relying_app.command("revoke")
def revoke(party_id: Annotated[str, typer.Argument(help="the party's id (from `edl relying-party list`)")]) -> None:
    """Revoke a party's API key: running app servers refuse it within a few seconds (their key cache)."""
    c = open_container()
    try:
        with transaction(c.sessions) as s:
            record = revoke_party(
                s, party_id.strip(), keys=c.party_keys, actor=cli_actor(), actor_kind=ActorKind.CLI, at=c.clock()
            )
    except PartyRefused as exc:
        fail(str(exc))
    finally:
        c.dispose()
    typer.echo(f"revoked the key of relying party {record.name} ({record.id})")
