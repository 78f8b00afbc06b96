"""SQLAlchemy models of OpenID4VP presentation requests and OpenID4VCI issuance (issue 15), beside
`edl.db.models` (which imports this module, so importing that one puts every model on `Base.metadata`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from edl.db.base import Base
from edl.db.types import UtcDateTime


class PresentationRequestRow(Base):
    """A relying party's OpenID4VP request for a driver's mdoc (`edl.verification.presentations`).

    Made through the API, answered once by a wallet (`direct_post` or `direct_post.jwt` to `response_uri`), read by
    the party that made it. The response encryption key of a request is derived from a server secret and the
    request id, never stored. `response_digest` (SHA-256 of the device signature or MAC) is unique: a device
    response accepted once is refused for every other request, whatever else it carries.
    """

    __tablename__ = "presentation_requests"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    relying_party_id: Mapped[str] = mapped_column(ForeignKey("relying_parties.id", ondelete="RESTRICT"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    elements: Mapped[list[list[str]]] = mapped_column(JSON)
    """The requested data elements as [namespace, identifier] pairs (the DCQL query's claim paths)."""
    nonce: Mapped[str] = mapped_column(String(64))
    client_id: Mapped[str] = mapped_column(String(600))
    response_uri: Mapped[str] = mapped_column(String(512))
    response_mode: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    state: Mapped[str] = mapped_column(String(16))
    """pending, answered (a verified response, valid or not) or refused (a response that could not be verified)."""
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    verification_id: Mapped[int | None] = mapped_column(BigInteger)
    response_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    """Responses that did not verify; at `MAX_FAILED_ATTEMPTS` the request is closed as refused."""


# --- OpenID4VCI (issue 15) -------------------------------------------------------------------------------------------


class VciOfferRow(Base):
    """A credential offer made in the driver's app (`edl.issuance.openid4vci`): a pre-authorized code for the mDL of
    `licence_number`, after a fresh real-person authentication of `account_id`.

    Only digests are kept (`code_hash`, `tx_code_hash`); the code is single use (`used_at`, set by a conditional
    UPDATE) and short-lived; `failed_tx_codes` wrong transaction codes end it.
    """

    __tablename__ = "vci_offers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    tx_code_hash: Mapped[str | None] = mapped_column(String(64))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    licence_number: Mapped[str] = mapped_column(String(18))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    failed_tx_codes: Mapped[int] = mapped_column(Integer, default=0)


class VciTokenRow(Base):
    """An access token for the credential endpoint, from one offer's code: single use (one wallet key bound per
    offer), short-lived, kept as its SHA-256."""

    __tablename__ = "vci_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    offer_id: Mapped[str] = mapped_column(ForeignKey("vci_offers.id", ondelete="CASCADE"), unique=True)
    account_id: Mapped[str] = mapped_column(String(32))
    licence_number: Mapped[str] = mapped_column(String(18))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class VciNonceRow(Base):
    """A c_nonce a key proof answered (the nonces themselves are stateless HMACs): the primary key makes each
    accepted once. Rows past `expires_at` may be deleted (the nonce is refused as stale by then)."""

    __tablename__ = "vci_nonces"

    nonce_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
