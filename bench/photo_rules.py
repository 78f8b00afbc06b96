"""Thresholds from data: every photo rule's catch rate on its defect and false-flag rate on clean photos.

    .venv/bin/python bench/photo_rules.py               # with dlib landmarks (the [face] extra)
    .venv/bin/python bench/photo_rules.py --no-landmarks # as a base install runs (box proportions only)

The corpus is built from the two real portraits the test dependencies ship (tests/faces.py: scikit-image's
astronaut, matplotlib's Grace Hopper) at several photo sizes, face sizes and positions; each defect is applied
synthetically (a light, a dark and uniform-coloured shirts, a drawn mask, a cap, Chinese and Latin text, a beauty
filter, a tilt, an open mouth, hair over the ears, an editing app in EXIF). A photo counts as caught when the
rule's own code refuses or flags it; "other" counts refusals by an earlier rule (e.g. no face found behind a mask).
The last table re-checks the white-background rule on indoor-looking off-white walls. docs/photos.md has the figures.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests import faces

from edl.applications import photo_landmarks
from edl.applications.photo_ocr import text_reader
from edl.applications.photo_rules import DEFAULT_RULES, PhotoRejected
from edl.applications.photos import check_photo

PEOPLE = ("astronaut", "hopper")
SIZES = ((358, 441), (480, 600), (720, 900))
FRACTIONS = (0.36, 0.42, 0.48)
CENTRES = ((0.5, 0.45), (0.46, 0.42))

Builder = Callable[..., Image.Image]


def base_options() -> list[dict[str, object]]:
    return [
        {"person": p, "size": s, "face_fraction": f, "centre": c}
        for p in PEOPLE
        for s in SIZES
        for f in FRACTIONS
        for c in CENTRES
    ]


def outcome(image: Image.Image | bytes) -> tuple[str | None, set[str], dict[str, object]]:
    data = image if isinstance(image, bytes) else faces.jpeg(image)
    try:
        checked = check_photo(data)
    except PhotoRejected as exc:
        return exc.code, set(), {}
    return None, {f.code for f in checked.flags}, checked.measurements


def build(builder: Builder, options: dict[str, object], *args: object, **extra: object) -> Image.Image:
    opts = dict(options)
    person = opts.pop("person")
    return builder(person, *args, **opts, **extra)


DEFECTS: list[tuple[str, str, Builder, tuple[object, ...], dict[str, object]]] = [
    # (label, code expected, builder, args, kwargs)
    ("light shirt (white)", "clothes_light", faces.shirt_photo_image, ((238, 238, 235),), {}),
    ("light shirt (pale blue)", "clothes_light", faces.shirt_photo_image, ((200, 215, 235),), {}),
    ("uniform: army green", "uniform_colour", faces.shirt_photo_image, ((88, 100, 52),), {}),
    ("uniform: police light blue", "uniform_colour", faces.shirt_photo_image, ((165, 195, 225),), {}),
    ("uniform: hi-vis yellow-green", "uniform_colour", faces.shirt_photo_image, ((205, 235, 40),), {}),
    ("mask, surgical blue", "face_covered", faces.masked_photo_image, ((150, 190, 225),), {}),
    ("mask, white", "face_covered", faces.masked_photo_image, ((238, 238, 238),), {}),
    ("mask/scarf, black", "face_covered", faces.masked_photo_image, ((30, 30, 35),), {}),
    ("cap, black", "forehead_covered", faces.hat_photo_image, ((25, 25, 30),), {}),
    ("cap, red", "forehead_covered", faces.hat_photo_image, ((180, 30, 35),), {}),
    ("cap, white", "forehead_covered", faces.hat_photo_image, ((235, 235, 235),), {}),
    ("text 中文 corner", "text_found", faces.text_photo_image, ("样张仅供测试",), {"where": "corner"}),
    ("text Latin corner", "text_found", faces.text_photo_image, ("SAMPLE 2026",), {"where": "corner"}),
    (
        "text 中文+digits clothes",
        "text_found",
        faces.text_photo_image,
        ("京A12345",),
        {"where": "clothes", "colour": (250, 250, 250)},
    ),
    ("text Latin forehead", "text_found", faces.text_photo_image, ("NO 1",), {"where": "forehead"}),
    ("beauty filter 60", "skin_smoothed", faces.smoothed_photo_image, (60,), {}),
    ("beauty filter 100", "skin_smoothed", faces.smoothed_photo_image, (100,), {}),
    ("tilt 12°", "head_tilted", faces.tilted_photo_image, (12,), {}),
    ("tilt -15°", "head_tilted", faces.tilted_photo_image, (-15,), {}),
    ("tilt 10°", "head_tilted", faces.tilted_photo_image, (10,), {}),
    ("tilt 4° (sitter's own ±3° on top)", "head_tilted", faces.tilted_photo_image, (4,), {}),
    ("mouth open 0.5", "mouth_open", faces.open_mouth_photo_image, (0.5,), {}),
    ("mouth open 0.7", "mouth_open", faces.open_mouth_photo_image, (0.7,), {}),
    ("hair over ears", "ears_covered", faces.hair_over_ears_photo_image, ((60, 42, 30),), {}),
    ("dark shirt (allowed)", "clothes_light", faces.shirt_photo_image, ((35, 38, 48),), {}),
]


def rate(n: int, d: int) -> str:
    return f"{n}/{d} ({100 * n / d:.0f}%)" if d else "-"


def run_clean(corpus: list[dict[str, object]]) -> None:
    print(f"\n## Clean photos: {len(corpus)} (both people, {len(SIZES)} sizes, {len(FRACTIONS)} face sizes, 2 places)")
    refused: Counter[str] = Counter()
    flagged: Counter[str] = Counter()
    per_person: dict[str, Counter[str]] = {p: Counter() for p in PEOPLE}
    measures: dict[str, list[float]] = {}
    for options in corpus:
        code, flags, m = outcome(build(faces.id_photo_image, options))
        if code:
            refused[code] += 1
            per_person[str(options["person"])]["refused:" + code] += 1
        for f in flags:
            flagged[f] += 1
            per_person[str(options["person"])]["flag:" + f] += 1
        for key in (
            "lower_face_skin",
            "forehead_skin",
            "clothes_luminance",
            "skin_texture_ratio",
            "eye_line_tilt",
            "mouth_open_ratio",
            "ear_left_skin",
            "ear_right_skin",
            "background_luminance",
            "background_stddev",
        ):
            if isinstance(m.get(key), int | float):
                measures.setdefault(key, []).append(float(m[key]))  # type: ignore[arg-type]
    print("refused:", dict(refused) or "none", "| flagged:", dict(flagged) or "none")
    for person, counts in per_person.items():
        print(f"  {person}: {dict(counts) or 'clean'}")
    print("measures on clean photos (min / median / max):")
    for key, values in measures.items():
        print(f"  {key:22} {min(values):8.3f} {statistics.median(values):8.3f} {max(values):8.3f}")


def run_defects(corpus: list[dict[str, object]]) -> None:
    print(f"\n## Defects (each on {len(corpus)} photos)")
    print(f"{'defect':34} {'rule':17} {'own code':>12} {'refused':>12}  other outcomes")
    for label, code, builder, args, kwargs in DEFECTS:
        caught, stopped, other = 0, 0, Counter[str]()
        for options in corpus:
            refused, flags, _ = outcome(build(builder, options, *args, **kwargs))
            stopped += refused is not None
            if refused == code or code in flags:
                caught += 1
            else:
                other[refused or "passed"] += 1
        n = len(corpus)
        print(f"{label:34} {code:17} {rate(caught, n):>12} {rate(stopped, n):>12}  {dict(other)}")
    edited = sum("edited_by_app" in outcome(faces.edited_photo(str(o["person"])))[1] for o in corpus[:4])
    print(f"{'EXIF Software MeituXiuXiu':32} {'edited_by_app':18} {rate(edited, 4):>14}")


WALLS = [
    ("pure white (reference)", (255, 255, 255), 0.0, 0.0),
    ("warm white 240", (244, 240, 230), 0.0, 0.0),
    ("cool white 235", (232, 236, 240), 0.0, 0.0),
    ("indoor white 220, corners -15%", (222, 220, 214), 0.15, 0.0),
    ("indoor white 210, corners -20%", (212, 210, 204), 0.20, 0.0),
    ("window light: right side -25%", (245, 243, 238), 0.05, 0.25),
    ("evening white 195, corners -15%", (198, 196, 190), 0.15, 0.0),
    ("cream wall (should refuse)", (235, 215, 170), 0.0, 0.0),
    ("grey wall 150 (should refuse)", (150, 150, 150), 0.0, 0.0),
]


def run_walls() -> None:
    print("\n## White-background rule on indoor-looking walls (both people, 3 sizes)")
    print("   (luminance, raw std dev = shading, std dev after the shading is removed; then the verdict)")
    relaxed = replace(
        DEFAULT_RULES, background_min_luminance=0, background_max_stddev=999, background_max_saturation=999
    )
    for label, colour, falloff, side in WALLS:
        results: Counter[str] = Counter()
        lum: list[float] = []
        raw: list[float] = []
        std: list[float] = []
        for person in PEOPLE:
            for size in SIZES:
                back = faces.real_wall(size, colour, falloff=falloff, side=side)
                data = faces.jpeg(faces.id_photo_image(person, size=size, background=back))
                m = check_photo(data, rules=relaxed).measurements
                lum.append(float(m["background_luminance"]))
                raw.append(float(m["background_shading"]))
                std.append(float(m["background_stddev"]))
                results[outcome(data)[0] or "passed"] += 1
        print(
            f"  {label:36} lum {min(lum):3.0f}-{max(lum):3.0f}  raw std {min(raw):4.1f}-{max(raw):4.1f}  "
            f"std {min(std):4.1f}-{max(std):4.1f}  {dict(results)}"
        )


def run_cost() -> None:
    """OCR alone on pictures it has not seen, a whole check on new photos, and the same photo again (cache hit)."""
    reader = text_reader()
    images = [
        np.asarray(faces.id_photo_image(p, size=s, face_fraction=f)) for p in PEOPLE for s in SIZES for f in FRACTIONS
    ]
    start, cpu = time.perf_counter(), time.process_time()
    for img in images:
        reader.read(img ^ 1)  # changed pixels: no cache hit
    ocr = (time.perf_counter() - start) / len(images)
    ocr_cpu = (time.process_time() - cpu) / len(images)
    photos = [faces.jpeg(faces.id_photo_image(p, size=s, centre=(0.49, 0.44))) for p in PEOPLE for s in SIZES]
    start, cpu = time.perf_counter(), time.process_time()
    for data in photos:
        check_photo(data)
    whole = (time.perf_counter() - start) / len(photos)
    whole_cpu = (time.process_time() - cpu) / len(photos)
    start, cpu = time.perf_counter(), time.process_time()
    for data in photos:
        check_photo(data)
    again = (time.perf_counter() - start) / len(photos)
    again_cpu = (time.process_time() - cpu) / len(photos)
    print(f"\n## Cost per photo: OCR {ocr * 1000:.0f} ms ({ocr_cpu * 1000:.0f} ms CPU); whole check_photo")
    print(f"   {whole * 1000:.0f} ms ({whole_cpu * 1000:.0f} ms CPU) on a new photo,")
    print(f"   {again * 1000:.0f} ms ({again_cpu * 1000:.0f} ms CPU) on the same photo again (OCR answer cached)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-landmarks", action="store_true", help="run as without dlib (box proportions)")
    parser.add_argument("--quick", action="store_true", help="a third of the corpus")
    parser.add_argument("--cost", action="store_true", help="only the cost per photo")
    args = parser.parse_args()
    if args.no_landmarks:
        photo_landmarks._tried, photo_landmarks._landmarker = True, None
    print("landmarks:", "dlib 68 points" if photo_landmarks.landmarker() else "box proportions (no dlib)")
    start = time.perf_counter()
    text_reader()
    print(f"OCR engine loaded in {time.perf_counter() - start:.2f} s (once per process)")
    if args.cost:
        run_cost()
        return
    corpus = base_options()
    defect_corpus = [o for o in corpus if o["centre"] == CENTRES[0]]
    if args.quick:
        corpus, defect_corpus = corpus[::3], defect_corpus[::3]
    run_clean(corpus)
    run_defects(defect_corpus)
    run_walls()
    run_cost()


if __name__ == "__main__":
    main()
