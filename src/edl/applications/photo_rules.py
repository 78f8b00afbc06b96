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


@dataclass(frozen=True, slots=True)
class PhotoFlag:
    """Something a machine sees but cannot judge (a uniform's colour, text, retouching): the photo is not refused,
    the reviewer is told beside it. `code` is stable; the message says what to look at ('中文 / English')."""

    code: str
    message_zh: str
    message_en: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message_zh": self.message_zh, "message_en": self.message_en}


@dataclass(frozen=True)
class CheckedPhoto:
    jpeg: bytes
    """Re-encoded JPEG: EXIF orientation applied, every metadata block stripped. This is what gets stored."""
    width: int
    height: int
    measurements: dict[str, Any] = field(default_factory=dict)
    """What was measured; `measurements["flags"]` holds the flags as dicts, so they are stored with the application."""
    flags: tuple[PhotoFlag, ...] = ()


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
    background_min_luminance: float = 188.0
    """Lowered from 200 on bench/photo_rules.py's indoor walls: a white wall lit by a room lamp measures 190-210;
    a plain grey wall (185, `test_dark_grey_or_coloured_background_is_refused`) is still refused."""
    background_max_saturation: float = 40.0
    background_max_stddev: float = 16.0
    """Of the wall's luminance after a smooth quadratic shading is removed (`background_shading` is the raw one)."""
    min_sharpness: float = 40.0
    """Variance of the Laplacian of the face, resized to `sharpness_face_width` px wide."""
    sharpness_face_width: int = 160
    # --- content rules (photo_content, photo_ocr, photo_metadata); bench/photo_rules.py measured each one ---
    lower_face_min_skin: float = 0.35
    """Share of skin-coloured pixels between the nose and the chin below this: a mask or scarf (`face_covered`)."""
    forehead_min_skin: float = 0.35
    """Share of skin-coloured pixels in the band just above the brows below this: a hat (`forehead_covered`)."""
    max_tilt_degrees: float = 8.0
    """Largest angle of the line between the eyes (landmarks only) before `head_tilted`."""
    max_mouth_open: float = 0.25
    """Inner lips apart / mouth width above this (landmarks only): `mouth_open`. A smile showing teeth passes."""
    clothes_max_luminance: float = 170.0
    """Median luminance of the shoulders above this: light clothes (`clothes_light`)."""
    uniform_colour_min_share: float = 0.45
    """Share of the shoulders in one known uniform colour (`photo_content.UNIFORM_COLOURS`) from which to flag."""
    ears_min_skin: float = 0.15
    """Both ear regions with less skin than this, the face frontal: flag `ears_covered`."""
    ears_max_turn: float = 0.08
    """Nose more than this off the middle between the jaw's ends: the head is turned, the ears are not judged."""
    min_skin_texture_ratio: float = 0.35
    """Fine texture of the cheeks / of the eyes and brows below this: flag `skin_smoothed` (a beauty filter)."""
    text_min_score: float = 0.80
    text_min_chars: int = 2
    """OCR lines recognised with at least this score and this many letters, digits or 汉字: flag `text_found`."""


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


_CONTENT_REFUSALS: dict[str, tuple[str, str]] = {
    "face_covered": (
        _RETAKE[0] + "口鼻被遮挡（口罩、围巾或手）。请摘下口罩、围巾，露出整张脸。",
        _RETAKE[1] + "your mouth and nose are covered (a mask, scarf or hand). Take off the mask or scarf so that "
        "your whole face shows.",
    ),
    "forehead_covered": (
        _RETAKE[0] + "额头被遮挡（帽子或头饰）。请摘下帽子，头发不要遮住眉毛以上的额头。",
        _RETAKE[1] + "your forehead is covered (a hat or headwear). Take off the hat and keep your hair off the "
        "forehead above the eyebrows.",
    ),
    "head_tilted": (
        _RETAKE[0] + "头部歪斜（双眼连线倾斜约 {degrees}°）。请坐正，头部摆正，双肩保持水平。",
        _RETAKE[1]
        + "your head is tilted (the line between your eyes slopes about {degrees} degrees). Sit straight, hold "
        "your head upright and keep your shoulders level.",
    ),
    "mouth_open": (
        _RETAKE[0] + "嘴巴张开。请闭上嘴，表情自然。",
        _RETAKE[1] + "your mouth is open. Close your mouth and keep a natural expression.",
    ),
    "clothes_light": (
        _RETAKE[0] + "衣服颜色太浅，与白色背景分不清。请穿深色的日常服装（不要穿制服）。",
        _RETAKE[1] + "your clothes are too light and merge with the white background. Wear dark everyday clothes "
        "(not a uniform).",
    ),
}
REFUSALS.update(_CONTENT_REFUSALS)

_LOOK = ("请审核员查看：", "Reviewer, please check: ")
FLAGS: dict[str, tuple[str, str]] = {
    "uniform_colour": (
        _LOOK[0] + "肩部衣服大面积为{colour}，可能是制服。如是制服，请以“着制服”退回，请申请人穿深色日常服装重拍。",
        _LOOK[1] + "the clothes at the shoulders are mostly {colour}, perhaps a uniform. If so, reject as "
        "'uniform' and ask for a new photo in dark everyday clothes.",
    ),
    "ears_covered": (
        _LOOK[0] + "两侧耳部看不到皮肤，头发可能遮住了耳朵。如遮挡，请退回，请申请人把头发拢到耳后重拍。",
        _LOOK[1] + "no skin shows at either ear; hair may cover the ears. If it does, reject and ask for a new "
        "photo with the hair behind the ears.",
    ),
    "skin_smoothed": (
        _LOOK[0] + "面部皮肤纹理远比眼部平滑，可能使用了美颜滤镜。如过度修图，请退回，请申请人关闭美颜重拍。",
        _LOOK[1] + "the skin is far smoother than the eyes around it, perhaps a beauty filter. If it is "
        "over-retouched, reject and ask for a new photo with the filter off.",
    ),
    "edited_by_app": (
        _LOOK[0] + "照片由修图软件（{app}）保存。请查看是否过度修图；如是，请退回，请申请人提交未经修饰的照片。",
        _LOOK[1] + "the photo was saved by an editing app ({app}). Check it for heavy retouching; if so, reject "
        "and ask for an unretouched photo.",
    ),
    "text_found": (
        _LOOK[0] + "照片中有文字、数字或字母：{texts}。如有违反公序良俗的内容或不属于本人衣着的标记，请退回。",
        _LOOK[1] + "the photo contains text, digits or letters: {texts}. Reject it if any of it offends public "
        "order or decency, or is a mark added to the photo.",
    ),
    "landmarks_unavailable": (
        _LOOK[0] + "本机未安装人脸关键点组件（dlib），未自动检查头部歪斜、张嘴和耳部遮挡，请人工查看。",
        _LOOK[1] + "face landmarks (dlib) are not installed here, so head tilt, an open mouth and covered ears "
        "were not checked automatically; check them by eye.",
    ),
}


def flag(code: str, **params: object) -> PhotoFlag:
    """The flag `code`; a param given as a (中文, English) pair fills each half with its own language."""
    zh, en = FLAGS[code]
    zh_params = {k: (v[0] if isinstance(v, tuple) else v) for k, v in params.items()}
    en_params = {k: (v[1] if isinstance(v, tuple) else v) for k, v in params.items()}
    return PhotoFlag(code, zh.format(**zh_params), en.format(**en_params))


def refusal(code: str, **params: object) -> PhotoRejected:
    """The refusal `code`; a param given as a (中文, English) pair fills each half with its own language."""
    zh, en = REFUSALS[code]
    zh_params = {k: (v[0] if isinstance(v, tuple) else v) for k, v in params.items()}
    en_params = {k: (v[1] if isinstance(v, tuple) else v) for k, v in params.items()}
    return PhotoRejected(code, zh.format(**zh_params), en.format(**en_params))


GREY = ("黑白（灰度）", "black-and-white (grayscale)")
"""The `colour_mode` refusal's words for a black-and-white photo (from its header, or from its pixels)."""
