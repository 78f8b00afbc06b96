"""Automatic photo checks (照片自动检查) that every submitted e-licence photo passes before staff review.

`check_photo(data)` is a pure function on the uploaded bytes: it refuses with `PhotoRejected(code, 中文, English)` or
returns a `CheckedPhoto` whose JPEG is the only thing that gets stored (orientation applied, no metadata at all).
Every threshold lives in `PhotoRules` (`photo_rules`, with the refusals and the reviewer flags), so a wrong one is
corrected there without touching the logic; the measurements on the decoded picture are `photo_measures` (face,
light, wall) and `photo_content` (clothes, mask, hat, tilt, mouth, ears, retouching, text). docs/photos.md lists
the rules, the refusal and flag codes with their messages, and the bench figures behind each threshold.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageCms, ImageOps

from edl.applications.photo_content import check_content
from edl.applications.photo_measures import FaceBox, analyse
from edl.applications.photo_metadata import software_names
from edl.applications.photo_rules import DEFAULT_RULES, GREY, MIB, CheckedPhoto, PhotoRejected, PhotoRules, refusal
from edl.images import ImageTooLarge, ImageUnreadable, open_image

# --- format, from the bytes themselves -------------------------------------------------------------------------

_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_OTHER_MAGIC = (
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"%PDF", "PDF"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
    (b"\xff\x0a", "JPEG XL"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"8BPS", "PSD"),
)
_FTYP_BRANDS = {b"heic": "HEIC", b"heix": "HEIC", b"mif1": "HEIF", b"msf1": "HEIF", b"avif": "AVIF", b"avis": "AVIF"}


def _sniff(data: bytes) -> str:
    """'JPEG' or 'PNG', or raise: the format is decided by magic bytes, never by file name or content type."""
    if data.startswith(_JPEG_MAGIC):
        return "JPEG"
    if data.startswith(_PNG_MAGIC):
        return "PNG"
    kind = next((name for magic, name in _OTHER_MAGIC if data.startswith(magic)), None)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        kind = "WebP"
    elif data[4:8] == b"ftyp":
        kind = _FTYP_BRANDS.get(data[8:12], "MP4/QuickTime")
    elif kind is None:
        head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
        if head.startswith(b"<?xml") or b"<svg" in head:
            kind = "SVG/XML"
    if kind == "GIF" and _gif_frames(data) > 1:
        raise refusal("animated")
    if kind is None:
        raise refusal("not_an_image")
    raise refusal("format_not_allowed", kind=kind)


def _skip_gif_blocks(data: bytes, pos: int) -> int:
    while pos < len(data):
        size = data[pos]
        pos += 1 + size
        if size == 0:
            break
    return pos


def _gif_frames(data: bytes) -> int:
    """How many images a GIF holds (stops counting at 2), by walking its blocks without decoding anything."""
    if len(data) < 13:
        return 0
    pos = 13 + (3 * (2 << (data[10] & 7)) if data[10] & 0x80 else 0)
    frames = 0
    while pos < len(data) and frames < 2:
        if data[pos] == 0x21:  # extension: label, then sub-blocks
            pos = _skip_gif_blocks(data, pos + 2)
        elif data[pos] == 0x2C and pos + 10 <= len(data):  # image descriptor, local table, LZW size, sub-blocks
            frames += 1
            flags = data[pos + 9]
            pos += 10 + (3 * (2 << (flags & 7)) if flags & 0x80 else 0)
            pos = _skip_gif_blocks(data, pos + 1)
        else:
            break
    return frames


@dataclass(frozen=True, slots=True)
class _PngHeader:
    width: int
    height: int
    bit_depth: int
    colour_type: int
    frames: int


def _png_header(data: bytes) -> _PngHeader:
    """IHDR, and the frame count of an APNG (acTL), read from the chunks before the image data."""
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise refusal("truncated")
    width, height, bit_depth, colour_type = struct.unpack(">IIBB", data[16:26])
    frames, pos = 1, 8
    while pos + 12 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"acTL" and pos + 12 <= len(data):
            frames = struct.unpack(">I", data[pos + 8 : pos + 12])[0]
        if kind in (b"IDAT", b"IEND"):
            break
        pos += 12 + length
    return _PngHeader(width, height, bit_depth, colour_type, frames)


_GREY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "F"}
_PALETTE = ("只有 256 色的调色板", "palette (256-colour)")
_CMYK = ("印刷用 CMYK 色彩的", "CMYK (print colour)")
_PNG_MODES = {0: "L", 2: "RGB", 3: "P", 4: "LA", 6: "RGBA"}
"""IHDR colour type → the mode Pillow decodes it to (for the budget, which counts channels)."""


def _check_header(data: bytes, rules: PhotoRules) -> Image.Image:
    """Open lazily and apply every rule the header can answer: frames, dimensions, bit depth, colour mode."""
    kind = _sniff(data)
    if kind == "PNG":
        png = _png_header(data)
        if png.frames > 1:
            raise refusal("animated")
        _check_dimensions(png.width, png.height, _PNG_MODES.get(png.colour_type, "RGBA"), rules)
        if png.bit_depth == 16:
            raise refusal("bit_depth")
        if png.colour_type in (0, 4):
            raise refusal("colour_mode", what=GREY)
        if png.colour_type == 3:
            raise refusal("colour_mode", what=_PALETTE)
    try:
        img = open_image(data, budget=rules.budget, formats=[kind])
    except ImageTooLarge as exc:
        raise _too_large(exc) from None
    except ImageUnreadable:
        raise refusal("truncated") from None
    _check_dimensions(*img.size, img.mode, rules)
    if img.mode == "CMYK":
        raise refusal("colour_mode", what=_CMYK)
    if img.mode in _GREY_MODES:
        raise refusal("colour_mode", what=GREY)
    if img.mode not in ("RGB", "RGBA"):
        raise refusal("colour_mode", what=(img.mode, img.mode))
    return img


def _too_large(exc: ImageTooLarge) -> PhotoRejected:
    """`dimensions_too_large`, with the limit for the photo's own mode (an RGBA photo may have fewer pixels)."""
    width, height = ("?", "?") if exc.width is None else (exc.width, exc.height)
    return refusal("dimensions_too_large", width=width, height=height, max_mp=exc.max_megapixels, max_side=exc.max_side)


def _check_dimensions(width: int, height: int, mode: str, rules: PhotoRules) -> None:
    try:
        rules.budget.check(width, height, mode)
    except ImageTooLarge as exc:
        raise _too_large(exc) from None
    if width == 0 or height == 0:
        raise refusal("truncated")


# --- decoding into an upright, metadata-free RGB picture -------------------------------------------------------


def _decode_upright(img: Image.Image, rules: PhotoRules) -> tuple[Image.Image, dict[str, Any]]:
    """Fully decode (a truncated file fails here), apply EXIF orientation, flatten transparency onto white.

    At most one full-size copy is made (a rotation); everything else happens after scaling down to `output_max`.
    """
    notes: dict[str, Any] = {"format": img.format, "original_size": list(img.size)}
    icc = img.info.get("icc_profile")
    try:
        if img.format in ("JPEG", "MPO"):
            # decode at 1/2..1/8 scale in libjpeg when the photo is far larger than what we keep (still reads it all)
            img.draft("RGB", (rules.output_max[0] * 2, rules.output_max[0] * 2))
        img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_large(ImageTooLarge(rules.budget, None, None, None)) from None
    except Exception:
        raise refusal("truncated") from None
    try:
        orientation = int(img.getexif().get(0x0112, 1))
        ImageOps.exif_transpose(img, in_place=True)
    except Exception:  # unreadable EXIF: keep the pixels as stored; a sideways face then fails `no_face`
        orientation = 0
    notes["exif_orientation"] = orientation
    width, height = notes["original_size"]
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    if width < rules.min_width or height < rules.min_height:
        raise refusal("too_small", width=width, height=height, min_width=rules.min_width, min_height=rules.min_height)
    if height <= width:
        raise refusal("not_portrait")
    transparent = img.mode == "RGBA" or "transparency" in img.info
    if transparent and img.mode != "RGBA":
        img = img.convert("RGBA")
    if img.width > rules.output_max[0] or img.height > rules.output_max[1]:
        img = ImageOps.contain(img, rules.output_max, Image.Resampling.LANCZOS)  # RGBA: premultiplied
    if transparent:
        img = Image.alpha_composite(Image.new("RGBA", img.size, (255, 255, 255, 255)), img)
        notes["flattened_transparency"] = True
    if img.mode != "RGB":
        img = img.convert("RGB")
    if icc:
        img, notes["colour_profile"] = _to_srgb(img, icc)
    return Image.fromarray(np.asarray(img, dtype=np.uint8)), notes  # a fresh image: no info, no metadata


def _to_srgb(img: Image.Image, icc: bytes) -> tuple[Image.Image, str]:
    """Convert pixels from the embedded profile (e.g. Display P3) to sRGB, since the profile itself is dropped."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(img, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
    except Exception:  # a broken profile: keep the pixels as they are
        return img, "unreadable, ignored"
    return (converted or img), "converted to sRGB"


def check_photo(data: bytes, *, rules: PhotoRules = DEFAULT_RULES) -> CheckedPhoto:
    """Check an uploaded photo against every rule; the result's JPEG is upright, at most `rules.output_max`, RGB,
    quality `rules.output_quality` and carries no metadata (no EXIF, ICC, XMP or comment)."""
    if not data:
        raise refusal("empty")
    if len(data) > rules.max_bytes:
        raise refusal("file_too_large", size_mb=f"{len(data) / MIB:.1f}", limit_mb=f"{rules.max_bytes / MIB:g}")
    img = _check_header(data, rules)
    software = software_names(img)  # before the metadata is dropped: an editing app is a flag for the reviewer
    upright, notes = _decode_upright(img, rules)
    rgb = np.asarray(upright)
    quality = analyse(rgb, rules)
    content, flags = check_content(rgb, FaceBox(*quality["face_box"]), rules, software=software)
    measurements = {**notes, **quality, **content, "size": [upright.width, upright.height]}
    measurements["flags"] = [f.as_dict() for f in flags]
    out = io.BytesIO()
    upright.save(out, "JPEG", quality=rules.output_quality, optimize=True)
    return CheckedPhoto(out.getvalue(), upright.width, upright.height, measurements, tuple(flags))
