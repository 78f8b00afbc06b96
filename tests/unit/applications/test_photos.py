"""The bad-photo suite: every kind of unacceptable upload is refused with its own stable code, and a compliant ID
photo of a real face passes and comes out upright, small and without metadata."""

from __future__ import annotations

import io
import json
import random
import struct
import time
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageEnhance, ImageFilter, ImageOps

from edl.applications.photo_measures import detect_faces
from edl.applications.photo_rules import DEFAULT_RULES, REFUSALS, CheckedPhoto, PhotoRejected, PhotoRules
from edl.applications.photos import check_photo
from tests.faces import id_photo, id_photo_image, jpeg, png, sideways_photo, two_faces_photo, wall

PEOPLE = ["astronaut", "hopper"]
DOCS = Path(__file__).resolve().parents[3] / "docs" / "photos.md"


def refused(data: bytes, **rules: object) -> PhotoRejected:
    with pytest.raises(PhotoRejected) as caught:
        check_photo(data, rules=PhotoRules(**rules)) if rules else check_photo(data)  # type: ignore[arg-type]
    return caught.value


def code_of(data: bytes) -> str:
    return refused(data).code


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bytes(width: int, height: int, *, bit_depth: int = 8, colour_type: int = 2, rows: bytes = b"") -> bytes:
    """A PNG written by hand, so its header can claim anything (huge sizes, 16-bit colour)."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def with_jpeg_size(data: bytes, width: int, height: int) -> bytes:
    """The JPEG `data` with its frame header (SOF0) claiming another size; the pixels stay as they are."""
    sof = data.index(b"\xff\xc0")
    return data[: sof + 5] + struct.pack(">HH", height, width) + data[sof + 9 :]


def jpeg_markers(data: bytes) -> list[int]:
    """The marker bytes of a JPEG's segments up to the start of scan (APPn = 0xE0-0xEF, COM = 0xFE)."""
    markers, pos = [], 2
    while pos < len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        markers.append(marker)
        if marker == 0xDA:
            break
        pos += 2 + struct.unpack(">H", data[pos + 2 : pos + 4])[0]
    return markers


# --- compliant photos ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("person", PEOPLE)
def test_compliant_id_photo_of_a_real_face_passes_with_its_measurements(person: str) -> None:
    checked = check_photo(id_photo(person))
    m = checked.measurements
    assert isinstance(checked, CheckedPhoto)
    assert (checked.width, checked.height) == (480, 600)
    assert m["faces_found"] == 1
    assert 0.38 <= m["face_width_fraction"] <= 0.50
    assert abs(m["face_centre"][0] - 0.5) < 0.03
    assert m["background_luminance"] > 245 and m["background_stddev"] < 5
    assert m["sharpness"] > 2 * DEFAULT_RULES.min_sharpness
    assert set(m) >= {"face_box", "face_luminance", "lighting_imbalance", "background_saturation", "size"}
    assert json.loads(json.dumps(m)) == m  # stored with the application for the reviewer


@pytest.mark.parametrize("person", PEOPLE)
def test_smallest_accepted_size_passes(person: str) -> None:
    assert check_photo(id_photo(person, size=(358, 441))).height == 441


@pytest.mark.parametrize("person", PEOPLE)
def test_compliant_png_passes_and_comes_out_as_jpeg(person: str) -> None:
    checked = check_photo(png(id_photo_image(person)))
    assert checked.jpeg.startswith(b"\xff\xd8\xff")
    assert Image.open(io.BytesIO(checked.jpeg)).format == "JPEG"


def test_output_carries_no_metadata_at_all() -> None:
    img = id_photo_image("hopper")
    exif = Image.Exif()
    exif[0x010F] = "TestPhone"
    exif[0x8825] = {2: (39.0, 54.0, 0.0)}  # GPS: where the photo was taken
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    data = jpeg(img, exif=exif.tobytes(), icc_profile=icc, comment=b"secret note", xmp=xmp)
    source = Image.open(io.BytesIO(data))
    assert source.info.get("icc_profile") and source.getexif() and source.info.get("comment")

    out = check_photo(data).jpeg
    reopened = Image.open(io.BytesIO(out))
    assert not reopened.getexif()
    assert not {"icc_profile", "exif", "xmp", "comment"} & set(reopened.info)
    assert reopened.mode == "RGB"
    markers = jpeg_markers(out)
    assert [m for m in markers if 0xE1 <= m <= 0xEF or m == 0xFE] == []  # only APP0 (JFIF) may remain
    assert b"TestPhone" not in out and b"secret note" not in out


def test_large_phone_photo_is_downscaled_keeping_its_aspect_and_checked_quickly() -> None:
    data = jpeg(id_photo_image("hopper", size=(3000, 4000)), quality=95)  # 12 megapixels
    best = min(_timed(data) for _ in range(3))
    checked = check_photo(data)
    assert (checked.width, checked.height) == (562, 750)
    assert checked.measurements["original_size"] == [3000, 4000]
    assert best < 1.0


def _timed(data: bytes) -> float:
    start = time.perf_counter()
    check_photo(data)
    return time.perf_counter() - start


@pytest.mark.parametrize("orientation", [6, 8])
@pytest.mark.parametrize("person", PEOPLE)
def test_photo_saved_sideways_with_exif_orientation_passes_upright_without_exif(person: str, orientation: int) -> None:
    data = sideways_photo(person, orientation=orientation)
    stored = Image.open(io.BytesIO(data))
    assert stored.width > stored.height and stored.getexif()[0x0112] == orientation

    checked = check_photo(data)
    out = Image.open(io.BytesIO(checked.jpeg))
    assert (out.width, out.height) == (480, 600)
    assert not out.getexif()
    assert checked.measurements["exif_orientation"] == orientation
    assert len(detect_faces(np.asarray(out))) == 1  # upright: the frontal detector finds the face again


def test_phone_jpeg_with_a_second_picture_mpo_is_not_taken_for_an_animation() -> None:
    img = id_photo_image("astronaut")
    buf = io.BytesIO()
    img.save(buf, "MPO", save_all=True, append_images=[img.resize((120, 150))])
    assert Image.open(io.BytesIO(buf.getvalue())).format == "MPO"
    assert check_photo(buf.getvalue()).width == 480


def test_cut_out_with_transparent_background_is_flattened_onto_white_and_passes() -> None:
    img = id_photo_image("hopper").convert("RGBA")
    pixels = np.asarray(img).copy()
    white = (pixels[..., :3] > 240).all(axis=2)
    pixels[white, 3] = 0
    checked = check_photo(png(Image.fromarray(pixels, "RGBA")))
    assert checked.measurements["flattened_transparency"] is True
    assert checked.measurements["background_luminance"] > 245


def test_upload_limit_is_a_rule_parameter() -> None:
    data = id_photo("astronaut")
    rejection = refused(data, max_bytes=len(data) - 1)
    assert rejection.code == "file_too_large"
    assert check_photo(data, rules=PhotoRules(max_bytes=len(data))).width == 480


# --- the bad-photo suite: each kind has its own code -----------------------------------------------------------


def test_empty_upload_is_refused() -> None:
    assert code_of(b"") == "empty"


@pytest.mark.parametrize("data", [b"hello, this is my photo", b"\x00" * 1000, "照片".encode() * 50])
def test_something_that_is_not_an_image_is_refused(data: bytes) -> None:
    assert code_of(data) == "not_an_image"


def test_text_file_named_like_a_jpeg_is_still_not_an_image() -> None:
    """Only the bytes count: there is no file name or content type to trust."""
    assert code_of(b"JFIF photo.jpg image/jpeg") == "not_an_image"


@pytest.mark.parametrize("make", [id_photo, lambda p: png(id_photo_image(p))], ids=["jpeg", "png"])
def test_truncated_upload_is_refused(make: object) -> None:
    data = make("hopper")  # type: ignore[operator]
    assert code_of(data[: len(data) // 2]) == "truncated"


def test_truncated_large_jpeg_is_refused_even_when_decoded_at_reduced_scale() -> None:
    data = jpeg(id_photo_image("hopper", size=(2400, 3000)))
    assert code_of(data[: len(data) * 2 // 3]) == "truncated"


def test_jpeg_without_its_end_marker_is_refused() -> None:
    assert code_of(id_photo("astronaut")[:-2]) == "truncated"


def test_corrupt_jpeg_is_refused() -> None:
    data = bytearray(id_photo("astronaut"))
    dqt = data.index(b"\xff\xdb")
    data[dqt + 1] = 0xFE  # the quantisation table turned into a comment: the scan cannot be decoded
    assert code_of(bytes(data)) == "truncated"


def test_file_over_the_upload_limit_is_refused_before_it_is_read() -> None:
    photo = id_photo("hopper")
    data = photo + b"\x00" * (30 * 1024 * 1024 - len(photo))  # a 30 MB upload
    rejection = refused(data)
    assert rejection.code == "file_too_large"
    assert "30.0 MB" in rejection.message_en and "10 MB" in rejection.message_zh


def test_png_header_claiming_huge_dimensions_is_refused_without_decoding() -> None:
    bomb = png_bytes(50_000, 50_000, rows=b"\x00" * 100)
    tracemalloc.start()
    try:
        rejection = refused(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rejection.code == "dimensions_too_large"
    assert "50000×50000" in rejection.message_en
    assert peak < 5 * 1024 * 1024


def test_jpeg_header_beyond_pillows_own_bomb_limit_is_a_refusal_not_a_crash() -> None:
    assert code_of(with_jpeg_size(id_photo("astronaut"), 60_000, 60_000)) == "dimensions_too_large"


@pytest.mark.parametrize(("width", "height"), [(9000, 4000), (6000, 7000)], ids=["side", "megapixels"])
def test_jpeg_over_the_side_or_megapixel_limit_is_refused(width: int, height: int) -> None:
    assert code_of(with_jpeg_size(id_photo("astronaut"), width, height)) == "dimensions_too_large"


def test_animated_gif_is_refused() -> None:
    frames = [id_photo_image("astronaut").convert("P"), id_photo_image("hopper").convert("P")]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=200, loop=0)
    assert code_of(buf.getvalue()) == "animated"


def test_still_gif_is_refused_as_a_format() -> None:
    buf = io.BytesIO()
    id_photo_image("astronaut").convert("P").save(buf, "GIF")
    rejection = refused(buf.getvalue())
    assert rejection.code == "format_not_allowed"
    assert "GIF" in rejection.message_en


def test_animated_png_is_refused() -> None:
    buf = io.BytesIO()
    id_photo_image("astronaut").save(buf, "PNG", save_all=True, append_images=[id_photo_image("hopper")])
    assert code_of(buf.getvalue()) == "animated"


@pytest.mark.parametrize(
    "data",
    [
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="480" height="600"/>',
        b'\xef\xbb\xbf  <svg xmlns="http://www.w3.org/2000/svg"><image href="face.jpg"/></svg>',
    ],
    ids=["xml", "bare"],
)
def test_svg_is_refused(data: bytes) -> None:
    rejection = refused(data)
    assert rejection.code == "format_not_allowed"
    assert "SVG" in rejection.message_en


def test_webp_is_refused() -> None:
    buf = io.BytesIO()
    id_photo_image("astronaut").save(buf, "WEBP")
    assert buf.getvalue()[8:12] == b"WEBP"
    assert code_of(buf.getvalue()) == "format_not_allowed"


def test_iphone_heic_is_refused_with_how_to_switch_to_jpeg() -> None:
    rejection = refused(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64)
    assert rejection.code == "format_not_allowed"
    assert "HEIC" in rejection.message_en and "Most Compatible" in rejection.message_en


def test_cmyk_jpeg_is_refused() -> None:
    rejection = refused(jpeg(id_photo_image("hopper").convert("CMYK")))
    assert rejection.code == "colour_mode"
    assert "CMYK" in rejection.message_en


def test_16_bit_colour_png_is_refused() -> None:
    width, height = 400, 500
    row = b"\x00" + b"\xff\xff\xf0\x00\x80\x80" * width
    data = png_bytes(width, height, bit_depth=16, colour_type=2, rows=row * height)
    assert code_of(data) == "bit_depth"


def test_16_bit_grey_png_is_refused() -> None:
    img = Image.fromarray(np.asarray(id_photo_image("astronaut").convert("L"), np.uint16) * 257)
    data = png(img)
    assert data[24] == 16  # IHDR bit depth
    assert code_of(data) == "bit_depth"


@pytest.mark.parametrize(
    "data",
    [
        jpeg(ImageOps.grayscale(id_photo_image("astronaut"))),
        png(ImageOps.grayscale(id_photo_image("astronaut"))),
        jpeg(ImageOps.grayscale(id_photo_image("astronaut")).convert("RGB")),
    ],
    ids=["grey-jpeg", "grey-png", "black-and-white-saved-as-colour"],
)
def test_black_and_white_photo_is_refused_asking_for_colour(data: bytes) -> None:
    rejection = refused(data)
    assert rejection.code == "colour_mode"
    assert "colour photo" in rejection.message_en and "彩色" in rejection.message_zh


def test_palette_png_is_refused_asking_for_colour() -> None:
    rejection = refused(png(id_photo_image("hopper").quantize(256)))
    assert rejection.code == "colour_mode"
    assert "palette" in rejection.message_en


def test_too_small_photo_is_refused() -> None:
    rejection = refused(id_photo("hopper", size=(300, 375)))
    assert rejection.code == "too_small"
    assert "300×375" in rejection.message_en


def test_landscape_photo_is_refused() -> None:
    img = Image.fromarray(wall((800, 600)))
    img.paste(id_photo_image("hopper", size=(480, 600)), (160, 0))
    assert code_of(jpeg(img)) == "not_portrait"


@pytest.mark.parametrize(
    "data",
    [jpeg(id_photo_image("astronaut").rotate(180)), jpeg(Image.fromarray(wall((480, 600), (250, 240, 230))))],
    ids=["upside-down", "bare-wall"],
)
def test_photo_without_a_face_is_refused(data: bytes) -> None:
    assert code_of(data) == "no_face"


def test_photo_of_two_people_is_refused() -> None:
    rejection = refused(two_faces_photo())
    assert rejection.code == "several_faces"
    assert "2" in rejection.message_en


@pytest.mark.parametrize("person", PEOPLE)
def test_face_too_far_away_is_refused(person: str) -> None:
    assert code_of(id_photo(person, face_fraction=0.24)) == "face_too_small"


@pytest.mark.parametrize("person", PEOPLE)
def test_face_too_close_is_refused(person: str) -> None:
    assert code_of(id_photo(person, face_fraction=0.62)) == "face_too_large"


@pytest.mark.parametrize("centre", [(0.33, 0.45), (0.67, 0.45), (0.5, 0.68)], ids=["left", "right", "low"])
def test_face_off_centre_is_refused(centre: tuple[float, float]) -> None:
    assert code_of(id_photo("hopper", centre=centre)) == "face_off_centre"


@pytest.mark.parametrize("person", PEOPLE)
def test_too_dark_photo_is_refused(person: str) -> None:
    assert code_of(jpeg(ImageEnhance.Brightness(id_photo_image(person)).enhance(0.35))) == "too_dark"


@pytest.mark.parametrize("person", PEOPLE)
def test_backlit_face_before_a_bright_wall_is_refused_as_too_dark(person: str) -> None:
    assert code_of(id_photo(person, light=(0.35, 0.35))) == "too_dark"


def test_photo_so_dark_that_no_face_shows_is_refused_as_too_dark() -> None:
    assert code_of(jpeg(ImageEnhance.Brightness(id_photo_image("astronaut")).enhance(0.1))) == "too_dark"


def test_overexposed_face_is_refused() -> None:
    assert code_of(jpeg(ImageEnhance.Brightness(id_photo_image("astronaut")).enhance(1.8))) == "too_bright"


@pytest.mark.parametrize("person", PEOPLE)
@pytest.mark.parametrize("light", [(1.0, 0.25), (0.25, 1.0)], ids=["right-dark", "left-dark"])
def test_face_lit_from_one_side_is_refused(person: str, light: tuple[float, float]) -> None:
    assert code_of(id_photo(person, light=light)) == "uneven_lighting"


@pytest.mark.parametrize("person", PEOPLE)
@pytest.mark.parametrize("colour", [(60, 60, 60), (185, 185, 185), (67, 142, 219), (200, 40, 40)])
def test_dark_grey_or_coloured_background_is_refused(person: str, colour: tuple[int, int, int]) -> None:
    assert code_of(id_photo(person, background=colour)) == "background_not_white"


@pytest.mark.parametrize("person", PEOPLE)
def test_painted_dark_background_is_refused(person: str) -> None:
    """The good photo with everything that is wall painted dark, the person untouched."""
    img = id_photo_image(person)
    pixels = np.asarray(img).copy()
    pixels[(pixels > 235).all(axis=2)] = (45, 50, 60)
    assert code_of(jpeg(Image.fromarray(pixels))) == "background_not_white"


@pytest.mark.parametrize("person", PEOPLE)
def test_patterned_background_is_refused(person: str) -> None:
    stripes = wall((480, 600)).copy()
    stripes[:, (np.arange(480) // 20) % 2 == 1] = 175
    assert code_of(id_photo(person, background=stripes)) == "background_not_plain"


@pytest.mark.parametrize("person", PEOPLE)
def test_blurred_photo_is_refused(person: str) -> None:
    assert code_of(jpeg(id_photo_image(person).filter(ImageFilter.GaussianBlur(5)))) == "blurred"


# --- robustness and messages -----------------------------------------------------------------------------------


def test_random_and_damaged_bytes_raise_nothing_but_photo_rejected() -> None:
    rng = random.Random(20240)
    good = [id_photo("astronaut"), png(id_photo_image("hopper", size=(358, 441)))]
    samples = [rng.randbytes(rng.randrange(1, 4000)) for _ in range(100)]
    for base in good:
        samples += [base[:2] + rng.randbytes(200), base[:8] + rng.randbytes(500), base[: rng.randrange(1, 600)]]
        for _ in range(30):
            damaged = bytearray(base)
            for _ in range(rng.randrange(1, 20)):
                damaged[rng.randrange(len(damaged))] = rng.randrange(256)
            samples.append(bytes(damaged))
    for data in samples:
        try:
            check_photo(data)
        except PhotoRejected as rejection:
            assert rejection.code in REFUSALS


def test_every_refusal_says_what_is_wrong_and_what_to_do_in_both_languages() -> None:
    for code, (zh, en) in REFUSALS.items():
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh), code
        assert en.isascii() or "›" in en or "×" in en, code
        assert len(en.split(". ")) >= 2 or ":" in en, f"{code}: say what is wrong and what to do"


def test_refusal_message_reads_chinese_then_english() -> None:
    rejection = refused(b"")
    assert str(rejection) == f"{rejection.message_zh} / {rejection.message_en}"


def test_documentation_lists_every_refusal_code_and_the_thresholds() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for code in REFUSALS:
        assert f"`{code}`" in text, code
    for name in PhotoRules.__dataclass_fields__:
        assert f"`{name}`" in text, name
