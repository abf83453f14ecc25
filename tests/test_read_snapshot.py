"""storage.db's readers: two reads run at once, and `snapshot()` gives two connections that see
one and the same committed state, whatever the writer commits while they start.

The adversary is a writer committing one row after another, as fast as it can, while snapshots
are taken at moments hypothesis picks: both connections of every snapshot must count the same
rows. Without the gate that holds commits back while `snapshot()` starts its readers, or without
its wait for a commit under way, the two readers see different commits within a few tries.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage import Database

INSERT = "INSERT INTO departments (name, created_at) VALUES (?, '2026-01-01')"


async def _count(conn: object) -> int:
    async with conn.execute("SELECT COUNT(*) FROM departments") as cur:  # type: ignore[attr-defined]
        (n,) = await cur.fetchone()
    return int(n)


async def _keep_writing(db: Database, stop: asyncio.Event) -> int:
    written = 0
    while not stop.is_set():
        async with db.write() as conn:
            await conn.execute(INSERT, (f"d{written}",))
        written += 1
    return written


async def test_two_reads_run_at_once(db: Database) -> None:
    # With one reader the second would wait for the first to end: for ever.
    async with db.read() as first, asyncio.timeout(5), db.read() as second:
        assert first is not second
        assert await _count(second) == 0


async def test_a_read_sees_the_state_of_its_start(db: Database) -> None:
    async with db.read() as conn:
        before = await _count(conn)
        async with db.write() as writer:
            await writer.execute(INSERT, ("late",))
        assert await _count(conn) == before
    async with db.read() as conn:
        assert await _count(conn) == before + 1


@settings(max_examples=40)
@given(pauses=st.lists(st.integers(min_value=0, max_value=6), min_size=1, max_size=8))
def test_both_readers_of_a_snapshot_see_the_same_commits(
    tmp_path_factory: pytest.TempPathFactory, pauses: list[int]
) -> None:
    async def scenario(path: Path) -> None:
        db = Database(path)
        await db.open(process_lock=False)
        stop = asyncio.Event()
        writer = asyncio.create_task(_keep_writing(db, stop))
        try:
            for pause in pauses:
                for _ in range(pause):  # let the writer run a few steps first
                    await asyncio.sleep(0)
                async with db.snapshot() as (first, second):
                    seen = await _count(first), await _count(second)
                assert seen[0] == seen[1], f"one snapshot, two states: {seen}"
        finally:
            stop.set()
            written = await writer
            await db.close()
        assert written > 0

    asyncio.run(scenario(tmp_path_factory.mktemp("snap") / "bot.sqlite3"))


async def test_snapshots_and_reads_in_a_crowd_all_finish(db: Database) -> None:
    async with db.write() as conn:
        await conn.execute(INSERT, ("one",))

    async def pair() -> tuple[int, int]:
        async with db.snapshot() as (first, second):
            await asyncio.sleep(0)
            return await _count(first), await _count(second)

    async def single() -> int:
        async with db.read() as conn:
            await asyncio.sleep(0)
            return await _count(conn)

    async with asyncio.timeout(20):
        results = await asyncio.gather(*(pair() if i % 3 else single() for i in range(30)))
    assert all(r in (1, (1, 1)) for r in results)


async def test_a_failure_inside_gives_the_readers_back(db: Database) -> None:
    with contextlib.suppress(RuntimeError):
        async with db.snapshot() as (first, _):
            await _count(first)
            raise RuntimeError("a report that failed")
    with contextlib.suppress(RuntimeError):
        async with db.read():
            raise RuntimeError("a page that failed")
    async with asyncio.timeout(5), db.snapshot() as (first, second):
        assert (await _count(first), await _count(second)) == (0, 0)


async def test_nothing_is_read_once_closed(tmp_path: Path) -> None:
    db = Database(tmp_path / "bot.sqlite3")
    await db.open(process_lock=False)
    await db.close()
    with pytest.raises(RuntimeError, match="not open"):
        async with db.snapshot():
            pass
    with pytest.raises(RuntimeError, match="not open"):
        async with db.read():
            pass
