"""`edl serve --workers N`: N server processes on one port, each serving the whole app (issue 14), and bad input
refused with a one-line message before anything starts."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.live_server import free_port

EDL = str(Path(sys.executable).with_name("edl"))


def _env(tmp_path: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDL_")}
    env.update(EDL_DATA_DIR=str(tmp_path / "data"), EDL_DEMO="true", EDL_PORT=str(port), EDL_LOG_LEVEL="WARNING")
    return env


@pytest.mark.slow
def test_two_workers_serve_the_app_on_one_port(tmp_path: Path) -> None:
    port = free_port()
    out = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [EDL, "serve", "--workers", "2"], env=_env(tmp_path, port), stdout=out, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.3)
        workers = [
            p for p in psutil.Process(process.pid).children(recursive=True) if "spawn_main" in " ".join(p.cmdline())
        ]
        assert len(workers) == 2
        refused = httpx.post(f"http://127.0.0.1:{port}/api/v1/verifications", json={"code": "x"}, timeout=5)
        assert refused.status_code == 401 and refused.json()["error"] == "missing_key"  # the API, in a worker
        assert "2 worker processes" in (tmp_path / "serve.log").read_text()
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        out.close()


def test_zero_workers_is_refused_with_exit_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [EDL, "serve", "--workers", "0"], env=_env(tmp_path, free_port()), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "--workers" in done.stderr
