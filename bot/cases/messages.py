"""What customers and admins see of a case, and the cases' outbox kinds.

Customers' messages carry the shop's name (SHOP_NAME) in their first line and go in the
customer's language, inside SEND_HOURS, never after /stop or a block (`customer_chat`). Admins'
messages go at once, in the bot's default language, with «Ответить клиенту» and «Решено» while
the case waits for the shop; each one sent is remembered (`case_chat_messages`), so a reply to
it continues its case and its buttons can be taken away once the case is resolved.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from html import escape
from typing import TYPE_CHECKING

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.admins.service import current_admins
from bot.callbacks import CaseAction, CaseCb, CaseConfirmCb
from bot.cases import service
from bot.cases.machine import Status, Topic
from bot.customers.messages import customer_chat
from bot.i18n import Translator
from bot.outbox import (
    Kind,
    Media,
    OutboxRow,
    Outgoing,
    Postpone,
    RenderContext,
    Rendered,
    Skip,
)
from bot.shop import shop_header
from bot.texts import N_
from storage import cases as q
from storage.cases import CaseMessage, CaseRow, CustomerCard
from storage.outbox import CASE_DUE, CASE_OVERDUE, CASE_TO_ADMIN, CASE_TO_CUSTOMER

if TYPE_CHECKING:
    import aiosqlite

    from bot.settings import Settings

QUOTE_MAX = 1500
# What a file in a case is called where its caption would be quoted.
MEDIA_NAMES = {
    "photo": N_("📷 a photo"),
    "video": N_("🎬 a video"),
    "document": N_("📎 a file"),
    "voice": N_("🎤 a voice message"),
    "audio": N_("🎵 an audio file"),
    "animation": N_("🎞 an animation"),
}


def when(moment: datetime, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%d.%m.%Y %H:%M")


# --- the customer's side -----------------------------------------------------------------------
def header(tr: Translator, settings: Settings) -> str:
    return shop_header(tr, settings.shop_name)


def answer_text(tr: Translator, settings: Settings, text: str | None) -> str:
    """The shop's answer (the caption, when it is a photo or a file)."""
    lines = [header(tr, settings), ""]
    if text:
        lines += [escape(text), ""]
    lines.append("<i>" + tr("To answer, just write a message here.") + "</i>")
    return "\n".join(lines)


def confirm_question(tr: Translator, settings: Settings) -> str:
    return "\n".join(
        [
            header(tr, settings),
            "",
            tr("We have marked your request as resolved."),
            "<b>" + tr("Is your issue resolved?") + "</b>",
        ]
    )


def confirm_keyboard(tr: Translator, case_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=tr("Yes"), callback_data=CaseConfirmCb(case=case_id, solved=True).pack()
                ),
                InlineKeyboardButton(
                    text=tr("No"), callback_data=CaseConfirmCb(case=case_id, solved=False).pack()
                ),
            ]
        ]
    )


def confirmed_text(tr: Translator, settings: Settings, *, solved: bool) -> str:
    if solved:
        line = tr("Thank you! We are glad it is sorted out.")
    else:
        line = tr("We are sorry. We are back on it and will answer you here.")
    return "\n".join([header(tr, settings), "", line])


def received_text(tr: Translator, settings: Settings, *, opened: bool) -> str:
    """The answer to a customer's free text: the shop got it, and when to expect an answer."""
    lines = [header(tr, settings), ""]
    if opened:
        lines.append(tr("Thank you, we have got your message and will answer you here."))
    else:
        lines.append(tr("Thank you, we have passed your message on."))
    hours = (settings.support_hours or "").strip()
    if hours:
        lines.append(tr("We answer: {hours}.", hours=escape(hours)))
    return "\n".join(lines)


def unrelayable_text(tr: Translator, settings: Settings) -> str:
    """A sticker, a video note, a location…: the shop cannot be sent those."""
    return "\n".join(
        [
            header(tr, settings),
            "",
            tr(
                "We cannot pass this kind of message on to the shop. Please send a text, a photo, "
                "a video, a file or a voice message."
            ),
        ]
    )


def buy_again_text(tr: Translator, settings: Settings) -> str:
    return "\n".join(
        [header(tr, settings), "", tr("Thank you! The shop will contact you about your order.")]
    )


# --- the admins' side --------------------------------------------------------------------------
def _customer(tr: Translator, card: CustomerCard | None) -> str:
    if card is None:
        return tr("no name")
    name = escape(card.name) if card.name else tr("no name")
    details = [escape(card.phone)] if card.phone else []
    details.append(tr("shop ID {id}", id=escape(card.external_id)))
    return f"{name} ({', '.join(details)})"


def _quote(text: str | None) -> str:
    return "«" + escape((text or "")[:QUOTE_MAX]) + "»"


def _body(tr: Translator, message: CaseMessage) -> str:
    """What was written: the quote, and what the attached file is (its caption is the quote)."""
    if message.media_kind is None:
        return _quote(message.text)
    kind = tr(MEDIA_NAMES[message.media_kind])
    return kind + ("\n" + _quote(message.text) if message.text else "")


def media_of(message: CaseMessage) -> Media | None:
    if message.media_kind is None or message.media_file_id is None:
        return None
    return Media(message.media_kind, message.media_file_id)


def case_keyboard(tr: Translator, case: CaseRow) -> InlineKeyboardMarkup | None:
    """«Ответить клиенту» and «Решено» while the case waits for the shop; nothing after."""
    if case.status in (Status.RESOLVED, Status.CLOSED):
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=tr("Reply to the customer"),
                    callback_data=CaseCb(case=case.id, action=CaseAction.REPLY).pack(),
                ),
                InlineKeyboardButton(
                    text=tr("Resolved"),
                    callback_data=CaseCb(case=case.id, action=CaseAction.RESOLVE).pack(),
                ),
            ]
        ]
    )


async def admin_text(
    tr: Translator,
    conn: aiosqlite.Connection,
    case: CaseRow,
    message: CaseMessage,
    settings: Settings,
) -> str:
    """One case event as an admin reads it."""
    tz = settings.tz
    card = await q.customer_card(conn, case.customer_id)
    ref = tr("Case #{id}", id=case.id)
    customer = tr("Customer: {customer}", customer=_customer(tr, card))
    if message.event == "opened" and case.topic == Topic.BUY_AGAIN:
        lines = ["🛒 <b>" + tr("The customer wants to buy again") + "</b> · " + ref, customer]
        item = await q.item_card(conn, case.order_item_id) if case.order_item_id else None
        if item is not None:
            lines.append(
                tr("Product: {item}", item=escape(item.name))
                + (f" ×{item.quantity}" if item.quantity > 1 else "")
            )
            lines.append(
                tr(
                    "Previous order: {order} of {date}",
                    order=escape(item.order_id),
                    date=item.purchased_at.astimezone(tz).strftime("%d.%m.%Y"),
                )
            )
        return "\n".join(lines)
    if message.event == "opened":
        return "\n".join(
            [
                "❓ <b>" + tr("A question from a customer") + "</b> · " + ref,
                customer,
                "",
                _body(tr, message),
            ]
        )
    who = escape(message.admin_name or str(message.admin_id or ""))
    at = when(message.created_at, tz)
    if message.event == "message" and message.author == "customer":
        return "\n".join(
            [
                "💬 <b>" + tr("The customer writes") + "</b> · " + ref,
                customer,
                "",
                _body(tr, message),
            ]
        )
    if message.event == "message":
        return "\n".join(
            [
                "✉️ " + tr("{name} answered the customer, {when}", name=who, when=at) + " · " + ref,
                customer,
                "",
                _body(tr, message),
            ]
        )
    if message.event == "resolved":
        return "\n".join(
            [
                "✅ " + tr("{name} marked it resolved, {when}", name=who, when=at) + " · " + ref,
                customer,
                tr("The customer is asked to confirm."),
            ]
        )
    if message.event == "reopened":
        return "\n".join(
            [
                "🔁 <b>" + tr("The customer says the issue is not resolved") + "</b> · " + ref,
                customer,
            ]
        )
    if message.event == "confirmed":
        return "\n".join(
            ["👍 " + tr("The customer confirmed the issue is resolved") + " · " + ref, customer]
        )
    return ref


def reminder_text(
    tr: Translator, case: CaseRow, card: CustomerCard | None, settings: Settings, *, overdue: bool
) -> str:
    hours = f"{settings.alert_response_hours:g}"
    if overdue:
        title = "🚨 <b>" + tr("No answer yet, overdue") + "</b>"
    else:
        title = "⏰ <b>" + tr("An answer is due now") + "</b>"
    return "\n".join(
        [
            title + " · " + tr("Case #{id}", id=case.id),
            tr("Customer: {customer}", customer=_customer(tr, card)),
            tr(
                "Opened {when}; the target is {hours} h of the send window.",
                when=when(case.opened_at, settings.tz),
                hours=hours,
            ),
        ]
    )


# --- the outbox --------------------------------------------------------------------------------
async def _admin_row(ctx: RenderContext, conn: aiosqlite.Connection, row: OutboxRow) -> Skip | None:
    if row.chat_id is None or row.ref_id is None:
        return Skip("failed", "case row without a chat or a reference")
    if row.chat_id not in await current_admins(conn, ctx.settings.admin_ids):
        return Skip("cancelled", "no longer an admin")
    return None


async def render_to_admin(
    ctx: RenderContext, conn: aiosqlite.Connection, row: OutboxRow
) -> Rendered:
    refused = await _admin_row(ctx, conn, row)
    if refused is not None:
        return refused
    assert row.ref_id is not None
    assert row.chat_id is not None
    message = await q.get_message(conn, row.ref_id)
    case = await q.get_case(conn, message.case_id) if message is not None else None
    if message is None or case is None:
        return Skip("failed", "no such case message")
    tr = Translator(ctx.i18n, ctx.settings.default_language)
    text = await admin_text(tr, conn, case, message, ctx.settings)
    return Outgoing(
        chat_id=row.chat_id,
        text=text,
        reply_markup=case_keyboard(tr, case),
        media=media_of(message),
    )


async def _render_reminder(
    ctx: RenderContext, conn: aiosqlite.Connection, row: OutboxRow, *, overdue: bool
) -> Rendered:
    refused = await _admin_row(ctx, conn, row)
    if refused is not None:
        return refused
    assert row.ref_id is not None
    assert row.chat_id is not None
    case = await q.get_case(conn, row.ref_id)
    if case is None:
        return Skip("failed", "no such case")
    if case.first_answered_at is not None or case.status in (Status.RESOLVED, Status.CLOSED):
        return Skip("cancelled", "answered in time")
    tr = Translator(ctx.i18n, ctx.settings.default_language)
    card = await q.customer_card(conn, case.customer_id)
    return Outgoing(
        chat_id=row.chat_id,
        text=reminder_text(tr, case, card, ctx.settings, overdue=overdue),
        reply_markup=case_keyboard(tr, case),
    )


async def render_due(ctx: RenderContext, conn: aiosqlite.Connection, row: OutboxRow) -> Rendered:
    return await _render_reminder(ctx, conn, row, overdue=False)


async def render_overdue(
    ctx: RenderContext, conn: aiosqlite.Connection, row: OutboxRow
) -> Rendered:
    return await _render_reminder(ctx, conn, row, overdue=True)


async def render_to_customer(
    ctx: RenderContext, conn: aiosqlite.Connection, row: OutboxRow
) -> Rendered:
    target = await customer_chat(ctx, conn, row)
    if isinstance(target, Skip | Postpone):
        return target
    chat_id, tr = target
    message = await q.get_message(conn, row.ref_id) if row.ref_id is not None else None
    case = await q.get_case(conn, message.case_id) if message is not None else None
    if message is None or case is None or case.customer_id != row.customer_id:
        return Skip("failed", "no such case message for this customer")
    if case.status == Status.CLOSED:
        # The promise of the state machine, kept at send time too: a reply queued just before
        # the case closed is not delivered.
        return Skip("cancelled", "the case is closed")
    if message.event == "resolved":
        if case.status != Status.RESOLVED:
            return Skip("cancelled", "reopened before the question went out")
        return Outgoing(
            chat_id=chat_id,
            text=confirm_question(tr, ctx.settings),
            reply_markup=confirm_keyboard(tr, case.id),
        )
    media = media_of(message)
    if message.text is None and media is None:
        return Skip("cancelled", "the text was forgotten (/forget)")
    return Outgoing(chat_id=chat_id, text=answer_text(tr, ctx.settings, message.text), media=media)


async def _case_of_row(conn: aiosqlite.Connection, row: OutboxRow) -> int | None:
    if row.ref_id is None:
        return None
    if row.kind in (CASE_DUE, CASE_OVERDUE):
        return row.ref_id
    message = await q.get_message(conn, row.ref_id)
    return message.case_id if message is not None else None


async def remember_chat_message(
    ctx: RenderContext, conn: aiosqlite.Connection, row: OutboxRow, message_id: int, now: datetime
) -> None:
    """A reply to this message (in an admin's or the customer's chat) continues its case."""
    case_id = await _case_of_row(conn, row)
    if case_id is None:
        return
    chat_id = row.chat_id
    if chat_id is None and row.customer_id is not None:
        card = await q.customer_card(conn, row.customer_id)
        chat_id = card.telegram_id if card is not None else None
    if chat_id is not None:
        await q.note_chat_message(conn, chat_id, message_id, case_id)


async def sweep(conn: aiosqlite.Connection, ctx: RenderContext, now: datetime) -> int:
    return await service.sweep(conn, now)


KINDS: tuple[Kind, ...] = (
    # The shop's answer and «Вопрос решён?» are customer messages: inside SEND_HOURS.
    Kind(CASE_TO_CUSTOMER, render_to_customer, on_sent=remember_chat_message, sweep=sweep),
    # Admins hear of a case at once, whatever the hour, like the negative-review alerts.
    Kind(CASE_TO_ADMIN, render_to_admin, respects_send_window=False, on_sent=remember_chat_message),
    Kind(CASE_DUE, render_due, respects_send_window=False, on_sent=remember_chat_message),
    Kind(CASE_OVERDUE, render_overdue, respects_send_window=False, on_sent=remember_chat_message),
)
