"""Page weights: what the main pages of each audience cost a phone, HTML, CSS, JS and fonts, as sent (compressed when
the server compresses) and uncompressed.

    .venv/bin/python bench/pages.py

A demo data directory is prepared in a temporary folder (`edl demo --no-serve` with 50 drivers); the pages are
fetched through the real app (Starlette's TestClient, `Accept-Encoding: gzip`), signed in as a driver and as a
reviewer where the page needs it, and every stylesheet, script and font a page links is fetched once per page.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.auth_helpers import sign_in_holder, sign_in_staff

from edl.bootstrap import bootstrap
from edl.cli.demo import prepare_demo
from edl.config import Settings
from edl.web import create_app

ASSET = re.compile(r'<(?:link[^>]+href|script[^>]+src)="(/static/[^"?#]+)[^"]*"')
KIND = {".css": "css", ".js": "js", ".woff2": "fonts", ".woff": "fonts", ".ttf": "fonts", ".otf": "fonts"}


def sizes(client: TestClient, path: str) -> tuple[int, int, str]:
    """(bytes on the wire, bytes uncompressed, body text) of a GET."""
    with client.stream("GET", path, headers={"Accept-Encoding": "gzip"}) as r:
        wire = sum(len(chunk) for chunk in r.iter_raw())
    r = client.get(path, headers={"Accept-Encoding": "identity"})
    return wire, len(r.content), r.text if "text/html" in r.headers.get("content-type", "") else ""


def weigh(client: TestClient, path: str) -> dict[str, tuple[int, int]]:
    out = {"html": (0, 0), "css": (0, 0), "js": (0, 0), "fonts": (0, 0)}
    wire, raw, html = sizes(client, path)
    out["html"] = (wire, raw)
    for asset in sorted(set(ASSET.findall(html))):
        kind = KIND.get(Path(asset).suffix)
        if kind is None:
            continue
        w, r, _ = sizes(client, asset)
        out[kind] = (out[kind][0] + w, out[kind][1] + r)
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", demo=True, log_level="warning")
        container = bootstrap(settings, migrate=True)
        prepare_demo(container, count=50, seed=2021, echo=lambda _: None)
        rows: list[tuple[str, dict[str, tuple[int, int]]]] = []
        with TestClient(create_app(container), follow_redirects=False) as public:
            for path in ("/", "/app/sign-in", "/verify", "/review/sign-in", "/privacy"):
                rows.append((f"public {path}", weigh(public, path)))
        with TestClient(create_app(container), follow_redirects=False) as driver:
            sign_in_holder(driver, container, mobile="13900000001")
            for path in ("/app", "/app/me", "/app/inbox"):
                rows.append((f"driver {path}", weigh(driver, path)))
        with TestClient(create_app(container), follow_redirects=False) as staff:
            sign_in_staff(staff, container, "bench.reviewer", role="reviewer", authorities=["110000"])
            for path in ("/review", "/registry"):
                rows.append((f"staff {path}", weigh(staff, path)))
        container.dispose()
    print(f"{'page':<24}" + "".join(f"{k + ' (sent/raw KB)':>24}" for k in ("html", "css", "js", "fonts")))
    for name, got in rows:
        cells = "".join(f"{got[k][0] / 1024:>13.1f} / {got[k][1] / 1024:<8.1f}" for k in ("html", "css", "js", "fonts"))
        print(f"{name:<24}{cells}")


if __name__ == "__main__":
    main()
