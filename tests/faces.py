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
