"""`edl credential code LICENCE_NO [--barcode]`: print a fresh 亮码 (live code), or the barcode number made with it,
for operators and tests."""

from __future__ import annotations

from typing import Annotated

import typer


def credential_code(
    number: Annotated[str, typer.Argument(help="licence number (证号) with a live e-licence")],
    barcode: Annotated[
        bool, typer.Option("--barcode", help="print the number under the barcode instead (valid 1 to 2 minutes)")
    ] = False,
) -> None:
    """Print a fresh signed live code (EDL1:...) for the licence's live e-licence; it expires in a few minutes.
    With --barcode, the barcode number made at the same moment (docs/code-format.md)."""
    from edl.cli import fail, open_container
    from edl.db.session import transaction
    from edl.issuance.livecodes import LiveCodeRefused, NoActiveElicence, make_live_code

    container = open_container()
    try:
        with transaction(container.sessions) as session:
            live = make_live_code(session, container, number, at=container.clock())
    except (NoActiveElicence, LiveCodeRefused) as exc:
        fail(str(exc))
    finally:
        container.dispose()
    typer.echo(live.barcode if barcode else live.text)
