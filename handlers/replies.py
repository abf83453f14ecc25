"""Answering a button press with the message itself: the one edit-or-send helper."""

from __future__ import annotations

import logging

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    CallbackQuery,
    InaccessibleMessage,
    InlineKeyboardMarkup,
)

log = logging.getLogger(__name__)


async def show(
    callback: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Edit the pressed message in place (so its old buttons cannot be pressed again); send a
    new one when it can no longer be edited (too old, deleted, inaccessible)."""
    message = callback.message
    if message is None or isinstance(message, InaccessibleMessage):
        await callback.bot.send_message(callback.from_user.id, text, reply_markup=markup)  # type: ignore[union-attr]
        return
    try:
        await message.edit_text(text, reply_markup=markup)
    except TelegramBadRequest as exc:
        if "not modified" in exc.message:
            return  # two presses raced to show the same thing: the message is right already
        log.info("could not edit the message (%s); sending a new one", exc.message)
        await message.answer(text, reply_markup=markup)
