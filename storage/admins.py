"""The admins added in the bot, their log, and the one-time /claim codes."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from storage.timestamps import to_db


async def stored_admins(conn: aiosqlite.Connection) -> frozenset[int]:
    async with conn.execute("SELECT telegram_id FROM admins") as cur:
        return frozenset(r[0] for r in await cur.fetchall())


async def add_admin(
    conn: aiosqlite.Connection, telegram_id: int, added_by: int | None, now: datetime
) -> bool:
    cur = await conn.execute(
        "INSERT OR IGNORE INTO admins (telegram_id, added_by, added_at) VALUES (?, ?, ?)",
        (telegram_id, added_by, to_db(now)),
    )
    return cur.rowcount == 1


async def remove_admin(conn: aiosqlite.Connection, telegram_id: int) -> bool:
    cur = await conn.execute("DELETE FROM admins WHERE telegram_id = ?", (telegram_id,))
    return cur.rowcount == 1


async def log(
    conn: aiosqlite.Connection, actor_id: int, action: str, target_id: int, now: datetime
) -> None:
    await conn.execute(
        "INSERT INTO admin_log (actor_id, action, target_id, at) VALUES (?, ?, ?, ?)",
        (actor_id, action, target_id, to_db(now)),
    )


async def insert_claim(conn: aiosqlite.Connection, code_hash: str, now: datetime) -> None:
    await conn.execute(
        "INSERT INTO admin_claims (code_hash, created_at) VALUES (?, ?)", (code_hash, to_db(now))
    )


async def use_claim(
    conn: aiosqlite.Connection, code_hash: str, user_id: int, now: datetime
) -> bool:
    """Mark the code used by this person; False for an unknown or used code."""
    cur = await conn.execute(
        "UPDATE admin_claims SET used_by = ?, used_at = ? WHERE code_hash = ? AND used_at IS NULL",
        (user_id, to_db(now), code_hash),
    )
    return cur.rowcount == 1
