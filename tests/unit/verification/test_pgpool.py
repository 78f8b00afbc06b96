"""`SelectPool` with fake connections: at most `size` open, each lent for one statement; a connection whose statement
fails or is cancelled is terminated, one the server closed while idle is replaced when taken; a caller that leaves
while waiting never takes a connection (or the room to open one) with it. The real thing runs against PostgreSQL in
tests/integration/test_group_commit.py and tests/scaleout (restarts, cut connections)."""

from __future__ import annotations

import asyncio
import contextlib
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edl.verification.pgpool import PoolClosed, SelectPool


class FakeConn:
    def __init__(self, server: FakeServer, number: int) -> None:
        self.server = server
        self.number = number
        self.closed = False
        self.terminated = False
        self.busy = False

    def is_closed(self) -> bool:
        return self.closed

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        assert not self.closed, "a closed connection was lent"
        assert not self.busy, "a connection was lent twice at once"
        self.busy = True
        try:
            await asyncio.sleep(self.server.delay)
            if self.server.fail_next:
                self.server.fail_next = False
                raise ConnectionResetError("cut")
            return (self.number, sql, args)
        finally:
            self.busy = False

    async def close(self) -> None:
        self.closed = True

    def terminate(self) -> None:
        self.closed = self.terminated = True


class FakeServer:
    def __init__(self, delay: float = 0.001) -> None:
        self.delay = delay
        self.fail_next = False
        self.refuse_connections = False
        self.made: list[FakeConn] = []

    async def connect(self) -> FakeConn:
        await asyncio.sleep(0)
        if self.refuse_connections:
            raise ConnectionRefusedError("down")
        conn = FakeConn(self, len(self.made))
        self.made.append(conn)
        return conn

    def live(self) -> list[FakeConn]:
        return [c for c in self.made if not c.closed]


def test_at_most_size_connections_serve_many_concurrent_selects() -> None:
    server = FakeServer()
    pool = SelectPool(server.connect, 3)

    async def main() -> list[Any]:
        return await asyncio.gather(*(pool.fetchrow("SELECT", i) for i in range(40)))

    rows = asyncio.run(main())
    assert [r[2] for r in rows] == [(i,) for i in range(40)]
    assert len(server.made) == 3 and pool.open_connections == 3


def test_a_connection_the_server_closed_while_idle_is_replaced_not_lent() -> None:
    server = FakeServer()
    pool = SelectPool(server.connect, 2)

    async def main() -> None:
        await asyncio.gather(pool.fetchrow("SELECT", 1), pool.fetchrow("SELECT", 2))
        for conn in server.made:
            conn.closed = True  # a restart ended both while they sat idle
        rows = await asyncio.gather(pool.fetchrow("SELECT", 3), pool.fetchrow("SELECT", 4))
        assert {r[0] for r in rows} == {2, 3}  # two new connections, no error

    asyncio.run(main())
    assert pool.open_connections == 2


def test_a_failed_statement_terminates_its_connection_and_the_next_opens_a_fresh_one() -> None:
    server = FakeServer()
    pool = SelectPool(server.connect, 1)

    async def main() -> None:
        assert (await pool.fetchrow("SELECT"))[0] == 0
        server.fail_next = True
        with pytest.raises(ConnectionResetError):
            await pool.fetchrow("SELECT")
        assert server.made[0].terminated and pool.open_connections == 0
        assert (await pool.fetchrow("SELECT"))[0] == 1

    asyncio.run(main())


def test_a_select_cancelled_mid_statement_never_lends_its_connection_again() -> None:
    server = FakeServer(delay=0.05)
    pool = SelectPool(server.connect, 1)

    async def main() -> None:
        task = asyncio.create_task(pool.fetchrow("SELECT"))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert server.made[0].terminated and pool.open_connections == 0
        server.delay = 0
        assert (await pool.fetchrow("SELECT"))[0] == 1

    asyncio.run(main())


def _leave_while_handed(pool: SelectPool, hand: str) -> None:
    """One connection lent; two callers wait; the lent one is returned (`hand` "release") or dropped ("discard"),
    which hands the first waiter the connection or the room to open one, and that waiter is cancelled before it
    runs again: the second waiter must still be served."""

    async def main() -> None:
        conn = await pool._acquire()
        leaving = asyncio.create_task(pool.fetchrow("SELECT", 2))
        staying = asyncio.create_task(pool.fetchrow("SELECT", 3))
        await asyncio.sleep(0.005)  # both wait
        pool._release(conn) if hand == "release" else pool._discard(conn)
        leaving.cancel()
        with pytest.raises(asyncio.CancelledError):
            await leaving
        assert (await asyncio.wait_for(staying, 1.0))[2] == (3,)

    asyncio.run(main())


def test_a_waiter_that_leaves_just_as_it_is_handed_a_connection_passes_it_on() -> None:
    server = FakeServer(delay=0.01)
    pool = SelectPool(server.connect, 1)
    _leave_while_handed(pool, "release")
    assert len(server.made) == 1 and pool.open_connections == 1 and not server.made[0].closed


def test_a_waiter_that_leaves_with_the_room_to_open_one_passes_the_room_on() -> None:
    server = FakeServer(delay=0.01)
    pool = SelectPool(server.connect, 1)
    _leave_while_handed(pool, "discard")  # (its statement failed: there is room for a new connection)
    assert len(server.made) == 2 and pool.open_connections == 1


def test_a_connection_that_cannot_be_opened_is_an_error_and_frees_its_place() -> None:
    server = FakeServer()
    pool = SelectPool(server.connect, 1)

    async def main() -> None:
        server.refuse_connections = True
        with pytest.raises(ConnectionRefusedError):
            await pool.fetchrow("SELECT")
        assert pool.open_connections == 0
        server.refuse_connections = False
        assert (await pool.fetchrow("SELECT"))[0] == 0

    asyncio.run(main())


def test_closing_refuses_waiters_and_closes_lent_connections_when_they_return() -> None:
    server = FakeServer(delay=0.02)
    pool = SelectPool(server.connect, 1)

    async def main() -> None:
        lent = asyncio.create_task(pool.fetchrow("SELECT", 1))
        await asyncio.sleep(0.005)
        waiting = asyncio.create_task(pool.fetchrow("SELECT", 2))
        await asyncio.sleep(0)
        await pool.close()
        with pytest.raises(PoolClosed):
            await waiting
        assert (await lent)[2] == (1,)  # the statement in flight finishes ...
        assert server.made[0].closed and pool.open_connections == 0  # ... and its connection is not kept
        with pytest.raises(PoolClosed):
            await pool.fetchrow("SELECT", 3)

    asyncio.run(main())


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4), st.lists(st.sampled_from(["ok", "fail", "cancel", "close-idle"]), min_size=1, max_size=40))
def test_under_any_mix_of_outcomes_no_connection_is_lent_twice_or_leaked(size: int, plan: list[str]) -> None:
    server = FakeServer(delay=0.001)
    pool = SelectPool(server.connect, size)
    rng = random.Random(len(plan))

    async def one(step: str) -> None:
        await asyncio.sleep(rng.random() * 0.002)
        if step == "close-idle":
            for conn in server.made:
                if not conn.busy:
                    conn.closed = True
            return
        if step == "fail":
            server.fail_next = True
        task = asyncio.create_task(pool.fetchrow("SELECT", step))
        if step == "cancel":
            await asyncio.sleep(rng.random() * 0.002)
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionResetError):
            await task

    async def main() -> None:
        await asyncio.gather(*(one(step) for step in plan))
        assert pool.open_connections <= size
        assert pool.open_connections == len(server.live())  # every open connection is accounted for
        server.fail_next = False
        rows = await asyncio.wait_for(asyncio.gather(*(pool.fetchrow("SELECT", i) for i in range(2 * size))), 2.0)
        assert len(rows) == 2 * size  # nothing is stuck waiting for a connection that went away

    asyncio.run(main())
