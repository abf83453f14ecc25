"""Anything nobody else handled: the welcome for whoever writes; settle stray buttons."""

from __future__ import annotations

from aiogram.types import CallbackQuery, Message

from bot.i18n import I18n, Translator, _
from bot.settings import Settings
from bot.welcome import welcome_for
from handlers.routes import Routes
from storage import Database

routes = Routes(__name__)


async def welcome_text(message: Message, db: Database, settings: Settings, i18n: I18n) -> str:
    """A customer, an employee, an admin and a stranger each get their own welcome."""
    assert message.from_user is not None
    tr = Translator(i18n, i18n.current_locale)
    return await welcome_for(db, settings, tr, message.from_user.id)


@routes.message()
async def explain(message: Message, db: Database, settings: Settings, i18n: I18n) -> None:
    if message.from_user is None:
        return
    await message.answer(await welcome_text(message, db, settings, i18n))


@routes.callback_query()
async def stale_button(callback: CallbackQuery) -> None:
    # Buttons from old or forged messages: answer so the client stops its spinner.
    await callback.answer(_("This button is no longer active."), show_alert=False)
