"""Installing a pinned Node.js test project (`npm ci --ignore-scripts`) once, for the interop tests."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

SKIP_ENV = "EDL_SKIP_NODE_INTEROP"


def _lock_stamp(project: Path) -> str:
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        path = project / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.exists() else b"") + b"\0")
    return digest.hexdigest()


def install(project: Path, npm: str) -> None:
    """`npm ci` (or `npm install` without a lock) once; skipped while node_modules matches the lock."""
    stamp_file = project / "node_modules" / ".edl-interop-stamp"
    if stamp_file.exists() and stamp_file.read_text() == _lock_stamp(project):
        return
    verb = "ci" if (project / "package-lock.json").exists() else "install"
    # --ignore-scripts: nothing is compiled (cbor-extract loads its prebuilt @cbor-extract/* binary
    # when there is one for this platform, else cbor-x decodes in plain JS).
    command = [npm, verb, "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]
    proc = subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        pytest.fail(
            f"`{' '.join(command[1:])}` failed in {project} (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}",
            pytrace=False,
        )
    stamp_file.write_text(_lock_stamp(project))


def node_for(project: Path, what: str) -> str:
    """The `node` executable, with `project` installed; skips under EDL_SKIP_NODE_INTEROP=1, fails without node."""
    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(f"{SKIP_ENV}=1: Node.js interop tests skipped")
    executable, npm = shutil.which("node"), shutil.which("npm")
    if executable is None or npm is None:
        pytest.fail(
            f"the {what} interop tests need Node.js >= 20 and npm on PATH (node={executable}, npm={npm}); "
            f"install them, or set {SKIP_ENV}=1 to skip these tests",
            pytrace=False,
        )
    install(project, npm)
    return executable
