"""OpenID4VCI issuance to a standard wallet (issue 15): offers, the token and the credential, in the database.

The protocol rules are `edl.credentials.openid4vci`; signing is `edl.issuance.device_bound.sign_for_device_key`
(channel ``openid4vci``: eligibility, sanctions, the key recorded on the e-licence, audited).

    make_offer        the signed-in holder, after a fresh real-person authentication, for their live e-licence:
                      a pre-authorized code (and a 6-digit tx_code) for 5 minutes, kept as digests; it
                      supersedes the account's earlier offers
    exchange_code     code (+ tx_code) → access token; the code is spent by a conditional UPDATE, so a replay
                      (even a concurrent one) gets invalid_grant; 3 wrong tx_codes spend it too
    issue_credential  token + a key proof answering an unused c_nonce → the IssuerSigned bound to the proof's key;
                      the nonce and the token are spent in the transaction that signs, so one token binds one
                      wallet key, and a refusal changes nothing

The licence is always the one the offer was made for (copied from the holder's account onto the offer and the
token); nothing a wallet sends names a licence. Each step re-checks that the account is still bound to it.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from edl import audit
from edl.audit import Action, ActorKind
from edl.credentials.openid4vci import (
    NONCE_SECONDS,
    ProofRefused,
    check_proof,
    credential_offer,
    digest,
    make_nonce,
    new_secret,
    new_tx_code,
    nonce_issued_at,
    offer_uri,
)
from edl.db.models import AccountRow, ElicenceRow, LicenceRow, VciNonceRow, VciOfferRow, VciTokenRow
from edl.db.session import transaction
from edl.domain.dates import china_date
from edl.issuance.device_bound import BoundMdoc, sign_for_device_key
from edl.issuance.elicences import IssuanceRefused, Issuer, refuse_if_stopped
from edl.registry.mapping import licence_from_row

OFFER_SECONDS: Final = 300
TOKEN_SECONDS: Final = 300
MAX_TX_CODE_FAILURES: Final = 3
FACE_CHECK_MINUTES: Final = 5
"""An offer needs a real-person authentication passed this recently (or the setting's window, if shorter)."""
CHANNEL: Final = "openid4vci"


class RealPersonCheck(Protocol):
    """Whether the account passed real-person authentication on licence `number` within `valid_minutes`
    (`edl.applications.realperson.face_check_fresh`, passed in by the composition root)."""

    def __call__(
        self, session: Session, account_id: str, number: str | None, *, at: datetime, valid_minutes: int
    ) -> bool: ...


class OfferRefused(Exception):
    """No offer can be made; `code` for the page, the message bilingual (zh / en)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class VciRefused(Exception):
    """A token or credential request refused; `code` is the OAuth / OpenID4VCI error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class MadeOffer:
    offer_id: str
    offer: dict[str, Any]
    uri: str
    tx_code: str
    expires_at: datetime


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_in: int


class CredentialIssuance:
    """The issuer's side of OpenID4VCI over eDL's database (`base_url` is the credential issuer identifier)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        issuer: Issuer,
        *,
        base_url: str,
        nonce_key: bytes,
        real_person_checked: RealPersonCheck,
        face_check_minutes: int = FACE_CHECK_MINUTES,
    ) -> None:
        self._sessions = sessions
        self._issuer = issuer
        self.base_url = base_url
        self._nonce_key = nonce_key
        self._face_minutes = face_check_minutes
        self._checked = real_person_checked

    # --- the driver's app ----------------------------------------------------------------------------------------

    @property
    def face_check_minutes(self) -> int:
        return self._face_minutes

    def face_check_is_fresh(self, account_id: str, *, at: datetime) -> bool:
        """Whether the account passed real-person authentication on its bound licence within `face_check_minutes`."""
        with self._sessions() as session:
            number = _bound_number(session, account_id)
            return self._checked(session, account_id, number, at=at, valid_minutes=self._face_minutes)

    def make_offer(self, account_id: str, *, at: datetime) -> MadeOffer:
        """An offer of the account's own e-licence; refused without a fresh real-person authentication, a live
        e-licence or an eligible licence."""
        with transaction(self._sessions) as session:
            number = _bound_number(session, account_id)
            if number is None:
                raise OfferRefused("not_bound", "请先绑定驾驶证 / bind your licence first")
            if not self._checked(session, account_id, number, at=at, valid_minutes=self._face_minutes):
                raise OfferRefused(
                    "face_check_required",
                    f"请先完成实人认证（{self._face_minutes}分钟内有效） / complete real-person authentication first "
                    f"(it counts for {self._face_minutes} minutes)",
                )
            self._refuse_unless_issuable(session, number, at=at)
            # a new offer supersedes the account's earlier ones; offers a day past their expiry are dropped
            session.execute(
                update(VciOfferRow)
                .where(VciOfferRow.account_id == account_id, VciOfferRow.used_at.is_(None))
                .values(used_at=at)
            )
            # and so does any access token already taken from them: a driver who suspects the code was seen makes
            # a new offer, and a thief's unspent token stops working at once
            session.execute(
                update(VciTokenRow)
                .where(VciTokenRow.account_id == account_id, VciTokenRow.used_at.is_(None))
                .values(used_at=at)
            )
            session.execute(delete(VciOfferRow).where(VciOfferRow.expires_at < at - timedelta(days=1)))
            code, tx_code = new_secret(), new_tx_code()
            row = VciOfferRow(
                id=uuid.uuid4().hex,
                code_hash=digest(code),
                tx_code_hash=digest(tx_code),
                account_id=account_id,
                licence_number=number,
                created_at=at,
                expires_at=at + timedelta(seconds=OFFER_SECONDS),
                failed_tx_codes=0,
            )
            session.add(row)
            audit.record(
                session,
                at=at,
                actor_kind=ActorKind.HOLDER,
                actor=account_id,
                action=Action.DEVICE_KEY,
                subject=number,
                outcome="offered",
                detail={"channel": CHANNEL, "offer_id": row.id},
            )
        offer = credential_offer(self.base_url, code)
        return MadeOffer(row.id, offer, offer_uri(offer), tx_code, row.expires_at)

    def _refuse_unless_issuable(self, session: Session, number: str, *, at: datetime) -> None:
        """The checks `sign_for_device_key` makes again at the credential endpoint, made early so the holder learns
        at once (no live e-licence, licence not eligible, a sanction)."""
        live = session.scalar(
            select(ElicenceRow.id).where(ElicenceRow.licence_number == number, ElicenceRow.voided_at.is_(None))
        )
        if live is None:
            raise OfferRefused("no_elicence", "没有有效的电子驾驶证，请先申领 / no live e-licence: apply for one first")
        row = session.get(LicenceRow, number)
        if row is None:
            raise OfferRefused("no_elicence", f"登记库中没有此驾驶证 / no licence {number} in the registry")
        verdict = licence_from_row(row).eligibility(china_date(at), self._issuer.rollout)
        if not verdict.eligible:
            raise OfferRefused(
                "not_eligible",
                "；".join(r[1] for r in verdict.reasons) + " / " + " ".join(r[2] for r in verdict.reasons),
            )
        try:
            refuse_if_stopped(session, number, at=at)
        except IssuanceRefused as exc:
            raise OfferRefused("stopped", str(exc)) from None

    # --- the wallet ----------------------------------------------------------------------------------------------

    def exchange_code(self, code: object, tx_code: object, *, at: datetime) -> AccessToken:
        """The token endpoint's pre-authorized code grant (§6.1): a fresh, unused code and its tx_code."""
        if not isinstance(code, str) or not code or len(code) > 128:
            raise VciRefused("invalid_request", "缺少pre-authorized_code / pre-authorized_code is missing")
        unknown = VciRefused(
            "invalid_grant", "授权码无效、已使用或已过期 / the pre-authorized code is unknown, used or expired"
        )
        with transaction(self._sessions) as session:
            offer = session.scalar(select(VciOfferRow).where(VciOfferRow.code_hash == digest(code)))
            if offer is None or offer.used_at is not None or offer.expires_at <= at:
                raise unknown
            offer_id, expected = offer.id, offer.tx_code_hash
        if expected is not None:
            if not isinstance(tx_code, str) or not tx_code:
                raise VciRefused("invalid_request", "缺少tx_code / tx_code is missing: enter the code the app shows")
            if not hmac.compare_digest(digest(tx_code[:16]), expected):
                left = self._count_wrong_tx_code(offer_id, at=at)
                raise VciRefused(
                    "invalid_grant",
                    f"tx_code错误，还可尝试{left}次 / wrong tx_code: {left} tries left"
                    if left
                    else "tx_code错误次数过多，授权码已失效 / too many wrong tx_codes: spent, make a new code",
                )
        token = new_secret()
        with transaction(self._sessions) as session:
            spent = session.execute(
                update(VciOfferRow)
                .where(VciOfferRow.id == offer_id, VciOfferRow.used_at.is_(None), VciOfferRow.expires_at > at)
                .values(used_at=at)
            )
            if spent.rowcount != 1:  # type: ignore[attr-defined]
                raise unknown
            offer = session.get(VciOfferRow, offer_id)
            assert offer is not None
            if _bound_number(session, offer.account_id) != offer.licence_number:
                raise VciRefused("invalid_grant", "驾驶证已解绑 / the licence is no longer bound to the account")
            session.add(
                VciTokenRow(
                    token_hash=digest(token),
                    offer_id=offer_id,
                    account_id=offer.account_id,
                    licence_number=offer.licence_number,
                    created_at=at,
                    expires_at=at + timedelta(seconds=TOKEN_SECONDS),
                )
            )
        return AccessToken(token, TOKEN_SECONDS)

    def _count_wrong_tx_code(self, offer_id: str, *, at: datetime) -> int:
        """Count a wrong tx_code (committed, the refusal stands); the tries left, the code spent at none."""
        with transaction(self._sessions) as session:
            session.execute(
                update(VciOfferRow)
                .where(VciOfferRow.id == offer_id, VciOfferRow.used_at.is_(None))
                .values(failed_tx_codes=VciOfferRow.failed_tx_codes + 1)
            )
            session.execute(
                update(VciOfferRow)
                .where(
                    VciOfferRow.id == offer_id,
                    VciOfferRow.used_at.is_(None),
                    VciOfferRow.failed_tx_codes >= MAX_TX_CODE_FAILURES,
                )
                .values(used_at=at)
            )
            failed = session.scalar(select(VciOfferRow.failed_tx_codes).where(VciOfferRow.id == offer_id)) or 0
        return max(0, MAX_TX_CODE_FAILURES - failed)

    def nonce(self, *, at: datetime) -> str:
        """A fresh c_nonce (stateless; see `edl.credentials.openid4vci.make_nonce`)."""
        return make_nonce(self._nonce_key, at)

    def token_holder(self, token: str, *, at: datetime) -> VciTokenRow:
        """The live, unused access token `token`; VciRefused(invalid_token) otherwise."""
        with self._sessions() as session:
            row = session.get(VciTokenRow, digest(token)) if 0 < len(token) <= 128 else None
            if row is None or row.used_at is not None or row.expires_at <= at:
                raise VciRefused(
                    "invalid_token", "访问令牌无效、已使用或已过期 / the access token is unknown, used or expired"
                )
            session.expunge(row)
            return row

    def issue_credential(self, token: str, proof_jwt: str, *, at: datetime) -> BoundMdoc:
        """The mDL of the token's licence bound to the proof's key; VciRefused or ProofRefused, nothing changed."""
        holder = self.token_holder(token, at=at)
        proof = check_proof(proof_jwt, audience=self.base_url, at=at)
        if nonce_issued_at(self._nonce_key, proof.nonce, at) is None:
            raise ProofRefused(
                "invalid_nonce", "nonce无效或已过期，请获取新的c_nonce / unknown or stale nonce: get a fresh c_nonce"
            )
        try:
            with transaction(self._sessions) as session:
                self._spend_nonce(session, proof.nonce, at=at)
                spent = session.execute(
                    update(VciTokenRow)
                    .where(
                        VciTokenRow.token_hash == holder.token_hash,
                        VciTokenRow.used_at.is_(None),
                        VciTokenRow.expires_at > at,
                    )
                    .values(used_at=at)
                )
                if spent.rowcount != 1:  # type: ignore[attr-defined]
                    raise VciRefused(
                        "invalid_token", "访问令牌已使用 / the access token has been used: one credential per offer"
                    )
                if _bound_number(session, holder.account_id) != holder.licence_number:
                    raise VciRefused(
                        "credential_request_denied", "驾驶证已解绑 / the licence is no longer bound to the account"
                    )
                return sign_for_device_key(
                    session,
                    self._issuer,
                    holder.licence_number,
                    proof.key,
                    actor=holder.account_id,
                    actor_kind=ActorKind.HOLDER,
                    channel=CHANNEL,
                    at=at,
                )
        except IssuanceRefused as exc:
            raise VciRefused("credential_request_denied", str(exc)) from None

    def _spend_nonce(self, session: Session, nonce: str, *, at: datetime) -> None:
        session.execute(delete(VciNonceRow).where(VciNonceRow.expires_at < at))
        try:
            with session.begin_nested():
                session.add(
                    VciNonceRow(
                        nonce_hash=digest(nonce), used_at=at, expires_at=at + timedelta(seconds=NONCE_SECONDS + 60)
                    )
                )
        except IntegrityError:
            raise ProofRefused(
                "invalid_nonce", "nonce已使用，请获取新的c_nonce / the nonce has been used: get a fresh c_nonce"
            ) from None


def _bound_number(session: Session, account_id: str) -> str | None:
    return session.scalar(select(AccountRow.licence_number).where(AccountRow.id == account_id))
