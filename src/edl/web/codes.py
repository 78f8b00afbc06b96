"""The e-licence's codes as inline SVG for the pages (and PNG for checks): a QR code (segno) and a Code128 barcode.

The symbols are encoded by the libraries (`segno` for QR, `python-barcode` for Code128); this module only lays the
modules out. The SVGs carry no `style` attributes (the CSP forbids inline styles) and scale with CSS.
"""

from __future__ import annotations

import io
from datetime import datetime

import segno
from barcode import Code128
from markupsafe import Markup, escape
from PIL import Image

QR_ERROR = "m"
QR_BORDER = 4
"""The quiet zone the QR standard asks for, in modules."""
BARCODE_QUIET = 10
"""Code128 quiet zone on each side, in modules (at least 10 by ISO/IEC 15417)."""
QR_PREFIX = "EDL-ELICENCE"


def licence_qr_payload(elicence_id: str, issued_at: datetime) -> str:
    """What the e-licence QR holds FOR NOW: `EDL-ELICENCE:<id>:<generation time, epoch seconds>`.

    Placeholder until the short-lived signed code (亮码) replaces it in a later issue: it identifies the e-licence
    but proves nothing by itself; a verifier must look the id up online.
    """
    return f"{QR_PREFIX}:{elicence_id}:{int(issued_at.timestamp())}"


def licence_barcode_payload(elicence_id: str) -> str:
    """What the 1D barcode holds FOR NOW: the e-licence id (replaced with the signed code's reference later)."""
    return elicence_id


def qr_svg(payload: str, *, title: str) -> Markup:
    """The QR code as an `<svg>` element (viewBox in modules, no fixed size) with an accessible title."""
    qr = segno.make(payload, error=QR_ERROR, micro=False)
    svg = qr.svg_inline(
        scale=1, border=QR_BORDER, omitsize=True, dark="#000", light="#fff", svgclass="code-qr", lineclass=None
    )
    head, _, rest = svg.partition(">")
    # segno's own SVG (digits and fixed attributes only) with an escaped title: safe to mark as HTML.
    return Markup(  # noqa: S704
        f'{head} role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>{rest}'
    )


def qr_png(payload: str, *, scale: int = 4) -> bytes:
    """The same QR code as a PNG (for tests and downloads)."""
    buf = io.BytesIO()
    segno.make(payload, error=QR_ERROR, micro=False).save(buf, kind="png", scale=scale, border=QR_BORDER)
    return buf.getvalue()


def code128_modules(payload: str) -> str:
    """The Code128 symbol as python-barcode encodes it: '1' for a bar module, '0' for a space (no quiet zone)."""
    return str(Code128(payload).build()[0])


def _bars(modules: str) -> list[tuple[int, int]]:
    """(start, width) of each run of bar modules."""
    runs: list[tuple[int, int]] = []
    start = -1
    for i, m in enumerate(modules + "0"):
        if m == "1" and start < 0:
            start = i
        elif m != "1" and start >= 0:
            runs.append((start, i - start))
            start = -1
    return runs


def code128_svg(payload: str, *, title: str, height: int = 40) -> Markup:
    """The Code128 barcode as an `<svg>`: one rect per bar, quiet zones included; stretches to its box's width."""
    modules = code128_modules(payload)
    width = len(modules) + 2 * BARCODE_QUIET
    rects = "".join(f'<rect x="{BARCODE_QUIET + x}" y="0" width="{w}" height="{height}"/>' for x, w in _bars(modules))
    # Numbers we computed plus an escaped title: safe to mark as HTML.
    return Markup(  # noqa: S704
        f'<svg class="code-bar" viewBox="0 0 {width} {height}" preserveAspectRatio="none" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f'<rect width="{width}" height="{height}" fill="#fff"/><g fill="#000">{rects}</g></svg>'
    )


def code128_png(payload: str, *, module_px: int = 2, height_px: int = 80) -> bytes:
    """The same barcode as a PNG, drawn from the same modules (for tests and downloads)."""
    modules = "0" * BARCODE_QUIET + code128_modules(payload) + "0" * BARCODE_QUIET
    img = Image.new("L", (len(modules) * module_px, height_px), 255)
    for x, w in _bars(modules):
        img.paste(0, (x * module_px, 0, (x + w) * module_px, height_px))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()
