"""What the photo shows besides the face's size and light: clothing, a mask or scarf, a hat, the ears, the tilt of the
head, an open mouth and a beauty filter's smooth skin. Each is measured on a region placed from the face points
(`photo_landmarks`); `judge_content` turns the measures into at most one refusal and any number of reviewer flags.

Skin is told by colour alone: a pixel is skin-like when its YCrCb chroma lies in the usual skin range
(Cr 133-180, Cb 77-135) and it is neither black nor blown out. That range holds for light and dark skin alike; a
mask, a hat, hair and a white wall fall outside it (a skin-coloured mask does not: the reviewer still looks).
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from edl.applications.photo_landmarks import FacePoints, face_points
from edl.applications.photo_measures import FaceBox
from edl.applications.photo_metadata import editing_app
from edl.applications.photo_ocr import meaningful, text_reader
from edl.applications.photo_rules import PhotoFlag, PhotoRejected, PhotoRules, flag, refusal

Region = tuple[int, int, int, int]
"""left, top, right, bottom in pixels (clipped to the image)."""


def _clip(shape: tuple[int, ...], left: float, top: float, right: float, bottom: float) -> Region | None:
    height, width = shape[:2]
    box = (max(0, round(left)), max(0, round(top)), min(width, round(right)), min(height, round(bottom)))
    return box if box[2] - box[0] >= 3 and box[3] - box[1] >= 3 else None


def _skin_mask(rgb: np.ndarray, reference: tuple[float, float, float] | None = None) -> np.ndarray:
    """Skin-like pixels: within the usual skin chroma, or, given the person's own skin (Y, Cr, Cb from the cheeks),
    within `SKIN_CHROMA_TOLERANCE` of its chroma and not much darker (a shadow is still skin, dark hair is not)."""
    ycc = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2YCrCb).astype(np.int16)
    y, cr, cb = ycc[..., 0], ycc[..., 1], ycc[..., 2]
    if reference is None:
        usual: np.ndarray = (cr >= 133) & (cr <= 180) & (cb >= 77) & (cb <= 135) & (y >= 35) & (y <= 250)
        return usual
    ref_y, ref_cr, ref_cb = reference
    near = (np.abs(cr - ref_cr) <= SKIN_CHROMA_TOLERANCE) & (np.abs(cb - ref_cb) <= SKIN_CHROMA_TOLERANCE)
    own: np.ndarray = near & (y >= 0.5 * ref_y)
    return own


SKIN_CHROMA_TOLERANCE = 8
"""Cr and Cb within this of the cheeks' median: the person's own skin under the photo's light."""


def _skin_share(
    rgb: np.ndarray, region: Region | None, reference: tuple[float, float, float] | None = None
) -> float | None:
    if region is None:
        return None
    left, top, right, bottom = region
    return round(float(_skin_mask(rgb[top:bottom, left:right], reference).mean()), 3)


def _own_skin(rgb: np.ndarray, where: dict[str, Region | None]) -> tuple[float, float, float] | None:
    """The median Y, Cr, Cb of the skin-like pixels of the cheeks, when most of the cheeks are skin (no mask)."""
    boxes = [r for r in (where["cheek_left"], where["cheek_right"]) if r is not None]
    if not boxes:
        return None
    pixels = np.concatenate([rgb[t:b, lft:r].reshape(-1, 3) for lft, t, r, b in boxes])
    skin = _skin_mask(pixels.reshape(1, -1, 3))[0]
    if skin.mean() < 0.5:
        return None
    ycc = cv2.cvtColor(pixels[skin].reshape(1, -1, 3), cv2.COLOR_RGB2YCrCb)[0]
    median = np.median(ycc, axis=0)
    return float(median[0]), float(median[1]), float(median[2])


def regions(shape: tuple[int, ...], p: FacePoints) -> dict[str, Region | None]:
    """Where each rule looks, in units of the eye distance (`d`) from the face points."""
    d = p.eye_distance
    cx = p.centre_x
    face_height = p.chin[1] - p.brow_y
    ear_top, ear_bottom = p.eye_y, p.nose_bottom[1]
    clothes_top = p.chin[1] + 0.45 * face_height
    return {
        # nose (below the eyes) down to just above the chin, between the mouth corners: a mask or scarf covers it
        "lower_face": _clip(
            shape, p.mouth_left[0] - 0.1 * d, p.eye_y + 0.45 * d, p.mouth_right[0] + 0.1 * d, p.chin[1] - 0.12 * d
        ),
        # the forehead just above the brows, between the eyes' centres: a hat or a cap pulled down covers it
        "forehead": _clip(shape, p.eye_left[0], p.brow_y - 0.45 * d, p.eye_right[0], p.brow_y - 0.06 * d),
        # beside the jaw at ear height: an ear (skin) or hair over it
        "ear_left": _clip(shape, p.jaw_left[0] - 0.30 * d, ear_top, p.jaw_left[0] + 0.02 * d, ear_bottom),
        "ear_right": _clip(shape, p.jaw_right[0] - 0.02 * d, ear_top, p.jaw_right[0] + 0.30 * d, ear_bottom),
        # the shoulders and chest, left and right of the neck (a shirt collar and tie in the middle are not clothes'
        # colour), from below the neck to the bottom of the photo
        "clothes_left": _clip(shape, cx - 1.9 * d, clothes_top, cx - 0.45 * d, shape[0] * 0.99),
        "clothes_right": _clip(shape, cx + 0.45 * d, clothes_top, cx + 1.9 * d, shape[0] * 0.99),
        # cheeks under each eye, below where glasses sit (skin texture, the person's own skin colour), and the eyes
        # with their brows (edges a beauty filter keeps)
        "cheek_left": _clip(
            shape, p.eye_left[0] - 0.2 * d, p.eye_y + 0.5 * d, p.eye_left[0] + 0.2 * d, p.eye_y + 0.8 * d
        ),
        "cheek_right": _clip(
            shape, p.eye_right[0] - 0.2 * d, p.eye_y + 0.5 * d, p.eye_right[0] + 0.2 * d, p.eye_y + 0.8 * d
        ),
        "eyes": _clip(
            shape, p.eye_left[0] - 0.3 * d, p.brow_y - 0.05 * d, p.eye_right[0] + 0.3 * d, p.eye_y + 0.15 * d
        ),
    }


# Known uniform colours (HSV: OpenCV hue 0-180, S and V 0-255), each a block that ordinary clothes rarely fill:
# army green (松枝绿 / olive), the police summer shirt's light blue (警用浅蓝), high-visibility yellow-green.
UNIFORM_COLOURS: dict[str, tuple[tuple[int, int], tuple[int, int], tuple[int, int]]] = {
    "olive": ((25, 45), (60, 255), (40, 170)),
    "police_light_blue": ((95, 112), (35, 130), (150, 255)),
    "hi_vis": ((28, 45), (150, 255), (170, 255)),
}


def _clothes(rgb: np.ndarray, where: dict[str, Region | None]) -> dict[str, Any]:
    boxes = [r for r in (where["clothes_left"], where["clothes_right"]) if r is not None]
    if not boxes:
        return {}
    pixels = np.concatenate([rgb[t:b, lft:r].reshape(-1, 3) for lft, t, r, b in boxes])
    if len(pixels) < 50:
        return {}
    lum = pixels[:, 0] * 0.299 + pixels[:, 1] * 0.587 + pixels[:, 2] * 0.114
    hsv = cv2.cvtColor(pixels.reshape(1, -1, 3), cv2.COLOR_RGB2HSV)[0].astype(np.int16)
    shares = {}
    for name, ((h0, h1), (s0, s1), (v0, v1)) in UNIFORM_COLOURS.items():
        inside = ((hsv[:, 0] >= h0) & (hsv[:, 0] <= h1) & (hsv[:, 1] >= s0) & (hsv[:, 1] <= s1) & (hsv[:, 2] >= v0)) & (
            hsv[:, 2] <= v1
        )
        shares[name] = float(inside.mean())
    colour = max(shares, key=lambda k: shares[k])
    return {
        "clothes_luminance": round(float(np.median(lum)), 1),
        "clothes_uniform_colour": colour,
        "clothes_uniform_share": round(shares[colour], 3),
    }


def _fine_texture(grey: np.ndarray, region: Region | None) -> float | None:
    """Mean absolute difference from a 1.5 px Gaussian blur: pores and fine lines, what a beauty filter removes."""
    if region is None:
        return None
    left, top, right, bottom = region
    patch = grey[top:bottom, left:right]
    return float(np.abs(patch - cv2.GaussianBlur(patch, (0, 0), 1.5)).mean())


def measure(rgb: np.ndarray, p: FacePoints) -> dict[str, Any]:
    """Every content measure, JSON-ready (None where the region fell outside the photo)."""
    where = regions(rgb.shape, p)
    d = p.eye_distance
    own = _own_skin(rgb, where)
    m: dict[str, Any] = {
        "landmarks": p.source,
        "lower_face_skin": _skin_share(rgb, where["lower_face"]),
        "forehead_skin": _skin_share(rgb, where["forehead"]),  # the usual range: a forehead may be paler than cheeks
        **_clothes(rgb, where),
    }
    # texture on a copy scaled so that the eyes are 100 px apart: the same filter gives the same figure at any size
    scale = 100.0 / max(d, 1.0)
    grey = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY).astype(np.float32)
    small = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    scaled: dict[str, Region | None] = {
        k: None if r is None else (round(r[0] * scale), round(r[1] * scale), round(r[2] * scale), round(r[3] * scale))
        for k, r in where.items()
    }
    cheeks = [t for t in (_fine_texture(small, scaled["cheek_left"]), _fine_texture(small, scaled["cheek_right"])) if t]
    eyes = _fine_texture(small, scaled["eyes"])
    if cheeks and eyes:
        m["skin_texture_ratio"] = round(min(cheeks) / max(eyes, 1e-3), 3)
    if p.from_landmarks:
        angle = np.degrees(np.arctan2(p.eye_right[1] - p.eye_left[1], p.eye_right[0] - p.eye_left[0]))
        m["eye_line_tilt"] = round(float(angle), 1)
        width = float(np.hypot(p.mouth_right[0] - p.mouth_left[0], p.mouth_right[1] - p.mouth_left[1]))
        m["mouth_open_ratio"] = round((p.lip_gap or 0.0) / max(width, 1.0), 3)
        span = p.jaw_right[0] - p.jaw_left[0]
        m["nose_position"] = round((p.nose_tip[0] - p.jaw_left[0]) / max(span, 1.0), 3)
        m["ear_left_skin"] = _skin_share(rgb, where["ear_left"], own)
        m["ear_right_skin"] = _skin_share(rgb, where["ear_right"], own)
    return m


def judge_content(m: dict[str, Any], rules: PhotoRules) -> tuple[PhotoRejected | None, list[PhotoFlag]]:
    """The first content refusal (covered face, covered forehead, tilt, open mouth, light clothes) and the flags."""
    refusals: list[PhotoRejected] = []
    flags: list[PhotoFlag] = []
    lower, forehead = m.get("lower_face_skin"), m.get("forehead_skin")
    if lower is not None and lower < rules.lower_face_min_skin:
        refusals.append(refusal("face_covered"))
    if forehead is not None and forehead < rules.forehead_min_skin:
        refusals.append(refusal("forehead_covered"))
    tilt = m.get("eye_line_tilt")
    if tilt is not None and abs(tilt) > rules.max_tilt_degrees:
        refusals.append(refusal("head_tilted", degrees=round(abs(tilt))))
    if m.get("mouth_open_ratio") is not None and m["mouth_open_ratio"] > rules.max_mouth_open:
        refusals.append(refusal("mouth_open"))
    clothes = m.get("clothes_luminance")
    if clothes is not None and clothes > rules.clothes_max_luminance:
        refusals.append(refusal("clothes_light"))
    if m.get("clothes_uniform_share", 0.0) >= rules.uniform_colour_min_share:
        flags.append(flag("uniform_colour", colour=UNIFORM_NAMES[m["clothes_uniform_colour"]]))
    if m["landmarks"] != "landmarks":
        flags.append(flag("landmarks_unavailable"))
    else:
        frontal = abs(m["nose_position"] - 0.5) <= rules.ears_max_turn
        ears = [v for v in (m.get("ear_left_skin"), m.get("ear_right_skin")) if v is not None]
        if frontal and ears and max(ears) < rules.ears_min_skin:
            flags.append(flag("ears_covered"))
    ratio = m.get("skin_texture_ratio")
    if ratio is not None and ratio < rules.min_skin_texture_ratio:
        flags.append(flag("skin_smoothed"))
    return (refusals[0] if refusals else None), flags


UNIFORM_NAMES: dict[str, tuple[str, str]] = {
    "olive": ("军绿色", "army green"),
    "police_light_blue": ("警服浅蓝色", "police-shirt light blue"),
    "hi_vis": ("荧光黄绿色", "high-visibility yellow-green"),
}


def check_content(
    rgb: np.ndarray, face: FaceBox, rules: PhotoRules, *, software: list[str]
) -> tuple[dict[str, Any], list[PhotoFlag]]:
    """Measure and judge the content of a photo whose face passed the quality checks: raise the first refusal,
    otherwise return the measures and the flags. The OCR runs last, only on a photo that no rule refused."""
    m = measure(rgb, face_points(rgb, face))
    refused, flags = judge_content(m, rules)
    if refused is not None:
        raise refused
    app = editing_app(software)
    if software:
        m["software"] = software[0]
    if app is not None:
        flags.append(flag("edited_by_app", app=app))
    found = meaningful(text_reader().read(rgb), min_score=rules.text_min_score, min_chars=rules.text_min_chars)
    if found:
        m["text_found"] = [{"text": t.text, "score": round(t.score, 3), "box": list(t.box)} for t in found[:10]]
        quoted = "、".join(f"“{t.text}”" for t in found[:5])
        flags.append(flag("text_found", texts=(quoted, ", ".join(f'"{t.text}"' for t in found[:5]))))
    return m, flags
