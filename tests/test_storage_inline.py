"""storage/inline.py: a batch's storage code run in SQLite's thread in one round trip gives what
it gives through aiosqlite, and code that awaits anything else is refused, writing nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from storage import Database
from storage.group_commit import GroupCommit


async def apply(conn: Any, names: Sequence[str]) -> list[tuple[int, int, str]]:
    out = []
    for name in names:
        cur = await conn.execute(
            "INSERT INTO departments (name, created_at) VALUES (?, '2026-01-01')", (name,)
        )
        async with conn.execute("SELECT COUNT(*) FROM departments") as counted:
            (count,) = await counted.fetchone()
        [row] = await conn.execute_fetchall(
            "SELECT name FROM departments WHERE id = ?", (cur.lastrowid,)
        )
        many = await conn.executemany(
            "UPDATE departments SET name = name WHERE id = ?", [(cur.lastrowid,)]
        )
        out.append((count, many.rowcount, row["name"]))
    return out


async def test_inline_gives_what_aiosqlite_gives(db: Database) -> None:
    plain = GroupCommit(db, apply)
    inline = GroupCommit(db, apply, inline=True)

    assert await asyncio.gather(*(plain.submit(n) for n in ("a", "b"))) == [
        (1, 1, "a"),
        (2, 1, "b"),
    ]
    assert await asyncio.gather(*(inline.submit(n) for n in ("c", "d", "e"))) == [
        (3, 1, "c"),
        (4, 1, "d"),
        (5, 1, "e"),
    ]
    assert inline.batches >= 1


async def test_inline_code_that_awaits_something_else_is_refused(db: Database) -> None:
    async def sleeps(conn: Any, names: Sequence[str]) -> list[None]:
        await conn.execute("INSERT INTO departments (name, created_at) VALUES ('x', '')")
        await asyncio.sleep(0)
        return [None for _ in names]

    with pytest.raises(RuntimeError, match="awaited something other than the database"):
        await GroupCommit(db, sleeps, inline=True).submit("x")
    async with db.read() as conn, conn.execute("SELECT COUNT(*) FROM departments") as cur:
        assert (await cur.fetchone())[0] == 0  # the transaction rolled back
