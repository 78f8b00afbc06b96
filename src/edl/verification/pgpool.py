"""A minimal pool of asyncpg connections for the API's registry select: one statement per checkout, nothing else.

asyncpg's own `Pool` wraps each checkout in a holder, a proxy object and a release protocol made for connections that
callers use freely (transactions, listeners, a reset query); around a single prepared select that machinery cost
about as much client CPU as the select itself (measured: ~85–90 µs per checkout-and-select against ~42–52 µs for
the select alone; docs/benchmarks.md). The API's read path needs none of it: it borrows a connection for one
``fetchrow`` in autocommit and gives it back. So `SelectPool` keeps idle connections in a list and waiting callers in
a queue, and judges a connection by what happened to it:

- a connection that is closed when it is taken (the server restarted or ended it while it sat idle) is dropped and
  another one taken or opened, so the first request after a quiet restart is not the one to find out;
- a statement that fails, or is cancelled (the client went away mid-select), leaves its connection in a state nobody
  should guess: it is terminated, never returned; the next checkout opens a fresh one;
- at most `size` connections are open; callers beyond that wait, in order, for one to be returned or replaced.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any


class PoolClosed(Exception):
    """The pool was closed (the app is shutting down): no connection is handed out."""


class SelectPool:
    """At most `size` connections made by `connect`, each lent for one `fetchrow` at a time (see the module doc)."""

    def __init__(self, connect: Callable[[], Awaitable[Any]], size: int) -> None:
        if size < 1:
            raise ValueError("a pool needs at least one connection")
        self._connect = connect
        self._size = size
        self._idle: list[Any] = []
        self._waiters: deque[asyncio.Future[Any]] = deque()
        self._open = 0  # connections open or being opened, idle or lent
        self._closed = False

    @property
    def open_connections(self) -> int:
        """Connections open or being opened (tests)."""
        return self._open

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        """``conn.fetchrow(sql, *args)`` on a pooled connection; the connection is terminated if the call fails."""
        conn = await self._acquire()
        try:
            record = await conn.fetchrow(sql, *args)
        except BaseException:
            self._discard(conn)  # failed, timed out or cancelled mid-statement: never lent again
            raise
        self._release(conn)
        return record

    async def _acquire(self) -> Any:
        while True:
            if self._closed:
                raise PoolClosed("the connection pool is closed")
            while self._idle:
                conn = self._idle.pop()
                if not conn.is_closed():
                    return conn
                self._open -= 1  # ended by the server while idle: dropped, not lent
            if self._open < self._size:
                self._open += 1
                try:
                    return await self._connect()
                except BaseException:
                    self._open -= 1
                    self._wake_one()  # a waiter may now open the connection this call could not
                    raise
            waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                conn = await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():  # handed over just as the caller left: pass it on
                    handed = waiter.result()
                    if handed is not None:
                        self._release(handed)
                    else:
                        self._wake_one()  # (room to open one: the next waiter gets it)
                raise
            if conn is not None:
                return conn
            # None: a connection was dropped, so there is room to open one: go round again

    def _release(self, conn: Any) -> None:
        if self._closed or conn.is_closed():
            self._discard(conn)
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        self._idle.append(conn)

    def _discard(self, conn: Any) -> None:
        conn.terminate()
        self._open -= 1
        self._wake_one()

    def _wake_one(self) -> None:
        """Tell the first waiter there is room for a new connection."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def close(self) -> None:
        """Close the idle connections; lent ones are closed when returned; waiters are refused."""
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            self._open -= 1
            try:
                await asyncio.wait_for(conn.close(), 1.0)
            except Exception:
                conn.terminate()
        self._refuse_waiters()

    def terminate(self) -> None:
        """Abort the idle connections without waiting (no event loop needed); lent ones go when returned."""
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            self._open -= 1
            conn.terminate()
        self._refuse_waiters()

    def _refuse_waiters(self) -> None:
        waiters, self._waiters = self._waiters, deque()
        for waiter in waiters:
            if not waiter.done():
                try:
                    waiter.set_exception(PoolClosed("the connection pool is closed"))
                except RuntimeError:  # (its event loop is closed: nobody is waiting any more)
                    continue


__all__ = ["PoolClosed", "SelectPool"]
