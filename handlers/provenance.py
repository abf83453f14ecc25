"""Only what a person typed, in their own chat with the bot, acts.

A forwarded message «/survey_close» is someone else's words: it must not close the wave (nor
`/forget` anyone). A survey question or review request forwarded into a group keeps its buttons;
a press there must neither count (the answer is confidential, and may not be the presser's)
nor make the bot post into the group: the press is answered with a private hint only.
This router goes first, so nothing else sees such updates.
"""

from __future__ import annotations

from aiogram import F
from aiogram.types import CallbackQuery, Message

from bot.i18n import _
from handlers.routes import Routes

routes = Routes(__name__)


@routes.message(F.forward_origin, F.text.startswith("/"))
async def forwarded_command(message: Message) -> None:
    await message.answer(
        _("This is a forwarded message: commands run only when you type them yourself.")
    )


@routes.callback_query(F.message.chat.type != "private")
async def press_outside_private_chat(callback: CallbackQuery) -> None:
    # The callback answer is shown to the presser alone: nothing reaches the group.
    await callback.answer(_("Please answer in your private chat with the bot."), show_alert=True)
