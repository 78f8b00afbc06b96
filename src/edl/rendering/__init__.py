"""Showing the licence (亮证): the front page (正页) and secondary page (副页) as SVG from one source, and as PNG / PDF.

- `card`: what the pages show, as plain values (`Card`, `card_of`).
- `pages`: the SVG of each page (`front_page`, `secondary_page`), used inline on the phone page.
- `output`: PNG and PDF through cairosvg (`render_png`, `render_pdf`), refused with `FontMissing` without a font
  for Chinese (`fonts.cjk_font`).
- `service`: loads a card from the registry with a fresh live code (`load_card`).
- `codes`: the QR code (segno) and Code128 barcode (python-barcode) as SVG.
"""

from edl.rendering.card import Card, CodeView, card_of
from edl.rendering.fonts import CjkFont, FontMissing, cjk_font
from edl.rendering.output import PageName, render_pdf, render_png
from edl.rendering.pages import Page, front_page, secondary_page

__all__ = [
    "Card",
    "CjkFont",
    "CodeView",
    "FontMissing",
    "Page",
    "PageName",
    "card_of",
    "cjk_font",
    "front_page",
    "render_pdf",
    "render_png",
    "secondary_page",
]
