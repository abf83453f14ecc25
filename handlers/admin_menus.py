"""What an admin sees in Telegram beside the chat: the admin commands and the dashboard's menu
button. Set at start for every admin, and here the moment one is added or removed (before, an
admin added with /admins or /claim got them only at the next restart)."""

from __future__ import annotations

from aiogram import Bot

from bot.commands import clear_admin_commands, set_admin_commands
from bot.dashboard.links import clear_menu_button, register_menu_button
from bot.settings import Settings


async def show_admin_menus(bot: Bot, settings: Settings, admin_id: int) -> None:
    await set_admin_commands(bot, settings, admin_id)
    await register_menu_button(bot, settings, frozenset({admin_id}))


async def hide_admin_menus(bot: Bot, settings: Settings, admin_id: int) -> None:
    await clear_admin_commands(bot, admin_id)
    await clear_menu_button(bot, settings, admin_id)
