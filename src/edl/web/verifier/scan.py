"""Reading what a verifier scanned: the text of a QR code or a Code 128 (camera or uploaded image, read with
zxing-cpp), or a typed number, split into a signed code or a barcode number."""

from __future__ import annotations

import re

from edl.credentials.barcode import LENGTH, normalise_barcode_text
from edl.images import ImageUnreadable, open_image

CODE_PREFIX = "EDL1:"
_BARCODE_SHAPE = re.compile(rf"[0-9]{{{LENGTH}}}|[0-9a-f]{{32}}", re.ASCII)
"""A barcode number as printed, or the fixed e-licence id (refused by the verifier with its own reason)."""


def split_scanned(text: str, fmt: str | None = None) -> tuple[str | None, str | None]:
    """(code, barcode): anything starting EDL1: is a signed code; a Code 128 or a typed number is the short-lived
    number under the barcode (checked online only: it proves nothing offline). A QR code without the prefix (a
    payment code, a web link) is neither, (None, None): it names no e-licence, so the page asks for the driver's code
    instead of answering "not valid" and writes no verification record."""
    text = text.strip()
    if text.upper().startswith(CODE_PREFIX):
        return text, None
    if fmt == "qr":
        return None, None
    return None, text


def barcode_well_formed(text: str) -> bool:
    """Whether a scanned or typed number has the shape of a barcode number (or the fixed e-licence id).

    Syntax only, no key: what fails it names no e-licence and proves nothing either way, so the page asks to scan or
    type again instead of answering "not valid" (and writes no verification record). Anything of the right shape goes
    to the verifier, which checks its tag and logs the answer.
    """
    return _BARCODE_SHAPE.fullmatch(normalise_barcode_text(text)) is not None


def decode_image(data: bytes) -> tuple[str, str] | None:
    """(text, "qr" | "code128") of the first QR code or Code 128 that zxing-cpp finds in the image, or None.

    Raises `ImageTooLarge` when the header is over the pixel budget of `edl.images` (nothing is decoded) and
    `ImageUnreadable` when the bytes are no image Pillow reads (both are ValueErrors). CPU-heavy: the upload route
    runs it in the container's image pool.
    """
    import zxingcpp

    opened = open_image(data)
    try:
        opened.load()
        img = opened if opened.mode == "L" else opened.convert("L")  # what zxing reads anyway, at 1 byte a pixel
    except Exception as exc:  # Pillow raises many kinds on malformed files (SyntaxError, OSError, ...)
        raise ImageUnreadable("not a readable image") from exc
    formats = zxingcpp.BarcodeFormats([zxingcpp.BarcodeFormat.QRCode, zxingcpp.BarcodeFormat.Code128])
    for found in zxingcpp.read_barcodes(img, formats=formats):
        kind = "code128" if found.format == zxingcpp.BarcodeFormat.Code128 else "qr"
        return found.text, kind
    return None
