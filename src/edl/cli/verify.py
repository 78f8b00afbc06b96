"""`edl verify`: verify an mdoc or a live code (亮码, as text or in a photo) offline.

Thin: parse, call `edl.credentials` / `edl.verification`, print. Input that cannot be read gives one line on
stderr and exit code 2.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, x448, x25519

from edl.cli.common import fail, now
from edl.cli.mdoc_files import (
    ClientIdOption,
    HandoverOption,
    HolderBinding,
    MdocNonceOption,
    NonceOption,
    OriginOption,
    ResponseUriOption,
    ThumbprintOption,
    TranscriptFileOption,
    read_mdoc_file,
)
from edl.credentials import verify_mdoc
from edl.credentials.device_auth import Transcript
from edl.credentials.verify import ReaderKey
from edl.pki import load_trust_roots
from edl.pki.files import read_at_most
from edl.pki.trust import is_ca_anchor
from edl.verification.purposes import UnknownPolicy

MAX_IMAGE_FILE_BYTES = 32 * 1024 * 1024
"""Largest --qr-image file (a phone photo is a few MB); its pixels are capped where the image is decoded."""


def _parse_time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--at {text!r} is not an ISO-8601 date and time")
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _load_certificates(path: Path, what: str) -> list[x509.Certificate]:
    try:
        return load_trust_roots(path)
    except (OSError, ValueError) as exc:
        fail(f"cannot read {what} from {path}: {getattr(exc, 'strerror', None) or exc}")


def code_trust(trust: Path, signers: Path | None) -> tuple[list[x509.Certificate], list[x509.Certificate]]:
    """(roots, candidate signers) for a code: CA certificates of `trust` are roots, its other certificates are
    signers; beside a `trust` file, the ``ds-*.pem`` that `edl trust export` / `edl trust fetch` write are signers
    too; `signers` (a PEM file or folder) adds more."""
    certs = _load_certificates(trust, "trust roots")
    roots = [c for c in certs if is_ca_anchor(c)]
    found = [c for c in certs if not is_ca_anchor(c)]
    if trust.is_file():
        for path in sorted(trust.parent.glob("ds-*.pem")):
            if path.resolve() != trust.resolve():
                found.extend(_load_certificates(path, "document-signer certificates"))
    if signers is not None:
        found.extend(_load_certificates(signers, "document-signer certificates"))
    return roots, found


def read_code_image(path: Path) -> str | None:
    """The eDL code in a photo or screenshot (zxing-cpp), or None when it holds no QR code.

    Prefers a QR code whose text starts with ``EDL1:`` (a licence page also holds other codes); exits 2 when the
    file is not a readable image or its header is over the pixel budget of `edl.images` (nothing is decoded then).
    """
    import warnings

    import zxingcpp
    from PIL import Image

    from edl.credentials.livecode import PREFIX
    from edl.images import ImageRefused, open_image

    try:
        with warnings.catch_warnings():  # one thread here: Pillow's bomb warning would be a second stderr line
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            opened = open_image(path)
        with opened as image:
            image.load()
            grey = image if image.mode == "L" else image.convert("L")
            found = zxingcpp.read_barcodes(grey, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode))
    except (OSError, ValueError) as exc:  # ImageRefused is a ValueError
        reason = str(exc) if isinstance(exc, ImageRefused) else getattr(exc, "strerror", None) or exc
        fail(f"cannot read an image from {path}: {reason}")
    texts = [b.text for b in found if b.valid and b.text]
    for text in texts:
        if text.startswith(PREFIX):
            return text
    return texts[0] if texts else None


def _check_image_file(path: Path) -> None:
    """Exit 2 unless `path` is a readable file of at most `MAX_IMAGE_FILE_BYTES` (checked before decoding)."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        fail(f"cannot read an image from {path}: {exc.strerror or exc}")
    if size > MAX_IMAGE_FILE_BYTES:
        fail(f"cannot read an image from {path}: it is larger than {MAX_IMAGE_FILE_BYTES:,} bytes")


def _no_code(path: Path) -> dict[str, object]:
    from edl.credentials import ErrorCode, VerificationError
    from edl.credentials.livecode import CODE_DOCTYPE

    error = VerificationError(ErrorCode.NO_CODE, f"no QR code was found in {path.name}")
    return {
        "valid": False,
        "doctype": CODE_DOCTYPE,
        "errors": [error.to_json_dict()],
        "claims": {},
        "signer": None,
        "status": "unknown",
        "warnings": [],
        "stage": "image",
    }


def _unknown_policy(purpose: str | None) -> UnknownPolicy:
    from edl.verification.purposes import RULES, InvalidPurpose, parse_purpose

    if purpose is None:
        return UnknownPolicy.WARN
    try:
        return RULES[parse_purpose(purpose)].unknown
    except InvalidPurpose as exc:
        fail(str(exc))


def verify_command(
    trust: Annotated[
        Path,
        typer.Option(
            "--trust",
            help="PEM file or folder: CA certificates are the trusted IACA root(s), others candidate DS "
            "certificates; ds-*.pem beside a file are candidates too",
        ),
    ],
    mdoc: Annotated[
        Path | None, typer.Option("--mdoc", help="DeviceResponse or IssuerSigned: raw CBOR, hex or base64 text")
    ] = None,
    qr: Annotated[str | None, typer.Option("--qr", help="a live code text (EDL1:...)")] = None,
    qr_image: Annotated[
        Path | None, typer.Option("--qr-image", help="photo or screenshot of a live code QR (PNG, JPEG...)")
    ] = None,
    signers: Annotated[
        Path | None, typer.Option("--signers", help="PEM file or folder of more candidate DS certificates (codes)")
    ] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="verification time, ISO-8601 (default now; no zone = UTC)")
    ] = None,
    status_list: Annotated[
        Path | None, typer.Option("--status-list", help="a Status List Token (CWT) file, for a code's status")
    ] = None,
    purpose: Annotated[
        str | None,
        typer.Option("--purpose", help="police, rental, employer or insurer: its policy for an unknown status"),
    ] = None,
    leeway: Annotated[float, typer.Option("--leeway", help="clock skew allowed on signed/validFrom, seconds")] = 60.0,
    session_transcript: TranscriptFileOption = None,
    handover: HandoverOption = None,
    client_id: ClientIdOption = None,
    nonce: NonceOption = None,
    response_uri: ResponseUriOption = None,
    origin: OriginOption = None,
    jwk_thumbprint: ThumbprintOption = None,
    mdoc_nonce: MdocNonceOption = None,
    reader_key: Annotated[
        Path | None,
        typer.Option("--reader-key", help="PEM private key of the reader's ephemeral key (for a deviceMac)"),
    ] = None,
) -> None:
    """Verify an mdoc or a live code offline; print one JSON object. Exit 0 valid, 1 not valid, 2 unreadable input.

    Give exactly one of --mdoc, --qr, --qr-image. A code's status comes from --status-list: without one (or with
    a stale or unverifiable one) it is unknown, accepted with a warning unless --purpose police.
    """
    if sum(x is not None for x in (mdoc, qr, qr_image)) != 1:
        fail("give exactly one of --mdoc FILE, --qr TEXT, --qr-image FILE")
    if leeway < 0:
        fail("--leeway cannot be negative")
    binding = HolderBinding(
        session_transcript, handover, client_id, nonce, response_uri, origin, jwk_thumbprint, mdoc_nonce
    )
    if mdoc is not None:
        if status_list is not None or purpose is not None or signers is not None:
            fail("--status-list, --purpose and --signers apply to live codes (--qr, --qr-image), not to --mdoc")
        _verify_mdoc(mdoc, trust, at, leeway, binding.transcript(), _reader_key(reader_key))
        return
    if binding.given() or reader_key is not None:
        fail("--session-transcript, --handover and its parameters and --reader-key apply to --mdoc only")
    policy = _unknown_policy(purpose)
    roots, candidates = code_trust(trust, signers)
    token = None
    if status_list is not None:
        from edl.credentials.statuslist import MAX_TOKEN_BYTES

        try:
            token = read_at_most(status_list, MAX_TOKEN_BYTES)
        except (OSError, ValueError) as exc:
            fail(f"cannot read {status_list}: {getattr(exc, 'strerror', None) or exc}")
    moment = _parse_time(at) if at else now()
    if qr_image is not None:
        _check_image_file(qr_image)
        text = read_code_image(qr_image)
        if text is None:
            typer.echo(json.dumps(_no_code(qr_image), ensure_ascii=False))
            raise typer.Exit(1)
    else:
        text = (qr or "").strip()
    from edl.verification.offline import verify_offline

    result = verify_offline(
        text, roots, candidates, at=moment, status_list=token, policy=policy, leeway=timedelta(seconds=leeway)
    )
    typer.echo(json.dumps(result.to_json_dict(), ensure_ascii=False))
    raise typer.Exit(0 if result.valid else 1)


def _reader_key(path: Path | None) -> ReaderKey | None:
    if path is None:
        return None
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(read_at_most(path, 64 * 1024), password=None)
    except (OSError, ValueError, TypeError) as exc:
        fail(f"cannot read the reader key {path}: {getattr(exc, 'strerror', None) or exc}")
    if not isinstance(key, ec.EllipticCurvePrivateKey | x25519.X25519PrivateKey | x448.X448PrivateKey):
        fail(f"{path}: the reader key must be an EC, X25519 or X448 private key")
    return key


def _verify_mdoc(
    mdoc: Path, trust: Path, at: str | None, leeway: float, transcript: Transcript | None, reader_key: ReaderKey | None
) -> None:
    try:
        data = read_mdoc_file(mdoc)
    except (OSError, ValueError) as exc:
        fail(f"cannot read {mdoc}: {getattr(exc, 'strerror', None) or exc}")
    roots = _load_certificates(trust, "trust roots")
    moment = _parse_time(at) if at else now()
    result = verify_mdoc(
        data,
        roots,
        at=moment,
        leeway=timedelta(seconds=leeway),
        session_transcript=transcript,
        reader_key=reader_key,
    )
    typer.echo(json.dumps(result.to_json_dict(), ensure_ascii=False))
    raise typer.Exit(0 if result.valid else 1)
