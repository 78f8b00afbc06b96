"""The e-licence's codes for the pages: the symbols live in `edl.rendering.codes` (shared with the rendered licence
pages and the CLI); this module keeps the web layer's names.

The QR holds the short-lived signed code (亮码, `EDL1:...`, made by `edl.issuance.livecodes`); the Code128
barcode holds a short-lived number made with it (`edl.credentials.barcode`), never the fixed e-licence id.
"""

from __future__ import annotations

from edl.rendering.codes import (
    BARCODE_QUIET,
    QR_BORDER,
    QR_ERROR,
    barcode_caption,
    code128_modules,
    code128_png,
    code128_svg,
    qr_png,
    qr_svg,
    qr_version,
)

__all__ = [
    "BARCODE_QUIET",
    "QR_BORDER",
    "QR_ERROR",
    "barcode_caption",
    "code128_modules",
    "code128_png",
    "code128_svg",
    "qr_png",
    "qr_svg",
    "qr_version",
]
