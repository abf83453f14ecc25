"""Anything nobody else handled: explain what the bot is and how to join; settle stray buttons."""

from __future__ import annotations

from aiogram.types import CallbackQuery, Message

from bot.i18n import _
from handlers.routes import Routes

routes = Routes(__name__)


def about_text() -> str:
    return "\n".join(
        [
            _("Hello! This is the customer-centricity bot of our company."),
            "",
            _(
                "Employees take a short confidential survey on how customer-centric we are. "
                "To join, open the invitation link from your manager or HR."
            ),
            _(
                "Customers get a short question about their purchase and reminders when it is "
                "time to restock. If you are a customer, open the link from the shop's receipt "
                "or message."
            ),
        ]
    )


@routes.message()
async def explain(message: Message) -> None:
    await message.answer(about_text())


@routes.callback_query()
async def stale_button(callback: CallbackQuery) -> None:
    # Buttons from old or forged messages: answer so the client stops its spinner.
    await callback.answer(_("This button is no longer active."), show_alert=False)
