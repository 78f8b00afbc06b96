"""`edl trust ...`: trust material for verifiers.

`edl trust export --out DIR` writes the IACA root and every DS certificate as PEM.

`edl trust fetch URL --out DIR` installs or refreshes a verifier's trust material from the signed trust bundle.
Nothing is replaced until the bundle has passed every check against the root already installed
(``DIR/iaca-root.pem``, or ``--root FILE`` for a first install): signature and trust-list signer chain,
same root, not older than its max age, version not lower than the installed one. Then each file is
written atomically, ``trust.json`` (the installed version) last.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from edl.boundedjson import JsonRefused
from edl.boundedjson import loads as json_loads
from edl.cli.common import DataDirOption, fail, resolve_data_dir
from edl.credentials.trustbundle import (
    CONTENT_TYPE,
    MAX_BUNDLE_BYTES,
    TrustBundle,
    TrustBundleError,
    verify_trust_bundle,
)
from edl.pki import Authority, PkiError
from edl.pki.files import PUBLIC_DIR_MODE, PUBLIC_FILE_MODE, ensure_dir, read_at_most, write_atomic
from edl.pki.trust import MAX_PEM_FILE_BYTES, is_ca_anchor

trust_app = typer.Typer(help="Trust material for verifiers.", no_args_is_help=True)

ROOT_FILE = "iaca-root.pem"
BUNDLE_FILE = "trust-bundle.cbor"
STATE_FILE = "trust.json"
TIMEOUT_SECONDS = 20
"""For connecting and for each read."""
DOWNLOAD_SECONDS = 60
"""For the whole download: a server that trickles the bundle a byte at a time is cut off."""
CHUNK_BYTES = 64 * 1024
MAX_STATE_BYTES = 64 * 1024


@trust_app.command("export")
def trust_export(
    out: Annotated[Path, typer.Option("--out", help="folder to write the PEM files to")],
    data_dir: DataDirOption = None,
) -> None:
    """Write the IACA root (the trust anchor, iaca-root.pem) and every DS certificate as PEM."""
    try:
        exported = Authority.open(resolve_data_dir(data_dir)).export_trust(out)
    except (PkiError, ValueError, OSError) as exc:
        fail(str(exc))
    typer.echo(f"trust anchor: {exported.root}")
    for path in exported.signers:
        typer.echo(f"document signer: {path}")


def _load_root(path: Path) -> x509.Certificate:
    try:
        certs = x509.load_pem_x509_certificates(read_at_most(path, MAX_PEM_FILE_BYTES))
    except FileNotFoundError:
        fail(f"no installed root at {path}: install the IACA root first (or give --root FILE)")
    except (OSError, ValueError):
        fail(f"{path} is not a PEM certificate file (of at most {MAX_PEM_FILE_BYTES:,} bytes)")
    if len(certs) != 1 or not is_ca_anchor(certs[0]):
        fail(f"{path} must hold exactly one IACA root certificate")
    return certs[0]


def _download(url: str) -> bytes:
    try:
        scheme = urllib.parse.urlsplit(url).scheme
    except ValueError:
        scheme = ""
    if scheme not in ("http", "https"):
        fail(f"{url!r} is not an http(s) URL")
    headers = {"Accept": CONTENT_TYPE, "User-Agent": "edl-trust-fetch"}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (http(s) only, checked above)
    deadline = time.monotonic() + DOWNLOAD_SECONDS
    chunks: list[bytes] = []
    size = 0
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 (scheme checked)
            while size <= MAX_BUNDLE_BYTES and (chunk := response.read1(CHUNK_BYTES)):
                chunks.append(chunk)
                size += len(chunk)
                if time.monotonic() > deadline:
                    fail(f"cannot fetch {url}: the download took longer than {DOWNLOAD_SECONDS} s")
    except urllib.error.HTTPError as exc:
        fail(f"{url} answered HTTP {exc.code} {exc.reason}")
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        reason = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
        fail(f"cannot fetch {url}: {reason}")
    if size > MAX_BUNDLE_BYTES:
        fail(f"the trust bundle from {url} is over {MAX_BUNDLE_BYTES} bytes")
    return b"".join(chunks)


def _installed_state(path: Path) -> dict[str, Any] | None:
    try:
        state = json_loads(read_at_most(path, MAX_STATE_BYTES))
    except FileNotFoundError:
        return None
    except (OSError, JsonRefused, ValueError):
        fail(f"{path} is not readable JSON; move it away to install afresh")
    if not isinstance(state, dict) or type(state.get("version")) is not int or type(state.get("iat")) is not int:
        fail(f"{path} has no installed version; move it away to install afresh")
    return state


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _install(out: Path, bundle: TrustBundle, data: bytes, url: str, root_in_dir: bool) -> None:
    ensure_dir(out, PUBLIC_DIR_MODE)
    if not root_in_dir:
        write_atomic(out / ROOT_FILE, _pem(bundle.root), mode=PUBLIC_FILE_MODE)
    for signer in bundle.signers:
        write_atomic(out / f"ds-{signer.kid.hex()}.pem", _pem(signer.certificate), mode=PUBLIC_FILE_MODE)
    write_atomic(out / BUNDLE_FILE, data, mode=PUBLIC_FILE_MODE)
    state = {
        "version": bundle.version,
        "iat": int(bundle.iat.timestamp()),
        "max_age": bundle.max_age,
        "status_list": {"uri": bundle.status_list_uri},
        "source": url,
        "signers": [f"ds-{s.kid.hex()}.pem" for s in bundle.signers],
    }
    write_atomic(out / STATE_FILE, json.dumps(state, indent=2).encode("utf-8") + b"\n", mode=PUBLIC_FILE_MODE)


@trust_app.command("fetch")
def trust_fetch(
    url: Annotated[str, typer.Argument(help="trust bundle URL, e.g. https://edl.example/.well-known/edl/trust")],
    out: Annotated[Path, typer.Option("--out", help="trust folder (holds iaca-root.pem, ds-*.pem, trust.json)")],
    root: Annotated[
        Path | None, typer.Option("--root", help=f"installed IACA root PEM (default: OUT/{ROOT_FILE})")
    ] = None,
) -> None:
    """Fetch the signed trust bundle and install it, after checking it against the installed root."""
    root_in_dir = root is None or (out / ROOT_FILE).exists()
    installed_root = _load_root(root if root is not None else out / ROOT_FILE)
    if root is not None and (out / ROOT_FILE).exists() and _load_root(out / ROOT_FILE) != installed_root:
        fail(f"{out / ROOT_FILE} differs from --root {root}; a trust folder has one root")
    state = _installed_state(out / STATE_FILE)
    data = _download(url)
    now = datetime.now(UTC)
    try:
        bundle = verify_trust_bundle(data, installed_root, at=now)
    except TrustBundleError as exc:
        fail(str(exc))
    if state is not None:
        if bundle.version < state["version"]:
            fail(f"trust bundle version {bundle.version} is lower than the installed version {state['version']}")
        if bundle.version == state["version"] and int(bundle.iat.timestamp()) < state["iat"]:
            fail("trust bundle is older than the one installed (same version, earlier iat)")
    try:
        _install(out, bundle, data, url, root_in_dir)
    except OSError as exc:
        fail(f"cannot write to {out}: {exc.strerror or exc}")
    typer.echo(
        f"trust bundle version {bundle.version} (issued {bundle.iat.isoformat()}): "
        f"{len(bundle.signers)} document signer(s), status list {bundle.status_list_uri}"
    )
    typer.echo(f"installed in {out}")
