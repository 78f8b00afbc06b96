"""OpenID for Verifiable Presentations 1.0, the verifier's side, for ISO mdocs (format ``mso_mdoc``).

What a relying party's request says and how the wallet's answer is read, with no database or web import:

- `dcql_query`: a DCQL query (§6) for one mdoc of a doctype and the data elements asked for, each as a claim path
  ``[namespace, element]`` with ``intent_to_retain: false``; `requested_elements` reads one back, strictly.
- `request_object`: the Authorization Request (§5) a wallet fetches from ``request_uri``: ``response_type=vp_token``,
  ``response_mode`` ``direct_post`` or ``direct_post.jwt`` (§8.2, §8.3), ``response_uri``, ``nonce``, ``state``,
  the DCQL query and ``client_metadata`` (the response encryption key and the algorithms). The client identifier
  uses the ``redirect_uri:`` prefix (§5.9.3): the client is its response URI, so the request is not signed
  (`unsecured_jwt`: RFC 7519 §6, ``alg: none``).
- `read_direct_post`: the wallet's POST to ``response_uri`` (form-encoded): ``vp_token`` and ``state`` in clear
  (``direct_post``), or ``response``, a JWE made with ``ECDH-ES`` to the request's key and ``A128GCM``/``A256GCM``
  (``direct_post.jwt``); ``error`` when the holder declined. `presentations` takes the DeviceResponses out of
  ``vp_token`` (§8.1: an object keyed by the credential query id, each value an array of base64url strings).
- `transcript_for`: the SessionTranscript the device signature must cover (Appendix B.2.6.1, `edl.credentials.
  device_auth.openid4vp_handover`), with the SHA-256 JWK thumbprint (RFC 7638) of the encryption key when the
  response is encrypted, and null when it is not.
- `derive_response_key`: the request's ECDH key pair, derived from a server secret and the request id (HKDF), so
  no private key is ever stored beside the request.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from edl.boundedjson import JsonRefused
from edl.boundedjson import loads as bounded_json
from edl.credentials.cose import ALGORITHMS_BY_ID
from edl.credentials.device_auth import Transcript, openid4vp_handover, session_transcript
from edl.credentials.names import MDL_DOCTYPE

FORMAT: Final = "mso_mdoc"
QUERY_ID: Final = "mdl"
"""The credential query id of eDL's requests (one mDL); the wallet's vp_token is keyed by it."""
DIRECT_POST: Final = "direct_post"
DIRECT_POST_JWT: Final = "direct_post.jwt"
RESPONSE_MODES: Final = (DIRECT_POST_JWT, DIRECT_POST)
ENC_VALUES: Final = ("A128GCM", "A256GCM")
"""Content encryption a wallet may use for ``direct_post.jwt`` (A128GCM is the specification's default)."""
KEY_ALG: Final = "ECDH-ES"
CLIENT_ID_PREFIX: Final = "redirect_uri:"
REQUEST_TYPE: Final = "oauth-authz-req+jwt"
MAX_PRESENTATION: Final = 1024 * 1024
"""A DeviceResponse with a portrait is tens of KiB; a base64url value past 1 MiB is refused unread."""
_HKDF_INFO: Final = b"edl openid4vp response encryption key v1:"


def _jwe_registry() -> jwe.JWERegistry:
    """ECDH-ES with A128GCM / A256GCM only; ciphertexts up to the size of the largest presentation accepted
    (joserfc's default, 64 KiB of base64, would refuse a DeviceResponse with a photographic portrait)."""
    registry = jwe.JWERegistry(algorithms=[KEY_ALG, *ENC_VALUES])
    registry.max_ciphertext_length = MAX_PRESENTATION * 2
    return registry


_JWE_REGISTRY: Final = _jwe_registry()


class ResponseRefused(ValueError):
    """The wallet's response cannot be read; `code` is the OAuth error code (``invalid_request`` ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class HolderDeclined(Exception):
    """The wallet answered with an error (the holder declined, or it holds no matching credential).

    Nothing authenticates an error response: anyone who has seen the request may send one. `error` is one of
    `WALLET_ERRORS` (anything else reads as ``access_denied``) and no free text is kept, so a stranger can neither
    close the request (it stays answerable) nor put words in the holder's mouth."""

    def __init__(self, error: str, description: str | None) -> None:
        super().__init__(error)
        self.error = error
        self.description = description


# --- the request -----------------------------------------------------------------------------------------------------


def dcql_query(
    elements: Sequence[tuple[str, str]], *, doctype: str = MDL_DOCTYPE, query_id: str = QUERY_ID
) -> dict[str, Any]:
    """A DCQL query for one mdoc of `doctype` disclosing `elements` ((namespace, identifier) pairs)."""
    return {
        "credentials": [
            {
                "id": query_id,
                "format": FORMAT,
                "meta": {"doctype_value": doctype},
                "claims": [{"path": [ns, name], "intent_to_retain": False} for ns, name in elements],
            }
        ]
    }


def requested_elements(query: object, *, doctype: str = MDL_DOCTYPE) -> tuple[str, tuple[tuple[str, str], ...]]:
    """(query id, elements) of a DCQL query for one mdoc of `doctype`; anything else raises `ResponseRefused`
    (claim sets, value matching and several credentials are not used in eDL's requests)."""
    bad = ResponseRefused("invalid_request", "the DCQL query is not one mso_mdoc credential with claim paths")
    if not isinstance(query, Mapping) or set(query) != {"credentials"}:
        raise bad
    credentials = query["credentials"]
    if not isinstance(credentials, list) or len(credentials) != 1 or not isinstance(credentials[0], Mapping):
        raise bad
    entry = credentials[0]
    meta = entry.get("meta")
    if entry.get("format") != FORMAT or not isinstance(meta, Mapping) or meta.get("doctype_value") != doctype:
        raise bad
    query_id, claims = entry.get("id"), entry.get("claims")
    if not isinstance(query_id, str) or not query_id or not isinstance(claims, list) or not claims:
        raise bad
    out: list[tuple[str, str]] = []
    for claim in claims:
        path = claim.get("path") if isinstance(claim, Mapping) else None
        if not isinstance(path, list) or len(path) != 2 or not all(isinstance(p, str) and p for p in path):
            raise bad
        pair = (path[0], path[1])
        if pair not in out:
            out.append(pair)
    return query_id, tuple(out)


def client_id_for(response_uri: str) -> str:
    """The client identifier of a request answered at `response_uri` (the ``redirect_uri:`` prefix, §5.9.3)."""
    return CLIENT_ID_PREFIX + response_uri


def request_object(
    *,
    response_uri: str,
    nonce: str,
    state: str,
    response_mode: str,
    elements: Sequence[tuple[str, str]],
    encryption_jwk: Mapping[str, Any] | None,
    issued_at: int,
    expires_at: int,
    client_name: str | None = None,
) -> dict[str, Any]:
    """The Authorization Request's parameters (the request object's claims)."""
    if response_mode not in RESPONSE_MODES:
        raise ValueError(f"response_mode must be one of {RESPONSE_MODES}")
    if (response_mode == DIRECT_POST_JWT) != (encryption_jwk is not None):
        raise ValueError("direct_post.jwt needs the encryption key, direct_post none")
    algs = sorted(ALGORITHMS_BY_ID)
    metadata: dict[str, Any] = {
        "vp_formats_supported": {FORMAT: {"issuerauth_alg_values": algs, "deviceauth_alg_values": algs}},
    }
    if client_name:
        metadata["client_name"] = client_name
    if encryption_jwk is not None:
        metadata["jwks"] = {"keys": [dict(encryption_jwk)]}
        metadata["encrypted_response_enc_values_supported"] = list(ENC_VALUES)
    return {
        "response_type": "vp_token",
        "client_id": client_id_for(response_uri),
        "response_mode": response_mode,
        "response_uri": response_uri,
        "nonce": nonce,
        "state": state,
        "dcql_query": dcql_query(elements),
        "client_metadata": metadata,
        "iat": issued_at,
        "exp": expires_at,
    }


def unsecured_jwt(claims: Mapping[str, Any], *, typ: str = REQUEST_TYPE) -> str:
    """An Unsecured JWT (RFC 7519 §6: ``alg: none``, empty signature) carrying `claims`."""
    header = {"alg": "none", "typ": typ}
    return ".".join(
        [b64encode(json.dumps(header).encode()), b64encode(json.dumps(claims, ensure_ascii=False).encode()), ""]
    )


def read_unsecured_jwt(token: str) -> dict[str, Any]:
    """The claims of an Unsecured JWT (the wallet's side of `unsecured_jwt`); `ResponseRefused` otherwise."""
    parts = token.split(".")
    if len(parts) != 3 or parts[2]:
        raise ResponseRefused("invalid_request_object", "not an unsecured JWT")
    try:
        header = bounded_json(b64decode(parts[0]))
        claims = bounded_json(b64decode(parts[1]))
    except ValueError:
        raise ResponseRefused("invalid_request_object", "the request object is not base64url JSON") from None
    if not isinstance(header, dict) or header.get("alg") != "none" or not isinstance(claims, dict):
        raise ResponseRefused("invalid_request_object", "the request object's header or claims are malformed")
    return claims


# --- the response key ------------------------------------------------------------------------------------------------


def derive_response_key(secret: bytes, request_id: str) -> ec.EllipticCurvePrivateKey:
    """The P-256 key pair a request's encrypted response is made to: HKDF-SHA256 of the server secret and the
    request id, reduced into [1, n-1] (48 bytes for a 256-bit order: the bias is under 2^-128)."""
    if len(secret) < 32:
        raise ValueError("the server secret must be at least 32 bytes")
    material = HKDF(hashes.SHA256(), 48, salt=None, info=_HKDF_INFO + request_id.encode()).derive(secret)
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    return ec.derive_private_key(int.from_bytes(material, "big") % (order - 1) + 1, ec.SECP256R1())


def encryption_jwk(key: ec.EllipticCurvePrivateKey, *, kid: str) -> dict[str, Any]:
    """The public JWK of `key` as the request's ``client_metadata.jwks`` carries it (use enc, alg ECDH-ES)."""
    public = ECKey.import_key(key.public_key()).as_dict(private=False)
    return {"kty": "EC", "crv": "P-256", "x": public["x"], "y": public["y"], "use": "enc", "alg": KEY_ALG, "kid": kid}


def jwk_thumbprint(jwk: Mapping[str, Any]) -> bytes:
    """The SHA-256 JWK thumbprint (RFC 7638) of an EC public key, as raw bytes (the handover's input)."""
    members = {"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"], "y": jwk["y"]}
    digest = hashes.Hash(hashes.SHA256())
    digest.update(json.dumps(members, separators=(",", ":"), sort_keys=True).encode())
    return digest.finalize()


def transcript_for(
    *, client_id: str, nonce: str, response_uri: str, encryption_key: Mapping[str, Any] | None
) -> Transcript:
    """The SessionTranscript of a request: OpenID4VPHandover over (client_id, nonce, thumbprint or null,
    response_uri) (Appendix B.2.6.1)."""
    thumbprint = jwk_thumbprint(encryption_key) if encryption_key is not None else None
    return session_transcript(openid4vp_handover(client_id, nonce, response_uri, thumbprint))


# --- the response ----------------------------------------------------------------------------------------------------


def read_direct_post(
    form: Mapping[str, str], *, response_mode: str, decryption_key: ec.EllipticCurvePrivateKey | None
) -> tuple[dict[str, Any], str | None]:
    """(vp_token, state) of a wallet's POST to the response URI, for a request made with `response_mode`.

    Raises `HolderDeclined` for an error response (it may come in clear in either mode: a wallet that cannot
    answer may not encrypt) and `ResponseRefused` for anything unreadable, an unencrypted answer to an encrypted
    request, or an encrypted one with another algorithm.
    """
    if "error" in form:
        raise HolderDeclined(_error_code(form["error"]), None)
    if response_mode == DIRECT_POST_JWT:
        if "vp_token" in form:
            raise ResponseRefused("invalid_request", "this request asked for an encrypted response (direct_post.jwt)")
        token = form.get("response")
        if not token:
            raise ResponseRefused("invalid_request", "the response parameter (a JWE) is missing")
        if decryption_key is None:
            raise ValueError("direct_post.jwt needs the request's decryption key")
        payload = _decrypt(token, decryption_key)
        if "error" in payload:
            raise HolderDeclined(_error_code(payload["error"]), None)
        vp_token, state = payload.get("vp_token"), payload.get("state")
    else:
        if "response" in form:
            raise ResponseRefused("invalid_request", "this request asked for a response in clear (direct_post)")
        raw = form.get("vp_token")
        if not raw:
            raise ResponseRefused("invalid_request", "the vp_token parameter is missing")
        try:
            vp_token = bounded_json(raw)
        except JsonRefused as exc:
            raise ResponseRefused("invalid_request", f"vp_token is not JSON: {exc}") from None
        state = form.get("state")
    if not isinstance(vp_token, dict):
        raise ResponseRefused("invalid_request", "vp_token must be a JSON object keyed by credential query id")
    if state is not None and not isinstance(state, str):
        raise ResponseRefused("invalid_request", "state must be a string")
    return vp_token, state


def presentations(vp_token: Mapping[str, Any], query_id: str = QUERY_ID) -> list[bytes]:
    """The DeviceResponses (CBOR) the wallet gave for credential query `query_id`: ``vp_token[query_id]`` is a
    non-empty array of base64url strings (§8.1); ids the request did not ask for are refused."""
    if set(vp_token) != {query_id}:
        raise ResponseRefused("invalid_request", f"vp_token must hold exactly the credential query {query_id!r}")
    values = vp_token[query_id]
    if not isinstance(values, list) or not values:
        raise ResponseRefused("invalid_request", "each vp_token entry is a non-empty array of presentations")
    out: list[bytes] = []
    for value in values:
        if not isinstance(value, str) or len(value) > MAX_PRESENTATION * 4 // 3 + 4:
            raise ResponseRefused("invalid_request", "a presentation is not a base64url string of at most 1 MiB")
        try:
            out.append(b64decode(value))
        except ValueError:
            raise ResponseRefused("invalid_request", "a presentation is not base64url") from None
    return out


WALLET_ERRORS: Final = frozenset(
    {"access_denied", "invalid_request", "invalid_client", "vp_formats_not_supported", "invalid_request_uri_method"}
)


def _error_code(value: object) -> str:
    return value if isinstance(value, str) and value in WALLET_ERRORS else "access_denied"


def _decrypt(token: str, key: ec.EllipticCurvePrivateKey) -> dict[str, Any]:
    if len(token) > MAX_PRESENTATION * 2:
        raise ResponseRefused("invalid_request", "the response JWE is too large")
    try:
        decrypted = jwe.decrypt_compact(token, ECKey.import_key(key), registry=_JWE_REGISTRY)
    except (JoseError, ValueError, TypeError, KeyError, binascii.Error, RecursionError):
        raise ResponseRefused(
            "invalid_request", "the response JWE cannot be decrypted with this request's key"
        ) from None
    header = decrypted.protected
    if header.get("alg") != KEY_ALG or header.get("enc") not in ENC_VALUES or "zip" in header:
        raise ResponseRefused("invalid_request", "the response JWE must use ECDH-ES with A128GCM or A256GCM")
    try:
        payload = bounded_json(decrypted.plaintext or b"")
    except JsonRefused as exc:
        raise ResponseRefused("invalid_request", f"the decrypted response is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise ResponseRefused("invalid_request", "the decrypted response is not a JSON object")
    return payload


def b64encode(data: bytes) -> str:
    """Base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(text: str) -> bytes:
    """Base64url without padding (RFC 7515 §2); anything else (padding, other alphabets, spaces) is refused."""
    if not text.isascii() or any(c not in _B64URL for c in text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_B64URL: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
