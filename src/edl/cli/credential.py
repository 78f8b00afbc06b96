"""`edl credential ...`: e-licence credentials for operators and tests.

`edl credential issue LICENCE_NO --out FILE`: issue an ISO/IEC 18013-5 mdoc for a registry licence.

`edl credential code LICENCE_NO [--barcode]`: print a fresh 亮码 (live code), or the barcode number made with it.

`edl credential render LICENCE_NO --out FILE [--page front|secondary]`: the licence pages (亮证) as PNG or PDF.
The format follows the file name: `.png` is one page (the front page unless `--page secondary`), `.pdf` is both
pages (or the one `--page` names). The front page's QR holds a fresh live code, valid for a few minutes. The file
holds personal data, so it is written owner-only. Bad input (extension, page, folder, number, no live e-licence, no
Chinese font) is refused with one line and exit code 2, before anything is signed or written.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from edl.cli.common import fail, open_container
from edl.cli.mdoc_files import (
    ClientIdOption,
    HandoverOption,
    MdocNonceOption,
    NonceOption,
    OriginOption,
    ResponseUriOption,
    ThumbprintOption,
    TranscriptFileOption,
)
from edl.pki.files import PRIVATE_FILE_MODE, PUBLIC_FILE_MODE, read_at_most, write_atomic

MAX_OUT_NAME_BYTES = 200
"""Room in a 255-byte file name for the ".device-key.pem" written beside --out and the temporary name while writing."""
FORMATS = (".png", ".pdf")

credential_app = typer.Typer(help="Issue e-licence credentials (ISO/IEC 18013-5 mdoc).", no_args_is_help=True)


@credential_app.command("issue")
def credential_issue(
    number: Annotated[str, typer.Argument(help="licence number (证号)")],
    out: Annotated[Path, typer.Option("--out", help="where to write the mdoc (CBOR DeviceResponse)")],
    device_key: Annotated[
        Path | None, typer.Option(help="holder device public key (PEM); default: generate one")
    ] = None,
    actor: Annotated[str, typer.Option(help="who issues (recorded)")] = "cli",
) -> None:
    """Issue an ISO/IEC 18013-5 mdoc for a registry licence (refused, with the reason, if it is not eligible)."""
    from edl.issuance.elicences import IssuanceRefused, issue_elicence, load_device_public_key

    folder = out.resolve().parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        fail(f"{out}: cannot write there (no such folder, or not writable)")
    if out.is_dir():
        fail(f"{out} is a folder: give a file name")
    if len(os.fsencode(out.name)) > MAX_OUT_NAME_BYTES:
        fail(f"{out}: the file name is longer than {MAX_OUT_NAME_BYTES} bytes")
    container = open_container()
    try:
        holder_key = load_device_public_key(device_key) if device_key else None
        issued = issue_elicence(
            container.sessions, container.issuer, number, device_key=holder_key, actor=actor, at=container.clock()
        )
    except IssuanceRefused as exc:
        fail(str(exc))
    finally:
        container.dispose()
    write_atomic(out, issued.device_response, mode=PUBLIC_FILE_MODE)
    typer.echo(f"wrote {out} (e-licence {issued.elicence_id}, valid until {issued.valid_until:%Y-%m-%dT%H:%M:%SZ})")
    if issued.device_private_key_pem is not None:
        key_path = out.with_name(out.name + ".device-key.pem")
        write_atomic(key_path, issued.device_private_key_pem, mode=PRIVATE_FILE_MODE)
        typer.echo(f"wrote the generated holder device key to {key_path} (owner-only)")


@credential_app.command("code")
def credential_code(
    number: Annotated[str, typer.Argument(help="licence number (证号) with a live e-licence")],
    barcode: Annotated[
        bool, typer.Option("--barcode", help="print the number under the barcode instead (valid 1 to 2 minutes)")
    ] = False,
) -> None:
    """Print a fresh signed live code (EDL1:...) for the licence's live e-licence; it expires in a few minutes.
    With --barcode, the barcode number made at the same moment (docs/code-format.md)."""
    from edl.db.session import transaction
    from edl.issuance.livecodes import LiveCodeRefused, NoActiveElicence, make_live_code

    container = open_container()
    try:
        with transaction(container.sessions) as session:
            live = make_live_code(session, container.code_maker, number, at=container.clock())
    except (NoActiveElicence, LiveCodeRefused) as exc:
        fail(str(exc))
    finally:
        container.dispose()
    typer.echo(live.barcode if barcode else live.text)


@credential_app.command("render")
def credential_render(
    number: Annotated[str, typer.Argument(help="licence number (证号) with a live e-licence")],
    out: Annotated[
        Path, typer.Option("--out", help="file to write: .png (one page) or .pdf (both pages unless --page)")
    ],
    page: Annotated[
        str | None, typer.Option("--page", help="front | secondary (a PNG is the front page by default)")
    ] = None,
) -> None:
    """Render the e-licence's front (正页) and secondary (副页) pages to PNG or PDF, with a fresh live code."""
    from edl.domain import DomainError
    from edl.issuance.livecodes import LiveCodeRefused, NoActiveElicence
    from edl.registry.queries import LicenceNotFound
    from edl.rendering import FontMissing, PageName, cjk_font, render_pdf, render_png
    from edl.rendering.card import beijing
    from edl.rendering.service import load_card

    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        fail(f"{out}: the file name must end in .png or .pdf (got {suffix or 'no extension'})")
    try:
        chosen = PageName(page) if page is not None else None
    except ValueError:
        fail(f"--page must be one of: {', '.join(p.value for p in PageName)} (got {page!r})")
    folder = out.resolve().parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        fail(f"{out}: cannot write there (no such folder, or not writable)")
    if out.is_dir():
        fail(f"{out} is a folder: give a file name")
    try:
        cjk_font()
    except FontMissing as exc:
        fail(str(exc))

    container = open_container()
    try:
        source = load_card(container.sessions, container.code_maker, container.photos, number, at=container.clock())
    except (NoActiveElicence, LiveCodeRefused, DomainError, LicenceNotFound) as exc:
        fail(str(exc))
    finally:
        container.dispose()

    card = source.card
    try:
        if suffix == ".png":
            shown = chosen or PageName.FRONT
            data = render_png(card, shown)
            what = f"{shown.value} page"
        else:
            pages = (chosen,) if chosen else (PageName.FRONT, PageName.SECONDARY)
            data = render_pdf(card, pages)
            what = " and ".join(p.value for p in pages) + (" pages" if len(pages) > 1 else " page")
    except FontMissing as exc:
        fail(str(exc))
    try:
        write_atomic(out, data, mode=PRIVATE_FILE_MODE)
    except OSError as exc:
        fail(f"{out}: cannot write: {exc.strerror or exc}")
    typer.echo(
        f"wrote {out} ({what} of e-licence {card.elicence_id}; its code expires "
        f"{beijing(card.code.expires_at)} Beijing time)"
    )


@credential_app.command("present")
def credential_present(
    mdoc: Annotated[
        Path, typer.Option("--mdoc", help="the issued mdoc (DeviceResponse or IssuerSigned: CBOR, hex, base64)")
    ],
    device_key: Annotated[
        Path,
        typer.Option("--device-key", help="the holder's device private key (PEM; `edl credential issue` writes one)"),
    ],
    out: Annotated[Path, typer.Option("--out", help="where to write the device-signed DeviceResponse (CBOR)")],
    session_transcript: TranscriptFileOption = None,
    handover: HandoverOption = None,
    client_id: ClientIdOption = None,
    nonce: NonceOption = None,
    response_uri: ResponseUriOption = None,
    origin: OriginOption = None,
    jwk_thumbprint: ThumbprintOption = None,
    mdoc_nonce: MdocNonceOption = None,
) -> None:
    """Present an issued mdoc as its holder: a DeviceResponse with a device signature over DeviceAuthentication for
    one session transcript (the holder side of `edl verify --mdoc ... --handover ...`), e.g. to test a verifier."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    import edl.credentials.cbor as cbor
    from edl.cli.mdoc_files import HolderBinding, read_mdoc_file
    from edl.credentials import IssuanceError
    from edl.credentials.presentation import present

    binding = HolderBinding(
        session_transcript, handover, client_id, nonce, response_uri, origin, jwk_thumbprint, mdoc_nonce
    )
    transcript = binding.transcript()
    if transcript is None:
        fail("give the session transcript to answer: --session-transcript FILE, or --handover with its parameters")
    try:
        data = read_mdoc_file(mdoc)
        key = load_pem_private_key(read_at_most(device_key, 64 * 1024), password=None)
    except (OSError, ValueError, TypeError) as exc:
        fail(f"cannot read {mdoc} or {device_key}: {getattr(exc, 'strerror', None) or exc}")
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        fail(f"{device_key}: the device key must be an EC private key (P-256, P-384 or P-521)")
    try:
        top = cbor.decode(data)
    except cbor.CborError as exc:
        fail(f"{mdoc}: not CBOR ({exc})")
    documents = top.get("documents") if isinstance(top, dict) else None
    if isinstance(documents, list) and len(documents) == 1 and isinstance(documents[0], dict):
        doctype, issuer_signed = documents[0].get("docType"), documents[0].get("issuerSigned")
    elif isinstance(top, dict) and "issuerAuth" in top:
        doctype, issuer_signed = None, top
    else:
        fail(f"{mdoc}: not a DeviceResponse of one document, nor an IssuerSigned")
    if doctype is None:
        from edl.credentials import MDL_DOCTYPE

        doctype = MDL_DOCTYPE
    if not isinstance(doctype, str) or not isinstance(issuer_signed, dict):
        fail(f"{mdoc}: the document has no docType or issuerSigned")
    try:
        response = present(cbor.encode(issuer_signed), doctype, key, transcript)
    except IssuanceError as exc:
        fail(str(exc))
    write_atomic(out, response, mode=PUBLIC_FILE_MODE)
    typer.echo(f"wrote {out} (device-signed for the session transcript given)")
