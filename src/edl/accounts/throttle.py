"""Staff sign-in throttling (登录限流), counted from the audit log so every app server shares it.

Only *refused* sign-ins count (`sign_in_failed` rows with outcome `refused`: a password was checked and did not sign
in: unknown username, wrong password, disabled account). Within any 15 minutes:

- **per client address**: after `PER_ADDRESS` refused sign-ins from one address, every sign-in from it is throttled;
- **per username and address**: after `PER_USERNAME_AND_ADDRESS` for one username from one address, that address
  may not try that username (a success from that address starts the count again);
- **per username**: after `PER_USERNAME` for one username from all addresses together (a spread-out guessing
  attack), the username is throttled from every address that has not signed in as it in the last
  `KNOWN_ADDRESS_DAYS` days; its owner's usual addresses still get in.

The rules look at the typed username, never at whether the account exists, so an unknown username is throttled
exactly like a real one and the answers (`StaffSignInThrottled`, one message for every throttle) reveal nothing.
Failures from one address never stop the owner signing in from another (no hard account lock: OWASP's
authentication guidance prefers throttling to lockouts that others can trigger). Throttled attempts are audited
with outcome `throttled` and do not count, so hammering cannot throttle a username for other addresses.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from edl.audit import Action, ActorKind
from edl.db.models import AuditRow

WINDOW: Final = timedelta(minutes=15)
PER_ADDRESS: Final = 20
PER_USERNAME_AND_ADDRESS: Final = 5
PER_USERNAME: Final = 50
KNOWN_ADDRESS_DAYS: Final = 30
REFUSED: Final = "refused"
THROTTLED: Final = "throttled"


def _refused(*where: ColumnElement[bool]) -> Select[datetime]:
    return (
        select(AuditRow.at)
        .where(
            AuditRow.action == Action.SIGN_IN_FAILED.value,
            AuditRow.outcome == REFUSED,
            AuditRow.actor_kind == ActorKind.STAFF.value,
            *where,
        )
        .order_by(AuditRow.at.desc())
    )


def _wait(session: Session, stmt: Select[datetime], limit: int, at: datetime) -> int | None:
    """Seconds until the `limit`-th newest refusal of `stmt` leaves the window, or None when fewer than `limit`."""
    times = list(session.scalars(stmt.limit(limit)))
    if len(times) < limit:
        return None
    return max(1, math.ceil((times[-1] + WINDOW - at).total_seconds()))


def _signed_in(session: Session, username: str, client: str, since: datetime) -> datetime | None:
    """When `username` last signed in from `client` since `since` (None: not in that time)."""
    return session.scalar(
        select(func.max(AuditRow.at)).where(
            AuditRow.action == Action.SIGN_IN.value,
            AuditRow.subject == username,
            AuditRow.outcome == "ok",
            AuditRow.actor_kind == ActorKind.STAFF.value,
            AuditRow.client == client,
            AuditRow.at > since,
        )
    )


def sign_in_wait(session: Session, *, username: str, client: str, at: datetime) -> int | None:
    """Seconds before `client` may try to sign in as `username` (as typed, existing or not), or None: it may now."""
    since = at - WINDOW
    waits = [_wait(session, _refused(AuditRow.client == client, AuditRow.at > since), PER_ADDRESS, at)]
    last_ok = _signed_in(session, username, client, since)
    pair_since = max(since, last_ok) if last_ok is not None else since
    pair = _refused(AuditRow.client == client, AuditRow.subject == username, AuditRow.at > pair_since)
    waits.append(_wait(session, pair, PER_USERNAME_AND_ADDRESS, at))
    spread = _wait(session, _refused(AuditRow.subject == username, AuditRow.at > since), PER_USERNAME, at)
    if spread is not None and _signed_in(session, username, client, at - timedelta(days=KNOWN_ADDRESS_DAYS)) is None:
        waits.append(spread)
    found = [w for w in waits if w is not None]
    return max(found) if found else None
