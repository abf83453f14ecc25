"""Sign-in use cases over the database: issue a link, redeem it, open a Mini App session, check a
session, sign out, record an action. Pages call these; the rules are in `signin`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.dashboard.signin import (
    LINK_TTL,
    SESSION_TTL,
    LinkRow,
    Refused,
    SessionRow,
    WebAppUser,
    check_init_data,
    check_link,
    check_session,
    new_token,
    token_hash,
)
from storage import Database
from storage import dashboard as store

IsAdmin = Callable[[int], bool]


@dataclass(frozen=True)
class Session:
    """A signed-in admin. `token` is the cookie's value (never stored); `csrf` goes in forms."""

    token: str
    admin_id: int
    csrf: str
    expires_at: datetime


async def issue_link(db: Database, admin_id: int, now: datetime) -> str:
    """A one-time sign-in token for this admin, valid LINK_TTL."""
    token = new_token()
    async with db.write() as conn:
        await store.purge_expired(conn, now)
        await store.insert_link(conn, token_hash(token), admin_id, now, now + LINK_TTL)
    return token


async def _open_session(
    conn: aiosqlite.Connection, admin_id: int, via: str, now: datetime, detail: str | None
) -> Session:
    token, csrf = new_token(), new_token()
    expires = now + SESSION_TTL
    await store.insert_session(conn, token_hash(token), admin_id, csrf, via, now, expires)
    await store.record_action(conn, admin_id, "signed_in", detail, now)
    return Session(token, admin_id, csrf, expires)


async def redeem_link(
    db: Database, token: str, now: datetime, *, is_admin: IsAdmin
) -> Session | Refused:
    """Sign in with a link: once, within LINK_TTL, and only while its admin still is one."""
    digest = token_hash(token)
    async with db.write() as conn:
        stored = await store.get_link(conn, digest)
        row = LinkRow(stored.admin_id, stored.expires_at, stored.used_at) if stored else None
        refused = check_link(row, now)
        if refused is not None:
            return refused
        assert stored is not None
        # Used even when refused below: a link that reached a removed admin stays dead.
        if not await store.use_link(conn, digest, now):
            return Refused.used
        if not is_admin(stored.admin_id):
            return Refused.not_admin
        return await _open_session(conn, stored.admin_id, "link", now, "link")


async def webapp_session(
    db: Database, init_data: str, bot_token: str, now: datetime, *, is_admin: IsAdmin
) -> Session | Refused:
    """Sign in from the Mini App with Telegram's signed initData."""
    user = check_init_data(init_data, bot_token, now)
    if isinstance(user, Refused):
        return user
    return await _webapp(db, user, now, is_admin=is_admin)


async def _webapp(
    db: Database, user: WebAppUser, now: datetime, *, is_admin: IsAdmin
) -> Session | Refused:
    if not is_admin(user.id):
        return Refused.not_admin
    async with db.write() as conn:
        return await _open_session(conn, user.id, "webapp", now, "mini app")


async def current_session(
    db: Database, token: str | None, now: datetime, *, is_admin: IsAdmin
) -> Session | Refused:
    """The session a cookie names, if it is still good. A removed admin's session is ended."""
    if not token:
        return Refused.unknown
    digest = token_hash(token)
    async with db.read() as conn:
        stored = await store.get_session(conn, digest)
    row = (
        SessionRow(stored.admin_id, stored.csrf_token, stored.expires_at, stored.ended_at)
        if stored
        else None
    )
    refused = check_session(row, now, is_admin=is_admin(stored.admin_id) if stored else False)
    if refused is Refused.not_admin and stored is not None:
        async with db.write() as conn:
            if await store.end_session(conn, digest, now):
                await store.record_action(
                    conn, stored.admin_id, "session_ended", "not an admin", now
                )
    if refused is not None:
        return refused
    assert stored is not None
    return Session(token, stored.admin_id, stored.csrf_token, stored.expires_at)


async def sign_out(db: Database, session: Session, now: datetime) -> None:
    async with db.write() as conn:
        if await store.end_session(conn, token_hash(session.token), now):
            await store.record_action(conn, session.admin_id, "signed_out", None, now)


async def record(
    db: Database, admin_id: int, action: str, detail: str | None, now: datetime
) -> None:
    """Note an action taken on the dashboard, with who took it."""
    async with db.write() as conn:
        await store.record_action(conn, admin_id, action, detail, now)
