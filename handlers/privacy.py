"""/forget (customers) and /leave (employees): a confirmation button, then bot.privacy does it."""

from __future__ import annotations

import logging

from aiogram.filters import Command
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from bot.callbacks import PrivacyAction, PrivacyCb
from bot.clock import Clock
from bot.i18n import _
from bot.privacy import service as privacy
from bot.pseudonym import Pseudonymizer
from handlers.replies import show
from handlers.routes import Routes
from storage import Database

log = logging.getLogger(__name__)

routes = Routes(__name__)


def confirm_keyboard(action: PrivacyAction, yes: str, no: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=yes, callback_data=PrivacyCb(action=action, confirm=True).pack()
                ),
                InlineKeyboardButton(
                    text=no, callback_data=PrivacyCb(action=action, confirm=False).pack()
                ),
            ]
        ]
    )


def no_customer_data_text() -> str:
    return _("We keep no customer data linked to this Telegram account.")


def not_employee_text() -> str:
    return _("You are not registered as an employee, so there is nothing to leave.")


@routes.message(Command("forget"))
async def forget(message: Message, db: Database) -> None:
    assert message.from_user is not None
    customer = await privacy.customer_by_telegram_id(db, message.from_user.id)
    if customer is None:
        text = no_customer_data_text()
        if await privacy.is_employee(db, message.from_user.id):
            text += "\n" + _("To leave the employee survey, send /leave.")
        await message.answer(text)
        return
    if not customer.phone_checked:
        await message.answer(
            "\n".join(
                [
                    _(
                        "This Telegram account was linked by a receipt link alone, so it can "
                        "only be unlinked: you will get no more messages about these purchases, "
                        "and the shop keeps its record."
                    ),
                    _(
                        "To delete your phone number and name too, share your phone with /link "
                        "first, then send /forget again."
                    ),
                    "",
                    _("Unlink this account?"),
                ]
            ),
            reply_markup=confirm_keyboard(PrivacyAction.FORGET, _("Yes, unlink"), _("No, keep")),
        )
        return
    await message.answer(
        "\n".join(
            [
                _(
                    "This deletes your phone number, your name and the link between this "
                    "Telegram account and your customer record in the shop. You will get no "
                    "more messages about your purchases."
                ),
                _("Your ratings and comments stay, without your name: they still help the shop."),
                "",
                _("Delete your data?"),
            ]
        ),
        reply_markup=confirm_keyboard(PrivacyAction.FORGET, _("Yes, delete"), _("No, keep")),
    )


@routes.message(Command("leave"))
async def leave(message: Message, db: Database) -> None:
    assert message.from_user is not None
    if not await privacy.is_employee(db, message.from_user.id):
        await message.answer(not_employee_text())
        return
    await message.answer(
        "\n".join(
            [
                _(
                    "You will leave the employee survey: the bot forgets your Telegram account "
                    "and sends you no more questions."
                ),
                _(
                    "Your answers stay, under a pseudonym that does not show who you are, so "
                    "the company's totals do not change."
                ),
                "",
                _("Leave the survey?"),
            ]
        ),
        reply_markup=confirm_keyboard(PrivacyAction.LEAVE, _("Yes, leave"), _("No, stay")),
    )


@routes.callback_query(PrivacyCb.filter())
async def confirmed(
    callback: CallbackQuery,
    callback_data: PrivacyCb,
    db: Database,
    clock: Clock,
    pseudonyms: Pseudonymizer,
) -> None:
    forget = callback_data.action is PrivacyAction.FORGET
    if not callback_data.confirm:
        text = _("Nothing was deleted.") if forget else _("You stay in the survey.")
        await callback.answer(text)
        await show(callback, text)
        return
    user_id = callback.from_user.id
    if forget:
        outcome = await privacy.forget_me(db, user_id, clock.now(), keys=pseudonyms)
    else:
        outcome = await privacy.leave(db, user_id, clock.now())
    if outcome is privacy.Outcome.UNLINKED:
        await callback.answer()
        await show(
            callback,
            _(
                "Done: this Telegram account is no longer linked to the purchases. The shop's "
                "record stays as it was."
            ),
        )
        return
    if outcome is not privacy.Outcome.DONE:
        # Nobody to forget (a second press, or a button that was never theirs): say so, and
        # leave the message the button was on as it is.
        await callback.answer(
            no_customer_data_text() if forget else not_employee_text(), show_alert=True
        )
        return
    await callback.answer()
    await show(
        callback,
        _(
            "Done: your phone number, name and Telegram link are deleted. If you open a "
            "link from the shop again, you will be linked anew."
        )
        if forget
        else _(
            "Done: you have left the survey. To join again, open an invitation link from "
            "your manager or HR."
        ),
    )
