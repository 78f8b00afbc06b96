"""The licence pages as files: PNG (one page) and PDF (both pages, one PDF page each), drawn by cairosvg.

Before drawing, `edl.rendering.fonts.cjk_font` picks the font for Chinese (a system Noto Sans CJK SC, else the
Noto Sans SC shipped in the package, registered with fontconfig in this process) and its family is named first in
the SVG; only when neither can be used is FontMissing raised, with what to do, rather than a picture of empty boxes.
cairosvg runs in its safe mode: no XML entities, no external files or URLs (the photo is embedded as a data URI).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

import cairocffi
import cairosvg
from cairosvg.parser import Tree
from cairosvg.surface import PDFSurface

from edl.rendering.card import Card
from edl.rendering.fonts import cjk_font
from edl.rendering.pages import Page, front_page, photo_data_uri, secondary_page

PNG_SCALE = 2.0
"""PNG pixels per SVG unit: a 1200-pixel-wide page, sharp on a phone and easy to scan."""


class PageName(StrEnum):
    FRONT = "front"
    SECONDARY = "secondary"


def raster_pages(card: Card, names: Sequence[PageName] = (PageName.FRONT, PageName.SECONDARY)) -> list[Page]:
    """The pages for drawing: the CJK family (system or shipped) first, the photo embedded (raises FontMissing)."""
    family = f"{cjk_font().family}, sans-serif"
    photo = photo_data_uri(card.photo) if card.photo else None
    built = {
        PageName.FRONT: lambda: front_page(card, photo_href=photo, font_family=family),
        PageName.SECONDARY: lambda: secondary_page(card, font_family=family),
    }
    return [built[name]() for name in names]


def svg_to_png(page: Page, *, scale: float = PNG_SCALE) -> bytes:
    png: bytes = cairosvg.svg2png(bytestring=str(page.svg).encode("utf-8"), scale=scale, unsafe=False)
    return png


def svgs_to_pdf(pages: Sequence[Page]) -> bytes:
    """One PDF with one page per SVG, each page sized to its SVG."""
    out = io.BytesIO()
    target = cairocffi.PDFSurface(out, 1, 1)
    for page in pages:
        tree = Tree(bytestring=str(page.svg).encode("utf-8"), unsafe=False)
        _PdfPage(tree, None, 96, target=target)
        target.show_page()
    target.finish()
    return out.getvalue()


class _PdfPage(PDFSurface):  # type: ignore[misc]
    """cairosvg's PDF drawing, onto a page of a shared cairo PDF surface instead of a new file per SVG."""

    def __init__(self, tree: Tree, output: Any, dpi: float, *, target: cairocffi.PDFSurface) -> None:
        self._target = target
        super().__init__(tree, output, dpi)

    def _create_surface(self, width: float, height: float) -> tuple[cairocffi.PDFSurface, float, float]:
        self._target.set_size(width, height)
        return self._target, width, height


def render_png(card: Card, page: PageName, *, scale: float = PNG_SCALE) -> bytes:
    """One licence page as PNG (raises FontMissing only without any usable Chinese font)."""
    (built,) = raster_pages(card, (page,))
    return svg_to_png(built, scale=scale)


def render_pdf(card: Card, pages: Sequence[PageName] = (PageName.FRONT, PageName.SECONDARY)) -> bytes:
    """The licence pages as one PDF (raises FontMissing only without any usable Chinese font)."""
    return svgs_to_pdf(raster_pages(card, pages))
