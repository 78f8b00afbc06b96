"""`edl trust fetch` against a live eDL server (Uvicorn in a thread, real HTTP): install, refresh, refusals.

Every refusal must leave the trust folder exactly as it was.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from typer.testing import CliRunner

from edl.bootstrap import Container
from edl.cli.trust import trust_fetch
from edl.credentials.trustbundle import kid_of_der
from edl.issuance.bundle import TRUST_PATH
from edl.issuance.status import status_list_uri
from edl.pki import Authority

pytestmark = pytest.mark.integration

app = typer.Typer()


@app.callback()
def _main() -> None:
    """(a group, so `fetch` is a sub-command as in `edl trust fetch`)"""


app.command("fetch")(trust_fetch)
runner = CliRunner()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(container: Container) -> Iterator[str]:
    import uvicorn

    from edl.web.app import create_app

    container.authority.init(at=datetime.now(UTC) - timedelta(days=3))
    port = _free_port()
    uv = uvicorn.Server(
        uvicorn.Config(create_app(container), host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the eDL server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(10)


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.exists() else {}


def _fetch(url: str, out: Path, *extra: str) -> tuple[int, str]:
    """Exit code and what the command wrote to stderr (stdout also carries the in-process server's log)."""
    result = runner.invoke(app, ["fetch", url, "--out", str(out), *extra])
    return result.exit_code, result.stderr if result.exit_code else result.stdout


def _installed(container: Container, server: str, out: Path) -> None:
    out.mkdir(exist_ok=True)
    (out / "iaca-root.pem").write_bytes(_pem(container.authority.root_certificate()))
    code, output = _fetch(server + TRUST_PATH, out)
    assert code == 0, output


def test_a_first_install_with_root_writes_every_file(container: Container, server: str, tmp_path: Path) -> None:
    root_file = tmp_path / "root.pem"
    root_file.write_bytes(_pem(container.authority.root_certificate()))
    container.authority.rotate_signer(at=datetime.now(UTC) - timedelta(days=1))
    out = tmp_path / "trust"
    code, output = _fetch(server + TRUST_PATH, out, "--root", str(root_file))
    assert code == 0, output
    assert "version" in output and "PRIVATE" not in output
    assert (out / "iaca-root.pem").read_bytes() == root_file.read_bytes()
    signers = [r.certificate for r in container.authority.signers()]
    assert len(signers) == 2
    for cert in signers:
        der = cert.public_bytes(serialization.Encoding.DER)
        assert x509.load_pem_x509_certificate((out / f"ds-{kid_of_der(der).hex()}.pem").read_bytes()) == cert
    state = json.loads((out / "trust.json").read_text())
    assert state["status_list"] == {"uri": status_list_uri(container.settings)}
    assert state["version"] >= 2 and state["max_age"] == 86400
    assert (out / "trust-bundle.cbor").stat().st_size > 0


def test_a_refresh_uses_the_installed_root_and_a_new_signer_raises_the_version(
    container: Container, server: str, tmp_path: Path
) -> None:
    out = tmp_path / "trust"
    _installed(container, server, out)
    before = json.loads((out / "trust.json").read_text())["version"]
    container.authority.rotate_signer(at=datetime.now(UTC) - timedelta(hours=1))
    code, output = _fetch(server + TRUST_PATH, out)
    assert code == 0, output
    after = json.loads((out / "trust.json").read_text())["version"]
    assert after > before
    assert len(list(out.glob("ds-*.pem"))) == 2


def _refused(url: str, out: Path, *extra: str) -> str:
    before = _snapshot(out)
    code, output = _fetch(url, out, *extra)
    assert code == 2, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("edl: error: "), output
    assert _snapshot(out) == before, "a refused fetch changed the trust folder"
    return lines[0]


def test_a_lower_version_is_refused_and_changes_nothing(container: Container, server: str, tmp_path: Path) -> None:
    out = tmp_path / "trust"
    _installed(container, server, out)
    state = json.loads((out / "trust.json").read_text())
    (out / "trust.json").write_text(json.dumps(state | {"version": state["version"] + 5}))
    assert "lower than the installed version" in _refused(server + TRUST_PATH, out)


def test_a_bundle_of_another_root_is_refused_and_changes_nothing(
    container: Container, server: str, tmp_path: Path
) -> None:
    other = Authority.open(tmp_path / "other")
    other.init(at=datetime.now(UTC) - timedelta(days=1))
    out = tmp_path / "trust"
    out.mkdir()
    (out / "iaca-root.pem").write_bytes(_pem(other.root_certificate()))
    assert "not trusted" in _refused(server + TRUST_PATH, out)


def test_without_an_installed_root_nothing_is_fetched(container: Container, server: str, tmp_path: Path) -> None:
    out = tmp_path / "trust"
    assert "no installed root" in _refused(server + TRUST_PATH, out)
    assert not out.exists()


def test_a_bundle_older_than_its_max_age_is_refused(container: Container, server: str, tmp_path: Path) -> None:
    out = tmp_path / "trust"
    _installed(container, server, out)
    real: Callable[[], datetime] = container.clock
    container.clock = lambda: real() - timedelta(days=2)  # the server hands out a bundle signed two days ago
    assert "older than its max age" in _refused(server + TRUST_PATH, out)


def test_a_tampered_bundle_is_refused(
    container: Container, server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "trust"
    _installed(container, server, out)
    genuine = container.trust_bundle.current

    def tampered(*, at: datetime) -> bytes:
        data = bytearray(genuine(at=at))
        data[len(data) // 2] ^= 0x01
        return bytes(data)

    monkeypatch.setattr(container.trust_bundle, "current", tampered)
    _refused(server + TRUST_PATH, out)


def test_a_wrong_url_is_refused(container: Container, server: str, tmp_path: Path) -> None:
    out = tmp_path / "trust"
    _installed(container, server, out)
    assert "HTTP 404" in _refused(server + "/.well-known/edl/nothing", out)
    assert "http(s)" in _refused("file:///etc/passwd", out)
