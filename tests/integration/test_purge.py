"""Expired sign-in codes and ended sessions are deleted, but never what the hourly limits still count (SQLite and
PostgreSQL): the service, `edl accounts purge`, and the loop `edl serve` runs."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from edl.accounts import LogSmsSender, OtpPolicy, TooManyCodesForMobile
from edl.accounts.otp import issue_code
from edl.accounts.purge import purge_expired
from edl.accounts.sessions import SessionKind, live_session, open_session, revoke_session, token_hash
from edl.bootstrap import Container
from edl.cli.accounts import accounts_app
from edl.db.models import LivenessChallengeRow, OtpChallengeRow, WebSessionRow
from edl.db.openid_models import PresentationRequestRow
from edl.db.session import transaction
from edl.web import create_app
from edl.web.housekeeping import install_purge

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 16, 2, 0, tzinfo=UTC)
KEY = b"k" * 32
POLICY = OtpPolicy()  # codes live 5 minutes, 5 per number per hour


def add_code(container: Container, mobile: str, *, age: timedelta, ttl: timedelta = POLICY.ttl) -> int:
    created = NOW - age
    with transaction(container.sessions) as s:
        row = OtpChallengeRow(
            mobile=mobile, client="c", code_mac="0" * 64, created_at=created, expires_at=created + ttl, attempts=0
        )
        s.add(row)
        s.flush()
        return row.id


def add_session(container: Container, *, age: timedelta, hours: int = 12, revoked_age: timedelta | None = None) -> str:
    with transaction(container.sessions) as s:
        signed = open_session(s, SessionKind.HOLDER, "acct", at=NOW - age, hours=hours)
        s.flush()
        if revoked_age is not None:
            revoke_session(s, SessionKind.HOLDER, signed.token, at=NOW - revoked_age)
    return signed.token


def code_ids(container: Container) -> set[int]:
    with container.sessions() as s:
        return set(s.scalars(sa.select(OtpChallengeRow.id)))


def session_count(container: Container) -> int:
    with container.sessions() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(WebSessionRow)) or 0


def purge(container: Container, at: datetime = NOW) -> tuple[int, int]:
    with transaction(container.sessions) as s:
        done = purge_expired(s, at=at)
    return done.codes, done.sessions


def test_expired_codes_older_than_the_limit_window_go_and_the_rest_stay(container: Container) -> None:
    old = add_code(container, "13800000001", age=timedelta(hours=3))
    just_over = add_code(container, "13800000002", age=timedelta(minutes=61))
    expired_recent = add_code(container, "13800000003", age=timedelta(minutes=30))  # the limits still count it
    live = add_code(container, "13800000004", age=timedelta(minutes=1))
    long_lived = add_code(container, "13800000005", age=timedelta(hours=2), ttl=timedelta(hours=3))
    assert purge(container) == (2, 0)
    assert code_ids(container) == {expired_recent, live, long_lived}
    assert old not in code_ids(container) and just_over not in code_ids(container)
    assert purge(container) == (0, 0)


def test_ended_sessions_go_a_day_after_they_end_and_live_ones_stay(container: Container) -> None:
    add_session(container, age=timedelta(days=3))  # expired two and a half days ago
    add_session(container, age=timedelta(days=2), hours=24 * 7, revoked_age=timedelta(days=2))  # signed out
    ended_today = add_session(container, age=timedelta(hours=13))  # expired an hour ago
    signed_out_today = add_session(container, age=timedelta(hours=2), revoked_age=timedelta(hours=1))
    live = add_session(container, age=timedelta(hours=1))
    assert purge(container) == (0, 2)
    assert session_count(container) == 3
    with container.sessions() as s:
        assert live_session(s, SessionKind.HOLDER, live, at=NOW) is not None
        for token in (ended_today, signed_out_today):
            assert s.get(WebSessionRow, token_hash(token)) is not None


def test_liveness_challenges_go_an_hour_after_they_expire(container: Container) -> None:
    import random

    from edl.applications.realperson import issue_challenge
    from tests.workflow import seed_account

    account = seed_account(container, NOW - timedelta(hours=3))
    old = issue_challenge(container.sessions, account, "bind", at=NOW - timedelta(hours=2), rng=random.Random(1))
    recent = issue_challenge(container.sessions, account, "bind", at=NOW - timedelta(minutes=30), rng=random.Random(2))
    with transaction(container.sessions) as s:
        assert purge_expired(s, at=NOW).challenges == 1
    with container.sessions() as s:
        assert set(s.scalars(sa.select(LivenessChallengeRow.id))) == {recent.nonce}
    assert old.nonce != recent.nonce


def test_purging_does_not_reset_the_hourly_limit_per_number(container: Container) -> None:
    sms = LogSmsSender(dev_inbox=False)
    mobile = "13800000009"
    at = NOW - timedelta(minutes=55)
    for _ in range(POLICY.per_mobile_per_hour):
        with transaction(container.sessions) as s:
            issue_code(s, mobile, client="c", at=at, policy=POLICY, key=KEY, sms=sms)
        at += POLICY.min_gap
    assert purge(container) == (0, 0)  # all expired, but the hour has not passed
    with pytest.raises(TooManyCodesForMobile), transaction(container.sessions) as s:
        issue_code(s, mobile, client="c", at=NOW, policy=POLICY, key=KEY, sms=sms)
    assert purge(container, NOW + timedelta(hours=1)) == (POLICY.per_mobile_per_hour, 0)
    with transaction(container.sessions) as s:
        issue_code(s, mobile, client="c", at=NOW + timedelta(hours=1), policy=POLICY, key=KEY, sms=sms)


def test_edl_accounts_purge_deletes_and_says_how_many(container: Container) -> None:
    now = datetime.now(UTC)
    with transaction(container.sessions) as s:
        s.add(
            OtpChallengeRow(
                mobile="13800000001",
                client="c",
                code_mac="0" * 64,
                created_at=now - timedelta(hours=2),
                expires_at=now - timedelta(hours=2) + POLICY.ttl,
                attempts=0,
            )
        )
        open_session(s, SessionKind.STAFF, "staff1", at=now - timedelta(days=3), hours=12)
        open_session(s, SessionKind.STAFF, "staff1", at=now, hours=12)
    env = {
        "EDL_DATA_DIR": str(container.settings.data_dir),
        "EDL_DATABASE_URL": container.settings.resolved_database_url,
    }
    edl = typer.Typer()
    edl.add_typer(accounts_app, name="accounts")
    result = CliRunner().invoke(edl, ["accounts", "purge"], env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "deleted 1 expired sign-in codes, 1 ended sessions, 0 expired liveness challenges and 0 expired presentation "
        "requests and wallet offers\n"
    )
    assert code_ids(container) == set() and session_count(container) == 1


def test_the_server_purges_in_the_background_while_it_runs(container: Container) -> None:
    container.clock = lambda: NOW
    add_code(container, "13800000001", age=timedelta(hours=2))
    add_session(container, age=timedelta(days=3))
    app = create_app(container)
    install_purge(app, container, every=timedelta(seconds=0.05))
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        deadline = time.monotonic() + 10
        while (code_ids(container) or session_count(container)) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert code_ids(container) == set() and session_count(container) == 0


def test_a_served_app_freezes_what_start_up_made_out_of_the_garbage_collectors_way(container: Container) -> None:
    """`install_gc_freeze` (edl serve, edl.asgi:create): after start-up the long-lived objects are in the permanent
    generation, so a full collection no longer walks them; the app still answers."""
    import gc

    from edl.web.housekeeping import install_gc_freeze

    app = create_app(container)
    install_gc_freeze(app)
    gc.unfreeze()
    try:
        with TestClient(app) as client:
            assert gc.get_freeze_count() > 10_000  # the modules, the app, the container and their caches
            assert client.get("/healthz").json() == {"status": "ok"}
    finally:
        gc.unfreeze()  # the rest of the test run collects as usual


def test_presentation_requests_go_a_day_after_they_expire_and_their_check_stays_in_the_log(
    container: Container,
) -> None:
    """A request's result holds what the party was shown (a portrait among it): kept a day past expiry for the party
    to read, then deleted; the verification log is not touched."""
    from edl.verification.parties import register_party
    from edl.verification.purposes import Purpose

    with transaction(container.sessions) as s:
        party, _key = register_party(s, name="purge desk", purpose=Purpose.RENTAL, actor="test", at=NOW)
    service = container.presentations
    old = service.create(party, at=NOW - timedelta(days=2))
    recent = service.create(party, at=NOW - timedelta(hours=20))  # expired, but within the day's grace
    with transaction(container.sessions) as s:
        done = purge_expired(s, at=NOW)
    assert done.wallet == 1
    with container.sessions() as s:
        assert s.get(PresentationRequestRow, old.id) is None
        assert s.get(PresentationRequestRow, recent.id) is not None
