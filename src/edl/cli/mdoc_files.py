"""Files and options the mdoc commands share (`edl verify --mdoc`, `edl credential present`): reading an mdoc or
transcript file in any of its usual text forms, and the session transcript a presentation answers, given as a file
or rebuilt from the request's parameters (`--handover`)."""

from __future__ import annotations

import base64
import binascii
import string
from pathlib import Path
from typing import Annotated, NamedTuple

import typer

from edl.cli.common import fail
from edl.credentials.device_auth import (
    Transcript,
    iso_18013_7_handover,
    openid4vp_dc_api_handover,
    openid4vp_handover,
    read_session_transcript,
    session_transcript,
)
from edl.pki.files import read_at_most

# The options that name a session transcript, shared by `edl verify --mdoc` and `edl credential present`.
TranscriptFileOption = Annotated[
    Path | None,
    typer.Option(
        "--session-transcript",
        help="the SessionTranscript (SessionTranscriptBytes or the bare array; raw CBOR, hex or base64)",
    ),
]
HandoverOption = Annotated[
    str | None,
    typer.Option(
        "--handover",
        help="rebuild the session transcript of a request: openid4vp (--client-id --nonce --response-uri "
        "[--jwk-thumbprint]), dc-api (--origin --nonce [--jwk-thumbprint]) or iso-18013-7 (--client-id "
        "--response-uri --nonce --mdoc-nonce)",
    ),
]
ClientIdOption = Annotated[str | None, typer.Option("--client-id", help="the request's client_id")]
NonceOption = Annotated[str | None, typer.Option("--nonce", help="the request's nonce")]
ResponseUriOption = Annotated[str | None, typer.Option("--response-uri", help="the request's response_uri")]
OriginOption = Annotated[str | None, typer.Option("--origin", help="the web origin (Digital Credentials API)")]
ThumbprintOption = Annotated[
    str | None,
    typer.Option("--jwk-thumbprint", help="SHA-256 JWK thumbprint of the response-encryption key (hex or base64url)"),
]
MdocNonceOption = Annotated[str | None, typer.Option("--mdoc-nonce", help="the mdocGeneratedNonce (iso-18013-7)")]

MAX_MDOC_FILE_BYTES = 4 * 1024 * 1024
"""An mdoc with its portrait is tens of KB (twice that as hex); a larger --mdoc file is refused unread (exit 2)."""
_HEX = frozenset(string.hexdigits.encode("ascii"))


_BASE64 = frozenset((string.ascii_letters + string.digits + "+/-_=").encode("ascii"))


def read_mdoc_file(path: Path) -> bytes:
    """The bytes of an mdoc file: raw CBOR, hex text (whitespace ignored) as the vectors are, or base64 /
    base64url text (padding optional) as OpenID4VP and many wallets carry a DeviceResponse.

    Raises `OSError`, or `FileTooLarge` (a `ValueError`) past `MAX_MDOC_FILE_BYTES`."""
    raw = read_at_most(path, MAX_MDOC_FILE_BYTES)
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


class HolderBinding(NamedTuple):
    """The options that say which session transcript the device authentication must answer."""

    file: Path | None
    handover: str | None
    client_id: str | None
    nonce: str | None
    response_uri: str | None
    origin: str | None
    jwk_thumbprint: str | None
    mdoc_nonce: str | None

    def given(self) -> bool:
        return any(value is not None for value in self)

    def transcript(self) -> Transcript | None:
        """The transcript to hold the device proof to, or None (holder binding not checked); exit 2 on bad input."""
        params = {
            "--client-id": self.client_id,
            "--nonce": self.nonce,
            "--response-uri": self.response_uri,
            "--origin": self.origin,
            "--jwk-thumbprint": self.jwk_thumbprint,
            "--mdoc-nonce": self.mdoc_nonce,
        }
        if self.file is not None:
            if self.handover is not None or any(v is not None for v in params.values()):
                fail("give either --session-transcript or --handover with its parameters, not both")
            try:
                return read_session_transcript(read_mdoc_file(self.file))
            except (OSError, ValueError) as exc:  # TranscriptError is a ValueError
                fail(f"cannot read {self.file}: {getattr(exc, 'strerror', None) or exc}")
        if self.handover is None:
            if any(v is not None for v in params.values()):
                fail(
                    "--client-id, --nonce, --response-uri, --origin, --jwk-thumbprint and --mdoc-nonce need --handover"
                )
            return None
        forms = {
            "openid4vp": (("--client-id", "--nonce", "--response-uri"), ("--jwk-thumbprint",)),
            "dc-api": (("--origin", "--nonce"), ("--jwk-thumbprint",)),
            "iso-18013-7": (("--client-id", "--response-uri", "--nonce", "--mdoc-nonce"), ()),
        }
        if self.handover not in forms:
            fail(f"--handover {self.handover!r} is not one of openid4vp, dc-api, iso-18013-7")
        needed, optional = forms[self.handover]
        missing = [name for name in needed if params[name] is None]
        extra = [name for name, v in params.items() if v is not None and name not in needed + optional]
        if missing or extra:
            fail(
                f"--handover {self.handover} needs {', '.join(needed)}"
                + (f" (not {', '.join(extra)})" if extra else "")
            )
        thumbprint = _thumbprint(self.jwk_thumbprint) if self.jwk_thumbprint is not None else None
        if self.handover == "openid4vp":
            handover = openid4vp_handover(str(self.client_id), str(self.nonce), str(self.response_uri), thumbprint)
        elif self.handover == "dc-api":
            handover = openid4vp_dc_api_handover(str(self.origin), str(self.nonce), thumbprint)
        else:
            handover = iso_18013_7_handover(
                str(self.client_id), str(self.response_uri), str(self.nonce), str(self.mdoc_nonce)
            )
        return session_transcript(handover)


def _thumbprint(text: str) -> bytes:
    """A SHA-256 JWK thumbprint given as 64 hex digits or as base64url (43 characters, as RFC 7638 prints it)."""
    value = text.strip()
    try:
        if len(value) == 64 and all(c in string.hexdigits for c in value):
            return bytes.fromhex(value)
        decoded = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        decoded = b""
    if len(decoded) != 32:
        fail("--jwk-thumbprint must be a SHA-256 thumbprint: 64 hex digits or 43 base64url characters")
    return decoded
