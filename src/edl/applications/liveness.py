"""The built-in active liveness check (活体检测): measure each frame of a burst with dlib and OpenCV, then let the
rules in `edl.domain.liveness` decide.

Per frame: dlib's HOG detector (exactly one face), the 68-point landmark predictor, the ResNet descriptor (distance
to the registry photo, and to this burst's own frontal frames), head yaw from six landmarks with OpenCV `solvePnP`
against a generic 3D face, the eye aspect ratio (blinks), a perceptual hash of the aligned face (near-copies of the
registry photo or of earlier attempts), and the parallax of the nose against the rest of the face relative to the
holder's own frontal frames (a flat picture, turned or bent, moves its nose with its cheeks; a head does not).

The 68-point model that `face-recognition-models` ships was trained on iBUG 300-W, whose terms forbid commercial
use: `EDL_LIVENESS_LANDMARK_MODEL` points at another model file of the same format (docs/applications.md).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from edl.domain.liveness import FRONTAL_MS, Action, Failure, FrameMeasure, Thresholds, Verdict, decide, hamming

# Landmark indices of the 68-point scheme (iBUG 300-W numbering, 0-based).
NOSE = tuple(range(27, 36))
SURFACE = (*range(17, 27), *range(36, 48), *range(48, 68))
"""Brows, eyes and mouth: the points a flat or bent picture's surface is fitted to."""
LEFT_EYE = tuple(range(36, 42))  # in the image's left (the holder's right eye)
RIGHT_EYE = tuple(range(42, 48))
POSE_POINTS = (30, 8, 36, 45, 48, 54)
# A generic face in millimetres, camera axes (x right, y down, z away from the camera), nose tip at the origin.
POSE_MODEL = np.array(
    [
        (0.0, 0.0, 0.0),  # nose tip
        (0.0, 63.6, 12.5),  # chin
        (-43.3, -32.7, 26.0),  # outer corner of the eye on the image's left
        (43.3, -32.7, 26.0),  # outer corner of the eye on the image's right
        (-28.9, 28.9, 24.1),  # mouth corner, image left
        (28.9, 28.9, 24.1),  # mouth corner, image right
    ],
    dtype=np.float64,
)

NOSE_SIDE = 0.12
"""The nose tip this far (inter-ocular distances) to one side of the eyes' midpoint is a clear turn to that side."""
REGISTRY_COPY_BITS = 30
"""A frame whose 256-bit face hash is this close to the registry photo's (or closer) shows that photo: printed,
on a screen, or re-encoded. Live frames of the same person differ by more (docs/applications.md has the spread)."""
REPLAY_BITS = 16
"""A frame this close to a frame of an earlier attempt is that frame again (re-encoded or rescaled at most)..."""
REPLAY_SHARE = 0.5
"""...and a burst is a replay when at least this share of its frames are (one still moment may repeat by chance)."""
HISTORY_ATTEMPTS = 20
"""Earlier attempts (per licence, newest first) whose frame hashes a burst is checked against."""
FRAME_MAX_SIDE = 640
"""Frames are camera stills for detection, not photos: the page sends 480 px; a larger frame is refused from its
header, so that one attempt cannot cost many times the work of a real one."""


@dataclass(frozen=True, slots=True)
class Measured:
    """One frame's measures plus the landmarks (normalised: eye midpoint at 0, inter-ocular distance 1)."""

    measure: FrameMeasure
    landmarks: np.ndarray | None
    descriptor: np.ndarray | None
    hash: int | None
    mirrored: int | None = None
    """The hash of the face flipped left to right: a mirrored replay of earlier frames is still a replay."""


def eye_aspect_ratio(points: np.ndarray) -> float:
    """(|p2-p6| + |p3-p5|) / (2 |p1-p4|) for the six points of one eye (Soukupová & Čech, 2016)."""
    p = points
    width = float(np.linalg.norm(p[0] - p[3]))
    if width <= 0:
        return 0.0
    return float((np.linalg.norm(p[1] - p[5]) + np.linalg.norm(p[2] - p[4])) / (2.0 * width))


def head_yaw(landmarks: np.ndarray, width: int, height: int) -> float | None:
    """Yaw in degrees, positive when the holder turns to their left (the nose moves to the image's right)."""
    import cv2

    image_points = landmarks[list(POSE_POINTS)].astype(np.float64)
    focal = float(max(width, height))
    camera = np.array([[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1]], dtype=np.float64)
    # Start from a face looking straight at the camera at the distance its eye corners say: without a guess the
    # iterative solver can settle on the mirror-image pose (a turn read as the opposite turn).
    span = float(np.linalg.norm(image_points[3] - image_points[2])) or 1.0
    rvec = np.zeros((3, 1))
    tvec = np.array([[0.0], [0.0], [focal * float(POSE_MODEL[3, 0] - POSE_MODEL[2, 0]) / span]])
    ok, rvec, _tvec = cv2.solvePnP(
        POSE_MODEL, image_points, camera, None, rvec, tvec, useExtrinsicGuess=True, flags=cv2.SOLVEPNP_ITERATIVE
    )
    if not ok:
        return None
    rotation, _ = cv2.Rodrigues(rvec)
    # The rotation about the camera's vertical axis: the face's forward vector (model -z) turned towards +x.
    forward = rotation @ np.array([0.0, 0.0, -1.0])
    yaw = math.degrees(math.atan2(forward[0], -forward[2]))
    # Far from frontal the solver now and then lands on the mirror-image pose; where the nose tip lies against the
    # eyes says which side the head is turned to, so a yaw that disagrees with it clearly is turned round.
    eyes = (landmarks[list(LEFT_EYE)].mean(axis=0) + landmarks[list(RIGHT_EYE)].mean(axis=0)) / 2.0
    iod = float(np.linalg.norm(landmarks[list(RIGHT_EYE)].mean(axis=0) - landmarks[list(LEFT_EYE)].mean(axis=0)))
    side = float(landmarks[30, 0] - eyes[0]) / (iod or 1.0)
    if abs(side) > NOSE_SIDE and yaw * side < 0:
        yaw = -yaw
    return yaw


def normalise(landmarks: np.ndarray) -> np.ndarray:
    """Landmarks moved so the midpoint of the eyes is the origin and scaled so the eyes are 1 apart."""
    left = landmarks[list(LEFT_EYE)].mean(axis=0)
    right = landmarks[list(RIGHT_EYE)].mean(axis=0)
    iod = float(np.linalg.norm(right - left)) or 1.0
    result: np.ndarray = (landmarks - (left + right) / 2.0) / iod
    return result


def parallax(base: np.ndarray, moved: np.ndarray) -> float:
    """How far the nose moved from where a flat or bent sheet through the brows, eyes and mouth would put it.

    `base` and `moved` are normalised landmarks (68×2) of the frontal pose and of a turned frame. The sheet models
    tried are a homography and, for bends, x' and y' as 1, x, y, xy, s², s³ with s the coordinate across the bend
    (bend axes every 30°). The smallest RMS of the nose points' misfit is returned: a picture has a model that fits.
    """
    import cv2

    src, dst = base[list(SURFACE)], moved[list(SURFACE)]
    probe, target = base[list(NOSE)], moved[list(NOSE)]
    misfits: list[float] = []
    homography, _ = cv2.findHomography(src.astype(np.float64), dst.astype(np.float64), 0)
    if homography is not None:
        projected = cv2.perspectiveTransform(probe.reshape(-1, 1, 2).astype(np.float64), homography).reshape(-1, 2)
        misfits.append(float(np.sqrt(np.mean(np.sum((projected - target) ** 2, axis=1)))))
    for degrees in range(0, 180, 30):
        angle = math.radians(degrees)

        def design(points: np.ndarray, angle: float = angle) -> np.ndarray:
            x, y = points[:, 0], points[:, 1]
            s = x * math.cos(angle) + y * math.sin(angle)
            return np.stack([np.ones_like(x), x, y, x * y, s**2, s**3], axis=1)

        coeffs, *_ = np.linalg.lstsq(design(src), dst, rcond=None)
        predicted = design(probe) @ coeffs
        misfits.append(float(np.sqrt(np.mean(np.sum((predicted - target) ** 2, axis=1)))))
    return min(misfits)


def face_hash(chip: np.ndarray) -> int:
    """A 256-bit perceptual hash of an aligned face chip: the signs of its 16×16 lowest DCT frequencies against their
    median (the pHash construction), so that re-encoding or rescaling a picture barely changes it."""
    import cv2

    grey = cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY) if chip.ndim == 3 else chip
    small = cv2.resize(grey, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    low = cv2.dct(small)[:16, :16].flatten()
    bits = low > np.median(low[1:])
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return value


class Analyser:
    """Holds the dlib models (loaded once) and measures frames with them, one frame at a time under a lock."""

    def __init__(self, landmark_model: str | None = None) -> None:
        import dlib
        import face_recognition_models

        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(landmark_model or face_recognition_models.pose_predictor_model_location())
        self.encoder = dlib.face_recognition_model_v1(face_recognition_models.face_recognition_model_location())
        self.lock = threading.Lock()
        self._dlib = dlib

    def measure(self, pixels: np.ndarray, t_ms: int) -> Measured:
        """Faces, landmarks, descriptor, yaw, EAR and hash of one RGB frame."""
        height, width = pixels.shape[:2]
        with self.lock:
            faces = self.detector(pixels, 0)
            if len(faces) == 0 and max(height, width) <= 480:  # small faces in a small frame: look once more, finer
                faces = self.detector(pixels, 1)
            if len(faces) != 1:
                return Measured(FrameMeasure(t_ms, len(faces)), None, None, None)
            shape = self.predictor(pixels, faces[0])
            descriptor = np.asarray(self.encoder.compute_face_descriptor(pixels, shape), dtype=np.float64)
            chip = np.asarray(self._dlib.get_face_chip(pixels, shape, size=64, padding=0.1))
        points = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
        ear: float | None = (eye_aspect_ratio(points[list(LEFT_EYE)]) + eye_aspect_ratio(points[list(RIGHT_EYE)])) / 2
        yaw = head_yaw(points, width, height)
        if not np.all(np.isfinite(descriptor)):
            return Measured(FrameMeasure(t_ms, 1), None, None, None)
        yaw = yaw if yaw is not None and math.isfinite(yaw) else None  # unmeasured: the rules refuse it
        ear = ear if ear is not None and math.isfinite(ear) else None
        measure = FrameMeasure(t_ms, 1, yaw=yaw, ear=ear)
        return Measured(measure, normalise(points), descriptor, face_hash(chip), face_hash(chip[:, ::-1]))


@dataclass(frozen=True, slots=True)
class LivenessResult:
    verdict: Verdict
    hashes: tuple[int, ...]
    """The frames' face hashes, kept with the attempt so that a later replay of them is caught."""
    distance: float | None
    """The largest descriptor distance to the registry photo (audit only; never shown to the holder)."""


def assess(
    analyser: Analyser,
    actions: Sequence[Action],
    frames: Sequence[tuple[int, np.ndarray]],
    reference: np.ndarray,
    earlier: Sequence[int],
    limits: Thresholds,
) -> LivenessResult | None:
    """Measure every frame and the reference, then decide. None when the reference photo has no single face."""
    ref = analyser.measure(reference, 0)
    if ref.descriptor is None or ref.hash is None:
        return None
    measured: list[Measured] = []
    for index, (t_ms, pixels) in enumerate(frames):  # stop at the first frame without exactly one face
        m = analyser.measure(pixels, t_ms)
        if m.measure.faces != 1 or m.descriptor is None:
            failure = Failure.SEVERAL_FACES if m.measure.faces > 1 else Failure.NO_FACE
            hashes_so_far = tuple(x.hash for x in measured if x.hash is not None)
            return LivenessResult(Verdict(False, failure, detail={"frame": index}), hashes_so_far, None)
        measured.append(m)
    hashes = tuple(m.hash for m in measured if m.hash is not None)

    def replays(m: Measured) -> bool:
        own = [h for h in (m.hash, m.mirrored) if h is not None]
        return any(hamming(h, e) <= REPLAY_BITS for h in own for e in earlier)

    repeated = [replays(m) for m in measured]
    replay = sum(repeated) >= REPLAY_SHARE * len(measured)
    frontal = [m for m in measured if m.measure.t_ms < FRONTAL_MS and m.landmarks is not None]
    base_points = np.median(np.stack([m.landmarks for m in frontal]), axis=0) if frontal else None
    base_descriptor = np.mean(np.stack([m.descriptor for m in frontal]), axis=0) if frontal else None
    final: list[FrameMeasure] = []
    distances: list[float] = []
    for m, again in zip(measured, repeated, strict=True):
        if m.descriptor is None or m.landmarks is None or m.hash is None:
            final.append(m.measure)
            continue
        distance = float(np.linalg.norm(m.descriptor - ref.descriptor))
        distances.append(distance)
        spread = float(np.linalg.norm(m.descriptor - base_descriptor)) if base_descriptor is not None else None
        motion = parallax(base_points, m.landmarks) if base_points is not None else None
        motion = motion if motion is None or math.isfinite(motion) else 0.0
        near = hamming(m.hash, ref.hash) <= REGISTRY_COPY_BITS or (replay and again)
        final.append(
            FrameMeasure(
                m.measure.t_ms,
                1,
                distance=distance,
                spread=spread,
                yaw=m.measure.yaw,
                ear=m.measure.ear,
                parallax=motion,
                near_copy=near,
            )
        )
    verdict = decide(actions, final, limits)
    return LivenessResult(verdict, hashes, max(distances) if distances else None)
