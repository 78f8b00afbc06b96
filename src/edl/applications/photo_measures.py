"""What the photo checks measure on the decoded picture: one face (OpenCV's Haar cascade), its size, place, lighting
and sharpness, and the wall behind it; `analyse` refuses at the first rule a measurement breaks."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from typing import Any

import cv2
import numpy as np

from edl.applications.photo_rules import DEFAULT_RULES, GREY, PhotoRules, refusal


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


def _shading_removed(strips: list[tuple[slice, slice]], lum: np.ndarray) -> np.ndarray:
    """The wall's luminance less a smooth quadratic surface fitted over the strips: light falling off towards the
    corners or from a window is how a real white wall looks indoors, not a pattern; what is left is."""
    ys = np.concatenate([np.repeat(np.arange(r.start, r.stop), c.stop - c.start) for r, c in strips])
    xs = np.concatenate([np.tile(np.arange(c.start, c.stop), r.stop - r.start) for r, c in strips])
    scale = float(max(ys.max(), xs.max(), 1))
    y, x = ys / scale, xs / scale
    basis = np.stack([np.ones_like(x), x, y, x * x, y * y, x * y], axis=1)
    sample, values = basis[::4], lum[::4]
    coef = np.linalg.lstsq(sample.T @ sample, sample.T @ values, rcond=None)[0]  # normal equations: 6×6
    residual: np.ndarray = lum - basis @ coef
    return residual


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
        "background_shading": round(float(lum.std()), 1),
        "background_stddev": round(float(_shading_removed(strips, lum.astype(np.float64)).std()), 1),
    }


def analyse(rgb: np.ndarray, rules: PhotoRules) -> dict[str, Any]:
    """Colour, one face, its size and place, lighting, background, sharpness: refuse at the first failure."""
    height, width = rgb.shape[:2]
    chroma = float(np.percentile(rgb.max(axis=2).astype(np.int16) - rgb.min(axis=2), 95))
    m: dict[str, Any] = {"colour_chroma_p95": round(chroma, 1)}
    if chroma < rules.min_colour_chroma:
        raise refusal("colour_mode", what=GREY)
    faces = detect_faces(rgb, min_fraction=rules.face_detect_min)
    m["faces_found"] = len(faces)
    if not faces:
        m["image_luminance"] = round(float(_luminance(rgb.astype(np.float32)).mean()), 1)
        raise refusal("too_dark" if m["image_luminance"] < rules.dark_image_luminance else "no_face")
    if len(faces) > 1:
        raise refusal("several_faces", count=len(faces))
    face = faces[0]
    m["face_box"] = [face.left, face.top, face.width, face.height]
    m["face_width_fraction"] = round(face.width / width, 3)
    m["face_centre"] = [round((face.left + face.width / 2) / width, 3), round((face.top + face.height / 2) / height, 3)]
    pct = round(100 * m["face_width_fraction"])
    if m["face_width_fraction"] < rules.face_width_min:
        raise refusal("face_too_small", percent=pct, min_percent=round(100 * rules.face_width_min))
    if m["face_width_fraction"] > rules.face_width_max:
        raise refusal("face_too_large", percent=pct, max_percent=round(100 * rules.face_width_max))
    cx, cy = m["face_centre"]
    if abs(cx - 0.5) > rules.face_centre_x_tolerance or not rules.face_centre_y_min <= cy <= rules.face_centre_y_max:
        raise refusal("face_off_centre")
    m.update(_measure_face(rgb, face, rules))
    m.update(_measure_background(rgb, face))
    if not m["background_strips"]:  # the head fills the photo: no wall left to see
        raise refusal("face_too_large", percent=pct, max_percent=round(100 * rules.face_width_max))
    if m["face_luminance"] < rules.face_min_luminance:
        raise refusal("too_dark")
    if m["face_luminance"] > rules.face_max_luminance:
        raise refusal("too_bright")
    if m["lighting_imbalance"] > rules.lighting_max_imbalance:
        raise refusal("uneven_lighting")
    if (
        m["background_luminance"] < rules.background_min_luminance
        or m["background_saturation"] > rules.background_max_saturation
    ):
        raise refusal("background_not_white")
    if m["background_stddev"] > rules.background_max_stddev:
        raise refusal("background_not_plain")
    if m["sharpness"] < rules.min_sharpness:
        raise refusal("blurred")
    return m
