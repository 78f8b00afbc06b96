"""`edl credential code LICENCE_NO`: print a fresh 亮码 (live code) for operators and tests."""

from __future__ import annotations

from typing import Annotated

import typer


def credential_code(
    number: Annotated[str, typer.Argument(help="licence number (证号) with a live e-licence")],
) -> None:
    """Print a fresh signed live code (EDL1:...) for the licence's live e-licence; it expires in a few minutes."""
    from edl.cli import fail, open_container
    from edl.db.session import transaction
    from edl.elicences.livecode_service import LiveCodeRefused, NoActiveElicence, make_live_code

    container = open_container()
    try:
        with transaction(container.sessions) as session:
            live = make_live_code(session, container, number, at=container.clock())
    except (NoActiveElicence, LiveCodeRefused) as exc:
        fail(str(exc))
    finally:
        container.dispose()
    typer.echo(live.text)
