"""Real face images for tests, from installed packages (no download): scikit-image's astronaut (Eileen Collins) and
matplotlib's sample portrait of Grace Hopper. Two different real people, so "same person" and "someone else" can be
tested with a genuine face comparison.

Images are numpy RGB arrays (H, W, 3, uint8); `jpeg`/`png` encode them. The photo helpers below build ID-style photos
(white background) and live captures (crops, brightness) from them.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

Person = str  # "astronaut" or "hopper"
Colour = tuple[int, int, int]


@cache
def astronaut_rgb() -> np.ndarray:
    from skimage import data

    return np.asarray(data.astronaut(), dtype=np.uint8)


@cache
def hopper_rgb() -> np.ndarray:
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.uint8)


def person_rgb(person: Person) -> np.ndarray:
    return {"astronaut": astronaut_rgb, "hopper": hopper_rgb}[person]()


# Boxes (left, top, right, bottom) around one head (hair or cap to chin, ear to ear) in each source image, measured on
# the pictures, so that only ONE face is in view (dlib's detector finds a second "face" on the astronaut's suit patch).
HEAD_BOX: dict[Person, tuple[int, int, int, int]] = {
    "astronaut": (150, 12, 304, 195),
    "hopper": (150, 20, 378, 340),
}

# Where OpenCV's Haar cascade puts the face (left, top, width, height) in each source image: the scale of the
# ID-photo builders, since `check_photo` measures face size with that box.
FACE_BOX: dict[Person, tuple[int, int, int, int]] = {
    "astronaut": (177, 66, 95, 95),
    "hopper": (155, 105, 222, 222),
}


def jpeg(arr: np.ndarray | Image.Image, *, quality: int = 92, **save: object) -> bytes:
    img = arr if isinstance(arr, Image.Image) else Image.fromarray(arr)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, **save)
    return buf.getvalue()


def png(arr: np.ndarray | Image.Image, **save: object) -> bytes:
    img = arr if isinstance(arr, Image.Image) else Image.fromarray(arr)
    buf = io.BytesIO()
    img.save(buf, "PNG", **save)
    return buf.getvalue()


def live_capture(person: Person, *, grow: int = 40, brightness: float = 1.0, shift: int = 0) -> bytes:
    """A 'selfie' of `person`: the head box grown by `grow` px each side, shifted, brightness scaled (JPEG)."""
    arr = person_rgb(person)
    h, w = arr.shape[:2]
    left, top, right, bottom = HEAD_BOX[person]
    box = (max(0, left - grow + shift), max(0, top - grow), min(w, right + grow + shift), min(h, bottom + grow))
    img = Image.fromarray(arr).crop(box)
    if brightness != 1.0:
        img = ImageEnhance.Brightness(img).enhance(brightness)
    return jpeg(img)


# --- ID-style photos (证件照): the person cut out of the source picture and placed on a white wall ---------------


def _cutout(person: Person) -> tuple[Image.Image, Image.Image, tuple[float, float]]:
    """Head, neck and shoulders of `person` with a soft mask (head ellipse + widening shoulders), and the centre of
    the Haar face box inside the cut-out."""
    src = Image.fromarray(person_rgb(person))
    left, top, right, bottom = HEAD_BOX[person]
    width, height = right - left, bottom - top
    crop = (max(0, left - width // 2), top, min(src.width, right + width // 2), src.height)
    part = src.crop(crop)
    mask = Image.new("L", part.size, 0)
    draw = ImageDraw.Draw(mask)
    ox = left - crop[0]
    draw.ellipse((ox + 2, 0, ox + width - 2, height + 6), fill=255)
    neck = int(height * 0.85)
    draw.polygon(
        [
            (ox + width * 0.3, neck),
            (ox + width * 0.7, neck),
            (part.width, part.height * 0.75),
            (part.width, part.height),
            (0, part.height),
            (0, part.height * 0.75),
        ],
        fill=255,
    )
    fl, ft, fw, fh = FACE_BOX[person]
    return part, mask.filter(ImageFilter.GaussianBlur(2)), (fl + fw / 2 - crop[0], ft + fh / 2 - crop[1])


def wall(size: tuple[int, int], colour: Colour = (255, 255, 255), *, seed: int = 7) -> np.ndarray:
    """A plain wall as a camera sees it: `colour` with a faint top-to-bottom shading and sensor noise."""
    width, height = size
    shade = np.linspace(0.0, -6.0, height, dtype=np.float32)[:, None, None]
    noise = np.random.default_rng(seed).normal(0.0, 1.5, (height, width, 3)).astype(np.float32)
    return np.clip(np.asarray(colour, np.float32) + shade + noise, 0, 255).astype(np.uint8)


def id_photo_image(
    person: Person = "astronaut",
    *,
    size: tuple[int, int] = (480, 600),
    face_fraction: float = 0.42,
    centre: tuple[float, float] = (0.5, 0.45),
    background: Colour | np.ndarray = (255, 255, 255),
    light: tuple[float, float] = (1.0, 1.0),
) -> Image.Image:
    """An ID-style photo: `person`'s face `face_fraction` of the width wide, its centre at `centre` (fractions),
    on `background` (a colour, or an RGB array of `size` for patterns). `light` scales the person's brightness from
    the left to the right edge of their face (the wall keeps its own light): (0.3, 0.3) is a backlit face, (1.0, 0.4)
    light from one side."""
    part, mask, (fx, fy) = _cutout(person)
    if light != (1.0, 1.0):
        face_left, face_right = fx - FACE_BOX[person][2] / 2, fx + FACE_BOX[person][2] / 2
        ramp = np.interp(np.arange(part.width), [face_left, face_right], light).astype(np.float32)
        gain = ramp[None, :, None]
        part = Image.fromarray(np.clip(np.asarray(part, np.float32) * gain, 0, 255).astype(np.uint8))
    scale = face_fraction * size[0] / FACE_BOX[person][2]
    scaled = (round(part.width * scale), round(part.height * scale))
    part, mask = part.resize(scaled, Image.Resampling.LANCZOS), mask.resize(scaled, Image.Resampling.LANCZOS)
    back = background if isinstance(background, np.ndarray) else wall(size, background)
    canvas = Image.fromarray(back)
    canvas.paste(part, (round(centre[0] * size[0] - fx * scale), round(centre[1] * size[1] - fy * scale)), mask)
    return canvas


def id_photo(person: Person = "astronaut", **options: object) -> bytes:
    """A compliant ID-style photo (JPEG) that passes `check_photo`; `options` go to `id_photo_image`."""
    return jpeg(id_photo_image(person, **options))  # type: ignore[arg-type]


def two_faces_photo() -> bytes:
    """Both people side by side on a white wall, in portrait: two faces in one photo."""
    canvas = Image.fromarray(wall((480, 600)))
    for person, x in (("astronaut", 0), ("hopper", 240)):
        canvas.paste(id_photo_image(person, size=(240, 300), face_fraction=0.55).crop((0, 0, 240, 300)), (x, 150))
    return jpeg(canvas)


def sideways_photo(person: Person = "astronaut", *, orientation: int = 6) -> bytes:
    """A compliant photo stored sideways with EXIF Orientation=6 or 8, as phones save it; upright once applied."""
    upright = id_photo_image(person)
    stored = upright.transpose(Image.Transpose.ROTATE_90 if orientation == 6 else Image.Transpose.ROTATE_270)
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "TestPhone"  # Make: something to be stripped
    return jpeg(stored, exif=exif.tobytes())


# --- defects for the content rules (bench/photo_rules.py and the rule tests): each takes a compliant photo -------
# (`id_photo_image` with the same options) and changes one thing, so that only the rule under test should fire.


def face_box_in(
    person: Person,
    *,
    size: tuple[int, int] = (480, 600),
    face_fraction: float = 0.42,
    centre: tuple[float, float] = (0.5, 0.45),
) -> tuple[float, float, float, float]:
    """Where the Haar face box lands (left, top, width, height) in `id_photo_image(person, ...)` with these options."""
    scale = face_fraction * size[0] / FACE_BOX[person][2]
    width, height = FACE_BOX[person][2] * scale, FACE_BOX[person][3] * scale
    return centre[0] * size[0] - width / 2, centre[1] * size[1] - height / 2, width, height


def person_mask(person: Person, **options: object) -> np.ndarray:
    """Where the person (not the wall) is in `id_photo_image(person, **options)`: the photo built on black and on
    white walls differs only where the wall shows through."""
    size = options.get("size", (480, 600))
    assert isinstance(size, tuple)
    rest = {k: v for k, v in options.items() if k != "background"}
    black = np.asarray(id_photo_image(person, background=np.zeros((size[1], size[0], 3), np.uint8), **rest))  # type: ignore[arg-type]
    white = np.asarray(id_photo_image(person, background=np.full((size[1], size[0], 3), 255, np.uint8), **rest))  # type: ignore[arg-type]
    return np.abs(black.astype(np.int16) - white.astype(np.int16)).max(axis=2) < 40


def _points_in(img: Image.Image, person: Person, **options: object):  # type: ignore[no-untyped-def]
    """The face points of the photo: dlib's landmarks when installed (the [face] extra), else the box proportions."""
    from edl.applications.photo_landmarks import face_points, points_from_box
    from edl.applications.photo_measures import FaceBox, detect_faces

    found = detect_faces(np.asarray(img))
    if found:
        return face_points(np.asarray(img), found[0])
    left, top, width, height = face_box_in(person, **options)  # type: ignore[arg-type]
    return points_from_box(FaceBox(round(left), round(top), round(width), round(height)))


def shirt_photo_image(person: Person, colour: Colour, **options: object) -> Image.Image:
    """The person in a shirt of `colour` (with cloth shading and folds) from below the neck to the bottom."""
    img = np.asarray(id_photo_image(person, **options)).astype(np.float32)  # type: ignore[arg-type]
    _, top, _, height = face_box_in(person, **options)  # type: ignore[arg-type]
    body = person_mask(person, **options)
    rows = np.arange(img.shape[0])[:, None]
    shirt = body & (rows > top + 1.3 * height)
    cols = np.arange(img.shape[1])[None, :]
    folds = 1.0 + 0.08 * np.sin(cols / 9.0 + rows / 23.0) - 0.10 * (rows - top) / img.shape[0]
    noise = np.random.default_rng(3).normal(0, 3, img.shape)
    cloth = np.clip(np.asarray(colour, np.float32) * folds[..., None] + noise, 0, 255)
    img[shirt] = cloth[shirt]
    return Image.fromarray(img.astype(np.uint8))


def masked_photo_image(person: Person, colour: Colour = (150, 190, 225), **options: object) -> Image.Image:
    """A face mask (or a scarf pulled up) of `colour` from the nose bridge to below the chin, with ear loops."""
    img = id_photo_image(person, **options)  # type: ignore[arg-type]
    left, top, width, height = face_box_in(person, **options)  # type: ignore[arg-type]
    draw = ImageDraw.Draw(img)
    y0, y1 = top + 0.50 * height, top + 1.08 * height
    draw.rounded_rectangle((left + 0.10 * width, y0, left + 0.90 * width, y1), radius=width * 0.18, fill=colour)
    for x in (left + 0.10 * width, left + 0.90 * width):
        draw.line(
            (x, y0 + 4, x + (-1 if x < left + width / 2 else 1) * 0.1 * width, top + 0.42 * height),
            fill=colour,
            width=3,
        )
    return img


def hat_photo_image(person: Person, colour: Colour = (25, 25, 30), **options: object) -> Image.Image:
    """A cap of `colour` pulled down to just above the eyebrows (a brim across the forehead), crown over the hair."""
    img = id_photo_image(person, **options)  # type: ignore[arg-type]
    left, _, width, height = face_box_in(person, **options)  # type: ignore[arg-type]
    p = _points_in(img, person, **options)
    brim = p.brow_y - 0.08 * p.eye_distance
    draw = ImageDraw.Draw(img)
    draw.pieslice(
        (left - 0.05 * width, brim - 0.9 * height, left + 1.05 * width, brim + 0.3 * height), 180, 360, fill=colour
    )
    draw.rectangle((left - 0.08 * width, brim - 0.16 * height, left + 1.08 * width, brim), fill=colour)
    return img


def text_photo_image(
    person: Person,
    text: str,
    *,
    where: str = "corner",
    colour: Colour = (20, 20, 20),
    font_size: int = 28,
    **options: object,
) -> Image.Image:
    """`text` written over the photo (a watermark in a corner, a caption across the clothes, or on the forehead);
    Chinese needs a CJK font (Noto Sans CJK, which the browser tests install)."""
    from PIL import ImageFont

    img = id_photo_image(person, **options)  # type: ignore[arg-type]
    left, top, width, height = face_box_in(person, **options)  # type: ignore[arg-type]
    fonts = sorted(Path("/usr/share/fonts").rglob("NotoSansCJK-Regular.ttc"))
    font = ImageFont.truetype(str(fonts[0]), font_size) if fonts else ImageFont.load_default(font_size)
    at = {
        "corner": (img.width * 0.55, img.height * 0.03),
        "clothes": (img.width * 0.22, img.height * 0.88),
        "forehead": (left + 0.2 * width, top - 0.05 * height),
    }[where]
    outline = tuple(255 - c for c in colour)  # an outline in the opposite shade, as overlay apps draw text
    ImageDraw.Draw(img).text(at, text, fill=colour, font=font, stroke_width=1, stroke_fill=outline)
    return img


def smoothed_photo_image(person: Person, strength: int = 60, **options: object) -> Image.Image:
    """A beauty filter: strong edge-keeping smoothing (bilateral, twice) of the skin only; eyes, brows, lips and hair
    keep their detail, as the apps do (they smooth what their skin mask selects)."""
    import cv2

    img = np.asarray(id_photo_image(person, **options))  # type: ignore[arg-type]
    smooth = cv2.bilateralFilter(cv2.bilateralFilter(img, 15, strength, 15), 15, strength, 15)
    ycc = cv2.cvtColor(img, cv2.COLOR_RGB2YCrCb)
    skin = ((ycc[..., 1] >= 133) & (ycc[..., 1] <= 190) & (ycc[..., 2] >= 77) & (ycc[..., 2] <= 135)).astype(np.uint8)
    left, top, width, height = face_box_in(person, **options)  # type: ignore[arg-type]
    oval = Image.new("L", (img.shape[1], img.shape[0]), 0)
    ImageDraw.Draw(oval).ellipse((left, top - 0.1 * height, left + width, top + 1.1 * height), fill=255)
    mask = np.asarray(oval, np.uint8) * cv2.erode(skin, np.ones((5, 5), np.uint8))
    alpha = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 2)[..., None] / 255
    return Image.fromarray((img * (1 - alpha) + smooth * alpha).astype(np.uint8))


def tilted_photo_image(person: Person, degrees: float, **options: object) -> Image.Image:
    """The whole photo turned by `degrees` about the face (the head and shoulders lean; the wall stays white)."""
    img = id_photo_image(person, **options)  # type: ignore[arg-type]
    left, top, width, height = face_box_in(person, **options)  # type: ignore[arg-type]
    return img.rotate(
        degrees, Image.Resampling.BICUBIC, center=(left + width / 2, top + height / 2), fillcolor=(250, 250, 250)
    )


def open_mouth_photo_image(person: Person, opening: float = 0.5, **options: object) -> Image.Image:
    """The jaw dropped: below the mouth line the face is pulled down by up to `opening` × the mouth's width (most in
    the middle, none at the corners), and the gap between the lips is the mouth's dark inside with upper teeth."""
    import cv2

    img = id_photo_image(person, **options)  # type: ignore[arg-type]
    p = _points_in(img, person, **options)
    arr = np.asarray(img)
    x0, x1 = p.mouth_left[0], p.mouth_right[0]
    mouth_y = (p.mouth_left[1] + p.mouth_right[1]) / 2
    span = max(8.0, p.chin[1] - mouth_y) * 1.3
    h, w = arr.shape[:2]
    xs = np.arange(w, dtype=np.float32)
    profile = np.clip(1 - ((xs - (x0 + x1) / 2) / ((x1 - x0) / 2)) ** 2, 0, 1)
    gap = opening * (x1 - x0) * profile  # per column
    ys = np.arange(h, dtype=np.float32)[:, None]
    below = ys - mouth_y
    src_y = np.where(
        below <= 0,
        ys,
        np.where(below < span, mouth_y + np.clip(below - gap, 0, None) * span / np.maximum(span - gap, 1), ys),
    )
    map_x = np.broadcast_to(xs[None, :], (h, w)).astype(np.float32)
    warped = cv2.remap(arr, map_x, src_y.astype(np.float32), cv2.INTER_LINEAR)
    inside = (below > 0) & (below < gap[None, :] * 0.92)
    warped[inside] = (45, 12, 18)
    teeth = (below > 0) & (below < gap[None, :] * 0.22) & (profile[None, :] > 0.35)
    warped[teeth] = (232, 228, 215)
    return Image.fromarray(warped)


def hair_over_ears_photo_image(person: Person, colour: Colour = (60, 42, 30), **options: object) -> Image.Image:
    """Hair of `colour` (with strands) hanging over both ears and the sides of the face, brow to jaw."""
    img = id_photo_image(person, **options)  # type: ignore[arg-type]
    left, top, width, height = face_box_in(person, **options)  # type: ignore[arg-type]
    draw = ImageDraw.Draw(img)
    for x0, x1 in ((left - 0.22 * width, left + 0.10 * width), (left + 0.90 * width, left + 1.22 * width)):
        draw.rectangle((x0, top, x1, top + 0.85 * height), fill=colour)
        for i in range(0, int(x1 - x0), 4):
            draw.line((x0 + i, top, x0 + i, top + 0.85 * height), fill=tuple(min(255, c + 25) for c in colour), width=1)
    return img


def edited_photo(person: Person = "astronaut", software: str = "MeituXiuXiu 9.6", **options: object) -> bytes:
    """A compliant photo whose EXIF says an editing app saved it."""
    exif = Image.Exif()
    exif[0x0131] = software
    return jpeg(id_photo_image(person, **options), exif=exif.tobytes())  # type: ignore[arg-type]


def real_wall(
    size: tuple[int, int], colour: Colour = (240, 238, 232), *, falloff: float = 0.0, side: float = 0.0, seed: int = 11
) -> np.ndarray:
    """A white wall indoors as a phone sees it: an off-white `colour`, light falling off towards the corners
    (`falloff`: fraction darker at the corners) and from one side (`side`: fraction darker at the right), with
    sensor noise."""
    width, height = size
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    r = np.hypot((xx - width / 2) / (width / 2), (yy - height * 0.4) / (height / 2)) / np.sqrt(2)
    gain = (1 - falloff * r**2) * (1 - side * xx / width)
    noise = np.random.default_rng(seed).normal(0.0, 2.5, (height, width, 3)).astype(np.float32)
    return np.clip(np.asarray(colour, np.float32) * gain[..., None] + noise, 0, 255).astype(np.uint8)
