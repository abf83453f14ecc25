"""Who is an admin: ADMIN_IDS from the environment plus the admins added in the bot.

The app shares one Settings object; `Roster.refresh` sets its `admin_ids` to both sets, so every
part that asks `settings.is_admin` or reads `settings.admin_ids` (the IsAdmin filter, alerts,
the digest, the dashboard) sees an added or removed admin at once, with no restart.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from bot.settings import Settings
from storage import Database
from storage import admins as store

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


@dataclass
class Roster:
    settings: Settings
    db: Database
    environment: frozenset[int]

    @classmethod
    def of(cls, settings: Settings, db: Database) -> Roster:
        return cls(settings, db, frozenset(settings.admin_ids))

    async def refresh(self) -> frozenset[int]:
        async with self.db.read() as conn:
            stored = await store.stored_admins(conn)
        self.settings.admin_ids = self.environment | stored
        return self.settings.admin_ids

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
        if target_id in self.settings.admin_ids:
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
        if target_id not in self.settings.admin_ids:
            return Refusal.not_admin
        if self.settings.admin_ids == {target_id}:
            return Refusal.last_admin
        async with self.db.write() as conn:
            if not await store.remove_admin(conn, target_id):
                return Refusal.not_admin
            await store.log(conn, actor_id, "removed", target_id, now)
        await self.refresh()
        return None
