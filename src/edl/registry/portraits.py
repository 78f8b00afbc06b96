"""Synthetic ID-style portraits for generated holders: a drawn face on a white background, 358×441 JPEG.

Not a photograph of anyone: head, hair, eyes, nose, mouth and shoulders in dark clothes, drawn with Pillow. The
same (seed, licence number) always gives the same bytes, so a portrait can be rendered again on demand instead of
being stored; different numbers vary skin tone, face shape, hair colour and style, eyes, mouth and clothes.
"""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw

WIDTH, HEIGHT = 358, 441
"""ID-photo pixel size (brief §4: at least 358×441, portrait orientation)."""
BACKGROUND = (255, 255, 255)
OLD_BACKGROUND = (150, 190, 230)
"""The blue background of older licence photos: such a stored photo exists but does not meet the e-licence rules."""
JPEG_QUALITY = 90

Colour = tuple[int, int, int]
SKIN: tuple[Colour, ...] = (
    (247, 224, 203),
    (241, 212, 186),
    (234, 200, 170),
    (224, 186, 152),
    (206, 163, 126),
    (186, 140, 104),
)
HAIR: tuple[Colour, ...] = ((20, 18, 18), (34, 28, 26), (48, 36, 30), (62, 46, 36))
GREY_HAIR: tuple[Colour, ...] = ((120, 118, 116), (160, 158, 155))
CLOTHES: tuple[Colour, ...] = ((24, 28, 40), (30, 30, 32), (40, 44, 52), (44, 34, 30), (20, 32, 52))
IRIS: tuple[Colour, ...] = ((40, 28, 22), (58, 40, 28), (28, 24, 24))
LIPS: tuple[Colour, ...] = ((180, 96, 96), (170, 104, 100), (196, 112, 110))


def render_portrait(seed: int, number: str, *, background: tuple[int, int, int] = BACKGROUND) -> bytes:
    """The JPEG portrait of the holder with licence `number` in the data set generated with `seed`."""
    rnd = random.Random(f"edl-portrait:{seed}:{number}")
    female = number[16:17].isdigit() and int(number[16]) % 2 == 0
    born = int(number[6:10]) if number[6:10].isdigit() else 1990
    img = Image.new("RGB", (WIDTH, HEIGHT), background)
    draw = ImageDraw.Draw(img)
    cx = WIDTH // 2 + rnd.randint(-6, 6)
    cy = 182 + rnd.randint(-8, 8)
    fw, fh = rnd.randint(66, 82), rnd.randint(90, 104)
    skin = rnd.choice(SKIN)
    hair = rnd.choice(GREY_HAIR) if born < 1966 and rnd.random() < 0.6 else rnd.choice(HAIR)
    long_hair = rnd.random() < (0.75 if female else 0.05)

    volume = rnd.randint(8, 18)
    if long_hair:  # hair falling behind the head to the shoulders
        draw.rounded_rectangle((cx - fw - 14, cy - fh - volume, cx + fw + 14, cy + fh + 60), radius=70, fill=hair)
    else:  # hair around the top of the head, above the ears
        draw.ellipse((cx - fw - 7, cy - fh - volume, cx + fw + 7, cy + fh // 3), fill=hair)
    _shoulders(draw, cx, cy + fh, rnd)
    draw.rectangle((cx - fw // 2 + 8, cy + fh - 30, cx + fw // 2 - 8, cy + fh + 30), fill=_shade(skin, 0.9))
    for side in (-1, 1):  # ears
        ex = cx + side * fw
        draw.ellipse((ex - 12, cy - 14, ex + 12, cy + 26), fill=_shade(skin, 0.95))
    draw.ellipse((cx - fw, cy - fh, cx + fw, cy + fh), fill=skin)
    _fringe(draw, cx, cy, fw, fh, volume, hair, rnd)
    _features(draw, cx, cy, fw, fh, rnd)

    out = io.BytesIO()
    img.save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def _shade(colour: Colour, factor: float) -> Colour:
    r, g, b = colour
    return (int(r * factor), int(g * factor), int(b * factor))


def _shoulders(draw: ImageDraw.ImageDraw, cx: int, chin: int, rnd: random.Random) -> None:
    """Dark clothes from below the chin to the bottom edge, level shoulders; sometimes a white shirt collar."""
    top = chin + rnd.randint(8, 16)
    clothes = rnd.choice(CLOTHES)
    draw.ellipse((cx - 190, top, cx + 190, top + 300), fill=clothes)
    if rnd.random() < 0.5:
        draw.polygon([(cx - 34, top + 2), (cx + 34, top + 2), (cx, top + 50)], fill=(236, 236, 236))
        draw.polygon([(cx - 20, top + 2), (cx + 20, top + 2), (cx, top + 34)], fill=clothes)


def _fringe(
    draw: ImageDraw.ImageDraw, cx: int, cy: int, fw: int, fh: int, volume: int, hair: Colour, rnd: random.Random
) -> None:
    """Hair over the top of the face down to a hairline of varying height, parted on one side or not at all."""
    top = cy - fh - volume
    line = cy - fh // 2 + rnd.randint(-14, 2)
    draw.chord((cx - fw - 2, top, cx + fw + 2, 2 * line - top), 180, 360, fill=hair)
    if rnd.random() < 0.5:  # side part: the fringe sweeps lower on one side
        side = rnd.choice((-1, 1))
        draw.polygon([(cx, top + 4), (cx + side * (fw + 1), line - 2), (cx + side * fw // 3, line + 10)], fill=hair)


def _features(draw: ImageDraw.ImageDraw, cx: int, cy: int, fw: int, fh: int, rnd: random.Random) -> None:
    """Eyebrows, eyes looking at the lens, nose and a neutral mouth."""
    spacing = rnd.randint(27, 34)
    eye_y = cy - rnd.randint(2, 10)
    eye_w, eye_h = rnd.randint(12, 16), rnd.randint(5, 8)
    iris = rnd.choice(IRIS)
    brow = rnd.randint(14, 20)
    for side in (-1, 1):
        ex = cx + side * spacing
        draw.line(
            (ex - 16, eye_y - brow, ex + 16, eye_y - brow - side * rnd.randint(-2, 2)), fill=(40, 30, 26), width=4
        )
        draw.ellipse((ex - eye_w, eye_y - eye_h, ex + eye_w, eye_y + eye_h), fill=(250, 250, 250))
        draw.ellipse((ex - 5, eye_y - 5, ex + 5, eye_y + 5), fill=iris)
        draw.ellipse((ex - 2, eye_y - 2, ex + 2, eye_y + 2), fill=(10, 10, 10))
    nose_y = eye_y + rnd.randint(34, 44)
    draw.line((cx, eye_y + 8, cx - 4, nose_y), fill=(150, 110, 90), width=2)
    draw.arc((cx - 12, nose_y - 8, cx + 12, nose_y + 6), 20, 160, fill=(140, 100, 84), width=2)
    mouth_y = nose_y + rnd.randint(22, 30)
    half = rnd.randint(16, 24)
    draw.chord((cx - half, mouth_y - 6, cx + half, mouth_y + 8), 0, 180, fill=rnd.choice(LIPS))
    draw.line((cx - half, mouth_y, cx + half, mouth_y), fill=(120, 64, 64), width=2)
