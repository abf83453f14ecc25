"""Customers in a case: free text reaches the shop, «Да»/«Нет» answers «Вопрос решён?».

Thin: every message goes to `bot.cases.service` inside one write transaction; the relayed
messages themselves go through the outbox (queued there, kicked here). This router comes after
the review conversation's, so a review comment is never taken for a question.
"""

from __future__ import annotations

from aiogram.filters import BaseFilter
from aiogram.types import CallbackQuery, Message

from bot.callbacks import CaseCb, CaseConfirmCb
from bot.cases import service
from bot.cases.machine import Refusal
from bot.cases.messages import confirmed_text, received_text, unrelayable_text
from bot.clock import Clock
from bot.i18n import I18n, Translator, _
from bot.outbox import OutboxPort
from bot.settings import Settings
from handlers.media import answers_a_keyboard, can_relay, cannot_relay, media_of, words_of
from handlers.replies import show
from handlers.routes import Routes
from storage import Database
from storage import cases as q
from storage.customers import customer_id_for_telegram

routes = Routes(__name__)


class FromCustomer(BaseFilter):
    """A plain text (not a command) or a photo, a file… from someone linked as a customer;
    passes `customer_id`."""

    async def __call__(self, message: Message, db: Database) -> bool | dict[str, int]:
        if message.from_user is None or not can_relay(message):
            return False
        return await _customer(message, db)


class UnrelayableFromCustomer(BaseFilter):
    """A sticker, a video note, a location… from a linked customer: it cannot be passed on."""

    async def __call__(self, message: Message, db: Database) -> bool | dict[str, int]:
        if message.from_user is None or not cannot_relay(message) or answers_a_keyboard(message):
            return False
        return await _customer(message, db)


async def _customer(message: Message, db: Database) -> bool | dict[str, int]:
    assert message.from_user is not None
    async with db.read() as conn:
        customer_id = await customer_id_for_telegram(conn, message.from_user.id)
    return {"customer_id": customer_id} if customer_id is not None else False


@routes.message(FromCustomer())
async def customer_writes(
    message: Message,
    customer_id: int,
    db: Database,
    clock: Clock,
    settings: Settings,
    i18n: I18n,
    outbox: OutboxPort,
) -> None:
    replied_to = message.reply_to_message
    async with db.write() as conn:
        case_id = (
            await q.case_of_chat_message(conn, message.chat.id, replied_to.message_id)
            if replied_to is not None
            else None
        )
        written = await service.customer_writes(
            conn,
            customer_id=customer_id,
            text=words_of(message),
            media=media_of(message),
            now=clock.now(),
            rules=service.Rules.from_settings(settings),
            case_id=case_id,
        )
    if isinstance(written, Refusal):
        return
    outbox.kick()  # the admins hear of it now, not at the next tick
    tr = Translator(i18n, i18n.current_locale)
    await message.answer(received_text(tr, settings, opened=written.opened))


@routes.message(UnrelayableFromCustomer())
async def customer_sends_what_cannot_be_passed_on(
    message: Message, settings: Settings, i18n: I18n
) -> None:
    tr = Translator(i18n, i18n.current_locale)
    await message.answer(unrelayable_text(tr, settings))


@routes.callback_query(CaseConfirmCb.filter())
async def confirm(
    callback: CallbackQuery,
    callback_data: CaseConfirmCb,
    db: Database,
    clock: Clock,
    settings: Settings,
    i18n: I18n,
    outbox: OutboxPort,
) -> None:
    async with db.write() as conn:
        customer_id = await customer_id_for_telegram(conn, callback.from_user.id)
        result = (
            await service.confirm(
                conn,
                case_id=callback_data.case,
                customer_id=customer_id,
                solved=callback_data.solved,
                now=clock.now(),
                rules=service.Rules.from_settings(settings),
            )
            if customer_id is not None
            else Refusal.STALE
        )
    if isinstance(result, Refusal):
        if result is Refusal.ALREADY:
            await callback.answer(_("Your answer is already saved. Thank you!"))
        else:
            await callback.answer(_("This button is no longer active."))
        return
    outbox.kick()
    await callback.answer(_("Saved, thank you!"))
    tr = Translator(i18n, i18n.current_locale)
    await show(callback, confirmed_text(tr, settings, solved=callback_data.solved), None)


# --- not for customers -------------------------------------------------------------------------
@routes.callback_query(CaseCb.filter())
async def case_button_not_admin(callback: CallbackQuery) -> None:
    # The admin router, earlier, takes admins' presses: this one came from someone else.
    await callback.answer(_("This button is for the bot's administrators only."))
