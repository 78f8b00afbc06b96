"""Build the two ID-style portraits the demo ships (src/edl/demo_data/), from public-domain photos that the test
dependencies carry: scikit-image's `astronaut` (NASA photo of Eileen Collins) and matplotlib's `grace_hopper.jpg`
(U.S. Navy photo of Grace Hopper).

    .venv/bin/python scripts/build_demo_portraits.py [OUT_DIR]

Run with the test venv (scikit-image and matplotlib are test dependencies; a plain `pip install -e .` has neither, so
the built JPEGs are committed and installed as package data). Each person is cut out and placed on a white wall by
`tests.faces.id_photo_image`, the same builder the photo-check tests use, then saved as a small baseline JPEG without
metadata. The build refuses to write a portrait that fails the automatic photo checks (`check_photo`) or is larger
than MAX_BYTES: `edl demo` submits them as drivers' new photos, and they must reach the review queue.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.faces, run from anywhere

from PIL import Image  # noqa: E402
from tests.faces import id_photo_image  # noqa: E402

from edl.applications.photos import check_photo  # noqa: E402

SIZE = (384, 480)
"""Portrait 4:5, above the checks' smallest photo (358×441) and below a live-capture frame's largest side (640)."""
QUALITY = 84
MAX_BYTES = 40 * 1024
PORTRAITS = {"astronaut": "portrait-collins.jpg", "hopper": "portrait-hopper.jpg"}
"""`tests.faces` person -> file name in the package (`edl.cli.demo.DEMO_PORTRAITS` names the same files)."""


def build(person: str) -> bytes:
    image: Image.Image = id_photo_image(person, size=SIZE)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=QUALITY, optimize=True)
    return out.getvalue()


def main(argv: list[str]) -> int:
    out_dir = Path(argv[0]) if argv else ROOT / "src" / "edl" / "demo_data"
    out_dir.mkdir(parents=True, exist_ok=True)
    for person, name in PORTRAITS.items():
        data = build(person)
        if len(data) > MAX_BYTES:
            print(f"{name}: {len(data)} bytes, more than {MAX_BYTES}", file=sys.stderr)
            return 1
        checked = check_photo(data)  # raises PhotoRejected with the reason
        (out_dir / name).write_bytes(data)
        m = checked.measurements
        print(
            f"{out_dir / name}: {len(data):,} bytes, {checked.width}×{checked.height}, passes check_photo "
            f"(face {m['face_width_fraction']:.0%} of the width, lighting imbalance {m['lighting_imbalance']})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
