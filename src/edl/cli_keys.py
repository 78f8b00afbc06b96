"""CLI for the authority PKI and offline verification: ``edl keys``, ``edl trust``, ``edl verify``.

Thin: parse, call `edl.pki` / `edl.credentials`, print. Input that cannot be read gives one line on
stderr and exit code 2. No command ever prints or logs private key material.
"""

from __future__ import annotations

import base64
import binascii
import json
import string
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from edl.credentials import verify_mdoc
from edl.pki import Authority, AuthorityProfile, PkiError, load_trust_roots

DATA_DIR_ENV = "EDL_DATA_DIR"
DEFAULT_DATA_DIR = Path(".edl-data")

DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help=f"data directory (default: ${DATA_DIR_ENV} or ./{DEFAULT_DATA_DIR})"),
]

keys_app = typer.Typer(help="Issuing-authority keys: IACA root and document signers.", no_args_is_help=True)
trust_app = typer.Typer(help="Trust material for verifiers.", no_args_is_help=True)


def resolve_data_dir(value: Path | None) -> Path:
    """The data directory: the option, else $EDL_DATA_DIR, else ./.edl-data (decided only here)."""
    if value is not None:
        return value
    from edl.config import Settings

    return Settings().data_dir


def _fail(message: str) -> NoReturn:
    from edl.cli import fail

    fail(message)


def _now() -> datetime:
    return datetime.now(UTC)


@keys_app.command("init")
def keys_init(
    data_dir: DataDirOption = None,
    country: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2 country of the authority")] = "CN",
    organisation: Annotated[str, typer.Option(help="organisation name in the certificates")] = (
        AuthorityProfile.organisation
    ),
    common_name: Annotated[str, typer.Option(help="common name of the IACA root")] = AuthorityProfile.common_name,
    contact_uri: Annotated[str, typer.Option(help="URI in IssuerAlternativeName")] = AuthorityProfile.contact_uri,
    crl_uri: Annotated[str | None, typer.Option(help="CRL distribution point, if one is published")] = None,
) -> None:
    """Create the IACA root and a first document signer (never replaces an existing root)."""
    try:
        profile = AuthorityProfile(
            country=country,
            organisation=organisation,
            common_name=common_name,
            contact_uri=contact_uri,
            crl_uri=crl_uri,
        )
        authority = Authority.open(resolve_data_dir(data_dir), profile=profile)
        root = authority.init(at=_now())
        signer = authority.signers()[-1]
    except (PkiError, ValueError, OSError) as exc:
        _fail(str(exc))
    typer.echo(f"IACA root: {root.subject.rfc4514_string()} serial {root.serial_number:x}")
    typer.echo(f"  valid until {root.not_valid_after_utc.isoformat()}")
    typer.echo(
        f"document signer: key id {signer.key_id}, valid until {signer.certificate.not_valid_after_utc.isoformat()}"
    )


@keys_app.command("rotate-signer")
def keys_rotate_signer(data_dir: DataDirOption = None) -> None:
    """Create a new document signer; older ones stay on record so what they signed still verifies."""
    try:
        record = Authority.open(resolve_data_dir(data_dir)).rotate_signer(at=_now())
    except (PkiError, ValueError, OSError) as exc:
        _fail(str(exc))
    cert = record.certificate
    typer.echo(f"document signer: key id {record.key_id}, serial {cert.serial_number:x}")
    typer.echo(f"  valid {cert.not_valid_before_utc.isoformat()} .. {cert.not_valid_after_utc.isoformat()}")


@trust_app.command("export")
def trust_export(
    out: Annotated[Path, typer.Option("--out", help="folder to write the PEM files to")],
    data_dir: DataDirOption = None,
) -> None:
    """Write the IACA root (the trust anchor, iaca-root.pem) and every DS certificate as PEM."""
    try:
        exported = Authority.open(resolve_data_dir(data_dir)).export_trust(out)
    except (PkiError, ValueError, OSError) as exc:
        _fail(str(exc))
    typer.echo(f"trust anchor: {exported.root}")
    for path in exported.signers:
        typer.echo(f"document signer: {path}")


_HEX = frozenset(string.hexdigits.encode("ascii"))


_BASE64 = frozenset((string.ascii_letters + string.digits + "+/-_=").encode("ascii"))


def read_mdoc_file(path: Path) -> bytes:
    """The bytes of an mdoc file: raw CBOR, hex text (whitespace ignored) as the vectors are, or base64 /
    base64url text (padding optional) as OpenID4VP and many wallets carry a DeviceResponse."""
    raw = path.read_bytes()
    compact = b"".join(raw.split())
    if compact and len(compact) % 2 == 0 and all(c in _HEX for c in compact):
        return bytes.fromhex(compact.decode("ascii"))
    if compact and all(c in _BASE64 for c in compact):
        text = compact.rstrip(b"=").replace(b"-", b"+").replace(b"_", b"/")
        try:
            return base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)
        except binascii.Error:
            return raw
    return raw


def _parse_time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        _fail(f"--at {text!r} is not an ISO-8601 date and time")
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def verify_command(
    mdoc: Annotated[Path, typer.Option("--mdoc", help="DeviceResponse or IssuerSigned: raw CBOR or hex text")],
    trust: Annotated[Path, typer.Option("--trust", help="PEM file (or folder of .pem) with the IACA root(s)")],
    at: Annotated[
        str | None, typer.Option("--at", help="verification time, ISO-8601 (default now; no zone = UTC)")
    ] = None,
    leeway: Annotated[float, typer.Option("--leeway", help="clock skew allowed on signed/validFrom, seconds")] = 60.0,
) -> None:
    """Verify an mdoc offline; print one JSON object. Exit 0 valid, 1 not valid, 2 unreadable input."""
    try:
        data = read_mdoc_file(mdoc)
    except OSError as exc:
        _fail(f"cannot read {mdoc}: {exc.strerror or exc}")
    try:
        roots = load_trust_roots(trust)
    except (OSError, ValueError) as exc:
        _fail(f"cannot read trust roots from {trust}: {getattr(exc, 'strerror', None) or exc}")
    if leeway < 0:
        _fail("--leeway cannot be negative")
    moment = _parse_time(at) if at else _now()
    result = verify_mdoc(data, roots, at=moment, leeway=timedelta(seconds=leeway))
    typer.echo(json.dumps(result.to_json_dict(), ensure_ascii=False))
    raise typer.Exit(0 if result.valid else 1)
