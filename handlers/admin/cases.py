"""Admins in a case: «Ответить клиенту», the reply itself, «Решено».

The reply is the admin's next text message after «Ответить клиенту», or any reply to a message
of the case in their chat. Thin: `bot.cases.service` decides; the relays go through the outbox.
"""

from __future__ import annotations

import logging
from html import escape

from aiogram import Bot, F
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import BaseFilter
from aiogram.types import CallbackQuery, Message, User

from bot.admins.service import Roster
from bot.callbacks import CaseAction, CaseCb
from bot.cases import service
from bot.cases.machine import Refusal
from bot.cases.messages import when
from bot.clock import Clock
from bot.i18n import I18n, Translator, _
from bot.outbox import OutboxPort
from bot.settings import Settings
from handlers.media import can_relay, cannot_relay, is_command, media_of, words_of
from handlers.replies import show
from handlers.routes import Routes
from storage import Database
from storage import cases as q

log = logging.getLogger(__name__)

routes = Routes(__name__)


def admin_name(user: User) -> str:
    return user.full_name + (f" (@{user.username})" if user.username else "")


class AnswersACase(BaseFilter):
    """A plain text (or a photo, a file… with its caption) that answers a case: a reply to a
    case's message, or the next message after «Ответить клиенту». Passes `case_id`."""

    async def __call__(self, message: Message, db: Database) -> bool | dict[str, object]:
        if message.from_user is None or not can_relay(message):
            return False
        async with db.read() as conn:
            if message.reply_to_message is not None:
                case_id = await q.case_of_chat_message(
                    conn, message.chat.id, message.reply_to_message.message_id
                )
                if case_id is not None:
                    return {"case_id": case_id}
            case_id = await q.reply_target(conn, message.from_user.id)
        return {"case_id": case_id} if case_id is not None else False


@routes.message(AnswersACase())
async def reply(
    message: Message,
    case_id: int,
    db: Database,
    clock: Clock,
    settings: Settings,
    outbox: OutboxPort,
) -> None:
    assert message.from_user is not None
    async with db.write() as conn:
        # The «Ответить клиенту» is used up by this message, whichever case it answers.
        await q.take_reply_target(conn, message.from_user.id)
        result = await service.shop_replies(
            conn,
            case_id=case_id,
            admin_id=message.from_user.id,
            admin_name=admin_name(message.from_user),
            text=words_of(message),
            media=media_of(message),
            now=clock.now(),
            rules=service.Rules.from_settings(settings),
        )
        card = (
            await q.customer_card(conn, result.case.customer_id)
            if not isinstance(result, Refusal)
            else None
        )
    if isinstance(result, Refusal):
        if result is Refusal.CLOSED:
            await message.answer(
                _("Case #{id} is closed: the answer was not sent.").format(id=case_id)
            )
        else:
            await message.answer(_("This case no longer exists."))
        return
    outbox.kick()
    if card is not None and not card.reachable:
        await message.answer(
            _(
                "Saved in case #{id}, but the customer cannot be reached (not linked, stopped "
                "the messages or blocked the bot): it will not be delivered."
            ).format(id=case_id)
        )
        return
    await message.answer(_("✉️ Sent to the customer (case #{id}).").format(id=case_id))


class WaitsForAReply(BaseFilter):
    """The admin pressed «Ответить клиенту» and has not written the answer yet."""

    async def __call__(self, message: Message, db: Database) -> bool:
        if message.from_user is None or is_command(message) or not cannot_relay(message):
            return False
        async with db.read() as conn:
            return await q.reply_target(conn, message.from_user.id) is not None


@routes.message(WaitsForAReply())
async def cannot_be_sent(message: Message) -> None:
    # A sticker, a video note, a location…: say so rather than drop it silently; the
    # «Ответить клиенту» still waits for the answer.
    await message.answer(
        _(
            "This kind of message cannot be sent to the customer: write a text, or send a photo, "
            "a video, a file or a voice message."
        )
    )


@routes.callback_query(CaseCb.filter(F.action == CaseAction.REPLY))
async def start_reply(
    callback: CallbackQuery, callback_data: CaseCb, db: Database, clock: Clock
) -> None:
    async with db.write() as conn:
        result = await service.start_reply(
            conn, case_id=callback_data.case, admin_id=callback.from_user.id, now=clock.now()
        )
    if isinstance(result, Refusal):
        await callback.answer(
            _("This case is closed.")
            if result is Refusal.CLOSED
            else _("This button is no longer active.")
        )
        return
    await callback.answer()
    assert callback.bot is not None
    await callback.bot.send_message(
        callback.from_user.id,
        _(
            "Write your answer to the customer in one message (case #{id}); it goes out with "
            "the shop's name."
        ).format(id=result.id),
    )


@routes.callback_query(CaseCb.filter(F.action == CaseAction.RESOLVE))
async def resolve(
    callback: CallbackQuery,
    callback_data: CaseCb,
    db: Database,
    clock: Clock,
    settings: Settings,
    i18n: I18n,
    outbox: OutboxPort,
    roster: Roster,
) -> None:
    async with db.write() as conn:
        result = await service.resolve(
            conn,
            case_id=callback_data.case,
            admin_id=callback.from_user.id,
            admin_name=admin_name(callback.from_user),
            now=clock.now(),
            rules=service.Rules.from_settings(settings),
        )
        case = await q.get_case(conn, callback_data.case)
        stale = await q.chat_messages_of(conn, callback_data.case) if case is not None else []
    if case is None:
        await callback.answer(_("This button is no longer active."))
        return
    tr = Translator(i18n, settings.default_language)
    if isinstance(result, Refusal):
        if case.resolved_at is not None:
            who = case.resolved_by_name or str(case.resolved_by)
            text = tr(
                "Already resolved by {name}, {when}.",
                name=who,
                when=when(case.resolved_at, settings.tz),
            )
        else:
            text = tr("This case is closed.")
        await callback.answer(text, show_alert=True)
    else:
        outbox.kick()
        await callback.answer(tr("Marked as resolved: the customer is asked to confirm."))
    if case.resolved_at is not None:
        message = callback.message
        if isinstance(message, Message) and message.text:
            # Who resolved it and when, under the message pressed; its buttons go.
            line = tr(
                "✅ Resolved: {name}, {when}",
                name=escape(case.resolved_by_name or str(case.resolved_by)),
                when=when(case.resolved_at, settings.tz),
            )
            if line not in message.text:
                await show(callback, message.html_text + "\n\n" + line, None)
            # Its buttons went with that edit: asking again would be «message is not modified».
            stale = [m for m in stale if m != (message.chat.id, message.message_id)]
    assert callback.bot is not None
    await remove_buttons(callback.bot, stale, roster.ids)


async def remove_buttons(
    bot: Bot, messages: list[tuple[int, int]], admin_ids: frozenset[int]
) -> None:
    """Stale buttons: once a case is resolved, none of its admin messages keeps its buttons."""
    for chat_id, message_id in messages:
        if chat_id not in admin_ids:
            continue  # the customer's own messages keep theirs («Да»/«Нет»)
        try:
            await bot.edit_message_reply_markup(chat_id=chat_id, message_id=message_id)
        except TelegramAPIError as exc:
            # Already without buttons, or deleted by the admin: nothing to take away.
            log.debug("could not remove the buttons of %s/%s: %s", chat_id, message_id, exc)
