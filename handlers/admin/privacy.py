"""/forget_customer <the shop's customer id>: an admin erases a customer's personal data."""

from __future__ import annotations

from html import escape

from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.callbacks import ForgetCustomerCb
from bot.clock import Clock
from bot.i18n import _
from bot.privacy import service as privacy
from bot.pseudonym import Pseudonymizer
from bot.settings import Settings
from handlers.replies import show
from handlers.routes import Routes
from storage import Database

routes = Routes(__name__)


def describe(record: privacy.CustomerRecord) -> str:
    """One line an admin can recognise the customer by; every value escaped (it came from
    the shop or the person)."""
    parts = [
        escape(record.name) if record.name else _("no name"),
        escape(privacy.mask_phone(record.phone) or _("no phone")),
        _("Telegram linked") if record.linked else _("Telegram not linked"),
        _("reviews with a rating: {n}").format(n=record.reviews),
    ]
    return _("Customer «{id}»: {details}.").format(
        id=escape(record.external_id), details=", ".join(parts)
    )


@routes.message(Command("forget_customer"))
async def forget_customer(
    message: Message, command: CommandObject, db: Database, settings: Settings
) -> None:
    raw = (command.args or "").strip()
    if not raw:
        await message.answer(_("Give the shop's customer id: /forget_customer 12345"))
        return
    record = await privacy.customer_by_external_id(db, raw)
    if record is None:
        await message.answer(
            _("There is no customer with the id «{id}».").format(id=escape(raw[:100]))
        )
        return
    if record.forgotten_at is not None and not (record.name or record.phone or record.linked):
        when = record.forgotten_at.astimezone(settings.tz).strftime("%d.%m.%Y")
        await message.answer(
            _("The customer «{id}» was already forgotten on {date}.").format(
                id=escape(record.external_id), date=when
            )
        )
        return
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("Yes, forget"),
                    callback_data=ForgetCustomerCb(customer=record.id, confirm=True).pack(),
                ),
                InlineKeyboardButton(
                    text=_("No, keep"),
                    callback_data=ForgetCustomerCb(customer=record.id, confirm=False).pack(),
                ),
            ]
        ]
    )
    await message.answer(
        "\n".join(
            [
                describe(record),
                "",
                _(
                    "Delete their phone number, name and Telegram link? Their ratings stay in "
                    "the reports, without a name. This cannot be undone."
                ),
            ]
        ),
        reply_markup=keyboard,
    )


@routes.callback_query(ForgetCustomerCb.filter())
async def forget_customer_confirmed(
    callback: CallbackQuery,
    callback_data: ForgetCustomerCb,
    db: Database,
    clock: Clock,
    pseudonyms: Pseudonymizer,
) -> None:
    if not callback_data.confirm:
        await callback.answer(_("Nothing was deleted."))
        await show(callback, _("Nothing was deleted."))
        return
    outcome = await privacy.forget_customer(
        db, callback_data.customer, clock.now(), keys=pseudonyms
    )
    if outcome is privacy.Outcome.NOT_FOUND:
        # Only a forged button gets here: the customer rows are never deleted.
        await callback.answer(_("There is no such customer."), show_alert=True)
        return
    if outcome is privacy.Outcome.ALREADY:
        await callback.answer(_("This customer was already forgotten."))
        await show(callback, _("This customer was already forgotten."))
        return
    await callback.answer()
    await show(
        callback,
        _(
            "Done: the customer's phone number, name and Telegram link are deleted, and "
            "nothing more will be sent to them."
        ),
    )
