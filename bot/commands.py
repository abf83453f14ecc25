"""The command menus shown by Telegram (setMyCommands): one for everyone, one per admin chat."""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault

from bot.i18n import build_i18n
from bot.liveness import describe
from bot.settings import Settings
from bot.texts import N_

log = logging.getLogger(__name__)

USER_COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", N_("Start or join by invitation")),
    ("survey", N_("Continue the survey")),
    ("stop", N_("Stop messages from the bot")),
    ("link", N_("Link my purchases by phone")),
    ("forget", N_("Delete my data (customers)")),
    ("leave", N_("Leave the employee survey")),
    ("help", N_("What this bot does")),
)

ADMIN_COMMANDS: tuple[tuple[str, str], ...] = (
    ("report", N_("Report: survey and customers")),
    ("invite", N_("Invitation link for a department")),
    ("departments", N_("Departments and their members")),
    ("survey_start", N_("Open a survey wave")),
    ("survey_close", N_("Close the open wave")),
    ("target", N_("Set the target for the next wave")),
    ("export", N_("Export answers, reviews and reminders as CSV")),
    ("forget_customer", N_("Forget a customer's personal data")),
    ("dashboard", N_("Sign-in link to the web dashboard")),
    ("admins", N_("List, add or remove admins")),
    ("plan", N_("Add an initiative to the action plan")),
    ("comments", N_("Anonymous survey comments, into the plan")),
    ("pulse_start", N_("Open the internal service pulse")),
    ("pulse_close", N_("Close the internal service pulse")),
)

ADMIN_COMMAND_NAMES = frozenset(name for name, _ in ADMIN_COMMANDS)


def _commands(pairs: tuple[tuple[str, str], ...], locale: str) -> list[BotCommand]:
    i18n = build_i18n()
    return [
        BotCommand(command=name, description=i18n.gettext(description, locale=locale))
        for name, description in pairs
    ]


async def register_commands(bot: Bot, settings: Settings, admin_ids: frozenset[int]) -> None:
    """Best effort: a failure here must not keep the bot from starting. `admin_ids`: every
    admin now (the roster's), each of whom gets the admin commands in their chat."""
    try:
        for locale in ("ru", "en"):
            language_code = None if locale == settings.default_language else locale
            await bot.set_my_commands(
                _commands(USER_COMMANDS, locale),
                scope=BotCommandScopeDefault(),
                language_code=language_code,
            )
        for admin_id in sorted(admin_ids):
            await set_admin_commands(bot, settings, admin_id)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # any failure: a non-JSON 500 is no TelegramAPIError
        log.warning("command menu not registered: %s", describe(exc))


async def set_admin_commands(bot: Bot, settings: Settings, admin_id: int) -> None:
    """The admin commands in this admin's chat (at start, and the moment one is added)."""
    try:
        await bot.set_my_commands(
            _commands(ADMIN_COMMANDS + USER_COMMANDS, settings.default_language),
            scope=BotCommandScopeChat(chat_id=admin_id),
        )
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        # Typically "chat not found": the admin has not written to the bot yet.
        log.warning("admin commands for %s not set: %s", admin_id, describe(exc))


async def clear_admin_commands(bot: Bot, admin_id: int) -> None:
    """A removed admin's chat goes back to the commands everybody has."""
    try:
        await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id=admin_id))
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.warning("admin commands for %s not removed: %s", admin_id, describe(exc))
