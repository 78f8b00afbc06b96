"""Deleting what sign-in no longer needs: expired codes (`otp_challenges`), ended sessions (`web_sessions`) and
expired liveness challenges (`liveness_challenges`; kept for the hour their per-account limit counts them); and
what OpenID4VP and OpenID4VCI (issue 15) no longer need: presentation requests a day after they expired (their
results hold the fields shown to the party, a portrait among them: the verification log keeps the record of the
check), and expired wallet offers, access tokens and spent nonces.

A code row is kept while it is live and for the hour the per-number and per-address limits count it; a session
row for a day after it expired or was revoked. The audit log keeps the record of every sign-in either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_
from sqlalchemy.orm import Session

from edl.accounts.otp import HOUR
from edl.db.models import LivenessChallengeRow, OtpChallengeRow, WebSessionRow
from edl.db.openid_models import PresentationRequestRow, VciNonceRow, VciOfferRow, VciTokenRow

SESSION_GRACE = timedelta(days=1)
PRESENTATION_GRACE = timedelta(days=1)
"""How long after it expired a presentation request (and its result) is kept for the party to read."""


@dataclass(frozen=True, slots=True)
class Purged:
    codes: int
    """Sign-in code rows deleted."""
    sessions: int
    """Session rows deleted."""
    challenges: int = 0
    """Liveness challenge rows deleted."""
    wallet: int = 0
    """OpenID4VP presentation requests and OpenID4VCI offers, tokens and nonces deleted."""

    def summary(self) -> str:
        return (
            f"deleted {self.codes} expired sign-in codes, {self.sessions} ended sessions, {self.challenges} "
            f"expired liveness challenges and {self.wallet} expired presentation requests and wallet offers"
        )


def purge_expired(session: Session, *, at: datetime, session_grace: timedelta = SESSION_GRACE) -> Purged:
    """Delete code rows that are expired and older than the rate-limit window (an hour before `at`), and session
    rows that expired or were revoked more than `session_grace` before `at`; how many of each."""
    codes = session.execute(
        delete(OtpChallengeRow)
        .where(OtpChallengeRow.created_at <= at - HOUR, OtpChallengeRow.expires_at <= at)
        .execution_options(synchronize_session=False)
    )
    cutoff = at - session_grace
    sessions = session.execute(
        delete(WebSessionRow)
        .where(or_(WebSessionRow.expires_at <= cutoff, WebSessionRow.revoked_at <= cutoff))
        .execution_options(synchronize_session=False)
    )
    challenges = session.execute(
        delete(LivenessChallengeRow)
        .where(LivenessChallengeRow.expires_at <= at - HOUR)
        .execution_options(synchronize_session=False)
    )
    wallet = 0
    for table, kept in (
        (PresentationRequestRow, PRESENTATION_GRACE),
        (VciTokenRow, HOUR),
        (VciOfferRow, HOUR),
        (VciNonceRow, timedelta(0)),
    ):
        done = session.execute(
            delete(table).where(table.expires_at <= at - kept).execution_options(synchronize_session=False)
        )
        wallet += int(done.rowcount)  # type: ignore[attr-defined]
    return Purged(
        int(codes.rowcount),  # type: ignore[attr-defined]
        int(sessions.rowcount),  # type: ignore[attr-defined]
        int(challenges.rowcount),  # type: ignore[attr-defined]
        wallet,
    )
