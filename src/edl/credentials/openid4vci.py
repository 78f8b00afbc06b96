"""OpenID for Verifiable Credential Issuance 1.0, the issuer's side, for the mDL (format ``mso_mdoc``).

No database or web import; the service (`edl.issuance.openid4vci`) keeps codes, tokens and used nonces.

- `issuer_metadata` (§12.2) and `authorization_server_metadata` (RFC 8414, §12.3): eDL is its own authorization
  server and offers only the pre-authorized code flow (§3.5), anonymous (no client authentication).
- `credential_offer` / `offer_uri` (§4.1): the offer of one mDL with a pre-authorized code and a numeric ``tx_code``.
- `make_nonce` / `nonce_age`: a ``c_nonce`` (§7) is an HMAC over its issue time and 128 random bits, so the
  unauthenticated nonce endpoint writes nothing; single use is the service's (it records the nonces it accepted).
- `check_proof`: a JWT key proof (Appendix F.1, checked as F.4 lists), returning the holder's public key and the
  nonce it answers; `ProofRefused` carries the §8.3.1.2 error code.
- `read_credential_request` (§8.2): one credential configuration, one JWT proof.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from urllib.parse import quote

from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from edl.boundedjson import JsonRefused
from edl.boundedjson import loads as bounded_json
from edl.credentials.names import MDL_DOCTYPE, MDL_NAMESPACE
from edl.credentials.openid4vp import b64encode

CONFIGURATION_ID: Final = MDL_DOCTYPE
"""The one credential configuration eDL offers (named by its doctype, as ISO wallets expect)."""
FORMAT: Final = "mso_mdoc"
PRE_AUTHORIZED_GRANT: Final = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
PROOF_TYPE: Final = "openid4vci-proof+jwt"
PROOF_ALGORITHMS: Final = ("ES256",)
COSE_ES256: Final = -7
OFFER_SCHEME: Final = "openid-credential-offer://"
TOKEN_PATH: Final = "/openid4vci/token"  # noqa: S105 (a path, not a secret)
NONCE_PATH: Final = "/openid4vci/nonce"
CREDENTIAL_PATH: Final = "/openid4vci/credential"
TX_CODE_LENGTH: Final = 6
NONCE_SECONDS: Final = 300
"""How long a c_nonce may be answered."""
IAT_MAX_AGE: Final = 120
"""A proof signed longer ago than this is stale (the wallet signs it just before asking)."""
IAT_MAX_SKEW: Final = 60
"""How far in the future a proof's ``iat`` may lie (the phone's clock may run ahead)."""
MAX_PROOF_LENGTH: Final = 4096

_PUBLIC_JWK_MEMBERS: Final = frozenset({"kty", "crv", "x", "y", "kid", "alg", "use", "key_ops", "ext"})
_NONCE_PREFIX: Final = "n1"

CLAIM_NAMES: Final[tuple[tuple[str, str, str], ...]] = (
    ("family_name", "姓", "Family name"),
    ("given_name", "名", "Given name"),
    ("birth_date", "出生日期", "Date of birth"),
    ("issue_date", "签发日期", "Date of issue"),
    ("expiry_date", "有效期至", "Date of expiry"),
    ("issuing_country", "签发国家", "Issuing country"),
    ("issuing_authority", "发证机关", "Issuing authority"),
    ("document_number", "证号", "Licence number"),
    ("portrait", "照片", "Portrait"),
    ("driving_privileges", "准驾车型", "Driving privileges"),
)
"""The ISO 18013-5 data elements the metadata describes (eDL's mDL carries more; see docs/credential.md)."""


class ProofRefused(ValueError):
    """A key proof that cannot be accepted; `code` is ``invalid_proof`` or ``invalid_nonce`` (§8.3.1.2)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class CredentialRequestRefused(ValueError):
    """A credential request that cannot be read; `code` is the §8.3.1.2 error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Proof:
    """A checked key proof: the holder's key (what the mDL is bound to) and the c_nonce it answered."""

    key: ec.EllipticCurvePublicKey
    jwk: dict[str, str]
    nonce: str


def issuer_metadata(base_url: str) -> dict[str, Any]:
    """The Credential Issuer Metadata (§12.2.4) served at ``/.well-known/openid-credential-issuer``."""
    claims = [
        {"path": [MDL_NAMESPACE, name], "display": [{"name": zh, "locale": "zh-CN"}, {"name": en, "locale": "en"}]}
        for name, zh, en in CLAIM_NAMES
    ]
    return {
        "credential_issuer": base_url,
        "credential_endpoint": base_url + CREDENTIAL_PATH,
        "nonce_endpoint": base_url + NONCE_PATH,
        "display": [
            {"name": "公安交通管理 电子驾驶证", "locale": "zh-CN"},
            {"name": "Traffic Management: electronic driving licence", "locale": "en"},
        ],
        "credential_configurations_supported": {
            CONFIGURATION_ID: {
                "format": FORMAT,
                "doctype": MDL_DOCTYPE,
                "cryptographic_binding_methods_supported": ["cose_key"],
                "credential_signing_alg_values_supported": [COSE_ES256],
                "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": list(PROOF_ALGORITHMS)}},
                "credential_metadata": {
                    "display": [
                        {"name": "电子驾驶证", "locale": "zh-CN"},
                        {"name": "Electronic driving licence (mDL)", "locale": "en"},
                    ],
                    "claims": claims,
                },
            }
        },
    }


def authorization_server_metadata(base_url: str) -> dict[str, Any]:
    """RFC 8414 metadata of eDL as the authorization server of its own pre-authorized codes."""
    return {
        "issuer": base_url,
        "token_endpoint": base_url + TOKEN_PATH,
        "grant_types_supported": [PRE_AUTHORIZED_GRANT],
        "pre-authorized_grant_anonymous_access_supported": True,
        "token_endpoint_auth_methods_supported": ["none"],
        "response_types_supported": [],
    }


def credential_offer(base_url: str, code: str, *, tx_code: bool = True) -> dict[str, Any]:
    """The Credential Offer (§4.1.1) of one mDL with pre-authorized `code` (and a 6-digit ``tx_code`` to type)."""
    grant: dict[str, Any] = {"pre-authorized_code": code}
    if tx_code:
        grant["tx_code"] = {
            "input_mode": "numeric",
            "length": TX_CODE_LENGTH,
            "description": "见电子驾驶证页面 / shown in the eDL app",
        }
    return {
        "credential_issuer": base_url,
        "credential_configuration_ids": [CONFIGURATION_ID],
        "grants": {PRE_AUTHORIZED_GRANT: grant},
    }


def offer_uri(offer: Mapping[str, Any]) -> str:
    """The offer by value (§4.1.3): ``openid-credential-offer://?credential_offer=<url-encoded JSON>``."""
    text = json.dumps(offer, ensure_ascii=False, separators=(",", ":"))
    return f"{OFFER_SCHEME}?credential_offer={quote(text, safe='')}"


def new_secret() -> str:
    """A bearer secret (pre-authorized code, access token): 256 random bits, base64url."""
    return secrets.token_urlsafe(32)


def new_tx_code() -> str:
    return f"{secrets.randbelow(10**TX_CODE_LENGTH):0{TX_CODE_LENGTH}d}"


def digest(secret: str) -> str:
    """How a code, token or nonce is kept at rest: its SHA-256 (hex). The secrets are random, so no salt is needed."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _nonce_mac(key: bytes, issued: int, salt: str) -> str:
    return b64encode(hmac.new(key, f"{_NONCE_PREFIX}|{issued}|{salt}".encode(), hashlib.sha256).digest()[:16])


def make_nonce(key: bytes, at: datetime) -> str:
    """A fresh c_nonce issued at `at`: ``n1.<unix time>.<128 random bits>.<HMAC>``."""
    issued, salt = int(at.timestamp()), b64encode(secrets.token_bytes(16))
    return f"{_NONCE_PREFIX}.{issued}.{salt}.{_nonce_mac(key, issued, salt)}"


_LATEST_IAT: Final = 2**40
"""No NumericDate reaches this (year 36812); larger ones, NaN and infinities are refused before any arithmetic."""
_UNIX_TIME: Final = re.compile(r"[1-9][0-9]{0,11}", re.ASCII)


def nonce_issued_at(key: bytes, nonce: object, at: datetime) -> int | None:
    """The issue time (unix) of a c_nonce this server made that is still fresh at `at`; None for any other value."""
    if not isinstance(nonce, str) or len(nonce) > 120:
        return None
    parts = nonce.split(".")
    # the time exactly as `new_nonce` writes it (ASCII, no leading zero): another spelling of the same number would
    # be another string with a valid MAC, and single use is kept per string
    if len(parts) != 4 or parts[0] != _NONCE_PREFIX or not _UNIX_TIME.fullmatch(parts[1]):
        return None
    issued = int(parts[1])
    if not 0 <= at.timestamp() - issued <= NONCE_SECONDS:
        return None
    if not hmac.compare_digest(parts[3], _nonce_mac(key, issued, parts[2])):
        return None
    return issued


def _header(token: str) -> dict[str, Any]:
    try:
        head = token.split(".", 1)[0]
        header = bounded_json(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, binascii.Error):
        raise ProofRefused("invalid_proof", "证明不是JWT / the proof is not a compact JWT") from None
    if not isinstance(header, dict):
        raise ProofRefused("invalid_proof", "证明不是JWT / the proof is not a compact JWT")
    return header


def _proof_key(header: Mapping[str, Any]) -> tuple[ec.EllipticCurvePublicKey, dict[str, str]]:
    if "kid" in header or "x5c" in header or "trust_chain" in header or "key_attestation" in header:
        raise ProofRefused(
            "invalid_proof",
            "密钥须放在jwk头部 / name the key in the jwk header (kid, x5c and attestations are not supported)",
        )
    return read_public_jwk(header.get("jwk"))


def read_public_jwk(jwk: object) -> tuple[ec.EllipticCurvePublicKey, dict[str, str]]:
    """(key, its kty/crv/x/y) of a holder's public EC P-256 JWK (an OpenID4VCI proof's, the driver app's); a
    private ``d``, another curve, members beyond the public ones or a point off the curve raise `ProofRefused`."""
    if not isinstance(jwk, dict):
        raise ProofRefused("invalid_proof", "证明缺少jwk头部 / the proof header has no jwk")
    if "d" in jwk:
        raise ProofRefused("invalid_proof", "jwk含有私钥 / the jwk holds a private key: send the public key only")
    if set(jwk) - _PUBLIC_JWK_MEMBERS or jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise ProofRefused("invalid_proof", "jwk须为P-256公钥 / the jwk must be an EC P-256 public key")
    public = {k: jwk[k] for k in ("kty", "crv", "x", "y")}
    if not all(isinstance(v, str) for v in public.values()):
        raise ProofRefused("invalid_proof", "jwk须为P-256公钥 / the jwk must be an EC P-256 public key")
    try:
        key = ECKey.import_key(public).get_op_key("verify")
    except (JoseError, ValueError, TypeError):
        raise ProofRefused("invalid_proof", "jwk不是有效的P-256公钥 / the jwk is not a valid P-256 point") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ProofRefused("invalid_proof", "jwk须为P-256公钥 / the jwk must be an EC P-256 public key")
    return key, public


def check_proof(token: object, *, audience: str, at: datetime) -> Proof:
    """Check a JWT key proof as Appendix F.4 lists; the nonce's freshness and single use are the caller's.

    typ ``openid4vci-proof+jwt``; alg ES256 only (never none, no MAC); the key in ``jwk`` (public, P-256); the
    signature; ``aud`` the credential issuer; ``iat`` within IAT_MAX_AGE (IAT_MAX_SKEW ahead); a ``nonce``.
    """
    if not isinstance(token, str) or not token or len(token) > MAX_PROOF_LENGTH or token.count(".") != 2:
        raise ProofRefused("invalid_proof", "证明不是JWT / the proof is not a compact JWT")
    header = _header(token)
    if header.get("typ") != PROOF_TYPE:
        raise ProofRefused("invalid_proof", f"证明的typ须为{PROOF_TYPE} / the proof's typ must be {PROOF_TYPE}")
    if header.get("alg") not in PROOF_ALGORITHMS:
        raise ProofRefused("invalid_proof", "证明须用ES256签名 / the proof must be signed with ES256")
    if "crit" in header:
        raise ProofRefused("invalid_proof", "不支持crit头部 / crit header parameters are not supported")
    key, public = _proof_key(header)
    try:
        signed = jws.deserialize_compact(token, ECKey.import_key(key), algorithms=list(PROOF_ALGORITHMS))
        claims = bounded_json(signed.payload)
    except JsonRefused:
        raise ProofRefused("invalid_proof", "证明内容不是JSON对象 / the proof's claims are not JSON") from None
    except (JoseError, ValueError, TypeError, RecursionError):
        raise ProofRefused(
            "invalid_proof", "证明签名无效 / the proof's signature does not verify with its jwk"
        ) from None
    if not isinstance(claims, dict):
        raise ProofRefused("invalid_proof", "证明内容不是JSON对象 / the proof's claims are not a JSON object")
    aud = claims.get("aud")
    if not (aud == audience or (isinstance(aud, list) and aud == [audience])):
        raise ProofRefused("invalid_proof", f"证明的aud须为{audience} / the proof's aud must be {audience}")
    iat = claims.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, int | float) or not 0 < iat < _LATEST_IAT:  # (False for NaN)
        raise ProofRefused("invalid_proof", "证明缺少iat / the proof has no numeric iat")
    age = at.timestamp() - iat
    if age > IAT_MAX_AGE or age < -IAT_MAX_SKEW:
        raise ProofRefused(
            "invalid_proof",
            f"证明已过时（iat须在{IAT_MAX_AGE}秒内） / the proof is stale: iat must be within {IAT_MAX_AGE} s",
        )
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not nonce:
        raise ProofRefused(
            "invalid_nonce", "证明缺少nonce，请先获取c_nonce / the proof has no nonce: get a c_nonce first"
        )
    return Proof(key=key, jwk=public, nonce=nonce)


def read_credential_request(body: object) -> str:
    """The one JWT proof of a Credential Request (§8.2) for the mDL configuration; refused otherwise."""
    if not isinstance(body, dict):
        raise CredentialRequestRefused(
            "invalid_credential_request", "请求体须为JSON对象 / the body must be a JSON object"
        )
    if "credential_response_encryption" in body:
        raise CredentialRequestRefused(
            "invalid_encryption_parameters", "不支持加密的凭证响应 / encrypted credential responses are not offered"
        )
    if "credential_identifier" in body:
        raise CredentialRequestRefused(
            "invalid_credential_request",
            "请用credential_configuration_id / use credential_configuration_id (no credential identifiers are issued)",
        )
    config = body.get("credential_configuration_id")
    if not isinstance(config, str):
        raise CredentialRequestRefused(
            "invalid_credential_request", "缺少credential_configuration_id / credential_configuration_id is missing"
        )
    if config != CONFIGURATION_ID:
        raise CredentialRequestRefused(
            "unknown_credential_configuration", f"只签发{CONFIGURATION_ID} / only {CONFIGURATION_ID} is issued here"
        )
    if "proof" in body:
        raise CredentialRequestRefused(
            "invalid_credential_request",
            'proof已废止，请用proofs / "proof" is gone in 1.0: send {"proofs": {"jwt": [..]}}',
        )
    proofs = body.get("proofs")
    if not isinstance(proofs, dict) or set(proofs) != {"jwt"} or not isinstance(proofs["jwt"], list):
        raise CredentialRequestRefused(
            "invalid_credential_request", '须提供proofs.jwt / send {"proofs": {"jwt": ["<proof JWT>"]}}'
        )
    if len(proofs["jwt"]) != 1:
        raise CredentialRequestRefused(
            "invalid_credential_request",
            "每次请求只签发一份凭证，须恰好一个证明 / one credential per request: send exactly one proof",
        )
    proof: object = proofs["jwt"][0]
    if not isinstance(proof, str):
        raise CredentialRequestRefused("invalid_proof", "证明须为JWT字符串 / the proof must be a JWT string")
    return proof
