"""Admin commands from someone who is not an admin: a refusal, and nothing changes."""

from __future__ import annotations

from aiogram.filters import Command
from aiogram.types import Message

from bot.commands import ADMIN_COMMAND_NAMES
from bot.i18n import _
from handlers.routes import Routes

routes = Routes(__name__)


@routes.message(Command(*sorted(ADMIN_COMMAND_NAMES)))
async def refuse_admin_command(message: Message) -> None:
    await message.answer(_("Sorry, this command is for the bot's administrators only."))
