"""Synthetic camera bursts for testing and benchmarking the active liveness check (`edl.domain.liveness`).

What it models: a webcam (perspective, ≈60° horizontal field of view, ~40 cm from the face at scale 1) looking at one
of two real people (`tests.faces`: the astronaut, Grace Hopper). The head is a 3D proxy: an ellipsoid (taller than
wide, with depth) with a Gaussian nose bump placed on the portrait's own dlib landmarks, turning about the neck 10 cm
behind the face, textured with the portrait by frontal orthographic projection, outlined by the hair and face cut out
of the portrait (GrabCut), shaded Lambertian from a movable light. Neck and shoulders are a flat layer that stays still.
The head follows the challenge timeline: frontal; in each turn window, after a reaction delay, a turn to `peak_yaw`
and back; in a blink window the eyes shut for ~300 ms around its middle (the eye regions painted with skin, a lash
line and a lid crease); a small natural sway (±1.7° yaw, ±1° pitch and roll, 1 px) throughout. Attacks: the same
picture held still, the registry photo shown to the camera, a flat or bent print turned like a head, the right
movements in the wrong order, another person.

Limits: one frontal photograph is the only texture, so the sides of the head are stretched photo edges (no ears, no
hair volume), the photo's own lighting turns with the head, and the registry photo is the same photograph (so
descriptor distances and face hashes are closer to it than a live face's would be); no mouth, brow or gaze motion, no
motion blur, rolling shutter or auto-exposure. The face is a little flatter than a real one (nose tip ~22 mm in front
of the outer eye corners, no eye sockets), so solvePnP reads ~0.9 of the rendered yaw, and at 32° dlib's HOG detector
misses Hopper now and then (~2 % of varied frames). dlib's eye points close less on Hopper (glasses): her closed-eye
aspect ratio is ~0.45 of the open one on average, up to ~0.8. A bent print is not arc-length corrected. Deterministic
given the inputs (`Variation.seed` drives the noise and the sway).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from edl.domain.liveness import ACTION_MS, Action, capture_ms, frame_times, timeline
from tests.faces import FACE_BOX, HEAD_BOX, _cutout, id_photo_image, jpeg, person_rgb, wall

PERSONS = ("astronaut", "hopper")
Colour = tuple[int, int, int]

BROW_CHIN = 120.0
"""Texture units (≈ mm) from the brow line to the chin: each portrait is resized to this."""
FACE_FRACTION = 0.33
"""Brow-to-chin height over frame height at scale 1 (hairline to chin ≈ 48 % of the frame)."""
FOCAL = 1.15
"""Focal length over frame height (≈ 60° horizontal field of view at 4:3)."""
HEAD_HALF_WIDTH = 100.0
"""Half-width of the head ellipsoid (texture units): the same for both people, wider than a skull because a face is
flatter than a sphere its own width."""
DEPTH = 0.72
"""Half-depth over half-width of the ellipsoid."""
PIVOT = 100.0
"""How far behind the face's front the head turns (the neck)."""
NOSE = 0.18
"""Height of the nose bump over the ellipsoid's half-width."""


@dataclass(frozen=True)
class Variation:
    """How one capture differs from another: the person's speed, the room, the camera."""

    speed: float = 1.0  # how fast the person reacts and moves (1 = nominal)
    light: float = 1.0  # brightness gain of the whole scene
    light_dir: float = 0.0  # x of the light's direction, -1 (from the image's left) .. 1
    noise: float = 2.0  # camera noise, Gaussian sigma in grey levels
    scale: float = 1.0  # face size (1: brows to chin a third of the frame height)
    shift: tuple[int, int] = (0, 0)  # px, the head and shoulders off centre
    quality: int = 88  # JPEG quality of `Burst.jpegs`
    peak_yaw: float = 25.0  # degrees of a turn
    size: tuple[int, int] = (480, 360)
    background: Colour | int = (200, 196, 188)  # a wall colour, or the seed of a textured room
    seed: int = 0  # camera noise and natural sway


def varied(rng: random.Random) -> Variation:
    """A realistic spread of people, rooms and webcams."""
    wall_colour = (rng.randint(120, 235), rng.randint(120, 235), rng.randint(110, 230))
    return Variation(
        speed=rng.uniform(0.75, 1.3),
        light=rng.uniform(0.6, 1.3),
        light_dir=rng.uniform(-0.6, 0.6),
        noise=rng.uniform(0.0, 6.0),
        scale=rng.uniform(0.75, 1.2),
        shift=(rng.randint(-30, 30), rng.randint(-15, 15)),
        quality=rng.randint(70, 92),
        peak_yaw=rng.uniform(20.0, 32.0),
        background=rng.randrange(1 << 16) if rng.random() < 0.5 else wall_colour,
        seed=rng.randrange(1 << 30),
    )


@dataclass
class Burst:
    """Frames (RGB uint8) and their times (ms since the capture began), as the page sends them."""

    frames: list[np.ndarray]
    times_ms: list[int]
    quality: int = 88

    def jpegs(self, quality: int | None = None) -> list[bytes]:
        return [jpeg(frame, quality=quality or self.quality) for frame in self.frames]


# --- the person: texture, landmarks, head proxy ------------------------------------------------------------------


@dataclass(frozen=True)
class _Model:
    photo: np.ndarray  # the portrait at texture scale, RGB float32 (prints, shoulders)
    head: np.ndarray  # RGBA float32: alpha is the head's outline, colour filled in beyond it
    closed: np.ndarray  # the same with the eyes shut
    k: float  # texture pixels per source pixel
    centre: tuple[float, float]  # the ellipsoid's centre in the texture
    axes: tuple[float, float, float, float]  # half-width, half-heights above and below the centre, half-depth
    nose: tuple[float, float, float, float, float]  # bump centre x, y (from the centre), height, sigma x, sigma y
    torso: np.ndarray  # alpha of the neck and shoulders below the head


@cache
def _dlib() -> tuple[Callable[..., object], Callable[..., object]]:
    import dlib
    import face_recognition_models

    predictor = dlib.shape_predictor(face_recognition_models.pose_predictor_model_location())
    return dlib.get_frontal_face_detector(), predictor


def _segment(src: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The head's outline (hair, face, neck) inside its box: GrabCut seeded with the box's ellipse (uint8 0/1)."""
    left, top, right, bottom = box
    w, h = right - left, bottom - top
    mask: np.ndarray = np.full(src.shape[:2], cv2.GC_BGD, np.uint8)
    mask[max(0, top - h // 3) :, max(0, left - w // 2) : right + w // 2] = cv2.GC_PR_BGD
    centre = ((left + right) // 2, (top + bottom) // 2)
    cv2.ellipse(mask, centre, (w // 2, h // 2), 0, 0, 360, cv2.GC_PR_FGD, -1)
    cv2.ellipse(mask, (centre[0], centre[1] + h // 10), (w // 4, h // 3), 0, 0, 360, cv2.GC_FGD, -1)
    cv2.setRNGSeed(0)  # GrabCut's k-means: the same outline in every process
    bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
    cv2.grabCut(np.ascontiguousarray(src[..., ::-1]), mask, (0, 0, 0, 0), bgd, fgd, 6, cv2.GC_INIT_WITH_MASK)
    inside = np.zeros(src.shape[:2], np.uint8)
    cv2.ellipse(inside, centre, (w // 2, h // 2), 0, 0, 360, 1, -1)
    fg = ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).astype(np.uint8) & inside
    return np.asarray(cv2.dilate(fg, np.ones((3, 3), np.uint8)))


@cache
def _model(person: str) -> _Model:
    src = person_rgb(person).copy()
    detector, predictor = _dlib()
    left, top, right, bottom = HEAD_BOX[person]
    marks: np.ndarray | None = None
    for r in detector(src, 1):  # type: ignore[attr-defined]
        cx, cy = (r.left() + r.right()) / 2, (r.top() + r.bottom()) / 2
        if left <= cx <= right and top <= cy <= bottom:
            shape = predictor(src, r)
            marks = np.array([(shape.part(i).x, shape.part(i).y) for i in range(68)], np.float32)  # type: ignore[attr-defined]
        else:  # another "face" (the astronaut's suit patch): paint it out of the picture
            patch = np.zeros(src.shape[:2], np.uint8)
            cv2.ellipse(patch, (int(cx), int(cy)), (int(r.width() * 0.8), int(r.height() * 0.8)), 0, 0, 360, 255, -1)
            src = cv2.inpaint(src, patch, 9, cv2.INPAINT_TELEA)
    assert marks is not None, f"no face in {person}'s head box"
    fg = _segment(src, HEAD_BOX[person])
    filled = cv2.inpaint(src, (1 - fg) * np.uint8(255), 5, cv2.INPAINT_TELEA)  # hair colour where the backdrop was
    k = BROW_CHIN / float(marks[8, 1] - marks[17:27, 1].mean())
    size = (round(src.shape[1] * k), round(src.shape[0] * k))
    how = cv2.INTER_AREA if k < 1 else cv2.INTER_CUBIC
    marks = marks * k
    # The head ends a little below the chin; the neck below it belongs to the shoulders, which do not turn.
    rows = np.arange(size[1], dtype=np.float32)[:, None]
    above = np.clip((marks[8, 1] + 0.1 * BROW_CHIN - rows) / 6 + 0.5, 0, 1)
    alpha = cv2.GaussianBlur(cv2.resize(fg.astype(np.float32), size), (0, 0), 1.0) * above
    head = np.dstack((cv2.resize(filled, size, interpolation=how).astype(np.float32), alpha))
    closed = np.dstack((_close_eyes(head[..., :3], marks), alpha))
    _, cut, _ = _cutout(person)  # the ID-photo cut-out: head, neck and shoulders
    body = np.zeros(src.shape[:2], np.float32)
    ox = max(0, left - (right - left) // 2)
    body[top : top + cut.height, ox : ox + cut.width] = np.asarray(cut, np.float32) / 255
    cx, cy = (left + right) / 2 * k, float(marks[27:31, 1].mean())  # the ellipsoid's centre: at ear level
    a = HEAD_HALF_WIDTH
    tip, bridge = marks[30], marks[27]
    length = float(tip[1] - bridge[1])
    nose = (float(tip[0]) - cx, float(tip[1]) - 0.35 * length - cy, NOSE * a, 0.3 * float(marks[35, 0] - marks[31, 0]))
    photo = cv2.resize(src, size, interpolation=how).astype(np.float32)
    axes = (a, cy - top * k, bottom * k - cy, a * DEPTH)
    return _Model(photo, head, closed, k, (cx, cy), axes, (*nose, 0.5 * length), cv2.resize(body, size) * (1 - above))


def _close_eyes(tex: np.ndarray, marks: np.ndarray) -> np.ndarray:
    """The eyes shut: each eye region (landmarks 36–41, 42–47, grown) painted with the skin just below it, a lash line
    along the lower lid and a faint lid crease above."""
    out = tex.copy()
    for first in (36, 42):
        eye = marks[first : first + 6]
        width = float(np.linalg.norm(eye[3] - eye[0]))
        cx, cy = eye.mean(axis=0)
        below = tex[int(cy + 0.5 * width) : int(cy + 0.7 * width) + 1, int(cx - 0.25 * width) : int(cx + 0.25 * width)]
        skin = np.median(below.reshape(-1, 3), axis=0)
        region = np.zeros(tex.shape[:2], np.float32)
        cv2.fillPoly(region, [np.round((eye - (cx, cy)) * (1.35, 3.6) + (cx, cy)).astype(np.int32)], 1.0)
        soft = cv2.GaussianBlur(region, (0, 0), max(1.0, 0.08 * width))[..., None]
        out = out * (1 - soft) + skin * soft
        lid = np.zeros(tex.shape[:2], np.float32)
        lower = np.round(eye[[0, 5, 4, 3]] - (0, 0.06 * width)).astype(np.int32)
        cv2.polylines(lid, [lower], False, 1.0, max(2, round(0.07 * width)), cv2.LINE_AA)
        crease = np.round(eye[[0, 1, 2, 3]] - (0, 0.25 * width)).astype(np.int32)
        cv2.polylines(lid, [crease], False, 0.35, max(1, round(0.04 * width)), cv2.LINE_AA)
        out = out * (1 - 0.8 * cv2.GaussianBlur(lid, (0, 0), 0.8)[..., None])
    return out


# --- movement over time ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pose:
    yaw: float = 0.0  # degrees, positive: towards the holder's left (the nose to the image right)
    pitch: float = 0.0  # positive: nose up
    roll: float = 0.0
    dx: float = 0.0  # px
    dy: float = 0.0
    closed: bool = False


def _ease(x: float) -> float:
    return 0.5 - 0.5 * math.cos(math.pi * min(1.0, max(0.0, x)))


def _pose(actions: Sequence[Action], v: Variation, t: float) -> _Pose:
    """Where the head is at `t` ms: the challenge's movements plus a small natural sway."""
    rnd = random.Random(v.seed)
    ph = [rnd.uniform(0, 2 * math.pi) for _ in range(5)]
    wave = [
        math.sin(2 * math.pi * t / period + p) for period, p in zip((1900, 2300, 2700, 1500, 1300), ph, strict=True)
    ]
    yaw = 1.2 * wave[0] + 0.5 * math.sin(2 * math.pi * t / 710 + ph[1])
    closed = False
    for window in timeline(actions)[1:]:
        s = t - window.start_ms
        if window.action is Action.BLINK:
            middle = ACTION_MS / 2 + rnd.uniform(-60, 60)
            closed |= abs(s - middle) < min(350.0, max(250.0, 300 / v.speed)) / 2
        elif window.action is not None and 0 <= s < ACTION_MS:
            phases = [ms / v.speed for ms in (250, 300, 200, 300)]  # react, turn, hold, come back
            squeeze = min(1.0, (ACTION_MS - 80) / sum(phases))  # back to frontal before the window ends
            delay, rise, hold, back = (ms * squeeze for ms in phases)
            up = s < delay + rise + hold
            amount = _ease((s - delay) / rise) if up else 1 - _ease((s - delay - rise - hold) / back)
            yaw += (1 if window.action is Action.TURN_LEFT else -1) * v.peak_yaw * amount
    return _Pose(yaw, 0.8 * wave[1], 0.7 * wave[2], wave[3], 0.6 * wave[4], closed)


# --- rendering ---------------------------------------------------------------------------------------------------


def _rotation(p: _Pose) -> np.ndarray:
    y, x, z = np.radians([p.yaw, p.pitch, p.roll])
    ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    rx = np.array([[1, 0, 0], [0, math.cos(x), -math.sin(x)], [0, math.sin(x), math.cos(x)]])
    rz = np.array([[math.cos(z), -math.sin(z), 0], [math.sin(z), math.cos(z), 0], [0, 0, 1]])
    return np.asarray(rz @ ry @ rx)


# A surface in object coordinates (x right, y down, z towards the camera): for a ray origin and directions, the rays
# that hit (indices), and for each of those the hit's x, y (texture offsets from the object's centre) and normal.
_Hit = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
_Surface = Callable[[np.ndarray, np.ndarray], _Hit]


def _head_surface(m: _Model) -> _Surface:
    a, top, bottom, c = m.axes
    xn, yn, h, sx, sy = m.nose

    def bump(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.asarray(h * np.exp(-((x - xn) ** 2) / (2 * sx * sx) - (y - yn) ** 2 / (2 * sy * sy)))

    def outside(p: np.ndarray) -> np.ndarray:  # the ellipsoid pushed forward by the bump
        x, y, z = p[..., 0], p[..., 1], p[..., 2]
        return np.asarray((x / a) ** 2 + (y / np.where(y < 0, top, bottom)) ** 2 + ((z - bump(x, y)) / c) ** 2 > 1)

    def hit(o: np.ndarray, d: np.ndarray) -> _Hit:
        o = o - np.array([0, 0, PIVOT - c], np.float32)  # from the pivot to the ellipsoid's centre
        t = np.full(len(d), np.inf, np.float32)
        for b, upper in ((top, True), (bottom, False)):  # two half-ellipsoids, joined at ear level
            k = np.array([1 / a, 1 / b, 1 / c], np.float32)
            os_, ds = o * k, d * k
            qa, qb, qc = (ds * ds).sum(1), 2 * ds @ os_, os_ @ os_ - 1
            disc = qb * qb - 4 * qa * qc
            root = (-qb - np.sqrt(np.maximum(disc, 0))) / (2 * qa)
            y = o[1] + root * d[:, 1]
            t = np.where((disc > 0) & (root > 0) & ((y <= 0) if upper else (y >= 0)) & (root < t), root, t)
        hits = np.flatnonzero(np.isfinite(t))
        d, t = d[hits], t[hits]
        # The nose stands out of the ellipsoid: march back along the rays that land near it, then bisect.
        x0, y0 = o[0] + t * d[:, 0], o[1] + t * d[:, 1]
        near = np.flatnonzero((abs(x0 - xn) < 3 * sx + 1.5 * h) & (abs(y0 - yn) < 3 * sy + 1.5 * h))
        if len(near):
            dn, tn = d[near], t[near]
            span = 2.5 * h / np.maximum(abs(dn[:, 2]), 0.3)
            ts = tn[:, None] - span[:, None] * (1 - np.linspace(0, 1, 16, dtype=np.float32))[None, :]
            inside = ~outside(o + ts[..., None] * dn[:, None, :])
            inside[:, -1] = True
            first, rows = inside.argmax(axis=1), np.arange(len(near))
            lo, hi = ts[rows, np.maximum(first - 1, 0)], ts[rows, first]
            for _ in range(6):
                mid = (lo + hi) / 2
                out = outside(o + mid[:, None] * dn)
                lo, hi = np.where(out, mid, lo), np.where(out, hi, mid)
            t[near] = hi
        p = o + t[:, None] * d
        x, y, z = p[:, 0], p[:, 1], p[:, 2]
        g = bump(x, y)
        q = 0.5 * (z - g) * g / c**2  # the bump half-shaded: the photo has its own shading
        b2 = np.where(y < 0, top, bottom) ** 2
        normal = np.stack((x / a**2 + q * (x - xn) / sx**2, y / b2 + q * (y - yn) / sy**2, (z - g) / c**2), axis=1)
        return hits, x, y, normal

    return hit


def _sheet_surface(bounds: tuple[float, float, float, float], bend: float, bend_y: float) -> _Surface:
    """A sheet z = -kx x²/2 - ky y²/2 (flat when both are 0) within `bounds` (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = bounds
    kx, ky = bend / max(-x0, x1), bend_y / max(-y0, y1)

    def hit(o: np.ndarray, d: np.ndarray) -> _Hit:
        qa = kx / 2 * d[:, 0] ** 2 + ky / 2 * d[:, 1] ** 2
        qb = kx * o[0] * d[:, 0] + ky * o[1] * d[:, 1] + d[:, 2]
        qc = kx / 2 * o[0] ** 2 + ky / 2 * o[1] ** 2 + o[2]
        q = -0.5 * (qb - np.sqrt(np.maximum(qb * qb - 4 * qa * qc, 0)))  # qb < 0: rays go away from the camera
        t = np.full(len(d), np.inf, np.float32)
        with np.errstate(divide="ignore", invalid="ignore"):
            for root in (qc / q, q / qa):  # the near root first; the far one is inf for a flat sheet
                x, y = o[0] + root * d[:, 0], o[1] + root * d[:, 1]
                t = np.where((root > 0) & (root < t) & (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1), root, t)
        hits = np.flatnonzero(np.isfinite(t))
        p = o + t[hits, None] * d[hits]
        normal = np.stack((kx * p[:, 0], ky * p[:, 1], np.ones(len(hits), np.float32)), axis=1)
        return hits, p[:, 0], p[:, 1], normal

    return hit


@cache
def _background(size: tuple[int, int], background: Colour | int) -> np.ndarray:
    if not isinstance(background, int):
        return wall(size, background).astype(np.float32)
    rng = np.random.default_rng(background)  # a room: a wall with soft blotches, door frames, shelves
    w, h = size
    img = rng.uniform(80, 220, 3) + cv2.resize(rng.normal(0, 14, (4, 6, 3)), (w, h), interpolation=cv2.INTER_CUBIC)
    for _ in range(rng.integers(2, 5)):
        vertical = rng.random() < 0.5
        colour, at = rng.uniform(40, 230, 3), int(rng.integers(0, w if vertical else h))
        extent = int(rng.integers(w // 20, w // 4) if vertical else rng.integers(h // 30, h // 8))
        band = img[:, at : at + extent] if vertical else img[at : at + extent]
        band[:] = band * 0.3 + colour * 0.7
    img = cv2.GaussianBlur(img, (0, 0), 1.5) + np.linspace(8, -8, h)[:, None, None] + rng.normal(0, 1.5, img.shape)
    return np.clip(img, 0, 255).astype(np.float32)


def _draw(
    img: np.ndarray,
    texture: np.ndarray,
    surface: _Surface,
    origin: np.ndarray,
    rot: np.ndarray,
    centre: tuple[float, float],
    box: Sequence[float],
    v: Variation,
) -> None:
    """Ray-cast `surface` (posed by `rot` at world point `origin`; camera at the world origin looking down -z; inside
    the object box x0, x1, y0, y1, z0, z1), texture it (object x, y + `centre` = texture pixel; RGBA: its alpha is the
    outline), shade it and paint it over `img` in place."""
    h, w = img.shape[:2]
    f, cu, cv = FOCAL * h, w / 2, h / 2
    corners = np.array(np.meshgrid(box[:2], box[2:4], box[4:])).reshape(3, -1).T @ rot.T + origin
    us_, vs_ = cu - f * corners[:, 0] / corners[:, 2], cv - f * corners[:, 1] / corners[:, 2]
    u0, u1 = max(0, int(us_.min()) - 1), min(w, int(us_.max()) + 2)
    v0, v1 = max(0, int(vs_.min()) - 1), min(h, int(vs_.max()) + 2)
    if u0 >= u1 or v0 >= v1:
        return
    us, vs = np.meshgrid(np.arange(u0, u1, dtype=np.float32), np.arange(v0, v1, dtype=np.float32))
    rot32 = rot.astype(np.float32)
    dirs = np.stack(((us - cu) / f, (vs - cv) / f, -np.ones_like(us)), axis=-1).reshape(-1, 3)
    hits, x, y, normal = surface(-(origin @ rot).astype(np.float32), dirs @ rot32)
    mx, my, shade = np.full(us.size, -10, np.float32), np.full(us.size, -10, np.float32), np.ones(us.size, np.float32)
    mx[hits], my[hits] = x + centre[0], y + centre[1]
    colour = cv2.remap(texture, mx.reshape(us.shape), my.reshape(us.shape), cv2.INTER_LINEAR, None, cv2.BORDER_REFLECT)
    mask = (mx > -5).reshape(us.shape).astype(np.float32)
    alpha = mask * cv2.GaussianBlur(mask, (0, 0), 0.7)
    if colour.shape[2] == 4:
        colour, alpha = colour[..., :3], alpha * colour[..., 3]
    light = np.array([v.light_dir, -0.35, 1.0], np.float32)
    light /= np.linalg.norm(light)
    normal = normal @ rot32.T
    lit = (normal @ light) / (np.linalg.norm(normal, axis=1) + 1e-9)
    shade[hits] = (0.45 + 0.55 * np.maximum(lit, 0)) / (0.45 + 0.55 * light[2])
    region = img[v0:v1, u0:u1]
    region[:] = region * (1 - alpha[..., None]) + colour * (shade.reshape(us.shape) * alpha)[..., None]


def _pivot(v: Variation, pose: _Pose) -> np.ndarray:
    """Where the head turns (world coordinates): the face's front at the distance that gives its size."""
    h = v.size[1]
    f = FOCAL * h
    depth = f / (FACE_FRACTION * h / BROW_CHIN * v.scale) + PIVOT
    du, dv = v.shift[0] + pose.dx, 0.46 * h + v.shift[1] + pose.dy - h / 2
    return np.array([du * depth / f, dv * depth / f, -depth])


def _render(m: _Model, v: Variation, pose: _Pose) -> np.ndarray:
    """The head on the 3D proxy over still shoulders and the background (float RGB, before light gain and noise)."""
    img = _background(v.size, v.background).copy()
    (w, h), (cx, cy) = v.size, m.centre
    px = FOCAL * h / -_pivot(v, _Pose())[2]  # frame pixels per texture pixel at the pivot's depth
    move = np.array([[px, 0, w / 2 + v.shift[0] - px * cx], [0, px, 0.46 * h + v.shift[1] - px * cy]])
    alpha = cv2.warpAffine(m.torso, move, (w, h))[..., None]
    img = img * (1 - alpha) + cv2.warpAffine(m.photo * 0.97, move, (w, h)) * alpha
    a, top, bottom, c = m.axes
    box = (-a, a, -top, bottom, PIVOT - 2 * c, PIVOT + m.nose[2])
    texture = m.closed if pose.closed else m.head
    _draw(img, texture, _head_surface(m), _pivot(v, pose), _rotation(pose), m.centre, box, v)
    return img


def _render_sheet(m: _Model, v: Variation, pose: _Pose, bend: float, bend_y: float) -> np.ndarray:
    """The portrait printed on a sheet where the face's front would be, turned (and bent) by hand."""
    img = _background(v.size, v.background).copy()
    (cx, cy), (a, top, bottom, _) = m.centre, m.axes
    th, tw = m.photo.shape[:2]
    x0, y0, x1, y1 = max(-cx, -1.5 * a), max(-cy, -1.2 * top), min(tw - 1 - cx, 1.5 * a), min(th - 1 - cy, 2.2 * bottom)
    box = (x0, x1, y0, y1, -(bend + bend_y) * max(-x0, x1, -y0, y1), 0)
    origin = _pivot(v, pose) + np.array([0, 0, PIVOT])
    _draw(img, m.photo, _sheet_surface((x0, y0, x1, y1), bend, bend_y), origin, _rotation(pose), m.centre, box, v)
    return img


def _finish(img: np.ndarray, v: Variation, index: int) -> np.ndarray:
    """Light gain, camera noise (fresh per frame), 8 bits."""
    noise = np.random.default_rng([v.seed, index]).standard_normal(img.shape, np.float32) * np.float32(v.noise)
    return np.asarray(np.clip(img * v.light + noise, 0, 255).round().astype(np.uint8))


def render_frame(
    person: str,
    variation: Variation = Variation(),
    *,
    yaw: float = 0.0,
    pitch: float = 0.0,
    blink: bool = False,
    print_bend: float | None = None,
) -> np.ndarray:
    """One frame at a given pose, without sway (unit tests, benchmarks): the 3D head, or with `print_bend` a print of
    the portrait (0 = flat) turned by `yaw`."""
    m, pose = _model(person), _Pose(yaw=yaw, pitch=pitch, closed=blink)
    img = _render(m, variation, pose) if print_bend is None else _render_sheet(m, variation, pose, print_bend, 0.0)
    return _finish(img, variation, 0)


# --- bursts and videos -------------------------------------------------------------------------------------------


@cache
def registry_photo(person: str) -> bytes:
    """The photo the licence registry holds: an ID-style frontal photo of the same face taken another day (white wall,
    other scale and crop, light from one side)."""
    return jpeg(id_photo_image(person, size=(358, 441), face_fraction=0.5, light=(1.05, 0.9)), quality=90)


def _burst(person: str, acted: Sequence[Action], v: Variation, times: Sequence[int]) -> Burst:
    m = _model(person)
    frames = [_finish(_render(m, v, _pose(acted, v, t)), v, i) for i, t in enumerate(times)]
    return Burst(frames, list(times), v.quality)


def genuine(
    person: str, actions: Sequence[Action], variation: Variation = Variation(), *, times: Sequence[int] | None = None
) -> Burst:
    """The holder doing the challenge: frames at `frame_times(actions)` (or `times`)."""
    return _burst(person, actions, variation, frame_times(actions) if times is None else times)


def video(
    person: str,
    actions: Sequence[Action],
    variation: Variation = Variation(),
    *,
    fps: int = 10,
    lead_ms: int = 0,
    total_ms: int | None = None,
) -> list[np.ndarray]:
    """The same movement at a fixed frame rate (a fake camera): `lead_ms` of frontal frames before the timeline
    starts, frontal frames after it until `total_ms` (default: `capture_ms(actions)`)."""
    end = capture_ms(actions) if total_ms is None else total_ms
    times = [round(i * 1000 / fps) - lead_ms for i in range(math.ceil((lead_ms + end) * fps / 1000))]
    return _burst(person, actions, variation, times).frames


def write_y4m(frames: Sequence[np.ndarray], path: str | Path, fps: int = 10) -> None:
    """YUV4MPEG2 4:2:0 (C420jpeg), as Chromium's fake camera reads it (`--use-file-for-fake-video-capture`)."""
    h, w = frames[0].shape[:2]
    if w % 2 or h % 2:
        raise ValueError("Y4M 4:2:0 needs an even width and height")
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            out.write(b"FRAME\n" + cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420).tobytes())


# --- attacks -----------------------------------------------------------------------------------------------------


def attack_still(person: str, actions: Sequence[Action], variation: Variation = Variation()) -> Burst:
    """A photo held still: one frontal rendering; only the camera noise changes."""
    ts, img = frame_times(actions), _render(_model(person), variation, _Pose())
    return Burst([_finish(img, variation, i) for i in range(len(ts))], list(ts), variation.quality)


def attack_registry_photo(person: str, actions: Sequence[Action], variation: Variation = Variation()) -> Burst:
    """The registry photo itself shown to the camera (printed or on a phone), still, its face at a live face's size and
    place."""
    m, ts, v = _model(person), frame_times(actions), variation
    decoded = cv2.imdecode(np.frombuffer(registry_photo(person), np.uint8), cv2.IMREAD_COLOR)
    assert decoded is not None
    photo = decoded[..., ::-1].astype(np.float32)
    (w, h), (fl, ft, fw, fh) = v.size, FACE_BOX[person]
    px = FACE_FRACTION * h / BROW_CHIN * v.scale  # frame pixels per texture pixel at the face
    zoom = fw * m.k * px / (0.5 * photo.shape[1])  # the registry photo's face box is half its width
    fx = w / 2 + v.shift[0] + ((fl + fw / 2) * m.k - m.centre[0]) * px
    fy = 0.46 * h + v.shift[1] + ((ft + fh / 2) * m.k - m.centre[1]) * px
    move = np.array([[zoom, 0, fx - zoom * 0.5 * photo.shape[1]], [0, zoom, fy - zoom * 0.45 * photo.shape[0]]])
    alpha = cv2.warpAffine(np.ones(photo.shape[:2], np.float32), move, (w, h))[..., None]
    shown = cv2.warpAffine(photo, move, (w, h), None, cv2.INTER_AREA)
    img = _background(v.size, v.background) * (1 - alpha) + shown * alpha
    return Burst([_finish(img, v, i) for i in range(len(ts))], list(ts), v.quality)


def attack_flat_print(
    person: str,
    actions: Sequence[Action],
    variation: Variation = Variation(),
    *,
    bend: float = 0.0,
    bend_y: float = 0.0,
) -> Burst:
    """A print of the portrait turned by hand like a head doing the challenge, flat or bent (`bend`: curvature about the
    vertical axis times the sheet's half-width: 0.6 puts its edges 30 % of the half-width behind its middle; `bend_y`
    the same about the horizontal axis). What a parallax test must refuse."""
    m, ts = _model(person), frame_times(actions)
    sheets = (_render_sheet(m, variation, _pose(actions, variation, t), bend, bend_y) for t in ts)
    return Burst([_finish(img, variation, i) for i, img in enumerate(sheets)], list(ts), variation.quality)


def reordered(actions: Sequence[Action]) -> tuple[Action, ...]:
    """Other than `actions`: reversed, else rotated, else with the first turn's direction swapped."""
    for other in (tuple(reversed(actions)), (*actions[1:], *actions[:1])):
        if other != tuple(actions):
            return other
    swap = {Action.TURN_LEFT: Action.TURN_RIGHT, Action.TURN_RIGHT: Action.TURN_LEFT}
    i = next(i for i, a in enumerate(actions) if a.is_turn)
    return (*actions[:i], swap[actions[i]], *actions[i + 1 :])


def attack_wrong_order(person: str, actions: Sequence[Action], variation: Variation = Variation()) -> Burst:
    """A live head doing the challenge's actions in another order (say, a recording of another challenge)."""
    return _burst(person, reordered(actions), variation, frame_times(actions))


def attack_other_person(person: str, actions: Sequence[Action], variation: Variation = Variation()) -> Burst:
    """Someone else doing the challenge right."""
    return genuine(next(p for p in PERSONS if p != person), actions, variation)
