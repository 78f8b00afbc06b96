"""The driver's app as a wallet (issue 15): its device key, the mdoc bound to it, and presenting to a request.

    GET  /app/present?client_id=…&request_uri=…   who asks for what (the relying party's OpenID4VP request), with
                                                   同意出示 / 拒绝 (static/vendor/wallet.min.js does the rest)
    GET  /app/wallet/challenge                     a fresh challenge for the key proof (5 minutes, this account)
    POST /app/wallet/mdoc                          {jwk, challenge, proof}: the IssuerSigned of the holder's live
                                                   e-licence, signed for that public key

The key is made by WebCrypto in the browser, not extractable, and kept in IndexedDB; the server receives its
public JWK and a signature over a challenge it made for this signed-in account (proof that the app holds the key).
Signing the mdoc is `edl.issuance.device_bound.sign_for_device_key`: the same eligibility and sanction checks as
issuance, audited, and the key recorded on the e-licence (online checks find the e-licence by it).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from edl.audit import ActorKind
from edl.boundedjson import loads
from edl.credentials.openid4vci import NONCE_SECONDS, ProofRefused, make_nonce, nonce_issued_at, read_public_jwk
from edl.credentials.openid4vp import b64decode, b64encode
from edl.db.session import transaction
from edl.issuance.device_bound import (
    DeviceKeyChanged,
    current_device_key,
    key_digest,
    sign_for_device_key,
)
from edl.issuance.elicences import IssuanceRefused
from edl.verification.parties import purpose_names
from edl.verification.presentations import RequestClosed, RequestNotFound
from edl.web.audience import driver
from edl.web.auth_deps import HolderSession, current_holder, require_csrf
from edl.web.deps import AppServices, get_container, get_pages
from edl.web.errors import PageError, localise
from edl.web.holder.home import app_url, page_context
from edl.web.i18n import MESSAGES, Translator, negotiate
from edl.web.rendering import Pages

router = APIRouter(tags=["holder"])

CHALLENGE_SECONDS: Final = NONCE_SECONDS
NO_STORE: Final = {"Cache-Control": "no-store"}
REQUEST_PATH: Final = "/openid4vp/requests/"


def _challenge_key(container: AppServices, account_id: str, bound: str) -> bytes:
    """The HMAC key of `account_id`'s challenges while its e-licence's device key has digest `bound`: a challenge
    made before a re-binding no longer verifies after it (a captured binding request cannot be replayed)."""
    return hmac.new(container.secret("wallet-challenge"), f"{account_id}|{bound}".encode(), hashlib.sha256).digest()


def _bound_digest(container: AppServices, account_id: str) -> str:
    number = container.applications.bound_licence_number(account_id)
    if number is None:
        return key_digest(None)
    with container.sessions() as session:
        return key_digest(current_device_key(session, number))


def make_challenge(container: AppServices, account_id: str, at: datetime) -> str:
    """A challenge for `account_id` (the same stateless, HMAC-checked form as an OpenID4VCI c_nonce)."""
    return make_nonce(_challenge_key(container, account_id, _bound_digest(container, account_id)), at)


def check_challenge(container: AppServices, account_id: str, challenge: object, at: datetime) -> str | None:
    """The e-licence's device-key digest, when `challenge` was made for `account_id` in the last `NONCE_SECONDS`
    and the e-licence has not been bound to another key since; None otherwise."""
    bound = _bound_digest(container, account_id)
    fresh = nonce_issued_at(_challenge_key(container, account_id, bound), challenge, at)
    return bound if fresh is not None else None


def _refuse(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=NO_STORE)


@router.get("/app/wallet/challenge", name="holder_wallet_challenge", dependencies=driver())
def wallet_challenge(
    holder: HolderSession = Depends(current_holder), container: AppServices = Depends(get_container)
) -> Response:
    """A challenge the app signs with its device key before an mdoc is signed for that key."""
    return JSONResponse(
        {
            "challenge": make_challenge(container, holder.account_id, container.clock()),
            "expires_in": CHALLENGE_SECONDS,
        },
        headers=NO_STORE,
    )


@router.post("/app/wallet/mdoc", name="holder_wallet_mdoc", dependencies=[*driver(), Depends(require_csrf)])
async def wallet_mdoc(
    request: Request,
    holder: HolderSession = Depends(current_holder),
    container: AppServices = Depends(get_container),
) -> Response:
    """The holder's mdoc signed for the app's device key (JSON `{jwk, challenge, proof}`; see the module doc)."""
    lang = negotiate(request)
    if request.headers.get("content-type", "").split(";", 1)[0].strip().lower() != "application/json":
        return _refuse(400, "invalid_request", "请求体须为 JSON / the body must be application/json")
    try:
        body = loads(await request.body())
    except ValueError:
        body = None
    if not isinstance(body, dict) or set(body) != {"jwk", "challenge", "proof"}:
        return _refuse(
            400, "invalid_request", "请求体应为 {jwk, challenge, proof} / the body must be {jwk, challenge, proof}"
        )
    try:
        key, _ = read_public_jwk(body["jwk"])
    except ProofRefused:
        return _refuse(400, "invalid_key", "设备密钥须为 P-256 公钥 / jwk must be an EC P-256 public key")
    bound = check_challenge(container, holder.account_id, body["challenge"], container.clock())
    if bound is None:
        return _refuse(
            400, "invalid_challenge", "验证码已过期，请重试 / the challenge is stale or not yours: try again"
        )
    try:
        raw = b64decode(body["proof"]) if isinstance(body["proof"], str) else b""
        if len(raw) != 64:
            raise InvalidSignature
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        key.verify(der, body["challenge"].encode(), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return _refuse(
            400, "invalid_proof", "设备密钥签名无效 / the proof is not a signature of the challenge by this key"
        )
    number = container.applications.bound_licence_number(holder.account_id)
    if number is None:
        return _refuse(404, "no_elicence", Translator(lang)("show.no_elicence"))
    try:
        with transaction(container.sessions) as session:
            bound = sign_for_device_key(
                session,
                container.issuer,
                number,
                key,
                actor=holder.account_id,
                actor_kind=ActorKind.HOLDER,
                channel="app",
                at=container.clock(),
                expected_key_digest=bound,
            )
    except DeviceKeyChanged as exc:
        return _refuse(400, "invalid_challenge", localise(str(exc), lang))
    except IssuanceRefused as exc:
        return _refuse(409, "refused", localise(str(exc), lang))
    return JSONResponse(
        {
            "issuer_signed": b64encode(bound.issuer_signed),
            "valid_until": bound.valid_until.isoformat().replace("+00:00", "Z"),
            "doctype": "org.iso.18013.5.1.mDL",
        },
        headers=NO_STORE,
    )


def request_id_of(request: Request, base_url: str, request_uri: str) -> str | None:
    """The id of one of this server's requests named by `request_uri` (the app presents only to eDL's own
    response URIs: the page's Content-Security-Policy allows no other connection anyway)."""
    try:
        parts = urlsplit(request_uri)
    except ValueError:  # e.g. "http://[": not a URL at all
        return None
    origins = {urlsplit(base_url)._replace(path="", query="", fragment="").geturl(), str(request.base_url).rstrip("/")}
    origin = f"{parts.scheme}://{parts.netloc}"
    if origin not in origins or not parts.path.startswith(REQUEST_PATH) or parts.query or parts.fragment:
        return None
    return parts.path[len(REQUEST_PATH) :] or None


@router.get("/app/present", name="holder_present", dependencies=driver())
def present_page(
    request: Request,
    client_id: str = "",
    request_uri: str = "",
    holder: HolderSession = Depends(current_holder),
    container: AppServices = Depends(get_container),
    pages: Pages = Depends(get_pages),
) -> Response:
    """Who asks for which data, until when; 同意出示 / 拒绝."""
    lang = negotiate(request)
    t = Translator(lang)
    request_id = request_id_of(request, container.settings.base_url, request_uri)
    if request_id is None:
        raise PageError(400, "wallet.bad_request_title", t("wallet.bad_request"))
    try:
        view, party_name = container.presentations.pending(request_id, at=container.clock())
    except RequestNotFound:
        raise PageError(404, "wallet.bad_request_title", t("wallet.no_request")) from None
    except RequestClosed:
        raise PageError(410, "wallet.bad_request_title", t("wallet.closed")) from None
    if client_id != view.client_id:
        raise PageError(400, "wallet.bad_request_title", t("wallet.bad_request"))
    zh, en = purpose_names(view.purpose)
    number = container.applications.bound_licence_number(holder.account_id)
    bound = ""
    if number is not None:
        with container.sessions() as session:
            stored = current_device_key(session, number)
        if stored is not None:  # the app re-binds when the e-licence's key is not the one it holds
            cose = cbor2.loads(stored)
            bound = b64encode(cose[-2]) + "." + b64encode(cose[-3])
    ctx: dict[str, Any] = {
        **page_context(request, holder.account_id),
        "home_url": app_url(request, "/app"),
        "party_name": party_name,
        "purpose": t.pick(zh, en),
        "elements": [_element_label(t, ns, name) for ns, name in view.elements],
        "expires": t.format_time(view.expires_at),
        "has_licence": number is not None,
        "request_uri": REQUEST_PATH + request_id,
        "challenge_url": app_url(request, "/app/wallet/challenge"),
        "mdoc_url": app_url(request, "/app/wallet/mdoc"),
        "holder_key": hashlib.sha256(holder.account_id.encode()).hexdigest()[:32],
        "bound_key": bound,
    }
    return pages.render(request, "holder/present.html", ctx)


def _element_label(t: Translator, namespace: str, name: str) -> dict[str, str]:
    """How the consent page names a data element (its identifier when the catalogue has no name for it)."""
    key = f"wallet.el.{name}"
    return {
        "label": t(key) if key in MESSAGES else name,
        "id": f"{namespace}/{name}",
        "note": t("wallet.el_note_number") if name == "document_number" else "",
    }
