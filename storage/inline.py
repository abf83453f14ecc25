"""Run a batch's async storage code in SQLite's own thread, in one round trip.

Every `await conn.execute(...)` on an aiosqlite connection is a hop to its thread and back to
the event loop. Under a crowd (16 webhook senders) the way back waits its turn behind the other
requests' HTTP work, so a transaction of twenty statements stays open twenty loop turns, and
the one writer is busy waiting rather than writing (bench/ingest.py: 95% of the run inside
transactions). `InlineConnection` offers the part of aiosqlite's API the storage modules use
(`execute` awaited or as `async with`, `executemany`, `execute_fetchall`; cursors' `fetchone`,
`fetchall`, `rowcount`, `lastrowid`) over the plain sqlite3 connection, without suspending;
`run_inline` runs such a coroutine to its end in one go, inside that thread. The same storage
functions serve both: nothing is written twice.

Only for code that awaits nothing but the connection: anything else (a sleep, a lock, the
network) cannot be awaited without an event loop, and is refused with RuntimeError.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Coroutine, Generator, Iterable
from typing import Any, TypeVar

T = TypeVar("T")


class InlineCursor:
    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def close(self) -> None:
        self._cursor.close()

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()


class _Statement:
    """What `execute` returns: awaited, a cursor; used with `async with`, a cursor closed after
    (as aiosqlite's own)."""

    __slots__ = ("_cursor", "_run")

    def __init__(self, run: Callable[[], sqlite3.Cursor]) -> None:
        self._run = run
        self._cursor: InlineCursor | None = None

    def __await__(self) -> Generator[Any, None, InlineCursor]:
        return self._start().__await__()

    async def _start(self) -> InlineCursor:
        return InlineCursor(self._run())

    async def __aenter__(self) -> InlineCursor:
        self._cursor = InlineCursor(self._run())
        return self._cursor

    async def __aexit__(self, *exc: object) -> None:
        if self._cursor is not None:
            await self._cursor.close()


class InlineConnection:
    """aiosqlite's connection API over a plain sqlite3 connection, in its own thread."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    @property
    def row_factory(self) -> Any:
        return self._conn.row_factory

    def execute(self, sql: str, parameters: Iterable[Any] | dict[str, Any] = ()) -> _Statement:
        return _Statement(lambda: self._conn.execute(sql, parameters))

    def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> _Statement:
        return _Statement(lambda: self._conn.executemany(sql, rows))

    async def execute_fetchall(
        self, sql: str, parameters: Iterable[Any] | dict[str, Any] = ()
    ) -> list[Any]:
        return self._conn.execute(sql, parameters).fetchall()


def run_inline(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends to its result (raising what it raises)."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coroutine.close()
    raise RuntimeError("inline storage code awaited something other than the database")


async def in_writer_thread(
    conn: Any, apply: Callable[[InlineConnection], Coroutine[Any, Any, T]]
) -> T:
    """`apply(inline connection)` run in the aiosqlite connection's thread: one round trip.

    Uses aiosqlite's `_execute` (queue a function for its thread) and `_conn` (the sqlite3
    connection), private (aiosqlite 0.22); the purchases tests run through it.
    """
    return await conn._execute(lambda: run_inline(apply(InlineConnection(conn._conn))))
