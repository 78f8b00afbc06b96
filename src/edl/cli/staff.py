"""`edl staff ...`: staff accounts of the review console (add, list, disable). Every change is audited.

A generated password is printed once on stdout (the message about it goes to stderr, so scripts can capture the
password alone); `--password-stdin` reads a chosen one instead and prints nothing secret.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from edl.accounts import (
    AccountError,
    add_staff_user,
    disable_staff_user,
    list_staff_users,
    parse_authorities,
    parse_role,
)
from edl.accounts.passwords import MAX_LENGTH
from edl.audit import ActorKind
from edl.cli.common import cli_actor, fail, open_container
from edl.db.session import transaction
from edl.domain.dates import CHINA_TZ

staff_app = typer.Typer(help="Staff accounts of the review console (审核工作人员).", no_args_is_help=True)

Username = Annotated[str, typer.Argument(help="login name: 2-64 lower-case letters, digits or . _ -")]


def _password_from_stdin() -> str:
    """The first line of stdin, read no further than one character past the longest password allowed (a longer
    line is then refused by the password rules, not read to its end)."""
    try:
        line = sys.stdin.readline(MAX_LENGTH + 1)
        line.encode("utf-8")  # stdin may decode bad bytes to lone surrogates (surrogateescape) instead of raising
    except UnicodeError:
        fail("the password on stdin is not UTF-8 text")
    except OSError as exc:
        fail(f"cannot read the password from stdin: {exc.strerror or exc}")
    return line.rstrip("\r\n")


@staff_app.command("add")
def add(
    username: Username,
    role: Annotated[str | None, typer.Option("--role", help="reviewer, supervisor or admin")] = None,
    authority: Annotated[
        list[str] | None, typer.Option("--authority", help="issuing-authority code (6 digits); repeat for several")
    ] = None,
    all_authorities: Annotated[bool, typer.Option("--all-authorities", help="act for every authority")] = False,
    name: Annotated[str | None, typer.Option("--name", help="display name (default: the username)")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from the first line of stdin")
    ] = False,
) -> None:
    """Add a staff user; prints a generated password once (unless --password-stdin)."""
    if role is None:
        fail("--role is required: reviewer, supervisor or admin")
    password: str | None = None
    try:
        parsed_role = parse_role(str(role))
        scope = parse_authorities(authority or [], all_authorities=all_authorities)
        if password_stdin:
            password = _password_from_stdin()
    except AccountError as exc:
        fail(str(exc))
    c = open_container()
    try:
        with transaction(c.sessions) as s:
            new = add_staff_user(
                s,
                username,
                role=parsed_role,
                authorities=scope,
                display_name=name,
                password=password,
                actor_kind=ActorKind.CLI,
                actor=cli_actor(),
                at=c.clock(),
            )
    except AccountError as exc:
        fail(str(exc))
    finally:
        c.dispose()
    scope_text = "all authorities" if new.user.authorities is None else ", ".join(sorted(new.user.authorities))
    if new.password is None:
        typer.echo(f"created staff user {new.user.username} ({new.user.role.value}; {scope_text})")
        return
    typer.echo(
        f"created staff user {new.user.username} ({new.user.role.value}; {scope_text}); "
        "its password follows and is shown only this once:",
        err=True,
    )
    typer.echo(new.password)


@staff_app.command("list")
def list_users() -> None:
    """One line per staff user: username, role, authorities, state, created (Beijing time), name."""
    c = open_container()
    try:
        with c.sessions() as s:
            users = list_staff_users(s)
    finally:
        c.dispose()
    for u in users:
        state = "active" if u.active else "disabled"
        scope = "*" if u.authorities is None else ",".join(sorted(u.authorities))
        typer.echo(
            "\t".join(
                (
                    u.username,
                    u.role.value,
                    scope,
                    state,
                    u.created_at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M"),
                    u.display_name,
                )
            )
        )


@staff_app.command("disable")
def disable(username: Username) -> None:
    """Disable a staff user and end their sessions at once (never the last active all-authority admin)."""
    c = open_container()
    try:
        with transaction(c.sessions) as s:
            user = disable_staff_user(s, username, actor_kind=ActorKind.CLI, actor=cli_actor(), at=c.clock())
    except AccountError as exc:
        fail(str(exc))
    finally:
        c.dispose()
    typer.echo(f"disabled staff user {user.username}")
