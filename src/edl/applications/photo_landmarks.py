"""Where the parts of the face are in an ID photo: dlib's 68-point landmarks when the `[face]` extra is installed,
otherwise fixed proportions of OpenCV's face box. The content rules (`photo_content`) measure regions placed from
these points; the rules that need the real landmarks (head tilt, open mouth, ears) say so when they are missing.

dlib is imported only here and only on first use, as `edl.applications.face` does; the shape predictor is fitted
inside the Haar box already found (no second face detection), which costs about 3 ms a photo.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from edl.applications.photo_measures import FaceBox

Point = tuple[float, float]

# Fractions of the Haar box (x of width, y of height), measured with dlib's landmarks on the test portraits
# (tests/faces.py, both people, face 35-50% of the width): the stand-in when dlib is not installed.
_BOX_POINTS: dict[str, Point] = {
    "eye_left": (0.30, 0.38),
    "eye_right": (0.70, 0.38),
    "brow_left": (0.14, 0.26),
    "brow_right": (0.86, 0.26),
    "nose_tip": (0.50, 0.60),
    "nose_bottom": (0.50, 0.68),
    "mouth_left": (0.35, 0.78),
    "mouth_right": (0.65, 0.78),
    "chin": (0.50, 1.05),
    "jaw_left": (0.07, 0.42),
    "jaw_right": (0.93, 0.42),
}


@dataclass(frozen=True, slots=True)
class FacePoints:
    """The points the content rules use, in image pixels; `lip_gap` (inner lips apart, px) only from landmarks."""

    source: str
    """'landmarks' (dlib 68 points) or 'box' (proportions of the Haar box: tilt, mouth and ears are not judged)."""
    eye_left: Point
    eye_right: Point
    brow_left: Point
    brow_right: Point
    nose_tip: Point
    nose_bottom: Point
    mouth_left: Point
    mouth_right: Point
    chin: Point
    jaw_left: Point
    jaw_right: Point
    lip_gap: float | None = None

    @property
    def from_landmarks(self) -> bool:
        return self.source == "landmarks"

    @property
    def eye_distance(self) -> float:
        return float(np.hypot(self.eye_right[0] - self.eye_left[0], self.eye_right[1] - self.eye_left[1]))

    @property
    def eye_y(self) -> float:
        return (self.eye_left[1] + self.eye_right[1]) / 2

    @property
    def centre_x(self) -> float:
        return (self.eye_left[0] + self.eye_right[0]) / 2

    @property
    def brow_y(self) -> float:
        return (self.brow_left[1] + self.brow_right[1]) / 2


def points_from_box(face: FaceBox) -> FacePoints:
    """The stand-in points: fixed proportions of the Haar box."""
    at = {k: (face.left + x * face.width, face.top + y * face.height) for k, (x, y) in _BOX_POINTS.items()}
    return FacePoints("box", **at)  # type: ignore[arg-type]  # every point named in _BOX_POINTS


def points_from_landmarks(p: np.ndarray) -> FacePoints:
    """The points from dlib's 68 landmarks (iBUG numbering: 0-16 jaw, 17-26 brows, 27-35 nose, 36-47 eyes,
    48-59 outer lips, 60-67 inner lips); the brows are their upper edge, the lip gap the mean of three pairs."""

    def mean(*idx: int) -> Point:
        m = p[list(idx)].mean(axis=0)
        return float(m[0]), float(m[1])

    gap = float(np.mean([np.linalg.norm(p[a] - p[b]) for a, b in ((61, 67), (62, 66), (63, 65))]))
    return FacePoints(
        source="landmarks",
        eye_left=mean(36, 37, 38, 39, 40, 41),
        eye_right=mean(42, 43, 44, 45, 46, 47),
        brow_left=(float(p[17:22, 0].mean()), float(p[17:22, 1].min())),
        brow_right=(float(p[22:27, 0].mean()), float(p[22:27, 1].min())),
        nose_tip=mean(30),
        nose_bottom=mean(33),
        mouth_left=mean(48),
        mouth_right=mean(54),
        chin=mean(8),
        jaw_left=mean(0, 1, 2),
        jaw_right=mean(14, 15, 16),
        lip_gap=gap,
    )


class Landmarker:
    """dlib's 68-point shape predictor (shipped in `face_recognition_models`), loaded once, one fit at a time."""

    def __init__(self) -> None:
        import dlib
        import face_recognition_models

        self._dlib: Any = dlib
        self._predictor: Any = dlib.shape_predictor(face_recognition_models.pose_predictor_model_location())
        self._lock = threading.Lock()

    def points(self, rgb: np.ndarray, face: FaceBox) -> FacePoints:
        rect = self._dlib.rectangle(face.left, face.top, face.left + face.width, face.top + face.height)
        with self._lock:  # dlib does not document its objects as thread-safe
            shape = self._predictor(np.ascontiguousarray(rgb), rect)
        return points_from_landmarks(np.array([(q.x, q.y) for q in shape.parts()], dtype=np.float64))


_landmarker: Landmarker | None = None
_tried = False
_load_lock = threading.Lock()


def landmarker() -> Landmarker | None:
    """The process's landmarker, loaded on first use (about 0.6 s); None when dlib (the `[face]` extra) is absent."""
    global _landmarker, _tried
    if not _tried:
        with _load_lock:
            if not _tried:
                try:
                    _landmarker = Landmarker()
                except ImportError:
                    _landmarker = None
                _tried = True
    return _landmarker


def face_points(rgb: np.ndarray, face: FaceBox) -> FacePoints:
    """The landmarks when dlib is installed, otherwise the box proportions (`source` tells which)."""
    fitter = landmarker()
    return fitter.points(rgb, face) if fitter is not None else points_from_box(face)
