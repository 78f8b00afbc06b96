"""The pixel budget for images from outside (uploads, photos of codes): refused from the header, before decoding.

`Image.open` is lazy: it reads the header, so the size and the mode are known before a single pixel is decoded.
`open_image` opens, applies the budget and hands back the still-undecoded image. Every place that decodes an image
from outside goes through it: the photo checks, the face comparison, the verifier page's code reading and
`edl verify --qr-image`. The budget counts channels, because an RGBA picture decodes to a third more samples than an
RGB one of the same size (and Pillow keeps either at 4 bytes a pixel): see docs/security.md, "Limits on input".
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

_PALETTE_CHANNELS = {"P": 3, "PA": 4}
"""A palette image is decoded to one index a pixel, but every caller expands it to the colours it stands for."""


def channels(mode: str) -> int:
    """Samples a pixel of a Pillow `mode` is worth once decoded: its bands (RGB 3, RGBA 4, L 1; a palette 3 or 4)."""
    if mode in _PALETTE_CHANNELS:
        return _PALETTE_CHANNELS[mode]
    try:
        return Image.getmodebands(mode)
    except (KeyError, ValueError):  # a mode Pillow does not know: count it as the widest
        return 4


@dataclass(frozen=True, slots=True)
class PixelBudget:
    """How large an image from outside may be once decoded: pixels, samples (pixels × channels), longest side.

    The defaults allow 40 MP RGB or grey, 30 MP RGBA or CMYK, and 8000 px a side: at most 160 MB of decoded pixels
    (Pillow stores RGB, RGBA and LA at 4 bytes a pixel). A phone photo is 12-48 MP and a screenshot a few MP.
    """

    max_pixels: int = 40_000_000
    max_samples: int = 120_000_000
    max_side: int = 8_000

    def max_pixels_for(self, mode: str) -> int:
        """The most pixels an image in `mode` may have."""
        return min(self.max_pixels, self.max_samples // channels(mode))

    def allows(self, width: int, height: int, mode: str) -> bool:
        return max(width, height) <= self.max_side and width * height <= self.max_pixels_for(mode)

    def check(self, width: int, height: int, mode: str) -> None:
        """Raise `ImageTooLarge` unless an image of this size and mode fits."""
        if not self.allows(width, height, mode):
            raise ImageTooLarge(self, width, height, mode)


PIXEL_BUDGET = PixelBudget()
"""The one budget every decoder of outside images uses (the photo rules carry it as `PhotoRules.budget`)."""


class ImageRefused(ValueError):
    """An image from outside that is not decoded; the message says why (in English, for logs and the CLI)."""


class ImageUnreadable(ImageRefused):
    """Bytes (or a file) that Pillow cannot open as an image."""


class ImageTooLarge(ImageRefused):
    """The header says the image is over the budget. `width`/`height`/`mode` are None when Pillow itself refused to
    open it (over its own decompression-bomb limit, 179 MP) before telling its size."""

    def __init__(self, budget: PixelBudget, width: int | None, height: int | None, mode: str | None) -> None:
        self.budget = budget
        self.width = width
        self.height = height
        self.mode = mode
        self.max_pixels = budget.max_pixels_for(mode) if mode else budget.max_pixels
        self.max_side = budget.max_side
        size = f"{width}×{height} pixels, {mode}; " if width is not None else ""
        super().__init__(
            f"the image is too large ({size}at most {self.max_megapixels} megapixels"
            f"{' in ' + mode if mode else ''} and {self.max_side} pixels a side)"
        )

    @property
    def max_megapixels(self) -> int:
        return self.max_pixels // 1_000_000


def open_image(
    source: bytes | Path, *, budget: PixelBudget = PIXEL_BUDGET, formats: list[str] | tuple[str, ...] | None = None
) -> Image.Image:
    """Open `source` lazily and refuse it unless its header fits `budget`; no pixel is decoded yet.

    The caller decodes (`load()`, `convert()`, ...) and closes the image. Pillow's own decompression-bomb error (and
    its warning, where warnings are errors) is `ImageTooLarge` too; its warning alone (89-179 MP) only logs, since
    the budget refuses such an image anyway. Raises `ImageTooLarge` or `ImageUnreadable`.
    """
    fp = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        img = Image.open(fp, formats=formats)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageTooLarge(budget, None, None, None) from None
    except OSError as exc:  # a file that cannot be read, or bytes that are no image (UnidentifiedImageError)
        raise ImageUnreadable(_os_reason(exc)) from None
    except Exception as exc:  # Pillow raises many kinds on malformed headers (SyntaxError, struct.error, ...)
        raise ImageUnreadable(f"not a readable image ({type(exc).__name__})") from None
    try:
        width, height = img.size
        budget.check(width, height, img.mode)
    except BaseException:
        img.close()
        raise
    return img


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, UnidentifiedImageError) or not exc.strerror:
        return "not a readable image"
    return str(exc.strerror)
