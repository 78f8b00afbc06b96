"""The e-licence's symbols as SVG (and PNG for checks): a QR code (segno) and a Code128 barcode (python-barcode).

The libraries encode the symbols (`segno` the QR, `python-barcode` the Code128 modules); this module only lays the
modules out. The SVGs carry no `style` attributes (the page's CSP forbids inline styles) and scale with their box:
without `box` they fill whatever holds them (CSS on the page, or a positioned `<svg>` in a rendered licence page).
"""

from __future__ import annotations

import io

import segno
from barcode import Code128
from barcode.charsets import code128 as _code128_sets
from markupsafe import Markup, escape
from PIL import Image

QR_ERROR = "m"
QR_BORDER = 4
"""The quiet zone the QR standard asks for, in modules."""
BARCODE_QUIET = 10
"""Code128 quiet zone on each side, in modules (at least 10 by ISO/IEC 15417)."""

Box = tuple[float, float, float, float]
"""x, y, width, height of a symbol placed inside a larger SVG."""


def barcode_caption(number: str) -> str:
    """The barcode number as printed under the bars: groups of four digits, easier to type (spaces are ignored when
    it is read back). The bars hold the number itself (`edl.credentials.barcode`, made with the live code)."""
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


def _box_attrs(box: Box | None) -> str:
    if box is None:
        return ""
    x, y, w, h = box
    return f' x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}"'


def qr_svg(payload: str, *, title: str, box: Box | None = None, svgclass: str = "code-qr") -> Markup:
    """The QR code as an `<svg>` element (viewBox in modules) with an accessible title; placed at `box` if given."""
    qr = segno.make(payload, error=QR_ERROR, micro=False)
    svg = qr.svg_inline(
        scale=1, border=QR_BORDER, omitsize=True, dark="#000", light="#fff", svgclass=svgclass, lineclass=None
    )
    head, _, rest = svg.partition(">")
    # segno's own SVG (digits and fixed attributes only) with an escaped title: safe to mark as markup.
    return Markup(  # noqa: S704
        f'{head}{_box_attrs(box)} role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>{rest}'
    )


def qr_version(payload: str) -> int:
    """The QR version segno picks for `payload` at our error level (the code must stay at 10 or lower)."""
    version = segno.make(payload, error=QR_ERROR, micro=False).version
    return int(version)


def qr_png(payload: str, *, scale: int = 4) -> bytes:
    """The same QR code as a PNG (for tests and checks)."""
    buf = io.BytesIO()
    segno.make(payload, error=QR_ERROR, micro=False).save(buf, kind="png", scale=scale, border=QR_BORDER)
    return buf.getvalue()


class _Code128(Code128):  # type: ignore[misc]
    """python-barcode's Code128 without its start-code bug.

    Its `_try_to_optimize` folds "start code + switch code" into one start code, but it also takes the *data* value
    99 (the digit pair "99" in code set C) for the switch "Code C": a payload starting with "99" lost those two
    digits (seen with python-barcode 0.16.1; a test pins it). In code set C there is no switch to C, so a 99 after
    Start C is always data and is left alone.
    """

    def _try_to_optimize(self, encoded: list[int]) -> list[int]:
        if encoded[:2] == [_code128_sets.START_CODES["C"], 99]:
            return encoded
        result: list[int] = super()._try_to_optimize(encoded)
        return result


def code128_modules(payload: str) -> str:
    """The Code128 symbol as python-barcode encodes it: '1' for a bar module, '0' for a space (no quiet zone)."""
    return str(_Code128(payload).build()[0])


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


def code128_svg(
    payload: str, *, title: str, height: int = 40, box: Box | None = None, svgclass: str = "code-bar"
) -> Markup:
    """The Code128 barcode as an `<svg>`: one rect per bar, quiet zones included; stretches to its box's width."""
    modules = code128_modules(payload)
    width = len(modules) + 2 * BARCODE_QUIET
    rects = "".join(f'<rect x="{BARCODE_QUIET + x}" y="0" width="{w}" height="{height}"/>' for x, w in _bars(modules))
    # Numbers we computed plus an escaped title: safe to mark as markup.
    return Markup(  # noqa: S704
        f'<svg class="{escape(svgclass)}"{_box_attrs(box)} viewBox="0 0 {width} {height}" preserveAspectRatio="none" '
        f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f'<rect width="{width}" height="{height}" fill="#fff"/><g fill="#000">{rects}</g></svg>'
    )


def code128_png(payload: str, *, module_px: int = 2, height_px: int = 80) -> bytes:
    """The same barcode as a PNG, drawn from the same modules (for tests and checks)."""
    modules = "0" * BARCODE_QUIET + code128_modules(payload) + "0" * BARCODE_QUIET
    img = Image.new("L", (len(modules) * module_px, height_px), 255)
    for x, w in _bars(modules):
        img.paste(0, (x * module_px, 0, (x + w) * module_px, height_px))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()
