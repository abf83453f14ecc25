"""Customers link their Telegram (receipt link or shared phone), /stop and /start messages.

What this router takes, and only that (everything else goes on to the survey and the fallback):
- `/start c_<token>`: the customer_link from the shop;
- plain `/start` and `/stop` from a linked customer;
- plain `/start` from a stranger (no customer, employee or admin): the same explanation the
  fallback gives, plus a one-tap «share my phone» button, because a customer who found the bot
  without the receipt link has no other way in;
- `/link`: the «share my phone» button on demand (for anyone, e.g. an employee who also shops);
- contact messages (the button's answer).
"""

from __future__ import annotations

import html
from typing import Any

from aiogram import F
from aiogram.filters import BaseFilter, Command, CommandObject, CommandStart
from aiogram.types import KeyboardButton, Message, ReplyKeyboardMarkup, ReplyKeyboardRemove

from bot.admins.service import Roster
from bot.clock import Clock
from bot.customers import linking as customers
from bot.customers.linking import LinkOutcome, LinkResult
from bot.i18n import I18n, Translator, _
from bot.outbox import OutboxPort
from bot.settings import Settings
from bot.shop import shop_header
from bot.welcome import stranger_welcome
from handlers.routes import Routes
from storage import Database

routes = Routes(__name__)


class IsCustomer(BaseFilter):
    """The sender is a linked customer; hands the handler `customer`."""

    async def __call__(self, message: Message, db: Database) -> bool | dict[str, Any]:
        if message.from_user is None:
            return False
        customer = await customers.customer_of(db, message.from_user.id)
        return {"customer": customer} if customer is not None else False


class IsStranger(BaseFilter):
    """Neither a customer, an employee nor an admin: someone who may be a customer unawares."""

    async def __call__(self, message: Message, db: Database, roster: Roster) -> bool:
        user = message.from_user
        if user is None or roster.is_admin(user.id):
            return False
        return not await customers.is_known(db, user.id)


def share_phone_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=_("📱 Share my phone number"), request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
        input_field_placeholder=_("Use the button below"),
    )


def share_phone_invitation() -> str:
    return _(
        "Bought something from us? Share your phone number with the button below and we will "
        "find your purchases. We use the number only to link them to this chat."
    )


# --- linking ------------------------------------------------------------------------------------
@routes.message(CommandStart(deep_link=True, magic=F.args.startswith(customers.LINK_PREFIX)))
async def link_by_receipt(
    message: Message,
    command: CommandObject,
    db: Database,
    clock: Clock,
    settings: Settings,
    i18n: I18n,
    outbox: OutboxPort,
) -> None:
    assert message.from_user is not None
    result = await customers.link_by_payload(
        db, command.args, message.from_user.id, i18n.current_locale, clock.now()
    )
    if result.outcome is LinkOutcome.NOT_FOUND:
        await message.answer(
            _(
                "This link does not work: it may be mistyped or outdated. Open the link from "
                "your latest receipt, or share your phone number with the button below and we "
                "will find your purchases."
            ),
            reply_markup=share_phone_keyboard(),
        )
        return
    if result.outcome is LinkOutcome.NEEDS_PHONE:
        # A receipt can be photographed or forwarded: its link alone does not show or link a
        # customer the shop knows the phone of.
        await message.answer(
            _shop(settings, i18n)
            + _(
                "To keep your purchases safe, please confirm it is you: share your phone "
                "number with the button below. We link your purchases if it is the number the "
                "shop has."
            ),
            reply_markup=share_phone_keyboard(),
        )
        return
    await message.answer(
        _shop(settings, i18n) + _link_text(result), reply_markup=ReplyKeyboardRemove()
    )
    if result.outcome is LinkOutcome.LINKED:
        outbox.kick()  # messages that waited for the link may be due already


@routes.message(F.contact)
async def link_by_phone(
    message: Message,
    db: Database,
    clock: Clock,
    settings: Settings,
    i18n: I18n,
    outbox: OutboxPort,
) -> None:
    assert message.from_user is not None
    assert message.contact is not None
    result = await customers.link_by_contact(
        db,
        message.contact.phone_number,
        message.contact.user_id,
        message.from_user.id,
        i18n.current_locale,
        clock.now(),
    )
    if result.outcome in (LinkOutcome.NOT_OWN, LinkOutcome.BAD_PHONE):
        text = (
            _(
                "Please share your own number with the button below: only the number of this "
                "Telegram account can be linked."
            )
            if result.outcome is LinkOutcome.NOT_OWN
            else _("We could not read this phone number. Please try the button below again.")
        )
        await message.answer(text, reply_markup=share_phone_keyboard())
        return
    await message.answer(
        _shop(settings, i18n) + _phone_text(result), reply_markup=ReplyKeyboardRemove()
    )
    if result.outcome is LinkOutcome.LINKED:
        outbox.kick()


@routes.message(Command("link"))
async def offer_phone(message: Message, db: Database) -> None:
    assert message.from_user is not None
    customer = await customers.customer_of(db, message.from_user.id)
    # Linked by the receipt link alone: sharing the phone confirms the link (and lets /forget
    # erase the shop's record).
    if customer is not None and customer.phone_checked:
        await message.answer(
            _(
                "This Telegram account is already linked to your purchases. Send /stop to "
                "turn messages off."
            )
        )
        return
    await message.answer(share_phone_invitation(), reply_markup=share_phone_keyboard())


def _greeting(result: LinkResult) -> str:
    # The shop's name for the customer only to an account that proved the customer's phone: a
    # receipt link alone may be in someone else's hands.
    customer = result.customer
    name = customer.name if customer is not None and customer.phone_checked else None
    if name:
        return _("Thank you, {name}!").format(name=html.escape(name)) + " "
    return _("Thank you!") + " "


def _link_text(result: LinkResult) -> str:
    if result.outcome is LinkOutcome.TAKEN:
        return _(
            "This link is already used by another Telegram account. If that was not you, "
            "please contact the shop."
        )
    if result.outcome is LinkOutcome.ALREADY:
        return _already_text()
    return _greeting(result) + _linked_text()


def _phone_text(result: LinkResult) -> str:
    if result.outcome is LinkOutcome.NOT_FOUND:
        return _(
            "We could not find purchases with this phone number. If you bought something "
            "recently, open the link from your receipt, or ask the shop to add this number "
            "to your customer profile."
        )
    if result.outcome is LinkOutcome.TAKEN:
        return _(
            "Purchases with this phone number are already linked to another Telegram account. "
            "If that is not right, please contact the shop."
        )
    if result.outcome is LinkOutcome.ALREADY:
        return _already_text()
    return _greeting(result) + _linked_text()


def _linked_text() -> str:
    return _(
        "Your purchases are now linked to this chat. We will ask how you liked them and "
        "remind you when it is time to restock. Send /stop at any time to turn these "
        "messages off."
    )


def _already_text() -> str:
    return _(
        "This Telegram account is already linked to your purchases, and messages are on. "
        "Send /stop to turn them off."
    )


# --- subscription -------------------------------------------------------------------------------
def _shop(settings: Settings, i18n: I18n) -> str:
    """The shop's name above a customer's answer: they always know who writes to them."""
    return shop_header(Translator(i18n, i18n.current_locale), settings.shop_name) + "\n\n"


@routes.message(Command("stop"), IsCustomer())
async def stop(
    message: Message, db: Database, clock: Clock, settings: Settings, i18n: I18n
) -> None:
    assert message.from_user is not None
    stopped = await customers.unsubscribe(db, message.from_user.id, clock.now())
    if stopped is not None and not stopped.was_subscribed and stopped.cancelled == 0:
        await message.answer(
            _shop(settings, i18n) + _("Messages are already off. Send /start to turn them back on.")
        )
        return
    await message.answer(
        _shop(settings, i18n)
        + _(
            "Done: you will get no more messages from us, and the ones already planned are "
            "cancelled. If you change your mind, send /start."
        ),
        reply_markup=ReplyKeyboardRemove(),
    )


@routes.message(CommandStart(deep_link=False), IsCustomer())
async def start_again(message: Message, db: Database, settings: Settings, i18n: I18n) -> None:
    assert message.from_user is not None
    before = await customers.resubscribe(db, message.from_user.id, i18n.current_locale)
    if before is not None and not before.subscribed:
        text = _(
            "Welcome back! Messages are on again: we will ask about your next purchases and "
            "remind you when it is time to restock. Send /stop to turn them off."
        )
    else:
        text = _(
            "Messages are on: we will ask how you liked your purchases and remind you when it "
            "is time to restock. Send /stop to turn them off."
        )
    await message.answer(_shop(settings, i18n) + text)


@routes.message(CommandStart(deep_link=False), IsStranger())
async def start_stranger(message: Message, settings: Settings, i18n: I18n) -> None:
    tr = Translator(i18n, i18n.current_locale)
    await message.answer(
        stranger_welcome(tr, settings) + "\n\n" + share_phone_invitation(),
        reply_markup=share_phone_keyboard(),
    )
