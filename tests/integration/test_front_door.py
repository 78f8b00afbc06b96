"""The front door (issue 13, item 5): the landing page at `/`, the favicon, gzip, and the demo's sample drivers.

On SQLite and PostgreSQL. The landing page reads the demo's samples from `demo-samples.json` only in demo mode; the
compression rules themselves (types, sizes, streaming, the CSRF-token guard) are checked here through the real app,
and on small stand-in apps in tests/unit/test_compression.py.
"""

from __future__ import annotations

import gzip
import json
import re
import stat
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from edl.bootstrap import Container
from edl.cli.demo import SAMPLES_FILE, prepare_demo
from edl.db.models import LicenceRow
from edl.registry.mapping import licence_from_row
from edl.web import create_app
from edl.web.bodylimit import DEFAULT_LIMIT
from edl.web.csrf import unmask_token

pytestmark = pytest.mark.integration

GZIP = {"Accept-Encoding": "gzip"}
SAMPLES: dict[str, Any] = {
    "samples": [
        {"case": "stored", "name": "周晓明", "mobile": "13800000001", "number": "120101199003040011"},
        {"case": "camera", "name": "吴丽", "mobile": "13800000002", "number": "120101199003040022"},
        {"case": "album", "name": "郑强", "mobile": "13800000003", "number": "120101199003040033"},
    ],
    "staff_file": "demo-staff.txt",
    "parties_file": "demo-parties.txt",
}
STAFF_PASSWORD = "pw-" + "x" * 20
PARTY_KEY = "edl_rp_" + "k" * 30


def _client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container), follow_redirects=False) as c:
        yield c


@pytest.fixture
def web(container: Container) -> Iterator[TestClient]:
    yield from _client(container)


@pytest.fixture
def demo_web(container: Container) -> Iterator[TestClient]:
    data = container.settings.data_dir
    data.mkdir(parents=True, exist_ok=True)
    (data / SAMPLES_FILE).write_text(json.dumps(SAMPLES, ensure_ascii=False), encoding="utf-8")
    (data / "demo-staff.txt").write_text(f"admin\tadmin\t{STAFF_PASSWORD}\n", encoding="utf-8")
    (data / "demo-parties.txt").write_text(f"police\t{PARTY_KEY}\t交警\n", encoding="utf-8")
    container.settings.demo = True
    yield from _client(container)


def entry_links(html: str) -> list[str]:
    return re.findall(r'class="landing-link" href="([^"]+)"', html)


# --- the landing page ------------------------------------------------------------------------------------------------


def test_the_home_page_outside_demo_mode_lists_the_ways_in_and_nothing_else(
    web: TestClient, container: Container
) -> None:
    data = container.settings.data_dir
    data.mkdir(parents=True, exist_ok=True)
    (data / SAMPLES_FILE).write_text(json.dumps(SAMPLES, ensure_ascii=False), encoding="utf-8")  # ignored here
    r = web.get("/")
    assert r.status_code == 200
    assert r.headers["content-language"] == "zh-CN"
    assert entry_links(r.text) == ["/app", "/review", "/verify", "/api/v1/openapi.json"]
    assert "驾驶人端" in r.text and "核验页面" in r.text
    for absent in ("周晓明", "13800000001", "demo-staff.txt", "/dev/sms", "演示"):
        assert absent not in r.text, absent


def test_the_home_page_in_demo_mode_lists_one_sample_driver_per_photo_case(demo_web: TestClient) -> None:
    r = demo_web.get("/")
    assert r.status_code == 200
    assert re.findall(r'data-case="(\w+)"', r.text) == ["stored", "camera", "album"]
    for sample in SAMPLES["samples"]:
        for value in sample.values():
            assert value in r.text or value in ("stored", "camera", "album")
    assert "直接使用登记照片" in r.text and "拍摄新照片" in r.text and "相册选择证件照" in r.text
    assert 'href="/dev/sms"' in r.text
    assert entry_links(r.text) == ["/app", "/review", "/verify", "/api/v1/openapi.json"]


def test_the_demo_home_page_names_the_credential_files_but_never_a_password_or_key(demo_web: TestClient) -> None:
    r = demo_web.get("/")
    assert "demo-staff.txt" in r.text and "demo-parties.txt" in r.text
    assert STAFF_PASSWORD not in r.text
    assert PARTY_KEY not in r.text and "edl_rp_" not in r.text


def test_the_home_page_speaks_english_when_asked(demo_web: TestClient) -> None:
    r = demo_web.get("/?lang=en")
    assert r.status_code == 200
    assert '<html lang="en">' in r.text
    assert "Driver app" in r.text and "Drivers to try (demo)" in r.text
    assert "Compliant registry photo" in r.text


def test_a_damaged_samples_file_shows_no_samples_and_no_error(demo_web: TestClient, container: Container) -> None:
    (container.settings.data_dir / SAMPLES_FILE).write_text('{"samples": [{"case": "x", "name": 3}]', "utf-8")
    r = demo_web.get("/")
    assert r.status_code == 200
    assert "data-case=" not in r.text
    assert "暂无可推荐的驾驶人" in r.text


def test_the_demo_home_page_says_how_many_applications_wait_for_review(
    demo_web: TestClient, container: Container
) -> None:
    """The demo seeds applications waiting for review; the front door says so beside the staff credentials."""
    assert "待审核申请" not in demo_web.get("/").text, "nothing seeded: nothing said"
    document = {**SAMPLES, "review_queue": {"waiting": 3, "seeded": []}}
    (container.settings.data_dir / SAMPLES_FILE).write_text(json.dumps(document, ensure_ascii=False), "utf-8")
    assert "审核台已有 3 份待审核申请" in demo_web.get("/").text
    assert "3 applications are waiting for review" in demo_web.get("/?lang=en").text
    for bad in ("3", -1, True, None, 10**9):
        document["review_queue"] = {"waiting": bad}
        (container.settings.data_dir / SAMPLES_FILE).write_text(json.dumps(document, ensure_ascii=False), "utf-8")
        r = demo_web.get("/")
        assert r.status_code == 200 and "待审核申请" not in r.text, bad


# --- favicon ---------------------------------------------------------------------------------------------------------


def test_the_favicon_answers_with_an_icon_and_pages_link_it(web: TestClient) -> None:
    r = web.get("/favicon.ico")
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/x-icon"
    assert r.content[:4] == b"\x00\x00\x01\x00"  # ICO header: reserved 0, type 1 (icon)
    for page in ("/", "/app/sign-in", "/review/sign-in", "/verify"):
        html = web.get(page).text
        (href,) = re.findall(r'<link rel="icon" href="([^"]+)"', html)
        assert web.get(href).status_code == 200, page


# --- gzip ------------------------------------------------------------------------------------------------------------


def test_html_css_and_js_are_gzipped(web: TestClient) -> None:
    for path in ("/", "/static/edl.css", "/static/app.css", "/static/holder.js", "/static/vendor/zxing.min.js"):
        r = web.get(path, headers=GZIP)
        assert r.status_code == 200, path
        assert r.headers.get("content-encoding") == "gzip", path
        assert "accept-encoding" in r.headers["vary"].lower(), path
        plain = web.get(path, headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers, path
        assert r.content == plain.content, path  # httpx decoded the gzip body: the same bytes


def test_a_streamed_static_file_is_gzipped_whole(web: TestClient) -> None:
    """The WebAssembly reader (≈ 0.9 MB) is sent in 64 KiB pieces: the gzip stream must still decode to the file."""
    with web.stream("GET", "/static/vendor/zxing_reader.wasm", headers=GZIP) as r:
        raw = b"".join(r.iter_raw())
    assert r.headers["content-encoding"] == "gzip"
    assert "content-length" not in r.headers
    plain = web.get("/static/vendor/zxing_reader.wasm", headers={"Accept-Encoding": "identity"}).content
    assert gzip.decompress(raw) == plain
    assert len(raw) < len(plain)


def test_the_favicon_and_images_are_not_gzipped(web: TestClient) -> None:
    assert "content-encoding" not in web.get("/favicon.ico", headers=GZIP).headers


def test_a_form_page_is_compressed_and_carries_only_a_fresh_mask_of_the_token(web: TestClient) -> None:
    """BREACH: the sign-in form holds the CSRF token and reflects the typed mobile number. Before, such pages were
    sent uncompressed; now the token in a page is masked afresh for every response (no two bodies share its bytes),
    so form pages are compressed like any other and a body never holds the token itself."""
    first = web.get("/app/sign-in", headers=GZIP)
    assert first.status_code == 200
    token = web.cookies.get("edl_csrf")
    assert token and token not in first.text
    assert first.headers.get("content-encoding") == "gzip"
    again = web.get("/app/sign-in", headers=GZIP)
    assert token not in again.text and again.headers.get("content-encoding") == "gzip"
    masks = [re.search(r'name="csrf" value="([^"]+)"', r.text).group(1) for r in (first, again)]  # type: ignore[union-attr]
    assert masks[0] != masks[1] and {unmask_token(m) for m in masks} == {token}
    assert web.get("/", headers=GZIP).headers.get("content-encoding") == "gzip"


def test_gzip_leaves_the_body_limit_and_the_metrics_working(container: Container) -> None:
    container.settings.metrics_token = "op-" + "m" * 40
    with TestClient(create_app(container), follow_redirects=False) as web:
        r = web.post(
            "/app/sign-in/code", content=b"m" * (DEFAULT_LIMIT + 1), headers={**GZIP, "Sec-Fetch-Site": "same-origin"}
        )
        assert r.status_code == 413
        web.get("/", headers=GZIP)
        metrics = web.get("/metrics", headers={**GZIP, "Authorization": f"Bearer {container.settings.metrics_token}"})
        assert metrics.status_code == 200
        assert "edl_http_requests" in metrics.text


# --- the demo's samples ----------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_demo_records_three_eligible_sample_drivers_one_per_photo_case(container: Container) -> None:
    lines = prepare_demo(container, count=60, seed=2021, echo=lambda _line: None)
    path = container.settings.data_dir / SAMPLES_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    document = json.loads(path.read_text(encoding="utf-8"))
    samples = document["samples"]
    assert [s["case"] for s in samples] == ["stored", "camera", "album"]
    assert len({s["number"] for s in samples}) == 3
    today = container.clock().date()
    with container.sessions() as s:
        for sample in samples:
            row = s.scalars(select(LicenceRow).where(LicenceRow.number == sample["number"])).one()
            assert row.mobile == sample["mobile"] and row.name == sample["name"]
            assert row.photo_compliant is (sample["case"] == "stored")
            assert licence_from_row(row).eligibility(today, container.rollout).eligible
    assert document["staff_file"] == "demo-staff.txt" and document["parties_file"] == "demo-parties.txt"
    assert any(samples[0]["mobile"] in line for line in lines)
    container.settings.demo = True
    with TestClient(create_app(container)) as web:
        page = web.get("/").text
    for sample in samples:
        assert sample["mobile"] in page and sample["number"] in page
    staff_passwords = [
        ln.split("\t")[2] for ln in (container.settings.data_dir / "demo-staff.txt").read_text().split("\n") if ln
    ]
    assert staff_passwords and not any(p in page for p in staff_passwords)
