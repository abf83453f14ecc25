"""Who is an admin: ADMIN_IDS from the environment plus the admins added in the bot.

The admins table is the source of truth for the added ones; Settings is never changed
(`settings.admin_ids` stays ADMIN_IDS as read at start). Two ways to ask:
- in a transaction (outbox renders, use cases, the digest): `current_admins(conn, environment)`,
  ADMIN_IDS with the table as that transaction sees it;
- without one (the IsAdmin filter, the dashboard's sign-in, the menus): the app's one `Roster`,
  whose in-memory set it refreshes from the table after every change it makes (it is the only
  writer of the table), so an added or removed admin counts at once, with no restart.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING

from bot.settings import Settings
from storage import Database
from storage import admins as store

if TYPE_CHECKING:
    import aiosqlite

CODE_BYTES = 9  # 12 characters: typed by hand once, guessed never


class Refusal(Enum):
    bad_code = "bad_code"  # unknown or used /claim code
    not_needed = "not_needed"  # there are admins already: /claim is closed
    already = "already"  # adding someone who is an admin
    not_admin = "not_admin"  # removing someone who is not
    from_environment = "from_environment"  # in ADMIN_IDS: removed there, not in the bot
    last_admin = "last_admin"  # nobody would be left


def _hash(code: str) -> str:
    return hashlib.sha256(code.strip().encode()).hexdigest()


async def current_admins(conn: aiosqlite.Connection, environment: frozenset[int]) -> frozenset[int]:
    """ADMIN_IDS (`environment`) and the admins added in the bot, in the caller's transaction."""
    return frozenset(environment) | await store.stored_admins(conn)


@dataclass
class Roster:
    db: Database
    environment: frozenset[int]  # ADMIN_IDS: removed there, never in the bot
    _ids: frozenset[int] = field(init=False)

    def __post_init__(self) -> None:
        self._ids = self.environment

    @classmethod
    def of(cls, settings: Settings, db: Database) -> Roster:
        return cls(db, frozenset(settings.admin_ids))

    @property
    def ids(self) -> frozenset[int]:
        """Every admin now (as of the last refresh: at start and after each change)."""
        return self._ids

    def is_admin(self, user_id: int) -> bool:
        return user_id in self._ids

    async def refresh(self) -> frozenset[int]:
        async with self.db.read() as conn:
            self._ids = await current_admins(conn, self.environment)
        return self._ids

    async def claim_code(self, now: datetime) -> str | None:
        """With no admin at all, a one-time code for /claim (printed at start); else None."""
        if await self.refresh():
            return None
        code = secrets.token_urlsafe(CODE_BYTES)
        async with self.db.write() as conn:
            await store.insert_claim(conn, _hash(code), now)
        return code

    async def claim(self, code: str, user_id: int, now: datetime) -> Refusal | None:
        if await self.refresh():
            return Refusal.not_needed
        async with self.db.write() as conn:
            if not await store.use_claim(conn, _hash(code), user_id, now):
                return Refusal.bad_code
            await store.add_admin(conn, user_id, None, now)
            await store.log(conn, user_id, "claimed", user_id, now)
        await self.refresh()
        return None

    async def add(self, actor_id: int, target_id: int, now: datetime) -> Refusal | None:
        if target_id in self._ids:
            return Refusal.already
        async with self.db.write() as conn:
            if not await store.add_admin(conn, target_id, actor_id, now):
                return Refusal.already
            await store.log(conn, actor_id, "added", target_id, now)
        await self.refresh()
        return None

    async def remove(self, actor_id: int, target_id: int, now: datetime) -> Refusal | None:
        if target_id in self.environment:
            return Refusal.from_environment
        if target_id not in self._ids:
            return Refusal.not_admin
        if self._ids == {target_id}:
            return Refusal.last_admin
        async with self.db.write() as conn:
            if not await store.remove_admin(conn, target_id):
                return Refusal.not_admin
            await store.log(conn, actor_id, "removed", target_id, now)
        await self.refresh()
        return None
