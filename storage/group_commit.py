"""Group commit: many small concurrent write transactions of one kind written as one.

Why: every statement on the writer connection is a hop to aiosqlite's thread and back
(and a GIL hand-over), and the write lock serialises the transactions, so under load a busy
bot spends its time queueing for the lock rather than writing. `bench/throughput.py` (2,000
employees answering at once) measured 15 such hops per survey answer; batched, a whole queue
of answers costs four (BEGIN, one read, one executemany, COMMIT).

How: callers `submit(item)` and wait. Whoever finds nobody writing becomes the writer: it
takes everything queued so far (up to `max_batch`), runs `apply(conn, items)` inside one
`db.write()` transaction, hands each caller its own result once the transaction has
committed, then passes the turn to the oldest caller still waiting, if any. There is no
background task to start or stop: the writing happens in the callers' own tasks, and with no
concurrency (the tests' sequential dispatcher) every batch is a batch of one.

`apply` gets the items in arrival order and returns one result per item; it must treat them
as if they had been written one after another (a later item sees an earlier one's effect).
If the batch's transaction fails because of an item (a constraint, a bad value), each item is
retried in a transaction of its own, so one bad item fails alone and the others are written;
if the database itself fails (locked, busy, disk full), every caller of the batch gets that
error at once.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from storage.inline import in_writer_thread

if TYPE_CHECKING:
    import aiosqlite

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

BatchApply = Callable[["aiosqlite.Connection", Sequence[T]], Awaitable[Sequence[R]]]

MAX_BATCH = 256


class _Entry(Generic[T, R]):
    __slots__ = ("error", "finished", "item", "result", "wake")

    def __init__(self, item: T, wake: asyncio.Future[None]) -> None:
        self.item = item
        self.wake = wake  # set when the item is written, or when it is this caller's turn
        self.finished = False
        self.result: R | None = None
        self.error: BaseException | None = None

    def finish(self, result: R | None = None, error: BaseException | None = None) -> None:
        self.result, self.error, self.finished = result, error, True
        if not self.wake.done():
            self.wake.set_result(None)

    def outcome(self) -> R:
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]


class Writer(Protocol):
    """What a group commit needs of the database (storage.db.Database): one write transaction."""

    def write(self) -> AbstractAsyncContextManager[aiosqlite.Connection]: ...


class GroupCommit(Generic[T, R]):
    def __init__(
        self,
        db: Writer,
        apply: BatchApply[T, R],
        *,
        max_batch: int = MAX_BATCH,
        inline: bool = False,
    ) -> None:
        self._db = db
        self._apply = apply
        # inline: `apply` runs in SQLite's thread in one round trip (storage/inline.py), for
        # an apply that awaits nothing but the connection.
        self._inline = inline
        self.max_batch = max_batch
        self._pending: deque[_Entry[T, R]] = deque()
        self._writer: _Entry[T, R] | None = None  # whose task writes the next batch
        # What the benchmark reports: transactions, items in them, seconds spent in them.
        self.batches = 0
        self.items = 0
        self.seconds = 0.0

    async def submit(self, item: T) -> R:
        """Write `item` (with whatever else is queued) and return its result."""
        entry: _Entry[T, R] = _Entry(item, asyncio.get_running_loop().create_future())
        self._pending.append(entry)
        if self._writer is None:
            self._writer = entry
        else:
            try:
                await entry.wake
            except asyncio.CancelledError:
                self._abandon(entry)
                raise
        if not entry.finished:  # woken for our turn: our item is first in the queue
            await self._write_next_batch(entry)
        return entry.outcome()

    def _abandon(self, entry: _Entry[T, R]) -> None:
        """A waiting caller was cancelled: drop its item unless it is already being written."""
        if entry in self._pending:
            self._pending.remove(entry)
        if self._writer is entry:
            self._pass_turn()

    def _pass_turn(self) -> None:
        while self._pending:
            candidate = self._pending[0]
            if candidate.wake.done():  # cancelled while waiting; its task will not write
                self._pending.popleft()
                continue
            self._writer = candidate
            candidate.wake.set_result(None)
            return
        self._writer = None

    async def _write_next_batch(self, me: _Entry[T, R]) -> None:
        count = min(len(self._pending), self.max_batch)
        batch = [self._pending.popleft() for _ in range(count)]
        try:
            await self._write(batch)
        except BaseException:
            # Cancelled mid-transaction (shutdown): it rolled back, so the others' items go
            # back to the front of the queue for the next writer.
            self._pending.extendleft(reversed([e for e in batch if e is not me and not e.finished]))
            raise
        finally:
            self._pass_turn()

    async def _run(self, conn: aiosqlite.Connection, items: list[T]) -> Sequence[R]:
        if not self._inline:
            return await self._apply(conn, items)
        return await in_writer_thread(conn, lambda inline: self._apply(inline, items))  # type: ignore[arg-type]

    async def _write(self, batch: list[_Entry[T, R]]) -> None:
        started = time.perf_counter()
        try:
            async with self._db.write() as conn:
                results = await self._run(conn, [e.item for e in batch])
                if len(results) != len(batch):
                    raise RuntimeError(
                        f"apply returned {len(results)} results for {len(batch)} items"
                    )
        except Exception as exc:
            if len(batch) == 1 or isinstance(exc, sqlite3.OperationalError):
                # Locked, busy, disk full: the database's trouble, not one item's; everyone
                # hears it now rather than after a busy timeout each.
                for entry in batch:
                    entry.finish(error=exc)
                return
            log.warning("a batch of %d writes failed (%s); retrying one by one", len(batch), exc)
            for entry in batch:
                try:
                    async with self._db.write() as conn:
                        (result,) = await self._run(conn, [entry.item])
                except Exception as single_exc:
                    entry.finish(error=single_exc)
                else:
                    entry.finish(result)
            return
        self.batches += 1
        self.items += len(batch)
        self.seconds += time.perf_counter() - started
        for entry, result in zip(batch, results, strict=True):
            entry.finish(result)
