"""Automatic photo checks (照片自动检查) that every submitted e-licence photo passes before staff review.

`check_photo(data)` is a pure function on the uploaded bytes: it refuses with `PhotoRejected(code, 中文, English)` or
returns a `CheckedPhoto` whose JPEG is the only thing that gets stored (orientation applied, no metadata at all).
Every threshold lives in `PhotoRules`, so a wrong one is corrected there without touching the logic. docs/photos.md
lists the rules and the refusal codes with their messages.
"""

from __future__ import annotations

import io
import struct
import threading
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageCms, ImageOps

from edl.domain import DomainError
from edl.images import PIXEL_BUDGET, ImageTooLarge, ImageUnreadable, PixelBudget, open_image

MIB = 1024 * 1024


class PhotoRejected(DomainError):
    """The photo fails a rule: `code` is stable (tests, audit), the message says what to do ('中文 / English')."""

    def __init__(self, code: str, message_zh: str, message_en: str) -> None:
        super().__init__(f"{message_zh} / {message_en}")
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en


@dataclass(frozen=True)
class CheckedPhoto:
    jpeg: bytes
    """Re-encoded JPEG: EXIF orientation applied, every metadata block stripped. This is what gets stored."""
    width: int
    height: int
    measurements: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PhotoRules:
    """Every threshold of the photo checks. Fractions are of the oriented image's width or height; brightness is
    luminance 0-255 (ITU-R BT.601), saturation is HSV S 0-255. docs/photos.md explains each one."""

    max_bytes: int = 10 * MIB
    """Largest upload; the service passes `settings.max_upload_bytes`."""
    budget: PixelBudget = PIXEL_BUDGET
    """Header limits checked before any decoding (decompression-bomb guard): the one pixel budget of `edl.images`,
    40 MP RGB, 30 MP RGBA (it counts channels) and 8000 px a side."""
    min_width: int = 358
    min_height: int = 441
    """Smallest oriented image (the 358×441 of the resident ID card photo)."""
    output_max: tuple[int, int] = (600, 750)
    output_quality: int = 88
    min_colour_chroma: float = 4.0
    """95th percentile of (max-min of R,G,B) below this: a black-and-white photo saved as colour."""
    face_detect_min: float = 0.12
    """Smallest face the detector looks for (fraction of width); smaller blobs are not faces of this photo."""
    face_width_min: float = 0.30
    face_width_max: float = 0.55
    """Face box width (OpenCV Haar box, roughly eyebrows to chin) as a fraction of the image width."""
    face_centre_x_tolerance: float = 0.10
    """Face centre at most this far from the middle (fraction of width)."""
    face_centre_y_min: float = 0.25
    face_centre_y_max: float = 0.60
    """Face centre between these fractions of the height from the top (the face sits in the upper part)."""
    face_min_luminance: float = 70.0
    dark_image_luminance: float = 60.0
    """No face found and the whole photo darker than this: refused as too dark rather than as faceless."""
    face_max_luminance: float = 235.0
    lighting_max_imbalance: float = 0.25
    """Largest difference of mean luminance between the left and right halves of the face, relative to their mean."""
    background_min_luminance: float = 200.0
    background_max_saturation: float = 40.0
    background_max_stddev: float = 16.0
    min_sharpness: float = 40.0
    """Variance of the Laplacian of the face, resized to `sharpness_face_width` px wide."""
    sharpness_face_width: int = 160


DEFAULT_RULES = PhotoRules()


@dataclass(frozen=True, slots=True)
class FaceBox:
    """A detected face in image pixels: left, top, width, height."""

    left: int
    top: int
    width: int
    height: int

    @property
    def area(self) -> int:
        return self.width * self.height


_TAKE = (
    "请用手机相机拍摄彩色照片，保存为 JPEG 或 PNG 后重新上传。",
    "Take a colour photo with a phone camera, save it as JPEG or PNG and upload it again.",
)
_RETAKE = ("请重新拍摄：", "Please retake the photo: ")

REFUSALS: dict[str, tuple[str, str]] = {
    "empty": ("没有收到照片文件。请选择照片后再上传。", "No photo was received. Choose a photo and upload it."),
    "not_an_image": ("这个文件不是照片。" + _TAKE[0], "This file is not a photo. " + _TAKE[1]),
    "format_not_allowed": (
        "只接受 JPEG 或 PNG 照片，这个文件是 {kind}。" + _TAKE[0] + "（iPhone：设置 › 相机 › 格式 › 兼容性最佳）",
        "Only JPEG or PNG photos are accepted; this file is {kind}. "
        + _TAKE[1]
        + " (iPhone: Settings › Camera › Formats › Most Compatible)",
    ),
    "animated": (
        "这是动图，只接受一张静止的照片。" + _TAKE[0],
        "This is a moving image; only one still photo is accepted. " + _TAKE[1],
    ),
    "truncated": (
        "照片文件不完整或已损坏（可能没有上传完）。请重新上传，或重新保存照片后再试。",
        "The photo file is incomplete or damaged (perhaps the upload was cut off). "
        "Upload it again, or save the photo again and retry.",
    ),
    "file_too_large": (
        "照片文件太大（{size_mb} MB，最多 {limit_mb} MB）。请在手机上以较小尺寸保存或分享后重新上传。",
        "The photo file is too large ({size_mb} MB, at most {limit_mb} MB). "
        "Save or share it at a smaller size on the phone and upload it again.",
    ),
    "dimensions_too_large": (
        "照片尺寸太大（{width}×{height} 像素，最多 {max_mp} 百万像素、每边 {max_side} 像素）。请缩小后重新上传。",
        "The photo is too big ({width}×{height} pixels; at most {max_mp} megapixels and {max_side} pixels a side). "
        "Resize it and upload it again.",
    ),
    "too_small": (
        "照片太小（{width}×{height} 像素，至少 {min_width}×{min_height}）。请用手机相机直接拍摄，不要截图或压缩。",
        "The photo is too small ({width}×{height} pixels, at least {min_width}×{min_height}). "
        "Use the phone camera directly; do not use a screenshot or a compressed copy.",
    ),
    "not_portrait": (
        "照片须为竖幅（高度大于宽度）。请竖着拿手机拍摄，或把照片裁剪成竖幅。",
        "The photo must be portrait (taller than wide). Hold the phone upright, or crop the photo to portrait.",
    ),
    "colour_mode": (
        "这是{what}照片，需要彩色照片。" + _TAKE[0],
        "This is a {what} photo; a colour photo is needed. " + _TAKE[1],
    ),
    "bit_depth": (
        "这是每通道 16 位的 PNG，只接受普通的 8 位照片。" + _TAKE[0],
        "This is a 16-bit-per-channel PNG; only ordinary 8-bit photos are accepted. " + _TAKE[1],
    ),
    "no_face": (
        _RETAKE[0] + "照片中没有找到人脸。请正对镜头，露出整张脸，照片不要倒置或侧放。",
        _RETAKE[1] + "no face was found. Face the camera with your whole face visible, and do not upload it "
        "upside down or sideways.",
    ),
    "several_faces": (
        _RETAKE[0] + "照片中有不止一张人脸（找到 {count} 张）。照片里只能有您本人。",
        _RETAKE[1] + "there is more than one face ({count} found). Only you may be in the photo.",
    ),
    "face_too_small": (
        _RETAKE[0] + "脸太小（占照片宽度的 {percent}%，至少 {min_percent}%）。请靠近一些，让头部和肩膀充满照片。",
        _RETAKE[1] + "the face is too small ({percent}% of the width, at least {min_percent}%). "
        "Come closer so that your head and shoulders fill the photo.",
    ),
    "face_too_large": (
        _RETAKE[0] + "脸太大（占照片宽度的 {percent}%，最多 {max_percent}%）。请离远一些，露出整个头部和肩膀。",
        _RETAKE[1] + "the face is too large ({percent}% of the width, at most {max_percent}%). "
        "Step back so that your whole head and your shoulders are in the photo.",
    ),
    "face_off_centre": (
        _RETAKE[0] + "脸不在照片中间偏上的位置。请让脸位于照片正中、上半部分。",
        _RETAKE[1] + "the face is not centred. Keep your face in the middle, in the upper part of the photo.",
    ),
    "too_dark": (
        _RETAKE[0] + "脸部太暗。请在光线充足的地方面向光源拍摄，不要背光。",
        _RETAKE[1] + "the face is too dark. Stand in good light facing it, not with the light behind you.",
    ),
    "too_bright": (
        _RETAKE[0] + "脸部曝光过度，看不清细节。请避免强光直射，关闭闪光灯。",
        _RETAKE[1] + "the face is overexposed and its details are lost. Avoid harsh direct light; turn the flash off.",
    ),
    "uneven_lighting": (
        _RETAKE[0] + "脸部一边亮一边暗。请面向光源（如窗户）拍摄，让光线均匀照在脸上。",
        _RETAKE[1] + "one side of the face is much darker than the other. Face the light (e.g. a window) so it "
        "falls evenly on your face.",
    ),
    "background_not_white": (
        _RETAKE[0] + "背景不是白色。请站在白墙或白色背景前，光线充足。",
        _RETAKE[1] + "the background is not white. Stand in front of a white wall or white backdrop in good light.",
    ),
    "background_not_plain": (
        _RETAKE[0] + "背景不是纯色（有图案、物体或阴影）。请站在干净的白墙前，离墙稍远以免留下阴影。",
        _RETAKE[1] + "the background is not plain (patterns, objects or shadows). Stand in front of a bare white "
        "wall, a little away from it so that you cast no shadow.",
    ),
    "blurred": (
        _RETAKE[0] + "照片模糊。请擦净镜头，拿稳手机，对焦到脸上再拍。",
        _RETAKE[1] + "the photo is blurred. Clean the lens, hold the phone steady and focus on your face.",
    ),
}


def _refuse(code: str, **params: object) -> PhotoRejected:
    """The refusal `code`; a param given as a (中文, English) pair fills each half with its own language."""
    zh, en = REFUSALS[code]
    zh_params = {k: (v[0] if isinstance(v, tuple) else v) for k, v in params.items()}
    en_params = {k: (v[1] if isinstance(v, tuple) else v) for k, v in params.items()}
    return PhotoRejected(code, zh.format(**zh_params), en.format(**en_params))


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
        raise _refuse("animated")
    if kind is None:
        raise _refuse("not_an_image")
    raise _refuse("format_not_allowed", kind=kind)


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
        raise _refuse("truncated")
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
_GREY = ("黑白（灰度）", "black-and-white (grayscale)")
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
            raise _refuse("animated")
        _check_dimensions(png.width, png.height, _PNG_MODES.get(png.colour_type, "RGBA"), rules)
        if png.bit_depth == 16:
            raise _refuse("bit_depth")
        if png.colour_type in (0, 4):
            raise _refuse("colour_mode", what=_GREY)
        if png.colour_type == 3:
            raise _refuse("colour_mode", what=_PALETTE)
    try:
        img = open_image(data, budget=rules.budget, formats=[kind])
    except ImageTooLarge as exc:
        raise _too_large(exc) from None
    except ImageUnreadable:
        raise _refuse("truncated") from None
    _check_dimensions(*img.size, img.mode, rules)
    if img.mode == "CMYK":
        raise _refuse("colour_mode", what=_CMYK)
    if img.mode in _GREY_MODES:
        raise _refuse("colour_mode", what=_GREY)
    if img.mode not in ("RGB", "RGBA"):
        raise _refuse("colour_mode", what=(img.mode, img.mode))
    return img


def _too_large(exc: ImageTooLarge) -> PhotoRejected:
    """`dimensions_too_large`, with the limit for the photo's own mode (an RGBA photo may have fewer pixels)."""
    width, height = ("?", "?") if exc.width is None else (exc.width, exc.height)
    return _refuse("dimensions_too_large", width=width, height=height, max_mp=exc.max_megapixels, max_side=exc.max_side)


def _check_dimensions(width: int, height: int, mode: str, rules: PhotoRules) -> None:
    try:
        rules.budget.check(width, height, mode)
    except ImageTooLarge as exc:
        raise _too_large(exc) from None
    if width == 0 or height == 0:
        raise _refuse("truncated")


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
        raise _refuse("truncated") from None
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
        raise _refuse("too_small", width=width, height=height, min_width=rules.min_width, min_height=rules.min_height)
    if height <= width:
        raise _refuse("not_portrait")
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


# --- measurements ----------------------------------------------------------------------------------------------

_detect_lock = threading.Lock()


@cache
def _cascade() -> cv2.CascadeClassifier:
    """OpenCV's frontal-face Haar cascade, loaded once per process."""
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    if cascade.empty():
        raise RuntimeError("OpenCV's haarcascade_frontalface_default.xml is missing")
    return cascade


def detect_faces(rgb: np.ndarray, *, min_fraction: float = DEFAULT_RULES.face_detect_min) -> list[FaceBox]:
    """Frontal faces in an RGB array, largest first; a box mostly inside a larger one is dropped as a duplicate."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)  # no histogram equalisation: it makes ghost faces in dark photos
    smallest = max(24, int(min_fraction * rgb.shape[1]))
    with _detect_lock:  # one shared classifier; OpenCV does not promise that detectMultiScale is thread-safe
        found = _cascade().detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5, minSize=(smallest, smallest))
    boxes = sorted((FaceBox(*map(int, f)) for f in found), key=lambda b: b.area, reverse=True)
    kept: list[FaceBox] = []
    for box in boxes:
        if all(_overlap(box, big) < 0.5 * box.area for big in kept):
            kept.append(box)
    return kept


def _overlap(a: FaceBox, b: FaceBox) -> int:
    dx = min(a.left + a.width, b.left + b.width) - max(a.left, b.left)
    dy = min(a.top + a.height, b.top + b.height) - max(a.top, b.top)
    return max(0, dx) * max(0, dy)


def _luminance(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def _background_strips(shape: tuple[int, ...], face: FaceBox) -> list[tuple[slice, slice]]:
    """Where the wall shows: the outer left and right strips (2%..15% of the width from each edge) beside the head
    and above the shoulders, and the band above the hair; each kept clear of the head (the face box widened by 30%
    of its width each side and raised by 60% of its height)."""
    height, width = shape[:2]
    top, bottom = int(0.02 * height), min(face.top + face.height, int(0.55 * height))
    margin = int(0.3 * face.width)
    left = (int(0.02 * width), min(int(0.15 * width), face.left - margin))
    right = (max(int(0.85 * width), face.left + face.width + margin), int(0.98 * width))
    strips = [(slice(top, bottom), slice(a, b)) for a, b in (left, right)]
    strips.append((slice(top, face.top - int(0.6 * face.height)), slice(face.left, face.left + face.width)))
    return [(rows, cols) for rows, cols in strips if rows.stop - rows.start >= 4 and cols.stop - cols.start >= 4]


def _measure_face(rgb: np.ndarray, face: FaceBox, rules: PhotoRules) -> dict[str, float]:
    """Brightness, left/right balance and sharpness of the face (the inner part of the box, without hair edges)."""
    inner = rgb[
        face.top + face.height // 10 : face.top + face.height * 9 // 10,
        face.left + face.width // 8 : face.left + face.width * 7 // 8,
    ].astype(np.float32)
    lum = _luminance(inner)
    half = lum.shape[1] // 2
    left, right = float(lum[:, :half].mean()), float(lum[:, half:].mean())
    grey = cv2.cvtColor(rgb[face.top : face.top + face.height, face.left : face.left + face.width], cv2.COLOR_RGB2GRAY)
    size = (rules.sharpness_face_width, max(1, round(rules.sharpness_face_width * face.height / face.width)))
    grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    return {
        "face_luminance": round(float(lum.mean()), 1),
        "face_left_luminance": round(left, 1),
        "face_right_luminance": round(right, 1),
        "lighting_imbalance": round(abs(left - right) / max(1.0, (left + right) / 2), 3),
        "sharpness": round(float(cv2.Laplacian(grey, cv2.CV_64F).var()), 1),
    }


def _measure_background(rgb: np.ndarray, face: FaceBox) -> dict[str, Any]:
    strips = _background_strips(rgb.shape, face)
    if not strips:
        return {"background_strips": 0}
    pixels = np.concatenate([rgb[rows, cols].reshape(-1, 3) for rows, cols in strips])
    hsv = cv2.cvtColor(pixels.reshape(1, -1, 3), cv2.COLOR_RGB2HSV)[0]
    lum = _luminance(pixels.astype(np.float32))
    return {
        "background_strips": len(strips),
        "background_luminance": round(float(lum.mean()), 1),
        "background_saturation": round(float(hsv[:, 1].mean()), 1),
        "background_stddev": round(float(lum.std()), 1),
    }


def _analyse(rgb: np.ndarray, rules: PhotoRules) -> dict[str, Any]:
    """Colour, one face, its size and place, lighting, background, sharpness: refuse at the first failure."""
    height, width = rgb.shape[:2]
    chroma = float(np.percentile(rgb.max(axis=2).astype(np.int16) - rgb.min(axis=2), 95))
    m: dict[str, Any] = {"colour_chroma_p95": round(chroma, 1)}
    if chroma < rules.min_colour_chroma:
        raise _refuse("colour_mode", what=_GREY)
    faces = detect_faces(rgb, min_fraction=rules.face_detect_min)
    m["faces_found"] = len(faces)
    if not faces:
        m["image_luminance"] = round(float(_luminance(rgb.astype(np.float32)).mean()), 1)
        raise _refuse("too_dark" if m["image_luminance"] < rules.dark_image_luminance else "no_face")
    if len(faces) > 1:
        raise _refuse("several_faces", count=len(faces))
    face = faces[0]
    m["face_box"] = [face.left, face.top, face.width, face.height]
    m["face_width_fraction"] = round(face.width / width, 3)
    m["face_centre"] = [round((face.left + face.width / 2) / width, 3), round((face.top + face.height / 2) / height, 3)]
    pct = round(100 * m["face_width_fraction"])
    if m["face_width_fraction"] < rules.face_width_min:
        raise _refuse("face_too_small", percent=pct, min_percent=round(100 * rules.face_width_min))
    if m["face_width_fraction"] > rules.face_width_max:
        raise _refuse("face_too_large", percent=pct, max_percent=round(100 * rules.face_width_max))
    cx, cy = m["face_centre"]
    if abs(cx - 0.5) > rules.face_centre_x_tolerance or not rules.face_centre_y_min <= cy <= rules.face_centre_y_max:
        raise _refuse("face_off_centre")
    m.update(_measure_face(rgb, face, rules))
    m.update(_measure_background(rgb, face))
    if not m["background_strips"]:  # the head fills the photo: no wall left to see
        raise _refuse("face_too_large", percent=pct, max_percent=round(100 * rules.face_width_max))
    if m["face_luminance"] < rules.face_min_luminance:
        raise _refuse("too_dark")
    if m["face_luminance"] > rules.face_max_luminance:
        raise _refuse("too_bright")
    if m["lighting_imbalance"] > rules.lighting_max_imbalance:
        raise _refuse("uneven_lighting")
    if (
        m["background_luminance"] < rules.background_min_luminance
        or m["background_saturation"] > rules.background_max_saturation
    ):
        raise _refuse("background_not_white")
    if m["background_stddev"] > rules.background_max_stddev:
        raise _refuse("background_not_plain")
    if m["sharpness"] < rules.min_sharpness:
        raise _refuse("blurred")
    return m


def check_photo(data: bytes, *, rules: PhotoRules = DEFAULT_RULES) -> CheckedPhoto:
    """Check an uploaded photo against every rule; the result's JPEG is upright, at most `rules.output_max`, RGB,
    quality `rules.output_quality` and carries no metadata (no EXIF, ICC, XMP or comment)."""
    if not data:
        raise _refuse("empty")
    if len(data) > rules.max_bytes:
        raise _refuse("file_too_large", size_mb=f"{len(data) / MIB:.1f}", limit_mb=f"{rules.max_bytes / MIB:g}")
    img = _check_header(data, rules)
    upright, notes = _decode_upright(img, rules)
    rgb = np.asarray(upright)
    measurements = {**notes, **_analyse(rgb, rules), "size": [upright.width, upright.height]}
    out = io.BytesIO()
    upright.save(out, "JPEG", quality=rules.output_quality, optimize=True)
    return CheckedPhoto(out.getvalue(), upright.width, upright.height, measurements)
