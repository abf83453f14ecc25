"""/claim <code>: the first admin of a bot started with ADMIN_IDS empty (the code is printed at
start, once; it works once)."""

from __future__ import annotations

from aiogram import Bot
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.admins.service import Refusal, Roster
from bot.clock import Clock
from bot.i18n import _
from bot.settings import Settings
from handlers.admin_menus import show_admin_menus
from handlers.routes import Routes

routes = Routes(__name__)


@routes.message(Command("claim"))
async def claim(
    message: Message,
    command: CommandObject,
    roster: Roster,
    clock: Clock,
    bot: Bot,
    settings: Settings,
) -> None:
    assert message.from_user is not None
    refused = await roster.claim(command.args or "", message.from_user.id, clock.now())
    if refused is Refusal.not_needed:
        await message.answer(_("This bot has admins already; an admin can add you with /admins."))
    elif refused is not None:
        await message.answer(
            _("This code is not valid. Use the code printed when the bot started.")
        )
    else:
        await message.answer(
            _("You are the bot's first admin. /help lists the admin commands; /admins adds more.")
        )
        await show_admin_menus(bot, settings, message.from_user.id)
