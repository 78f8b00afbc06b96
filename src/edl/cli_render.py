"""`edl credential render LICENCE_NO --out FILE [--page front|secondary]`: the licence pages (亮证) as PNG or PDF.

The format follows the file name: `.png` is one page (the front page unless `--page secondary`), `.pdf` is both
pages (or the one `--page` names). The front page's QR holds a fresh live code, valid for a few minutes. The file
holds personal data, so it is written owner-only. Bad input (extension, page, folder, number, no live e-licence, no
Chinese font) is refused with one line and exit code 2, before anything is signed or written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

FORMATS = (".png", ".pdf")


def credential_render(
    number: Annotated[str, typer.Argument(help="licence number (证号) with a live e-licence")],
    out: Annotated[
        Path, typer.Option("--out", help="file to write: .png (one page) or .pdf (both pages unless --page)")
    ],
    page: Annotated[
        str | None, typer.Option("--page", help="front | secondary (a PNG is the front page by default)")
    ] = None,
) -> None:
    """Render the e-licence's front (正页) and secondary (副页) pages to PNG or PDF, with a fresh live code."""
    import os

    from edl.cli import fail, open_container
    from edl.domain import DomainError
    from edl.issuance.livecodes import LiveCodeRefused, NoActiveElicence
    from edl.pki.files import PRIVATE_FILE_MODE, write_atomic
    from edl.registry.queries import LicenceNotFound
    from edl.rendering import FontMissing, PageName, cjk_font, render_pdf, render_png
    from edl.rendering.card import beijing
    from edl.rendering.service import load_card

    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        fail(f"{out}: the file name must end in .png or .pdf (got {suffix or 'no extension'})")
    try:
        chosen = PageName(page) if page is not None else None
    except ValueError:
        fail(f"--page must be one of: {', '.join(p.value for p in PageName)} (got {page!r})")
    folder = out.resolve().parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        fail(f"{out}: cannot write there (no such folder, or not writable)")
    if out.is_dir():
        fail(f"{out} is a folder: give a file name")
    try:
        cjk_font()
    except FontMissing as exc:
        fail(str(exc))

    container = open_container()
    try:
        source = load_card(container, number, at=container.clock())
    except (NoActiveElicence, LiveCodeRefused, DomainError, LicenceNotFound) as exc:
        fail(str(exc))
    finally:
        container.dispose()

    card = source.card
    try:
        if suffix == ".png":
            shown = chosen or PageName.FRONT
            data = render_png(card, shown)
            what = f"{shown.value} page"
        else:
            pages = (chosen,) if chosen else (PageName.FRONT, PageName.SECONDARY)
            data = render_pdf(card, pages)
            what = " and ".join(p.value for p in pages) + (" pages" if len(pages) > 1 else " page")
    except FontMissing as exc:
        fail(str(exc))
    try:
        write_atomic(out, data, mode=PRIVATE_FILE_MODE)
    except OSError as exc:
        fail(f"{out}: cannot write: {exc.strerror or exc}")
    typer.echo(
        f"wrote {out} ({what} of e-licence {card.elicence_id}; its code expires "
        f"{beijing(card.code.expires_at)} Beijing time)"
    )
