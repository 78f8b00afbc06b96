"""The README's main job, as a user runs it: `edl demo` on a fresh data directory, then the pages and the CLI."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _edl(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edl", *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def demo_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    data = tmp_path_factory.mktemp("demo") / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDL_")}
    env["EDL_DATA_DIR"] = str(data)
    yield env


@pytest.fixture(scope="module")
def demo_server(demo_env: dict[str, str]) -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "edl", "demo", "--count", "200", "--port", str(port)],
        env=demo_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"edl demo exited early:\n{proc.stdout.read() if proc.stdout else ''}")
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail("edl demo did not start serving in time")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_demo_serves_the_registry_in_chinese_to_signed_in_staff_only(
    demo_server: str, demo_env: dict[str, str]
) -> None:
    import re

    assert httpx.get(f"{demo_server}/registry", timeout=10).status_code == 303
    staff = (Path(demo_env["EDL_DATA_DIR"]) / "demo-staff.txt").read_text().splitlines()
    username, _role, password = next(line.split("\t") for line in staff if "\tadmin\t" in line)
    with httpx.Client(base_url=demo_server, timeout=20, headers={"Sec-Fetch-Site": "same-origin"}) as web:
        form = web.get("/review/sign-in")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token
        done = web.post("/review/sign-in", data={"csrf": token.group(1), "username": username, "password": password})
        assert done.status_code == 303, done.text
        page = web.get("/registry")
    assert page.status_code == 200
    assert 'lang="zh-CN"' in page.text
    assert "驾驶证" in page.text


def test_demo_keys_are_owner_only(demo_server: str, demo_env: dict[str, str]) -> None:
    keys = Path(demo_env["EDL_DATA_DIR"]) / "keys"
    files = [p for p in keys.rglob("*") if p.is_file()]
    assert files
    for p in files:
        assert p.stat().st_mode & 0o077 == 0, f"{p} is readable by others"


def test_demo_data_issues_and_verifies_a_credential(demo_server: str, demo_env: dict[str, str], tmp_path: Path) -> None:
    """An eligible demo driver gets an mdoc that `edl verify` accepts; an ineligible one is refused with exit 2."""
    import sqlite3

    db = Path(demo_env["EDL_DATA_DIR"]) / "edl.db"
    with sqlite3.connect(db) as conn:
        good = conn.execute(
            "SELECT number FROM licences WHERE statuses IN ('A','H','I') AND photo_ref IS NOT NULL "
            "AND (valid_until IS NULL OR valid_until > date('now', '+1 day')) LIMIT 1"
        ).fetchone()[0]
        bad = conn.execute(
            "SELECT number FROM licences WHERE statuses LIKE '%D%' OR statuses LIKE '%F%' LIMIT 1"
        ).fetchone()
    out = tmp_path / "e.mdoc"
    issued = _edl(demo_env, "credential", "issue", good, "--out", str(out))
    assert issued.returncode == 0, issued.stderr
    trust = tmp_path / "trust"
    exported = _edl(demo_env, "trust", "export", "--out", str(trust))
    assert exported.returncode == 0, exported.stderr
    verified = _edl(demo_env, "verify", "--mdoc", str(out), "--trust", str(trust / "iaca-root.pem"))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    result = json.loads(verified.stdout)
    assert result["valid"] is True
    assert result["claims"]["org.iso.18013.5.1"]["document_number"] == good
    if bad is not None:
        refused = _edl(demo_env, "credential", "issue", bad[0], "--out", str(tmp_path / "x.mdoc"))
        assert refused.returncode == 2
        assert len(refused.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "x.mdoc").exists()
    with sqlite3.connect(db) as conn:
        before = conn.execute("SELECT count(*), count(voided_at) FROM elicences").fetchone()
    nowhere = _edl(demo_env, "credential", "issue", good, "--out", str(tmp_path / "missing" / "e.mdoc"))
    assert nowhere.returncode == 2 and "cannot write" in nowhere.stderr
    with sqlite3.connect(db) as conn:  # refused before issuing: no new e-licence, the live one not voided
        assert conn.execute("SELECT count(*), count(voided_at) FROM elicences").fetchone() == before


def test_demo_driver_app_signs_in_binds_and_names_its_lenient_face_check(
    demo_server: str, demo_env: dict[str, str]
) -> None:
    """The demo's /app as a driver uses it: signed in with the licence's registered mobile, the code from /dev/sms,
    binding with any photo, the lenient check named."""
    import re
    import sqlite3

    db = Path(demo_env["EDL_DATA_DIR"]) / "edl.db"
    with sqlite3.connect(db) as conn:
        number, name, mobile = conn.execute(
            "SELECT number, name, mobile FROM licences WHERE statuses = 'A' AND photo_compliant = 1 "
            "AND (valid_until IS NULL OR valid_until > date('now', '+1 day')) LIMIT 1"
        ).fetchone()
    with httpx.Client(base_url=demo_server, timeout=20, headers={"Sec-Fetch-Site": "same-origin"}) as web:
        page = web.get("/app/sign-in")
        assert page.status_code == 200
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf
        # binding needs the licence's registered mobile (登记手机号): the demo driver signs in with it
        assert mobile, "demo drivers have a registered mobile"
        from edl.accounts.privacy import PRIVACY_NOTICE_VERSION

        sent = web.post("/app/sign-in/code", data={"csrf": csrf.group(1), "mobile": mobile, "next": "/app"})
        assert sent.status_code == 200, sent.text[:500]
        inbox = web.get("/dev/sms")
        assert inbox.status_code == 200
        code = re.search(r"\b(\d{6})\b", inbox.text.partition("<tbody>")[2])  # the messages, not a static hash
        assert code, "the demo's dev inbox shows the sign-in code"
        signed = web.post(
            "/app/sign-in/verify",
            data={
                "csrf": csrf.group(1),
                "mobile": mobile,
                "code": code.group(1),
                "next": "/app",
                "consent": PRIVACY_NOTICE_VERSION,  # the privacy notice accepted (first sign-in)
            },
        )
        assert signed.status_code in (200, 303), signed.text[:500]
        home = web.get("/app")
        assert "演示模式" in home.text, "the demo names its lenient real-person check on the page"
        from edl.registry.portraits import render_portrait

        photo = render_portrait(1, number)  # a drawing: only the lenient check accepts it
        challenge = web.post(
            "/app/liveness/challenge",
            data={"purpose": "bind"},
            headers={"X-CSRF-Token": csrf.group(1), "Accept": "application/json"},
        ).json()
        bound = web.post(  # the lenient check reads the frames but compares no face
            "/app/bind",
            data={
                "csrf": csrf.group(1),
                "number": number,
                "name": name,
                "challenge": challenge["challenge"],
                "times": ",".join(str(t) for t in challenge["frame_times"]),
            },
            files=[("frame", (f"f{i}.jpg", photo, "image/jpeg")) for i, _ in enumerate(challenge["frame_times"])],
        )
        assert bound.status_code in (200, 303), bound.text[:800]
        assert number[-4:] in web.get("/app").text


def test_demo_shows_a_code_that_verifies_offline_and_online(
    demo_server: str, demo_env: dict[str, str], tmp_path: Path
) -> None:
    """The demo as an operator and a verifier use it: a 亮码 from the CLI, the trust bundle fetched from the server,
    offline verification with the published status list, and the online API with the demo's rental key."""
    import sqlite3

    db = Path(demo_env["EDL_DATA_DIR"]) / "edl.db"
    with sqlite3.connect(db) as conn:
        number = conn.execute(
            "SELECT number FROM licences WHERE statuses = 'A' AND photo_ref IS NOT NULL "
            "AND (valid_until IS NULL OR valid_until > date('now', '+1 day')) ORDER BY number DESC LIMIT 1"
        ).fetchone()[0]
    issued = _edl(demo_env, "credential", "issue", number, "--out", str(tmp_path / "e.mdoc"))
    assert issued.returncode == 0, issued.stderr
    made = _edl(demo_env, "credential", "code", number)
    assert made.returncode == 0, made.stderr
    code = made.stdout.strip()
    assert code.startswith("EDL1:")

    trust = tmp_path / "trust"
    assert _edl(demo_env, "trust", "export", "--out", str(trust)).returncode == 0
    fetched = _edl(demo_env, "trust", "fetch", f"{demo_server}/.well-known/edl/trust", "--out", str(trust))
    assert fetched.returncode == 0, fetched.stdout + fetched.stderr
    status_list = tmp_path / "status.cwt"
    with httpx.Client(base_url=demo_server, timeout=20) as web:
        listed = web.get("/status-lists/1")
        assert listed.status_code == 200
        assert listed.headers["content-type"].startswith("application/statuslist+cwt")
        status_list.write_bytes(listed.content)
    verified = _edl(
        demo_env, "verify", "--qr", code, "--trust", str(trust / "iaca-root.pem"), "--status-list", str(status_list)
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    result = json.loads(verified.stdout)
    assert result["valid"] is True and result["status"] == "valid"

    keys = (Path(demo_env["EDL_DATA_DIR"]) / "demo-parties.txt").read_text().splitlines()
    assert (Path(demo_env["EDL_DATA_DIR"]) / "demo-parties.txt").stat().st_mode & 0o077 == 0
    rental = next(line.split("\t")[1] for line in keys if line.startswith("rental\t"))
    with httpx.Client(base_url=demo_server, timeout=20) as web:
        answer = web.post("/api/v1/verifications", json={"code": code}, headers={"Authorization": f"Bearer {rental}"})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["valid"] is True and body["status"] == "valid"
        assert "address" not in body["fields"] and "name" in body["fields"]
        refused = web.post("/api/v1/verifications", json={"code": code}, headers={"Authorization": "Bearer nope"})
        assert refused.status_code == 401
