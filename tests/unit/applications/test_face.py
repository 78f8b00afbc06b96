"""Real-person authentication (实人认证) with a genuine dlib comparison on real faces (tests/faces.py)."""

from __future__ import annotations

import io
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PIL import Image

from edl.applications import face
from edl.applications.face import (
    DlibFaceVerifier,
    FaceOutcome,
    FaceVerifierUnavailable,
    LenientDemoVerifier,
    build_verifier,
    dlib_available,
)
from edl.config import Settings
from tests.faces import HEAD_BOX, id_photo, jpeg, live_capture, person_rgb

requires_dlib = pytest.mark.skipif(
    not dlib_available(), reason="dlib / face-recognition-models not installed (pip install -e '.[face]')"
)


# --- builders ----------------------------------------------------------------------------------------------------


def reference_photo(person: str) -> bytes:
    """The stored licence photo: the head box with a margin, as the registry would hold it."""
    return live_capture(person, grow=60)


def head(person: str, height: int) -> Image.Image:
    """The head box of `person`, scaled to `height` pixels."""
    img = Image.fromarray(person_rgb(person)).crop(HEAD_BOX[person])
    return img.resize((round(img.width * height / img.height), height))


def two_people() -> bytes:
    """Two different real faces side by side on a white background (a second person in the selfie)."""
    left, right = head("astronaut", 300), head("hopper", 300)
    canvas = Image.new("RGB", (left.width + right.width + 60, 360), "white")
    canvas.paste(left, (20, 30))
    canvas.paste(right, (left.width + 40, 30))
    return jpeg(canvas)


def white() -> bytes:
    return jpeg(Image.new("RGB", (480, 640), "white"))


def rotated_with_exif(data: bytes) -> bytes:
    """The same photo stored sideways with EXIF Orientation=6 ("rotate 90° clockwise to view"), as phones do."""
    img = Image.open(io.BytesIO(data)).rotate(90, expand=True)  # pixels turned counter-clockwise
    exif = Image.Exif()
    exif[0x0112] = 6
    return jpeg(img, exif=exif.tobytes())


GARBAGE = b"\x89PNG\r\n\x1a\n this is not really an image"


@pytest.fixture(scope="module")
def verifier() -> DlibFaceVerifier:
    return DlibFaceVerifier(threshold=0.5)


# --- dlib: genuine comparison ------------------------------------------------------------------------------------


@requires_dlib
def test_same_person_darker_shifted_and_recropped_passes_with_small_distance(verifier: DlibFaceVerifier) -> None:
    live = live_capture("astronaut", grow=20, brightness=0.6, shift=10)
    result = verifier.compare(live, reference_photo("astronaut"))
    print(f"\nastronaut live vs astronaut reference: distance {result.distance:.4f}")
    assert result.outcome is FaceOutcome.PASSED
    assert result.passed
    assert result.distance is not None and result.distance < 0.3


@requires_dlib
def test_someone_else_is_a_mismatch_with_large_distance(verifier: DlibFaceVerifier) -> None:
    result = verifier.compare(live_capture("hopper"), reference_photo("astronaut"))
    print(f"\nhopper live vs astronaut reference: distance {result.distance:.4f}")
    assert result.outcome is FaceOutcome.MISMATCH
    assert not result.passed
    assert result.distance is not None and result.distance > 0.5
    assert "车辆管理所" in result.message_zh and "vehicle administration office" in result.message_en


@requires_dlib
def test_mismatch_is_symmetric_for_the_other_person_as_reference(verifier: DlibFaceVerifier) -> None:
    result = verifier.compare(live_capture("astronaut"), reference_photo("hopper"))
    assert result.outcome is FaceOutcome.MISMATCH


@requires_dlib
@pytest.mark.parametrize("person", ["astronaut", "hopper"])
def test_selfie_matches_the_stored_white_background_id_photo_of_the_same_person(
    verifier: DlibFaceVerifier, person: str
) -> None:
    result = verifier.compare(live_capture(person, grow=20, brightness=0.6, shift=10), id_photo(person))
    print(f"\n{person} live vs {person} ID photo: distance {result.distance:.4f}")
    assert result.outcome is FaceOutcome.PASSED


@requires_dlib
@pytest.mark.parametrize(("live", "stored"), [("hopper", "astronaut"), ("astronaut", "hopper")])
def test_selfie_of_someone_else_does_not_match_the_stored_id_photo(
    verifier: DlibFaceVerifier, live: str, stored: str
) -> None:
    result = verifier.compare(live_capture(live), id_photo(stored))
    print(f"\n{live} live vs {stored} ID photo: distance {result.distance:.4f}")
    assert result.outcome is FaceOutcome.MISMATCH


@requires_dlib
def test_threshold_from_the_caller_decides_the_match() -> None:
    live, reference = live_capture("astronaut", grow=20, brightness=0.6, shift=10), reference_photo("astronaut")
    strict = DlibFaceVerifier(threshold=0.01).compare(live, reference)
    assert strict.outcome is FaceOutcome.MISMATCH
    assert strict.distance is not None and strict.distance > 0.01


@requires_dlib
def test_live_capture_without_a_face_is_refused_with_advice(verifier: DlibFaceVerifier) -> None:
    result = verifier.compare(white(), reference_photo("astronaut"))
    assert result.outcome is FaceOutcome.NO_FACE
    assert result.distance is None
    assert "正对镜头" in result.message_zh and "Face the camera in good light" in result.message_en


@requires_dlib
def test_two_people_in_the_live_capture_are_refused(verifier: DlibFaceVerifier) -> None:
    result = verifier.compare(two_people(), reference_photo("astronaut"))
    assert result.outcome is FaceOutcome.SEVERAL_FACES
    assert result.distance is None
    assert "只有您一人" in result.message_zh and "only you" in result.message_en


@requires_dlib
def test_full_astronaut_picture_counts_as_several_faces(verifier: DlibFaceVerifier) -> None:
    """dlib's HOG detector sees a second face in the full sample picture: the crop in the tests is deliberate."""
    result = verifier.compare(jpeg(person_rgb("astronaut")), reference_photo("astronaut"))
    assert result.outcome is FaceOutcome.SEVERAL_FACES


@requires_dlib
def test_undecodable_live_capture_is_a_bad_image(verifier: DlibFaceVerifier) -> None:
    for data in (GARBAGE, b"", b"\xff\xd8\xff\xe0 truncated jpeg"):
        result = verifier.compare(data, reference_photo("astronaut"))
        assert result.outcome is FaceOutcome.BAD_IMAGE
        assert "JPEG" in result.message_zh and "Take it again" in result.message_en


@requires_dlib
@pytest.mark.parametrize("reference", ["white", "two_people", "garbage"])
def test_unusable_reference_photo_sends_the_holder_to_the_office(verifier: DlibFaceVerifier, reference: str) -> None:
    data = {"white": white, "two_people": two_people, "garbage": lambda: GARBAGE}[reference]()
    result = verifier.compare(live_capture("astronaut"), data)
    assert result.outcome is FaceOutcome.NO_REFERENCE
    assert result.distance is None
    assert "车辆管理所" in result.message_zh and "submit a photo" in result.message_en


@requires_dlib
def test_exif_orientation_is_applied_before_detection(verifier: DlibFaceVerifier) -> None:
    live = rotated_with_exif(live_capture("astronaut", brightness=0.8))
    assert Image.open(io.BytesIO(live)).width > Image.open(io.BytesIO(live)).height  # stored sideways
    result = verifier.compare(live, reference_photo("astronaut"))
    assert result.outcome is FaceOutcome.PASSED


@requires_dlib
def test_large_phone_photo_is_downscaled_and_still_matches(verifier: DlibFaceVerifier) -> None:
    img = Image.open(io.BytesIO(live_capture("astronaut", grow=30))).convert("RGB")
    big = img.resize((img.width * 12, img.height * 12))  # ~3000 px, like a phone camera
    assert max(big.size) > face.MAX_SIDE
    result = verifier.compare(jpeg(big), reference_photo("astronaut"))
    assert result.outcome is FaceOutcome.PASSED


@requires_dlib
def test_models_are_loaded_once_per_process_even_from_many_threads() -> None:
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(face._dlib_models())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(m) for m in seen}) == 1
    assert face._dlib_models() is seen[0]


def test_importing_the_module_does_not_load_dlib() -> None:
    code = "import sys, edl.applications.face; assert 'dlib' not in sys.modules, 'dlib imported at import time'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[3])


def test_every_outcome_has_a_chinese_and_an_english_message() -> None:
    for outcome in FaceOutcome:
        zh, en = face._MESSAGES[outcome]
        assert zh and en and zh != en
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh)


# --- lenient demo ------------------------------------------------------------------------------------------------


def test_lenient_demo_names_itself_and_never_claims_a_distance() -> None:
    lenient = LenientDemoVerifier()
    assert lenient.name == "lenient-demo" and lenient.lenient
    assert "宽松" in lenient.label_zh and "不比对人脸" in lenient.label_zh
    result = lenient.compare(live_capture("hopper"), reference_photo("astronaut"))
    assert result.outcome is FaceOutcome.PASSED
    assert result.distance is None
    assert "未进行人脸比对" in result.message_zh and "not compared" in result.message_en


def test_lenient_demo_still_refuses_an_undecodable_capture() -> None:
    assert LenientDemoVerifier().compare(GARBAGE, reference_photo("astronaut")).outcome is FaceOutcome.BAD_IMAGE
    assert LenientDemoVerifier().compare(white(), GARBAGE).outcome is FaceOutcome.NO_REFERENCE


@requires_dlib
def test_dlib_verifier_is_not_lenient() -> None:
    assert DlibFaceVerifier().lenient is False
    assert DlibFaceVerifier().name == "dlib-resnet"


# --- build_verifier ----------------------------------------------------------------------------------------------


def settings(tmp_path: Path, provider: str, *, demo: bool = False, threshold: float = 0.5) -> Settings:
    return Settings(data_dir=tmp_path, face_provider=provider, demo=demo, face_match_threshold=threshold)


@pytest.fixture
def no_dlib(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend the optional [face] extra is not installed (importing dlib fails)."""
    monkeypatch.setitem(sys.modules, "dlib", None)


@requires_dlib
@pytest.mark.parametrize("provider", ["dlib", "auto", " DLIB "])
def test_dlib_or_auto_builds_the_dlib_verifier_with_the_configured_threshold(tmp_path: Path, provider: str) -> None:
    built = build_verifier(settings(tmp_path, provider, threshold=0.42))
    assert isinstance(built, DlibFaceVerifier)
    assert built.threshold == 0.42


@requires_dlib
def test_auto_prefers_dlib_even_in_the_demo(tmp_path: Path) -> None:
    assert isinstance(build_verifier(settings(tmp_path, "auto", demo=True)), DlibFaceVerifier)


@pytest.mark.usefixtures("no_dlib")
def test_auto_without_dlib_falls_back_to_lenient_only_in_the_demo(tmp_path: Path) -> None:
    assert isinstance(build_verifier(settings(tmp_path, "auto", demo=True)), LenientDemoVerifier)
    with pytest.raises(FaceVerifierUnavailable, match=r"pip install -e '\.\[face\]'"):
        build_verifier(settings(tmp_path, "auto", demo=False))


@pytest.mark.usefixtures("no_dlib")
def test_dlib_asked_for_but_not_installed_says_how_to_install(tmp_path: Path) -> None:
    with pytest.raises(FaceVerifierUnavailable, match=r"pip install -e '\.\[face\]'"):
        build_verifier(settings(tmp_path, "dlib", demo=True))


def test_lenient_demo_outside_the_demo_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FaceVerifierUnavailable, match="only in the demo"):
        build_verifier(settings(tmp_path, "lenient-demo", demo=False))


def test_lenient_demo_in_the_demo_is_built(tmp_path: Path) -> None:
    assert isinstance(build_verifier(settings(tmp_path, "lenient-demo", demo=True)), LenientDemoVerifier)


def test_unknown_provider_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FaceVerifierUnavailable, match="unknown real-person authentication provider"):
        build_verifier(settings(tmp_path, "opencv", demo=True))


def test_face_verifier_unavailable_is_a_runtime_error() -> None:
    assert issubclass(FaceVerifierUnavailable, RuntimeError)
