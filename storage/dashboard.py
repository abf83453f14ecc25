"""The dashboard's tables: sign-in links, sessions, the action log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage.timestamps import from_db
from storage.timestamps import to_db as _ts


def _dt(text: str | None) -> datetime | None:
    return from_db(text) if text else None


@dataclass(frozen=True)
class StoredLink:
    admin_id: int
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True)
class StoredSession:
    admin_id: int
    csrf_token: str
    via: str
    expires_at: datetime
    ended_at: datetime | None


async def insert_link(
    conn: aiosqlite.Connection, token_hash: str, admin_id: int, now: datetime, expires: datetime
) -> None:
    await conn.execute(
        "INSERT INTO dashboard_links (token_hash, admin_id, created_at, expires_at) "
        "VALUES (?, ?, ?, ?)",
        (token_hash, admin_id, _ts(now), _ts(expires)),
    )


async def get_link(conn: aiosqlite.Connection, token_hash: str) -> StoredLink | None:
    async with conn.execute(
        "SELECT admin_id, expires_at, used_at FROM dashboard_links WHERE token_hash = ?",
        (token_hash,),
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return None
    return StoredLink(row["admin_id"], _dt(row["expires_at"]), _dt(row["used_at"]))  # type: ignore[arg-type]


async def use_link(conn: aiosqlite.Connection, token_hash: str, now: datetime) -> bool:
    """Mark the link used; False when it already was (two browsers racing for one link)."""
    cur = await conn.execute(
        "UPDATE dashboard_links SET used_at = ? WHERE token_hash = ? AND used_at IS NULL",
        (_ts(now), token_hash),
    )
    return cur.rowcount == 1


async def insert_session(
    conn: aiosqlite.Connection,
    id_hash: str,
    admin_id: int,
    csrf_token: str,
    via: str,
    now: datetime,
    expires: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO dashboard_sessions (id_hash, admin_id, csrf_token, via, created_at, "
        "expires_at) VALUES (?, ?, ?, ?, ?, ?)",
        (id_hash, admin_id, csrf_token, via, _ts(now), _ts(expires)),
    )


async def get_session(conn: aiosqlite.Connection, id_hash: str) -> StoredSession | None:
    async with conn.execute(
        "SELECT admin_id, csrf_token, via, expires_at, ended_at FROM dashboard_sessions "
        "WHERE id_hash = ?",
        (id_hash,),
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return None
    return StoredSession(
        row["admin_id"],
        row["csrf_token"],
        row["via"],
        _dt(row["expires_at"]),  # type: ignore[arg-type]
        _dt(row["ended_at"]),
    )


async def end_session(conn: aiosqlite.Connection, id_hash: str, now: datetime) -> bool:
    cur = await conn.execute(
        "UPDATE dashboard_sessions SET ended_at = ? WHERE id_hash = ? AND ended_at IS NULL",
        (_ts(now), id_hash),
    )
    return cur.rowcount == 1


async def purge_expired(conn: aiosqlite.Connection, now: datetime) -> int:
    """Forget links and sessions past their expiry (the action log stays)."""
    stamp = _ts(now)
    links = await conn.execute("DELETE FROM dashboard_links WHERE expires_at < ?", (stamp,))
    sessions = await conn.execute("DELETE FROM dashboard_sessions WHERE expires_at < ?", (stamp,))
    return links.rowcount + sessions.rowcount


async def record_action(
    conn: aiosqlite.Connection, admin_id: int, action: str, detail: str | None, now: datetime
) -> None:
    await conn.execute(
        "INSERT INTO dashboard_actions (admin_id, action, detail, at) VALUES (?, ?, ?, ?)",
        (admin_id, action, detail, _ts(now)),
    )


@dataclass(frozen=True)
class Action:
    admin_id: int
    action: str
    detail: str | None
    at: datetime


async def actions(conn: aiosqlite.Connection, *, limit: int = 100) -> list[Action]:
    async with conn.execute(
        "SELECT admin_id, action, detail, at FROM dashboard_actions ORDER BY id DESC LIMIT ?",
        (limit,),
    ) as cur:
        rows = await cur.fetchall()
    return [Action(r["admin_id"], r["action"], r["detail"], _dt(r["at"])) for r in rows]  # type: ignore[arg-type]
