"""Role filters, put on parent routers rather than repeated in every handler."""

from __future__ import annotations

from aiogram.filters import BaseFilter
from aiogram.types import CallbackQuery, Message

from bot.settings import Settings


class IsAdmin(BaseFilter):
    """The sender is one of ADMIN_IDS."""

    async def __call__(self, event: Message | CallbackQuery, settings: Settings) -> bool:
        user = event.from_user
        return user is not None and settings.is_admin(user.id)
