"""Group commit on a real SQLite file: batching, one bad item failing alone, cancellation."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import aiosqlite
import pytest

from storage import Database
from storage.group_commit import GroupCommit

NOW = "2026-01-12T09:00:00.000000Z"


async def add_departments(conn: aiosqlite.Connection, names: Sequence[str | None]) -> list[int]:
    """The batch function under test: one department per item, its id as the result."""
    ids = []
    for name in names:
        cursor = await conn.execute(
            "INSERT INTO departments (name, created_at) VALUES (?, ?)", (name, NOW)
        )
        assert cursor.lastrowid is not None
        ids.append(cursor.lastrowid)
    return ids


async def names_in(db: Database) -> set[str]:
    async with db.read() as conn:
        rows = await conn.execute_fetchall("SELECT name FROM departments")
    return {row["name"] for row in rows}


async def test_concurrent_items_share_transactions(db: Database) -> None:
    group = db.group_commit(add_departments)
    names = [f"Dept {i}" for i in range(50)]

    ids = await asyncio.gather(*(group.submit(name) for name in names))

    assert len(set(ids)) == 50
    assert await names_in(db) == set(names)
    # The first caller writes alone; everyone who queued meanwhile goes in the next batch.
    assert group.items == 50
    assert group.batches <= 3


async def test_one_queue_per_function(db: Database) -> None:
    assert db.group_commit(add_departments) is db.group_commit(add_departments)


async def test_a_single_caller_writes_at_once(db: Database) -> None:
    group = db.group_commit(add_departments)
    for name in ("Sales", "Warehouse"):
        await group.submit(name)
    assert group.batches == 2
    assert await names_in(db) == {"Sales", "Warehouse"}


async def test_a_bad_item_fails_alone(db: Database) -> None:
    group = db.group_commit(add_departments)
    items: list[str | None] = [f"Dept {i}" for i in range(10)]
    items[4] = None  # NOT NULL: this one cannot be written
    items[7] = "Dept 1"  # UNIQUE: neither can this one

    results = await asyncio.gather(*(group.submit(i) for i in items), return_exceptions=True)

    assert isinstance(results[4], sqlite3.IntegrityError)
    assert isinstance(results[7], sqlite3.IntegrityError)
    assert all(isinstance(r, int) for i, r in enumerate(results) if i not in (4, 7))
    assert await names_in(db) == {f"Dept {i}" for i in range(10) if i not in (4, 7)}


async def test_results_arrive_only_after_commit(db: Database) -> None:
    seen_by_reader: list[set[str]] = []

    async def add_and_look(conn: aiosqlite.Connection, names: Sequence[str]) -> list[int]:
        ids = await add_departments(conn, names)
        seen_by_reader.append(await names_in(db))  # another connection: not committed yet
        return ids

    await asyncio.gather(*(db.group_commit(add_and_look).submit(n) for n in ("A", "B")))
    assert seen_by_reader[0] == set()
    assert await names_in(db) == {"A", "B"}


class Gate:
    """A batch function that stops inside its transaction until that call is released."""

    def __init__(self) -> None:
        self.calls: list[asyncio.Event] = []  # one release per call
        self.entered = asyncio.Condition()

    async def __call__(self, conn: aiosqlite.Connection, names: Sequence[str]) -> list[int]:
        ids = await add_departments(conn, names)
        release = asyncio.Event()
        async with self.entered:
            self.calls.append(release)
            self.entered.notify_all()
        await release.wait()
        return ids

    async def wait_inside(self, calls: int) -> asyncio.Event:
        """Wait until the n-th call is inside its transaction; its release event."""
        async with self.entered:
            await self.entered.wait_for(lambda: len(self.calls) >= calls)
        return self.calls[calls - 1]


async def test_a_cancelled_waiter_is_dropped_and_the_queue_goes_on(db: Database) -> None:
    gate = Gate()
    group: GroupCommit[str, int] = db.group_commit(gate)
    first = asyncio.create_task(group.submit("First"))
    release_first = await gate.wait_inside(1)
    waiting = asyncio.create_task(group.submit("Cancelled"))
    last = asyncio.create_task(group.submit("Last"))
    await asyncio.sleep(0)
    waiting.cancel()
    release_first.set()
    (await gate.wait_inside(2)).set()

    await asyncio.wait_for(asyncio.gather(first, last), 5)
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert await names_in(db) == {"First", "Last"}


async def test_a_writer_cancelled_mid_transaction_hands_the_others_on(db: Database) -> None:
    gate = Gate()
    group: GroupCommit[str, int] = db.group_commit(gate)
    blocker = asyncio.create_task(group.submit("Blocker"))
    release_blocker = await gate.wait_inside(1)
    # These two queue behind the blocker and go in one batch, written by the first of them.
    writer = asyncio.create_task(group.submit("Writer"))
    other = asyncio.create_task(group.submit("Other"))
    await asyncio.sleep(0)
    release_blocker.set()
    await blocker
    await gate.wait_inside(2)  # the writer's batch is inside its transaction now
    writer.cancel()  # e.g. the bot stopping

    with pytest.raises(asyncio.CancelledError):
        await writer
    # The transaction rolled back; the other caller's item goes round again and is written.
    (await gate.wait_inside(3)).set()
    assert await asyncio.wait_for(other, 5) > 0
    assert await names_in(db) == {"Blocker", "Other"}


async def test_a_locked_database_fails_the_batch_at_once(tmp_path: Path) -> None:
    """Another process holds the write lock: every caller hears it after one busy timeout."""
    db = Database(tmp_path / "bot.sqlite3", busy_timeout_ms=100)
    await db.open(process_lock=False)
    other = sqlite3.connect(db.path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        group = db.group_commit(add_departments)
        started = asyncio.get_running_loop().time()
        results = await asyncio.gather(
            *(group.submit(f"Dept {i}") for i in range(20)), return_exceptions=True
        )
        elapsed = asyncio.get_running_loop().time() - started
        other.execute("ROLLBACK")
        assert all(isinstance(r, sqlite3.OperationalError) for r in results)
        assert elapsed < 1.5  # two busy timeouts (two batches), not twenty
        assert await names_in(db) == set()
    finally:
        other.close()
        await db.close()
