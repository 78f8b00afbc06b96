"""The front door in Chromium (issue 13, item 5): `/` at 375 px in demo mode and outside it, in both languages.

Before: `/` redirected into the driver's app, nothing listed the ways in or a driver to try, and every page load
asked for /favicon.ico and got a 404.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import LiveServer, Shots

pytestmark = pytest.mark.browser

NARROW = {"width": 375, "height": 812}
SAMPLES: dict[str, Any] = {
    "samples": [
        {"case": "stored", "name": "周晓明", "mobile": "13800000001", "number": "120101199003040011"},
        {"case": "camera", "name": "吴丽", "mobile": "13800000002", "number": "120101199003040022"},
        {"case": "album", "name": "欧阳子涵", "mobile": "13800000003", "number": "120101199003040033"},
    ],
    "staff_file": "demo-staff.txt",
    "parties_file": "demo-parties.txt",
}


@pytest.fixture
def narrow(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport=NARROW, locale="zh-CN", device_scale_factor=2)
    context.set_default_timeout(20_000)
    yield context
    context.close()


@pytest.fixture
def demo_mode(live_server: LiveServer) -> Iterator[LiveServer]:
    """The shared server in demo mode, with the samples file the demo writes; both undone afterwards."""
    settings = live_server.container.settings
    path = settings.data_dir / "demo-samples.json"
    path.write_text(json.dumps(SAMPLES, ensure_ascii=False), encoding="utf-8")
    settings.demo = True
    try:
        yield live_server
    finally:
        settings.demo = False
        path.unlink()


def _open(context: Any, url: str) -> tuple[Any, list[str]]:
    page = context.new_page()
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(url)
    page.wait_for_load_state("networkidle")
    return page, failed


def _fits_375(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]


def test_the_demo_front_door_at_375px_lists_the_ways_in_and_three_drivers(
    demo_mode: LiveServer, narrow: Any, shots: Shots
) -> None:
    page, failed = _open(narrow, f"{demo_mode.url}/")
    assert page.url.rstrip("/") == demo_mode.url  # no redirect
    shots(page, "landing-zh")
    assert failed == []
    _fits_375(page)
    links = page.locator(".landing-link")
    assert links.count() == 4
    for i in range(4):
        box = links.nth(i).bounding_box()
        assert box["height"] >= 44, links.nth(i).inner_text()
    cases = page.locator("[data-case]")
    assert [cases.nth(i).get_attribute("data-case") for i in range(cases.count())] == ["stored", "camera", "album"]
    for sample in SAMPLES["samples"]:
        assert page.get_by_text(sample["mobile"]).is_visible()
    assert page.get_by_text("demo-staff.txt").count() == 1
    icon = page.evaluate("document.querySelector('link[rel=icon]').href")
    assert page.request.get(icon).status == 200

    page.click(".lang-switch")
    page.wait_for_load_state("networkidle")
    shots(page, "landing-en")
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.get_by_text("Drivers to try (demo)").is_visible()
    _fits_375(page)

    page.click(".landing-link >> nth=0")
    page.wait_for_url("**/app/sign-in**")


def test_outside_demo_mode_the_front_door_has_no_sample_data(
    live_server: LiveServer, narrow: Any, shots: Shots
) -> None:
    page, failed = _open(narrow, f"{live_server.url}/")
    shots(page, "landing-public")
    assert failed == []
    _fits_375(page)
    assert page.locator(".landing-link").count() == 4
    assert page.locator("[data-case]").count() == 0
    assert "demo-staff.txt" not in page.content()


def test_no_page_load_asks_for_a_missing_favicon(live_server: LiveServer, narrow: Any) -> None:
    for path in ("/app/sign-in", "/review/sign-in", "/verify"):
        page, failed = _open(narrow, f"{live_server.url}{path}")
        assert failed == [], path
        assert page.request.get(f"{live_server.url}/favicon.ico").status == 200
        page.close()
