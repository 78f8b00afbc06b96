"""OpenID4VP presentation requests of relying parties (issue 15): made through the API, answered once by a wallet.

1. `create`: a registered party asks for the data elements its purpose allows (`elements_for`), plus the licence
   number, which eDL needs to look the e-licence up in the registry and which the party is shown only when its
   purpose allows. The request gets a random id (its ``state``), a nonce, the response URI
   ``<base>/openid4vp/responses/<id>`` (its client id, ``redirect_uri:`` prefix) and, for ``direct_post.jwt`` (the
   default), an encryption key derived from the server secret `openid4vp` and the id (never stored).
2. `request_object`: what the wallet fetches from ``request_uri`` (an unsecured JWT: a ``redirect_uri:`` client may
   not sign; the response URI is this server's own, so the response can only reach eDL).
3. `answer`: the wallet's ``direct_post``. The DeviceResponse must verify under the authority's root (issuer
   signature, chain, validity), its device signature must cover THIS request's SessionTranscript (client id, nonce,
   response URI, and the encryption key's thumbprint when encrypted), and every requested element must be there.
   Then the live registry decides (`OnlineVerifier.verify_presented`: status, the party's scope and fields) and the
   check is logged like every other verification (method ``openid4vp``), visible to the holder. One answer per
   request; a response accepted once (SHA-256 of its device signature) is refused for every other request. A
   response that does not verify changes only the request's count of failures (the request id is public: a stranger
   must not be able to close someone's request with junk); at `MAX_FAILED_ATTEMPTS` the request is closed. An error
   response (the holder declined) is not authenticated either: the party sees ``declined``, but the request stays
   open and a verified answer still replaces it until it expires.
4. `get`: the party that made the request (and only it) reads its state and the verified result.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import urlencode

import cbor2
import structlog
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from edl.credentials import MDL_DOCTYPE, verify_mdoc
from edl.credentials.cose import cose_key
from edl.credentials.licence_mdl import CN_NS, MDL_NS
from edl.credentials.openid4vp import (
    DIRECT_POST_JWT,
    QUERY_ID,
    RESPONSE_MODES,
    HolderDeclined,
    ResponseRefused,
    client_id_for,
    derive_response_key,
    encryption_jwk,
    presentations,
    read_direct_post,
    request_object,
    transcript_for,
    unsecured_jwt,
)
from edl.credentials.result import HOLDER_VERIFIED
from edl.db.models import PresentationRequestRow
from edl.db.session import transaction
from edl.domain import DomainError
from edl.verification.online import OnlineVerifier
from edl.verification.parties import Party, active_party
from edl.verification.purposes import Field, Purpose

log = structlog.get_logger("edl.verification.presentations")

LIFETIME: Final = timedelta(minutes=5)
"""How long a request may be answered: long enough to scan and approve, short enough that a nonce goes stale."""
MAX_FAILED_ATTEMPTS: Final = 5
PENDING, ANSWERED, DECLINED, REFUSED, EXPIRED = "pending", "answered", "declined", "refused", "expired"
OPEN: Final = (PENDING, DECLINED)
"""States in which a request still takes an answer: a decline is not authenticated (anyone who saw the request
can send one), so it is shown to the party but a verified answer from the holder still replaces it."""
NUMBER: Final = (MDL_NS, "document_number")

ELEMENTS: Final[dict[Field, tuple[tuple[str, str], ...]]] = {
    Field.NAME: ((MDL_NS, "family_name_national_character"), (MDL_NS, "given_name_national_character")),
    Field.PHOTO: ((MDL_NS, "portrait"),),
    Field.SEX: ((MDL_NS, "sex"),),
    Field.NATIONALITY: ((MDL_NS, "nationality"),),
    Field.BIRTH_DATE: ((MDL_NS, "birth_date"),),
    Field.ADDRESS: ((MDL_NS, "resident_address"),),
    Field.LICENCE_NUMBER: (NUMBER,),
    Field.FILE_NUMBER: ((CN_NS, "file_number"),),
    Field.CLASSES: ((MDL_NS, "driving_privileges"), (CN_NS, "vehicle_classes")),
    Field.FIRST_ISSUE: ((CN_NS, "first_issue_date"),),
    Field.VALID_FROM: ((MDL_NS, "issue_date"),),
    Field.VALID_UNTIL: ((MDL_NS, "expiry_date"),),
    Field.ISSUING_AUTHORITY: ((MDL_NS, "issuing_authority"), (CN_NS, "authority_code")),
    Field.STATUS: (),  # live, from the registry
    Field.POINTS: (),  # live, from the registry
    Field.DRIVING_RECORD: (),  # not in the mdoc: from the registry
}
"""The mDL data elements behind each field a purpose allows (docs/credential.md has the element table). Status,
points and the driving record are not asked of the wallet: the registry's live values are the answer."""


def elements_for(fields: tuple[Field, ...]) -> tuple[tuple[str, str], ...]:
    """The elements to request for a party that may see `fields`: the licence number first (the registry lookup),
    then each field's elements, without repeats."""
    out: list[tuple[str, str]] = [NUMBER]
    for f in fields:
        out.extend(e for e in ELEMENTS[f] if e not in out)
    return tuple(out)


class RequestNotFound(DomainError):
    """No such request (or not this party's)."""


class RequestClosed(DomainError):
    """The request was answered, declined, refused or has expired; `state` says which."""

    def __init__(self, state: str) -> None:
        super().__init__(
            "此核验请求已结束，请核验方重新发起 / this presentation request is closed "
            f"({state}): ask the relying party for a new one"
        )
        self.state = state


@dataclass(frozen=True)
class PresentationRequest:
    id: str
    party_id: str
    purpose: Purpose
    elements: tuple[tuple[str, str], ...]
    nonce: str
    client_id: str
    response_uri: str
    response_mode: str
    created_at: datetime
    expires_at: datetime
    state: str
    answered_at: datetime | None
    result: Mapping[str, Any] | None

    def to_json_dict(self, base_url: str) -> dict[str, Any]:
        """What the party sees: the request's addresses, state and (once answered) the verified result."""
        request_uri = request_uri_for(base_url, self.id)
        return {
            "id": self.id,
            "state": self.state,
            "purpose": self.purpose.value,
            "client_id": self.client_id,
            "request_uri": request_uri,
            "authorization_request_uri": "openid4vp://?" + _query(self.client_id, request_uri),
            "app_uri": f"{base_url}/app/present?" + _query(self.client_id, request_uri),
            "response_mode": self.response_mode,
            "requested_elements": [list(e) for e in self.elements],
            "created_at": _iso(self.created_at),
            "expires_at": _iso(self.expires_at),
            "answered_at": _iso(self.answered_at) if self.answered_at else None,
            "result": dict(self.result) if self.result is not None else None,
        }


def request_uri_for(base_url: str, request_id: str) -> str:
    return f"{base_url}/openid4vp/requests/{request_id}"


def response_uri_for(base_url: str, request_id: str) -> str:
    return f"{base_url}/openid4vp/responses/{request_id}"


@dataclass(frozen=True)
class Answer:
    """The outcome of a wallet's response: `accepted` when it verified and the request is answered (the party reads
    `valid` in the result: a verified presentation of a suspended licence is answered, not valid)."""

    accepted: bool
    state: str
    error: str | None = None
    message: str | None = None


class PresentationService:
    """Presentation requests on the database (see the module doc)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        verifier: OnlineVerifier,
        secret: bytes,
        *,
        base_url: str,
        lifetime: timedelta = LIFETIME,
    ) -> None:
        self._sessions = sessions
        self._verifier = verifier
        self._secret = secret
        self._base_url = base_url.rstrip("/")
        self._lifetime = lifetime

    @property
    def base_url(self) -> str:
        return self._base_url

    # --- the party's side ------------------------------------------------------------------------------------------

    def create(self, party: Party, *, response_mode: str = DIRECT_POST_JWT, at: datetime) -> PresentationRequest:
        if response_mode not in RESPONSE_MODES:
            raise ResponseRefused(
                "invalid_request", f"response_mode: one of {', '.join(RESPONSE_MODES)} / 响应方式不受支持"
            )
        request_id = secrets.token_hex(16)
        response_uri = response_uri_for(self._base_url, request_id)
        row = PresentationRequestRow(
            id=request_id,
            relying_party_id=party.id,
            purpose=party.purpose.value,
            elements=[list(e) for e in elements_for(party.fields)],
            nonce=secrets.token_urlsafe(32),
            client_id=client_id_for(response_uri),
            response_uri=response_uri,
            response_mode=response_mode,
            created_at=at,
            expires_at=at + self._lifetime,
            state=PENDING,
            failed_attempts=0,
        )
        with transaction(self._sessions) as session:
            session.add(row)
            session.flush()
            return _view(row, at)

    def get(self, party: Party, request_id: str, *, at: datetime) -> PresentationRequest:
        """The party's own request; another party's is `RequestNotFound`, exactly like a missing one."""
        with self._sessions() as session:
            row = session.get(PresentationRequestRow, request_id) if _looks_like_id(request_id) else None
            if row is None or row.relying_party_id != party.id:
                raise RequestNotFound("没有此核验请求 / no such presentation request")
            return _view(row, at)

    # --- the wallet's side -----------------------------------------------------------------------------------------

    def pending(self, request_id: str, *, at: datetime) -> tuple[PresentationRequest, str]:
        """(the open request, its party's name) for the wallet's consent page; `RequestNotFound` / `RequestClosed`."""
        with self._sessions() as session:
            row = session.get(PresentationRequestRow, request_id) if _looks_like_id(request_id) else None
            if row is None:
                raise RequestNotFound("没有此核验请求 / no such presentation request")
            view = _view(row, at)
            if view.state not in OPEN:
                raise RequestClosed(view.state)
            party = active_party(session, row.relying_party_id)
            if party is None:
                raise RequestClosed(REFUSED)
            return view, party.name

    def request_object(self, request_id: str, *, at: datetime) -> str:
        """The request object (an unsecured JWT) of an open request."""
        view, name = self.pending(request_id, at=at)
        jwk = self.encryption_key(view) if view.response_mode == DIRECT_POST_JWT else None
        claims = request_object(
            response_uri=view.response_uri,
            nonce=view.nonce,
            state=view.id,
            response_mode=view.response_mode,
            elements=view.elements,
            encryption_jwk=jwk,
            issued_at=int(view.created_at.timestamp()),
            expires_at=int(view.expires_at.timestamp()),
            client_name=name,
        )
        return unsecured_jwt(claims)

    def encryption_key(self, view: PresentationRequest) -> dict[str, Any]:
        return encryption_jwk(self._private_key(view.id), kid=view.id[:16])

    def _private_key(self, request_id: str) -> ec.EllipticCurvePrivateKey:
        return derive_response_key(self._secret, request_id)

    def answer(self, request_id: str, form: Mapping[str, str], *, client: str | None, at: datetime) -> Answer:
        """Read, verify and record a wallet's response to request `request_id` (see the module doc). Raises
        `RequestNotFound`, `RequestClosed`; returns a refused `Answer` for a response that does not verify."""
        view, _ = self.pending(request_id, at=at)
        key = self._private_key(view.id) if view.response_mode == DIRECT_POST_JWT else None
        try:
            vp_token, state = read_direct_post(form, response_mode=view.response_mode, decryption_key=key)
            if state != view.id:
                raise ResponseRefused("invalid_request", "state is not this request's")
            (data, *more) = presentations(vp_token, QUERY_ID)
            if more:
                raise ResponseRefused("invalid_request", "one presentation was asked for")
        except HolderDeclined as declined:
            self._decline(view.id, declined.error, at)
            return Answer(True, DECLINED)
        except ResponseRefused as refused:
            return self._failed(view, refused.code, refused.message, at)
        return self._verify(view, data, client=client, at=at)

    def _verify(self, view: PresentationRequest, data: bytes, *, client: str | None, at: datetime) -> Answer:
        jwk = self.encryption_key(view) if view.response_mode == DIRECT_POST_JWT else None
        transcript = transcript_for(
            client_id=view.client_id, nonce=view.nonce, response_uri=view.response_uri, encryption_key=jwk
        )
        trust, _ = self._verifier.trust_anchors()
        checked = verify_mdoc(data, trust, at=at, expected_doctype=MDL_DOCTYPE, session_transcript=transcript)
        if not checked.valid or checked.holder_binding != HOLDER_VERIFIED or len(checked.documents) != 1:
            codes = ",".join(e.code.value for e in checked.errors) or "holder_binding_failed"
            return self._failed(view, "invalid_presentation", f"the presentation does not verify: {codes}", at)
        document = checked.documents[0]
        missing = [f"{ns}/{name}" for ns, name in view.elements if name not in checked.claims.get(ns, {})]
        if missing:
            return self._failed(view, "invalid_presentation", "requested elements missing: " + ", ".join(missing), at)
        number = checked.claims[MDL_NS]["document_number"]
        device_key = document.device_key
        if not isinstance(number, str) or not isinstance(device_key, ec.EllipticCurvePublicKey):
            return self._failed(view, "invalid_presentation", "no licence number, or not an EC device key", at)
        with self._sessions() as session:
            party = active_party(session, view.party_id)
        if party is None:
            self._close(view.id, REFUSED, {"error": "relying_party_revoked"}, at)
            raise RequestClosed(REFUSED)
        online = self._verifier.verify_presented(
            party, licence_number=number, device_key=cbor2.dumps(cose_key(device_key)), client=client, at=at
        )
        result = online.to_json_dict()
        result["presentation"] = {
            "format": "mso_mdoc",
            "doctype": document.doctype,
            "holder_binding": document.holder_binding,
            "signer": document.signer.to_json_dict() if document.signer else None,
            "response_mode": view.response_mode,
        }
        digest = hashlib.sha256(_device_auth(data)).hexdigest()
        if not self._close(view.id, ANSWERED, result, at, digest=digest, verification_id=online.verification_id):
            return Answer(False, REFUSED, "invalid_request", "this device response was already used / 此响应已使用过")
        return Answer(True, ANSWERED)

    def _decline(self, request_id: str, error: str, at: datetime) -> None:
        """Record a decline (unauthenticated: the request stays open for a verified answer until it expires)."""
        with transaction(self._sessions) as session:
            session.execute(
                update(PresentationRequestRow)
                .where(PresentationRequestRow.id == request_id, PresentationRequestRow.state.in_(OPEN))
                .values(state=DECLINED, answered_at=at, result={"declined": error})
            )

    def _failed(self, view: PresentationRequest, code: str, message: str, at: datetime) -> Answer:
        """Count a response that did not verify; close the request at `MAX_FAILED_ATTEMPTS`."""
        log.info("presentation_refused", request=view.id, error=code, reason=message[:200])
        with transaction(self._sessions) as session:
            session.execute(
                update(PresentationRequestRow)
                .where(PresentationRequestRow.id == view.id, PresentationRequestRow.state.in_(OPEN))
                .values(failed_attempts=PresentationRequestRow.failed_attempts + 1)
            )
            session.execute(
                update(PresentationRequestRow)
                .where(
                    PresentationRequestRow.id == view.id,
                    PresentationRequestRow.state.in_(OPEN),
                    PresentationRequestRow.failed_attempts >= MAX_FAILED_ATTEMPTS,
                )
                .values(state=REFUSED, answered_at=at, result={"error": code, "message": message[:500]})
            )
        return Answer(False, PENDING, code, message)

    def _close(
        self,
        request_id: str,
        state: str,
        result: Mapping[str, Any],
        at: datetime,
        *,
        digest: str | None = None,
        verification_id: int | None = None,
    ) -> bool:
        """Move an open request to `state` (False when it was not open, or `digest` was used before)."""
        try:
            with transaction(self._sessions) as session:
                done = session.execute(
                    update(PresentationRequestRow)
                    .where(PresentationRequestRow.id == request_id, PresentationRequestRow.state.in_(OPEN))
                    .values(
                        state=state,
                        answered_at=at,
                        result=dict(result),
                        response_digest=digest,
                        verification_id=verification_id,
                    )
                )
                return bool(done.rowcount)  # type: ignore[attr-defined]
        except IntegrityError:
            return False


def _device_auth(data: bytes) -> bytes:
    """The deviceAuth of the (verified) DeviceResponse's one document, re-encoded: the replay fingerprint."""
    decoded = cbor2.loads(data)
    return cbor2.dumps(decoded["documents"][0]["deviceSigned"]["deviceAuth"])


def _view(row: PresentationRequestRow, at: datetime) -> PresentationRequest:
    state = row.state
    if state in OPEN and at >= row.expires_at:
        state = EXPIRED
    return PresentationRequest(
        id=row.id,
        party_id=row.relying_party_id,
        purpose=Purpose(row.purpose),
        elements=tuple((str(e[0]), str(e[1])) for e in row.elements),
        nonce=row.nonce,
        client_id=row.client_id,
        response_uri=row.response_uri,
        response_mode=row.response_mode,
        created_at=row.created_at,
        expires_at=row.expires_at,
        state=state,
        answered_at=row.answered_at,
        result=row.result,
    )


def _looks_like_id(text: str) -> bool:
    return len(text) == 32 and all(c in "0123456789abcdef" for c in text)


def _query(client_id: str, request_uri: str) -> str:
    return urlencode({"client_id": client_id, "request_uri": request_uri})


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


__all__ = [
    "ANSWERED",
    "DECLINED",
    "ELEMENTS",
    "EXPIRED",
    "PENDING",
    "REFUSED",
    "Answer",
    "PresentationRequest",
    "PresentationService",
    "RequestClosed",
    "RequestNotFound",
    "elements_for",
]
