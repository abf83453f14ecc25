"""Last-resort error handling: the user hears something, the log gets the traceback."""

from __future__ import annotations

import logging
import sqlite3

from aiogram.types import ErrorEvent

from bot.i18n import _
from handlers.routes import Routes
from storage import DatabaseFileGone

log = logging.getLogger(__name__)

routes = Routes(__name__)


@routes.error()
async def on_error(event: ErrorEvent) -> bool:
    exc = event.exception
    busy = isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc).lower()
    if busy:
        log.warning("database busy while handling update %s", event.update.update_id)
        text = _("The bot is busy right now, please try again in a minute.")
    elif isinstance(exc, DatabaseFileGone):
        # Logged once, CRITICAL, where it was found (storage/db.py); nothing was written.
        log.warning("update %s refused: %s", event.update.update_id, exc)
        text = _("Something went wrong on our side. Please try again later.")
    else:
        log.exception("update %s failed", event.update.update_id, exc_info=exc)
        text = _("Something went wrong on our side. Please try again later.")
    update = event.update
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text, show_alert=True)
        elif update.message is not None:
            await update.message.answer(text)
    except Exception:  # the apology itself may fail (Telegram down); the log has it already
        log.debug("could not tell the user about the error", exc_info=True)
    return True
