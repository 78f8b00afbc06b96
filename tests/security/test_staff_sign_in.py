"""Staff sign-in reveals no username and cannot be used to lock anyone out (SQLite and PostgreSQL).

Finding replayed: the staff sign-in answered 429 "locked" only for real accounts (so it told which usernames exist),
anyone could lock any account with five wrong passwords, and there was no throttle per client address.

The design (docs/_scopes_draft.md, `edl.accounts.throttle`): refusals are counted from the audit log per client
address (20 in 15 minutes), per username and address (5), and per username from all addresses (50, not applied to
an address the user signed in from in the last 30 days). The typed username counts whether it exists or not, and
every throttle gives the same answer, so nothing tells real usernames apart; failures from one address never stop
the owner signing in from another.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from edl.accounts import disable_staff_user
from edl.accounts import staff as staff_module
from edl.audit import Action, ActorKind, record
from edl.bootstrap import Container
from edl.db.models import AuditRow
from edl.db.session import transaction
from edl.web import create_app
from tests.auth_helpers import TEST_STAFF_PASSWORD, Clock, csrf_of, make_staff_user

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 16, 2, 0, tzinfo=UTC)
ATTACKER, OWNER, ELSEWHERE = "203.0.113.66", "198.51.100.7", "192.0.2.10"
_VARYING = re.compile(r'name="csrf" value="[^"]+"')


@pytest.fixture
def clock(container: Container) -> Clock:
    c = Clock(NOW)
    container.clock = c
    return c


@contextmanager
def browser(container: Container, address: str) -> Iterator[TestClient]:
    with TestClient(create_app(container), follow_redirects=False, client=(address, 40000)) as c:
        yield c


def attempt(client: TestClient, username: str, password: str) -> httpx.Response:
    token = csrf_of(client, "/review/sign-in")
    response: httpx.Response = client.post(
        "/review/sign-in", data={"csrf": token, "username": username, "password": password}
    )
    return response


def page(response: httpx.Response, username: str) -> str:
    """The answer's page with the echoed username and the CSRF token taken out (all else must be identical)."""
    return _VARYING.sub("", response.text).replace(f'value="{username}"', 'value=""')


def same_answer(a: httpx.Response, a_name: str, b: httpx.Response, b_name: str) -> None:
    assert a.status_code == b.status_code
    assert a.headers.get("retry-after") == b.headers.get("retry-after")
    assert page(a, a_name) == page(b, b_name)
    assert "edl_staff" not in a.headers.get("set-cookie", "") + b.headers.get("set-cookie", "")


@pytest.fixture
def people(container: Container, clock: Clock) -> None:
    make_staff_user(container, "rev1", "reviewer", ["370200"])
    make_staff_user(container, "gone", "reviewer", ["370200"])
    with transaction(container.sessions) as s:
        disable_staff_user(s, "gone", actor_kind=ActorKind.CLI, actor="tests", at=NOW)


def test_unknown_real_and_disabled_usernames_get_identical_answers_before_and_after_the_throttle(
    container: Container, people: None
) -> None:
    with browser(container, ATTACKER) as client:
        rounds = [
            (
                attempt(client, "rev1", f"wrong-{i}"),
                attempt(client, "ghost", f"wrong-{i}"),
                attempt(client, "gone", "x"),
            )
            for i in range(5)
        ]
        for real, unknown, disabled in rounds:
            assert real.status_code == 401 and "用户名或密码错误" in real.text
            same_answer(real, "rev1", unknown, "ghost")
            same_answer(real, "rev1", disabled, "gone")
        # the sixth try: the same throttle for all three, even with the real account's right password
        real = attempt(client, "rev1", TEST_STAFF_PASSWORD)
        unknown = attempt(client, "ghost", TEST_STAFF_PASSWORD)
        disabled = attempt(client, "gone", TEST_STAFF_PASSWORD)
    assert real.status_code == 429 and "登录尝试次数过多，请 15 分钟后再试" in real.text
    assert "锁定" not in real.text and "locked" not in real.text.lower()
    same_answer(real, "rev1", unknown, "ghost")
    same_answer(real, "rev1", disabled, "gone")


def test_the_same_password_work_is_done_for_unknown_and_real_usernames(
    container: Container, people: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks: list[str] = []
    real_check = staff_module.password_matches

    def counting(password: str, stored: str) -> bool:
        checks.append(stored[:6])
        return real_check(password, stored)

    monkeypatch.setattr(staff_module, "password_matches", counting)
    with browser(container, ATTACKER) as client:
        for name in ("rev1", "ghost", "gone"):
            attempt(client, name, "wrong password")
            attempt(client, name, "x" * 300)  # over-long: refused for a real name only after the same hash work
    assert checks == ["scrypt"] * 6  # one scrypt each: the unknown name is checked against a dummy hash


def test_twenty_failures_from_one_address_throttle_every_sign_in_from_it(
    container: Container, people: None, clock: Clock
) -> None:
    with browser(container, ATTACKER) as attacker:
        answers = [attempt(attacker, f"guess{i:02d}", "password123456") for i in range(20)]
        assert [a.status_code for a in answers] == [401] * 20
        blocked = attempt(attacker, "rev1", TEST_STAFF_PASSWORD)  # a real account, right password, same address
        assert blocked.status_code == 429 and "登录尝试次数过多" in blocked.text
        assert int(blocked.headers["retry-after"]) == 15 * 60
    with browser(container, OWNER) as owner:  # another address is not affected
        assert attempt(owner, "rev1", TEST_STAFF_PASSWORD).status_code == 303
    clock.advance(minutes=15)
    with browser(container, ATTACKER) as attacker:  # the throttle ends with the window
        assert attempt(attacker, "rev1", TEST_STAFF_PASSWORD).status_code == 303


def test_an_attacker_cannot_lock_the_owner_out_from_another_address(
    container: Container, people: None, clock: Clock
) -> None:
    with browser(container, ATTACKER) as attacker:
        answers = [attempt(attacker, "rev1", f"guess-{i}").status_code for i in range(12)]
    assert answers == [401] * 5 + [429] * 7  # the attacker's address is throttled for this username
    with browser(container, OWNER) as owner:
        assert attempt(owner, "rev1", TEST_STAFF_PASSWORD).status_code == 303
    with container.sessions() as s:
        outcomes = list(
            s.scalars(sa.select(AuditRow.outcome).where(AuditRow.action == "sign_in_failed").order_by(AuditRow.id))
        )
    assert outcomes == ["refused"] * 5 + ["throttled"] * 7  # every attempt audited; only checked ones counted


def test_a_spread_attack_throttles_the_username_for_new_addresses_but_not_the_owners_own(
    container: Container, people: None, clock: Clock
) -> None:
    with browser(container, OWNER) as owner:  # the owner signed in from here last week
        clock.advance(days=-7)
        assert attempt(owner, "rev1", TEST_STAFF_PASSWORD).status_code == 303
        clock.advance(days=7)
    for n in range(10):  # 10 addresses × 5 guesses = 50 for rev1, and the same for an unknown name
        with browser(container, f"203.0.113.{n + 1}") as bot:
            for i in range(5):
                assert attempt(bot, "rev1", f"guess-{i}").status_code == 401
                assert attempt(bot, "ghost", f"guess-{i}").status_code == 401
    with browser(container, ELSEWHERE) as stranger:
        real = attempt(stranger, "rev1", TEST_STAFF_PASSWORD)
        unknown = attempt(stranger, "ghost", TEST_STAFF_PASSWORD)
    assert real.status_code == 429
    same_answer(real, "rev1", unknown, "ghost")
    with browser(container, OWNER) as owner:
        assert attempt(owner, "rev1", TEST_STAFF_PASSWORD).status_code == 303


def test_a_success_starts_the_count_for_that_address_and_username_again(
    container: Container, people: None, clock: Clock
) -> None:
    with browser(container, OWNER) as owner:
        for _ in range(4):
            assert attempt(owner, "rev1", "typo").status_code == 401
        assert attempt(owner, "rev1", TEST_STAFF_PASSWORD).status_code == 303
        for _ in range(4):
            assert attempt(owner, "rev1", "typo").status_code == 401
        assert attempt(owner, "rev1", TEST_STAFF_PASSWORD).status_code == 303


def test_the_throttle_is_shared_through_the_database_by_every_server(
    container: Container, people: None, clock: Clock
) -> None:
    """Refusals another app server recorded (audit rows) count here too: nothing is kept in one process."""
    with transaction(container.sessions) as s:
        for i in range(20):
            record(
                s,
                at=NOW - timedelta(minutes=1),
                actor_kind=ActorKind.STAFF,
                actor=f"guess{i}",
                action=Action.SIGN_IN_FAILED,
                subject=f"guess{i}",
                outcome="refused",
                detail={"reason": "unknown_user"},
                client=ATTACKER,
            )
    with browser(container, ATTACKER) as attacker:
        r = attempt(attacker, "rev1", TEST_STAFF_PASSWORD)
    assert r.status_code == 429 and r.headers["retry-after"] == str(14 * 60)
