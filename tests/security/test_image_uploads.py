"""Hostile images change nothing and stall nothing (issue 10, finding "Uploads freeze the server").

Findings replayed: a 5000×7999 RGBA PNG (176 KB) to `POST /app/apply/photo` stalled `/healthz` for 3.3 s and took the
server from 354 MB to 1,051 MB; a 40 MP JPEG to `/verify/upload` stalled it 1.5 s; `edl verify --qr-image` on a
400 MP PNG ended in a traceback and a 169 MP PNG took 1.3 GB. Now every decoder of outside images applies the pixel
budget of `edl.images` from the header, and the web's image work runs in the container's bounded pool.
"""

from __future__ import annotations

import io
import os
import re
import struct
import subprocess
import sys
import threading
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import sqlalchemy as sa
from PIL import Image
from starlette.testclient import TestClient

from edl.applications.face import LenientDemoVerifier
from edl.bootstrap import Container
from edl.db.models import AccountRow, ApplicationRow, AuditRow, FaceCheckRow, VerificationRow
from edl.db.session import transaction
from edl.images import PIXEL_BUDGET
from edl.verification.purposes import Purpose
from edl.web import create_app
from edl.web.codes import qr_png
from edl.worker_pool import PoolBusy, WorkerPool
from tests.auth_helpers import burst_form, challenge_of, csrf_of, post_burst, run_async, sign_in_holder
from tests.faces import id_photo
from tests.workflow import prepare, seed_licence

NOW = datetime(2026, 3, 16, 2, 0, tzinfo=UTC)  # Monday 10:00 in Beijing
HELD_SECONDS = 10.0
"""How long a held image job waits for the test to let it go (a failing test never hangs)."""
MIB = 1024 * 1024
KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')
JSON = {"Accept": "application/json"}


@cache
def rgba_bomb() -> bytes:
    """The finding's upload: a 5000×7999 RGBA PNG, about 176 KB, that decodes to 160 MB (under the old 40 MP cap)."""
    buf = io.BytesIO()
    Image.new("RGBA", (5000, 7999), (255, 255, 255, 255)).save(buf, "PNG")
    return buf.getvalue()


BOMB_DECODED = 5000 * 7999 * 4


def jpeg_header(width: int, height: int) -> bytes:
    """A small JPEG whose frame header (SOF0) says `width`×`height`: what a decoder would allocate for."""
    buf = io.BytesIO()
    Image.new("L", (16, 16), 128).save(buf, "JPEG")
    data = bytearray(buf.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)


# --- measuring what was allocated -------------------------------------------------------------------------------


@dataclass
class Allocated:
    python_peak: int = 0
    """tracemalloc's peak: Python objects and numpy arrays."""
    pillow: int = 0
    """Pixel memory Pillow allocated (its arena's new blocks × the block size: an upper bound). tracemalloc does not
    see it, so it is counted from Pillow's own statistics."""

    @property
    def total(self) -> int:
        return self.python_peak + self.pillow


@contextmanager
def allocations() -> Iterator[Allocated]:
    """What the block allocates, from every thread (the app runs in the test client's thread, images in the pool)."""
    seen = Allocated()
    blocks = Image.core.get_stats()["allocated_blocks"]
    tracemalloc.start()
    try:
        yield seen
    finally:
        seen.python_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        seen.pillow = (Image.core.get_stats()["allocated_blocks"] - blocks) * Image.core.get_block_size()


def assert_not_decoded(seen: Allocated) -> None:
    assert seen.total < BOMB_DECODED // 8, f"{seen.total / MIB:.0f} MiB allocated: the image was decoded"


# --- a pool whose jobs wait at a gate ---------------------------------------------------------------------------


class HeldPool(WorkerPool):
    """The container's image pool, except that every job waits at a gate: the test sees it start, then lets it go."""

    def __init__(self, workers: int = 2, queue: int = 4) -> None:
        super().__init__(workers, queue=queue, name="test-held")
        self.started = threading.Event()
        self.release = threading.Event()
        self.finished = threading.Event()
        self.jobs: list[str] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:  # type: ignore[override]
        def held() -> Any:
            self.jobs.append(getattr(fn, "__qualname__", repr(fn)))
            self.started.set()
            self.release.wait(HELD_SECONDS)
            try:
                return fn(*args, **kwargs)
            finally:
                self.finished.set()

        return super().submit(held)


def hold_image_work(container: Container, pool: HeldPool) -> HeldPool:
    """Swap `pool` in for the container's image pool (the provider is swappable, like the face verifier)."""
    original = container.__dict__.get("image_workers")
    container.image_workers = pool
    if isinstance(original, WorkerPool):
        original.close()
    return pool


# --- the uploads that do image work -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """A route that does image work: how to make a client ready for it, and what it stores when it succeeds."""

    path: str
    ready: Callable[[TestClient, Container], dict[str, Any]]
    """Signs in (and binds, ...) and returns the POST's `data` and `files`."""
    done: int
    """The status of a successful upload."""
    stored: Callable[[Container], int]
    """Rows and files the upload leaves behind."""
    purpose: str | None = None
    """For a liveness burst (bind, apply): a retry needs a fresh challenge, since each is used once."""

    def again(self, client: TestClient, ready: dict[str, Any]) -> dict[str, Any]:
        """`ready` for another attempt."""
        if self.purpose is None:
            return ready
        fresh = challenge_of(client, self.purpose)
        return {**ready, "data": {**ready["data"], "challenge": fresh["challenge"]}}


def _count(container: Container, model: type) -> int:
    with container.sessions() as s:
        return int(s.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def _bound_accounts(container: Container) -> int:
    with container.sessions() as s:
        return int(s.scalar(sa.select(sa.func.count()).where(AccountRow.licence_number.is_not(None))) or 0)


def _photo_files(container: Container) -> int:
    root = container.settings.data_dir / "photos"
    return sum(1 for p in root.rglob("*") if p.is_file()) if root.exists() else 0


def _bound(client: TestClient, container: Container) -> str:
    number = seed_licence(container, NOW)
    sign_in_holder(client, container)
    r = post_burst(client, "/app/bind", {"number": number, "name": "张三"}, "bind")
    assert r.status_code == 303, r.text
    return number


def ready_to_bind(client: TestClient, container: Container) -> dict[str, Any]:
    number = seed_licence(container, NOW)
    sign_in_holder(client, container)
    return burst_form(client, {"number": number, "name": "张三"}, "bind")


def ready_to_verify_face(client: TestClient, container: Container) -> dict[str, Any]:
    _bound(client, container)
    return burst_form(client, {"next": "/app"})


def ready_to_apply(client: TestClient, container: Container) -> dict[str, Any]:
    _bound(client, container)
    page = client.get("/app/apply/photo?source=camera")
    found = KEY.search(page.text)
    assert page.status_code == 200 and found, page.text
    return {
        "data": {"csrf": csrf_of(client), "source": "camera", "idempotency_key": found.group(1)},
        "files": {"photo": ("photo.jpg", id_photo("astronaut"), "image/jpeg")},
    }


def ready_to_check_code(client: TestClient, container: Container) -> dict[str, Any]:
    from edl.issuance.elicences import issue_elicence
    from edl.issuance.livecodes import make_live_code
    from edl.verification.parties import register_party

    number = seed_licence(container, NOW)
    issue_elicence(container.sessions, container.issuer, number, actor="test", at=container.clock())
    with transaction(container.sessions) as s:
        code = make_live_code(s, container.code_maker, number, at=NOW).text
        _party, key = register_party(s, name="租车公司", purpose=Purpose.RENTAL, actor="test", at=NOW)
    r = client.post("/verify/sign-in", data={"csrf": csrf_of(client, "/verify"), "key": key})
    assert r.status_code == 303, r.text
    return {"data": {"csrf": csrf_of(client, "/verify")}, "files": {"image": ("code.png", qr_png(code), "image/png")}}


UPLOADS = {
    "bind": Upload(
        "/app/bind", ready_to_bind, 303, lambda c: _count(c, FaceCheckRow) + _bound_accounts(c), purpose="bind"
    ),
    "verify_face": Upload(
        "/app/verify-face", ready_to_verify_face, 303, lambda c: _count(c, FaceCheckRow), purpose="apply"
    ),
    "apply_photo": Upload(
        "/app/apply/photo", ready_to_apply, 303, lambda c: _count(c, ApplicationRow) + _photo_files(c)
    ),
    "verifier_upload": Upload("/verify/upload", ready_to_check_code, 200, lambda c: _count(c, VerificationRow)),
}


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    prepare(container, NOW)
    with TestClient(create_app(container), follow_redirects=False) as c:
        yield c


# --- (a) refused from the header, never decoded -----------------------------------------------------------------


def test_the_budget_counts_channels_and_sides() -> None:
    assert PIXEL_BUDGET.allows(5000, 8000, "RGB")  # 40 MP RGB
    assert PIXEL_BUDGET.allows(5000, 6000, "RGBA")  # 30 MP RGBA
    assert not PIXEL_BUDGET.allows(5000, 7999, "RGBA")  # the finding's PNG: 160 M samples
    assert not PIXEL_BUDGET.allows(5000, 8001, "RGB")
    assert not PIXEL_BUDGET.allows(8001, 100, "L")
    assert not PIXEL_BUDGET.allows(7000, 7000, "L")  # 49 MP grey: over the pixel cap


@pytest.mark.integration
def test_a_huge_rgba_png_photo_is_refused_from_its_header_and_nothing_is_stored(
    client: TestClient, container: Container
) -> None:
    ready = ready_to_apply(client, container)
    before = UPLOADS["apply_photo"].stored(container)
    ready["files"] = {"photo": ("photo.png", rgba_bomb(), "image/png")}
    with allocations() as seen:
        r = client.post("/app/apply/photo", headers=JSON, **ready)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "dimensions_too_large"
    assert "5000×7999" in r.json()["error"] and "30 百万像素" in r.json()["error"]
    assert_not_decoded(seen)
    assert UPLOADS["apply_photo"].stored(container) == before
    with container.sessions() as s:
        refused = s.scalars(sa.select(AuditRow).where(AuditRow.action == "photo_rejected")).all()
    assert [row.detail["code"] for row in refused] == ["dimensions_too_large"]


@pytest.mark.integration
def test_a_huge_picture_as_a_liveness_frame_is_refused_without_decoding(
    client: TestClient, container: Container
) -> None:
    ready = ready_to_verify_face(client, container)
    container.face_verifier = LenientDemoVerifier()  # the real frame decoding (dlib's is the same `decode_frames`)
    files = list(ready["files"])
    files[3] = ("frame", ("frame-3.jpg", rgba_bomb(), "image/jpeg"))  # a PNG bomb posing as a frame
    files[5] = ("frame", ("frame-5.jpg", jpeg_header(9000, 6000), "image/jpeg"))  # a JPEG far over the frame size
    ready["files"] = files
    with allocations() as seen:
        r = client.post("/app/verify-face", headers=JSON, **ready)
    assert r.status_code == 400, r.text
    assert "未能完整采集画面" in r.json()["error"]
    assert_not_decoded(seen)
    with container.sessions() as s:
        outcomes = [row.outcome for row in s.scalars(sa.select(FaceCheckRow).order_by(FaceCheckRow.at))]
    assert outcomes[-1] == "frames"  # an attempt, like any unreadable capture


@pytest.mark.integration
def test_a_huge_rgba_png_is_refused_by_the_verifier_page_without_decoding(
    client: TestClient, container: Container
) -> None:
    ready = ready_to_check_code(client, container)
    ready["files"] = {"image": ("code.png", rgba_bomb(), "image/png")}
    with allocations() as seen:
        r = client.post("/verify/upload", **ready)
    assert r.status_code == 413, r.text
    assert "无法读取该图片" in r.text
    assert_not_decoded(seen)
    assert _count(container, VerificationRow) == 0


# --- (b) the event loop keeps serving while image work runs ----------------------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize("name", list(UPLOADS))
def test_healthz_answers_while_an_upload_s_image_work_is_running(
    client: TestClient, container: Container, name: str
) -> None:
    upload = UPLOADS[name]
    ready = upload.ready(client, container)
    pool = hold_image_work(container, HeldPool())
    app = client.app

    async def scenario() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", cookies=client.cookies) as http:

            async def send_upload() -> None:
                seen["upload"] = await http.post(upload.path, **ready)

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(send_upload)
                seen["started"] = await anyio.to_thread.run_sync(pool.started.wait, HELD_SECONDS)
                seen["health"] = await http.get("/healthz")
                seen["still_held"] = not pool.finished.is_set()
                pool.release.set()
        return seen

    seen = run_async(scenario)
    assert seen["started"], "the upload's image work never reached the image pool"
    assert seen["health"].status_code == 200
    assert seen["still_held"], "/healthz answered only after the image work was done"
    assert seen["upload"].status_code == upload.done, seen["upload"].text
    assert pool.jobs and all(job.split(".")[-1] in ("check", "check_photo", "decode_image") for job in pool.jobs)


# --- (c) a full pool refuses at once, and stores nothing --------------------------------------------------------


def test_the_pool_takes_workers_plus_queue_jobs_and_refuses_the_next_at_once() -> None:
    pool = HeldPool(workers=2, queue=1)
    try:
        accepted = [pool.submit(lambda n=n: n) for n in range(3)]
        with pytest.raises(PoolBusy) as busy:
            pool.submit(lambda: 99)
        assert busy.value.retry_after == pool.retry_after
        pool.release.set()
        assert [job.result(HELD_SECONDS) for job in accepted] == [0, 1, 2]
    finally:
        pool.release.set()
        pool.close()


@pytest.mark.integration
@pytest.mark.parametrize("name", list(UPLOADS))
def test_with_the_image_pool_full_an_upload_gets_503_and_nothing_is_stored(
    client: TestClient, container: Container, name: str
) -> None:
    upload = UPLOADS[name]
    ready = upload.ready(client, container)
    before = upload.stored(container)
    pool = hold_image_work(container, HeldPool(workers=1, queue=0))
    blocker = pool.submit(lambda: None)  # takes the only worker
    freed = threading.Event()
    blocker.add_done_callback(lambda _f: freed.set())  # after the pool's own callback has freed the slot
    assert pool.started.wait(HELD_SECONDS)
    try:
        r = client.post(upload.path, **ready)
    finally:
        pool.release.set()
    assert r.status_code == 503, r.text
    assert r.headers["Retry-After"] == str(pool.retry_after)
    assert f"请 {pool.retry_after} 秒后重新提交" in r.text
    assert upload.stored(container) == before
    assert freed.wait(HELD_SECONDS)
    retried = client.post(upload.path, **upload.again(client, ready))
    assert retried.status_code == upload.done, retried.text


# --- (d) the CLI refuses from the header, in one line ----------------------------------------------------------


def grey_png(path: Path, width: int, height: int) -> Path:
    """An all-black 8-bit grey PNG (no code in it), compressed row block by row block so that the test never holds
    its pixels: 400 MP compresses to under 2 MB."""
    squeeze = zlib.compressobj(1)
    row = bytes(1 + width)  # filter byte 0, then the pixels
    block = 64
    data = bytearray()
    for start in range(0, height, block):
        data += squeeze.compress(row * min(block, height - start))
    data += squeeze.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", bytes(data)) + chunk(b"IEND", b""))
    return path


@pytest.fixture(scope="module")
def trust_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from edl.pki import Authority

    data = tmp_path_factory.mktemp("authority")
    authority = Authority.open(data)
    authority.init(at=datetime.now(UTC) - timedelta(days=1))
    return authority.export_trust(data / "trust").root


PEAK_REPORTER = """
import atexit, os, runpy

def report_peak():  # VmHWM: the peak RSS since exec (a forked child's rusage would count the parent's pages too)
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(os.environ["PEAK_FILE"], "w") as out:
        out.write(peak)

atexit.register(report_peak)
runpy.run_module("edl", run_name="__main__")
"""


def run_cli(*args: str, cwd: Path) -> tuple[int, str, str, int]:
    """`python -m edl ARGS` in a process of its own: (exit code, stdout, stderr, its peak RSS in bytes)."""
    peak_file = cwd / "peak-kib"
    env = {**os.environ, "EDL_DATA_DIR": str(cwd / "data"), "PEAK_FILE": str(peak_file)}
    done = subprocess.run(
        [sys.executable, "-c", PEAK_REPORTER, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120
    )
    return done.returncode, done.stdout, done.stderr, int(peak_file.read_text()) * 1024


@pytest.fixture(scope="module")
def cli_baseline(trust_root: Path, tmp_path_factory: pytest.TempPathFactory) -> int:
    """The peak RSS of `edl verify --qr-image` on a small image without a code (imports and all)."""
    folder = tmp_path_factory.mktemp("baseline")
    code, _out, err, peak = run_cli(
        "verify", "--trust", str(trust_root), "--qr-image", str(grey_png(folder / "blank.png", 200, 200)), cwd=folder
    )
    assert code == 1, err  # read, no code found
    return peak


@pytest.mark.parametrize(("width", "height"), [(20_000, 20_000), (13_000, 13_000)], ids=["400MP", "169MP"])
def test_cli_qr_image_over_the_budget_exits_2_with_one_line_without_decoding(
    tmp_path: Path, trust_root: Path, cli_baseline: int, width: int, height: int
) -> None:
    image = grey_png(tmp_path / "huge.png", width, height)
    code, out, err, peak = run_cli("verify", "--trust", str(trust_root), "--qr-image", str(image), cwd=tmp_path)
    assert code == 2, err
    assert out == ""
    assert err.count("\n") == 1 and err.startswith(f"edl: error: cannot read an image from {image}: ")
    assert "too large" in err and "Traceback" not in err
    decoded = width * height  # 8-bit grey: one byte a pixel
    assert peak - cli_baseline < decoded // 4, f"{(peak - cli_baseline) / MIB:.0f} MiB more than reading a small image"
