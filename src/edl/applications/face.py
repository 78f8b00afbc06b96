"""Real-person authentication (实人认证): compare a live capture with a reference photo.

The interface (`FaceOutcome`, `FaceComparison`, `FaceVerifier`) comes first; then the providers: `DlibFaceVerifier`
(a genuine comparison with dlib's ResNet face descriptor, from the optional `[face]` extra) and `LenientDemoVerifier`
(demo only, compares nothing and says so), and `build_verifier(settings)` that picks one. dlib is imported only inside
the implementation, so a plain install still imports this module.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

import numpy as np
from PIL import Image, ImageOps

from edl.applications.liveness import FRAME_MAX_SIDE, Analyser, LivenessResult, assess
from edl.domain.liveness import MESSAGES as LIVENESS_MESSAGES
from edl.domain.liveness import Action, Failure, Thresholds, TimedFrame, Verdict, check_timings
from edl.images import ImageTooLarge, ImageUnreadable, open_image

if TYPE_CHECKING:
    from edl.config import Settings


class FaceOutcome(StrEnum):
    PASSED = "passed"
    NO_FACE = "no_face"
    SEVERAL_FACES = "several_faces"
    MISMATCH = "mismatch"
    BAD_IMAGE = "bad_image"
    NO_REFERENCE = "no_reference"
    # outcomes of the active liveness check (edl.domain.liveness.Failure has the same values)
    FRAMES = "frames"
    NOT_FRONTAL = "not_frontal"
    ACTION = "action"
    FLAT = "flat"
    REPLAY = "replay"


@dataclass(frozen=True, slots=True)
class FaceComparison:
    outcome: FaceOutcome
    distance: float | None
    message_zh: str
    message_en: str

    @property
    def passed(self) -> bool:
        return self.outcome is FaceOutcome.PASSED


class FaceVerifier(Protocol):
    name: str
    """Short id recorded with each check, e.g. 'dlib-resnet' or 'lenient-demo'."""
    label_zh: str
    label_en: str
    """Shown on the page so the holder (and a demo audience) knows which verifier is running."""
    lenient: bool
    """True for a provider that does not really compare faces (demo only)."""

    def check(
        self, actions: Sequence[Action], frames: Sequence[TimedFrame], reference: bytes, earlier: Sequence[int]
    ) -> LivenessResult:
        """Active liveness: the burst `frames` answering a challenge of `actions`, against the registry photo
        `reference` and the face hashes of earlier attempts on the same licence (`earlier`). Pass or fail with a
        reason, never a score (the distance in the result is for the audit log only)."""
        ...


# --- implementations -------------------------------------------------------------------------------------------------

MAX_SIDE = 1024
"""Images are downscaled to this longest side before detection: phone photos are 4000 px, faces need far fewer."""

UPSAMPLE = 1
"""dlib's HOG detector finds faces down to ~80 px; upsampling once halves that (~40 px) at ~4x the cost."""


class FaceVerifierUnavailable(RuntimeError):
    """No usable real-person authentication provider for these settings; the message says what to install or set."""


_MESSAGES: dict[FaceOutcome, tuple[str, str]] = {
    FaceOutcome.PASSED: (
        "实人认证通过。",
        "Real-person authentication passed.",
    ),
    FaceOutcome.NO_FACE: (
        "未检测到人脸。请正对镜头，在光线充足处拍摄，画面中只有您一人。",
        "No face was found. Face the camera in good light, with only you in the picture, and try again.",
    ),
    FaceOutcome.SEVERAL_FACES: (
        "检测到多张人脸。请确保画面中只有您一人，正对镜头后重新拍摄。",
        "More than one face was found. Make sure only you are in the picture, face the camera and try again.",
    ),
    FaceOutcome.MISMATCH: (
        "人脸与驾驶证档案照片不一致。请驾驶人本人正对镜头、在光线充足处重新拍摄；多次不通过请携带身份证到车辆管理所办理。",
        "The face does not match the photo on the licence record. The licence holder must face the camera in good "
        "light and try again; if it keeps failing, visit a vehicle administration office with your ID card.",
    ),
    FaceOutcome.BAD_IMAGE: (
        "无法读取照片。请用手机相机重新拍摄（JPEG 或 PNG 格式）。",
        "The photo could not be read. Take it again with the phone camera (JPEG or PNG).",
    ),
    FaceOutcome.NO_REFERENCE: (
        "档案照片无法用于人脸比对。请到车辆管理所采集照片，或在应用中提交照片等待审核。",
        "The photo on your licence record cannot be used for face comparison. Visit a vehicle administration "
        "office to have your photo taken, or submit a photo in the app for review.",
    ),
}


_MESSAGES.update({FaceOutcome(f.value): LIVENESS_MESSAGES[f] for f in Failure if FaceOutcome(f.value) not in _MESSAGES})


def _comparison(outcome: FaceOutcome, distance: float | None = None) -> FaceComparison:
    zh, en = _MESSAGES[outcome]
    return FaceComparison(outcome=outcome, distance=distance, message_zh=zh, message_en=en)


class _Unreadable(ValueError):
    """Bytes that Pillow cannot decode as an image."""


def _decode(data: bytes) -> Image.Image:
    """Decode to an upright RGB Pillow image no larger than MAX_SIDE (EXIF orientation applied).

    The pixel budget of `edl.images` is applied from the header first: over it, `ImageTooLarge` and nothing decoded.
    """
    try:
        opened = open_image(data)
    except ImageUnreadable as exc:
        raise _Unreadable(str(exc)) from exc
    try:  # in place where Pillow allows, so that at most one full-size copy is made (a rotation or a conversion)
        opened.draft("RGB", (MAX_SIDE, MAX_SIDE))  # JPEG: decode at 1/2, 1/4 or 1/8 scale when that suffices
        opened.load()
        ImageOps.exif_transpose(opened, in_place=True)
        img = opened if opened.mode == "RGB" else opened.convert("RGB")
        if max(img.size) > MAX_SIDE:
            img.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise _Unreadable(str(exc)) from exc
    if img.width < 1 or img.height < 1:
        raise _Unreadable("empty image")
    return img


def _too_large(exc: ImageTooLarge) -> FaceComparison:
    """The live capture is over the pixel budget: refused like an unreadable one, saying why."""
    size = f"{exc.width}×{exc.height} 像素，" if exc.width is not None else ""
    size_en = f"{exc.width}×{exc.height} pixels; " if exc.width is not None else ""
    return FaceComparison(
        FaceOutcome.BAD_IMAGE,
        None,
        f"照片尺寸太大（{size}最多 {exc.max_megapixels} 百万像素、每边 {exc.max_side} 像素）。请用手机相机重新拍摄。",
        f"The picture is too large ({size_en}at most {exc.max_megapixels} megapixels and {exc.max_side} pixels a "
        "side). Take it again with the phone camera.",
    )


def _decode_both(live: bytes, reference: bytes) -> tuple[Image.Image, Image.Image] | FaceComparison:
    """Both pictures decoded, or the comparison that says which one cannot be used (nothing else is decoded)."""
    try:
        live_img = _decode(live)
    except ImageTooLarge as exc:
        return _too_large(exc)
    except _Unreadable:
        return _comparison(FaceOutcome.BAD_IMAGE)
    try:
        reference_img = _decode(reference)
    except (_Unreadable, ImageTooLarge):
        return _comparison(FaceOutcome.NO_REFERENCE)
    return live_img, reference_img


# --- dlib ------------------------------------------------------------------------------------------------------------


class _DlibModels:
    """dlib's HOG face detector, 5-point shape predictor and ResNet descriptor, loaded together."""

    def __init__(self) -> None:
        import dlib
        import face_recognition_models

        self.detector = dlib.get_frontal_face_detector()
        self.shape_predictor = dlib.shape_predictor(face_recognition_models.pose_predictor_five_point_model_location())
        self.encoder = dlib.face_recognition_model_v1(face_recognition_models.face_recognition_model_location())
        self.lock = threading.Lock()
        """dlib does not document its objects as thread-safe: one comparison at a time uses them."""


_models: _DlibModels | None = None
_models_lock = threading.Lock()


def _dlib_models() -> _DlibModels:
    """The process-wide models, loaded on first use (about half a second), never at import time."""
    global _models
    if _models is None:
        with _models_lock:
            if _models is None:
                _models = _DlibModels()
    return _models


def dlib_available() -> bool:
    """True when dlib and the face-recognition models (the optional `[face]` extra) can be imported."""
    try:
        import dlib  # noqa: F401
        import face_recognition_models  # noqa: F401
    except ImportError:
        return False
    return True


class DlibFaceVerifier:
    """A genuine comparison: 128-d dlib ResNet descriptors of the one face in each photo, Euclidean distance.

    Same person typically gives < 0.4, different people > 0.6; `threshold` (default 0.5) decides.
    """

    name = "dlib-resnet"
    label_zh = "人脸比对（dlib ResNet 特征）"
    label_en = "Face comparison (dlib ResNet descriptor)"
    lenient = False

    def __init__(self, threshold: float = 0.5, *, landmark_model: str | None = None) -> None:
        if not 0 < threshold < 1:
            raise ValueError("face match threshold must be between 0 and 1")
        self.threshold = threshold
        self.limits = Thresholds(match_distance=threshold)
        self.landmark_model = landmark_model
        self._analyser: Analyser | None = None
        self._analyser_lock = threading.Lock()

    def analyser(self) -> Analyser:
        """The landmark, descriptor and detector models for liveness, loaded on first use (about a second)."""
        if self._analyser is None:
            with self._analyser_lock:
                if self._analyser is None:
                    self._analyser = Analyser(self.landmark_model)
        return self._analyser

    def check(
        self, actions: Sequence[Action], frames: Sequence[TimedFrame], reference: bytes, earlier: Sequence[int]
    ) -> LivenessResult:
        refused = check_timings(actions, [f.t_ms for f in frames])
        if refused is not None:
            return LivenessResult(refused, (), None)
        decoded = decode_frames(frames)
        if isinstance(decoded, Verdict):
            return LivenessResult(decoded, (), None)
        try:
            reference_pixels = np.asarray(_decode(reference), dtype=np.uint8)
        except (_Unreadable, ImageTooLarge):
            return LivenessResult(Verdict(False, Failure.NO_REFERENCE), (), None)
        result = assess(self.analyser(), actions, decoded, reference_pixels, earlier, self.limits)
        if result is None:
            return LivenessResult(Verdict(False, Failure.NO_REFERENCE), (), None)
        return result

    def compare(self, live: bytes, reference: bytes) -> FaceComparison:
        decoded = _decode_both(live, reference)
        if isinstance(decoded, FaceComparison):
            return decoded
        live_img, reference_img = decoded
        models = _dlib_models()
        with models.lock:
            live_count, live_descriptor = _one_face(models, live_img)
            if live_count == 0:
                return _comparison(FaceOutcome.NO_FACE)
            if live_count > 1:
                return _comparison(FaceOutcome.SEVERAL_FACES)
            reference_count, reference_descriptor = _one_face(models, reference_img)
        if live_descriptor is None or reference_count != 1 or reference_descriptor is None:
            return _comparison(FaceOutcome.NO_REFERENCE)
        distance = float(np.linalg.norm(live_descriptor - reference_descriptor))
        outcome = FaceOutcome.PASSED if distance <= self.threshold else FaceOutcome.MISMATCH
        return _comparison(outcome, distance)


def _one_face(models: _DlibModels, img: Image.Image) -> tuple[int, np.ndarray | None]:
    """How many faces dlib detects, and the 128-d descriptor when there is exactly one (others are refused)."""
    pixels = np.asarray(img, dtype=np.uint8)
    faces = models.detector(pixels, UPSAMPLE)
    if len(faces) != 1:
        return len(faces), None
    shape = models.shape_predictor(pixels, faces[0])
    return 1, np.asarray(models.encoder.compute_face_descriptor(pixels, shape), dtype=np.float64)


JPEG_MAGIC = b"\xff\xd8\xff"


def decode_frames(frames: Sequence[TimedFrame]) -> list[tuple[int, np.ndarray]] | Verdict:
    """Every frame decoded to RGB pixels (JPEG only: the page's canvas makes JPEGs), or the refusal of the burst."""
    decoded: list[tuple[int, np.ndarray]] = []
    for index, frame in enumerate(frames):
        if not frame.data.startswith(JPEG_MAGIC):
            return Verdict(False, Failure.FRAMES, detail={"rule": "not_jpeg", "frame": index})
        try:
            header = open_image(frame.data)
            if max(header.size) > FRAME_MAX_SIDE:
                return Verdict(False, Failure.FRAMES, detail={"rule": "too_large", "frame": index})
            decoded.append((frame.t_ms, np.asarray(_decode(frame.data), dtype=np.uint8)))
        except (_Unreadable, ImageUnreadable, ImageTooLarge):
            return Verdict(False, Failure.FRAMES, detail={"rule": "unreadable", "frame": index})
    return decoded


# --- lenient demo ----------------------------------------------------------------------------------------------------


class LenientDemoVerifier:
    """Demo only: accepts any readable live capture WITHOUT comparing faces, and says so on the page."""

    name = "lenient-demo"
    label_zh = "演示模式：宽松核验（不比对人脸）"
    label_en = "Demo mode: lenient check (faces are not compared)"
    lenient = True

    def check(
        self, actions: Sequence[Action], frames: Sequence[TimedFrame], reference: bytes, earlier: Sequence[int]
    ) -> LivenessResult:
        """Only the form of the burst is checked (frame count, timing, readable JPEGs): nothing about the person."""
        refused = check_timings(actions, [f.t_ms for f in frames])
        if refused is None:
            decoded = decode_frames(frames)
            refused = decoded if isinstance(decoded, Verdict) else None
        return LivenessResult(refused or Verdict(True), (), None)

    def compare(self, live: bytes, reference: bytes) -> FaceComparison:
        decoded = _decode_both(live, reference)
        if isinstance(decoded, FaceComparison):
            return decoded
        return FaceComparison(
            outcome=FaceOutcome.PASSED,
            distance=None,
            message_zh="演示模式：照片可读取，未进行人脸比对，已放行。",
            message_en="Demo mode: the photo is readable; faces were not compared, so it was let through.",
        )


# --- choice ----------------------------------------------------------------------------------------------------------

PROVIDERS = ("auto", "dlib", "lenient-demo")

_INSTALL_HINT = "pip install -e '.[face]'"


def build_verifier(settings: Settings) -> FaceVerifier:
    """The provider named by `settings.face_provider`: 'dlib', 'lenient-demo' (demo only) or 'auto'."""
    choice = settings.face_provider.strip().lower()
    if choice not in PROVIDERS:
        raise FaceVerifierUnavailable(
            f"未知的实人认证方式 EDL_FACE_PROVIDER={settings.face_provider!r}，可选 {', '.join(PROVIDERS)} / "
            f"unknown real-person authentication provider EDL_FACE_PROVIDER={settings.face_provider!r}; "
            f"choose one of {', '.join(PROVIDERS)}"
        )
    if choice == "lenient-demo":
        if not settings.demo:
            raise FaceVerifierUnavailable(
                "宽松核验（lenient-demo）不比对人脸，只能在演示模式（EDL_DEMO=1）下使用；正式环境请使用 dlib / "
                "the lenient-demo provider does not compare faces and is allowed only in the demo (EDL_DEMO=1); "
                f"use EDL_FACE_PROVIDER=dlib (install with {_INSTALL_HINT})"
            )
        return LenientDemoVerifier()
    if dlib_available():
        return DlibFaceVerifier(
            threshold=settings.face_match_threshold, landmark_model=settings.liveness_landmark_model or None
        )
    if choice == "auto" and settings.demo:
        return LenientDemoVerifier()
    raise FaceVerifierUnavailable(
        f"未安装人脸比对组件（dlib），请运行 {_INSTALL_HINT} / face comparison (dlib) is not installed: "
        f"run {_INSTALL_HINT}"
    )
