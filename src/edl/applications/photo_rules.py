"""The photo rules (照片要求): every threshold of the automatic photo checks, and the refusal each failure gives.

A wrong threshold is corrected in `PhotoRules` without touching the checks (`edl.applications.photos`); every refusal
says what is wrong and what to do ('中文 / English'). docs/photos.md lists the rules and the refusal codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edl.domain import DomainError
from edl.images import PIXEL_BUDGET, PixelBudget

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


def refusal(code: str, **params: object) -> PhotoRejected:
    """The refusal `code`; a param given as a (中文, English) pair fills each half with its own language."""
    zh, en = REFUSALS[code]
    zh_params = {k: (v[0] if isinstance(v, tuple) else v) for k, v in params.items()}
    en_params = {k: (v[1] if isinstance(v, tuple) else v) for k, v in params.items()}
    return PhotoRejected(code, zh.format(**zh_params), en.format(**en_params))


GREY = ("黑白（灰度）", "black-and-white (grayscale)")
"""The `colour_mode` refusal's words for a black-and-white photo (from its header, or from its pixels)."""
