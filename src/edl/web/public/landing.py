"""The public front door: `/` (the landing page) and `/favicon.ico`.

`/` lists the four ways in (driver app, review console and registry, verifier page, API document) with who each is
for. In demo mode it also lists the demo's sample drivers, one per photo case, and says in which files of the data
directory the demo wrote the staff passwords and relying-party keys (never their contents).

The samples come from `demo-samples.json`, which `edl demo` writes (owner-only) into the data directory when it
prepares the data: the demo chooses them with the registry and eligibility rules at hand, and this public page reads
nothing but that small file. It never queries the registry, so a public route cannot become a way to list drivers,
and outside demo mode (`settings.demo` false) the file is not even read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from edl.web.audience import public
from edl.web.deps import AppServices, get_container, get_pages
from edl.web.openapi_rp import DOCUMENT_PATH
from edl.web.rendering import STATIC_DIR, Pages

router = APIRouter(tags=["public"])

SAMPLES_FILE = "demo-samples.json"
"""Written by `edl.cli.demo` (same name there); read only in demo mode."""
SAMPLE_CASES = ("stored", "camera", "album")
FAVICON = "favicon.ico"
FAVICON_CACHE = "public, max-age=86400"


@dataclass(frozen=True, slots=True)
class Sample:
    case: str
    name: str
    mobile: str
    number: str


@dataclass(frozen=True, slots=True)
class DemoInfo:
    samples: tuple[Sample, ...]
    staff_file: str
    parties_file: str
    waiting: int = 0
    """Applications the demo seeded that wait for a reviewer (`review_queue.waiting`)."""


def read_demo_info(data_dir: Path) -> DemoInfo:
    """The samples the demo recorded; none when the file is missing or not what the demo writes."""
    info = DemoInfo((), "demo-staff.txt", "demo-parties.txt")
    try:
        document = json.loads((data_dir / SAMPLES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # missing, not JSON, or nested past the parser's depth
        return info
    if not isinstance(document, dict):
        return info
    listed = document.get("samples", [])
    samples = []
    for item in listed if isinstance(listed, list) else []:
        if not isinstance(item, dict):
            continue
        fields = [item.get(k) for k in ("case", "name", "mobile", "number")]
        if all(isinstance(f, str) and f for f in fields) and item["case"] in SAMPLE_CASES:
            samples.append(Sample(*fields))  # type: ignore[arg-type]
    files = [document.get(k) for k in ("staff_file", "parties_file")]
    names = [
        f if isinstance(f, str) and f and "/" not in f else d
        for f, d in zip(files, (info.staff_file, info.parties_file), strict=True)
    ]
    queue = document.get("review_queue")
    waiting = queue.get("waiting") if isinstance(queue, dict) else None
    count = waiting if isinstance(waiting, int) and not isinstance(waiting, bool) and 0 <= waiting < 10_000 else 0
    return DemoInfo(tuple(samples), names[0], names[1], count)


@router.get("/", name="home", include_in_schema=False, dependencies=public())
def home(
    request: Request,
    container: AppServices = Depends(get_container),
    pages: Pages = Depends(get_pages),
) -> Response:
    """The landing page: the entry points for everyone; in demo mode the sample drivers and the credential files."""
    demo = read_demo_info(container.settings.data_dir) if container.settings.demo else None
    root = request.scope.get("root_path", "")
    entries = [
        ("landing.app", "landing.app_for", f"{root}/app", None),
        ("landing.review", "landing.review_for", f"{root}/review", ("landing.registry", f"{root}/registry")),
        ("landing.verify", "landing.verify_for", f"{root}/verify", None),
        ("landing.api", "landing.api_for", f"{root}{DOCUMENT_PATH}", None),
    ]
    return pages.render(request, "public/landing.html", {"entries": entries, "demo": demo})


@router.get("/favicon.ico", name="favicon", include_in_schema=False, dependencies=public())
def favicon() -> Response:
    """The site icon (browsers ask for it on every page that does not name one)."""
    return Response(favicon_bytes(), media_type="image/x-icon", headers={"Cache-Control": FAVICON_CACHE})


@cache
def favicon_bytes() -> bytes:
    return (STATIC_DIR / FAVICON).read_bytes()
