"""Role filters, put on parent routers rather than repeated in every handler."""

from __future__ import annotations

from aiogram.filters import BaseFilter
from aiogram.types import CallbackQuery, Message

from bot.admins.service import Roster


class IsAdmin(BaseFilter):
    """The sender is an admin: in ADMIN_IDS or added in the bot (the roster)."""

    async def __call__(self, event: Message | CallbackQuery, roster: Roster) -> bool:
        user = event.from_user
        return user is not None and roster.is_admin(user.id)
