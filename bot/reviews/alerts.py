"""What admins see about a negative review: the alert, the comment that follows, its buttons.

A low rating opens a complaint case (bot/cases/), so the alert carries the case's «Ответить
клиенту» and «Решено» (alerts sent before cases existed keep the old «Решено», which only
records who resolved it); each alert sent is remembered as a message of its case, so an admin's
reply to it answers the customer.

Alerts go through the outbox (one row per admin, queued in the transaction that stores the
rating), so a crash right after the customer's press cannot lose them, and they ignore
SEND_HOURS: an unhappy customer is worth a message at any hour. They are written in the bot's
default language (admins' languages are not stored).
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.admins.service import current_admins
from bot.callbacks import AlertResolveCb
from bot.cases.messages import case_keyboard
from bot.i18n import Translator
from bot.outbox import Kind, OutboxRow, Outgoing, RenderContext, Rendered, Skip
from bot.reviews.service import AlertView, alert_view
from storage import cases as cases_q
from storage.cases import CaseRow
from storage.outbox import NEGATIVE_ALERT, NEGATIVE_ALERT_COMMENT

if TYPE_CHECKING:
    from datetime import datetime, tzinfo

    import aiosqlite

COMMENT_SHOWN_MAX = 1000
# Visible characters for the lists of an alert. With the comment (1000), the customer (name 200,
# phone, shop id 64), the headings and the «Resolved» line an admin's name adds, the whole stays
# under Telegram's 4096 (https://core.telegram.org/bots/api#sendmessage) however many orders a
# review covers: a review of 70 orders once made an alert nobody received.
ORDERS_SHOWN_MAX = 800
ITEMS_SHOWN_MAX = 1400


def shown_list(tr: Translator, parts: list[str], budget: int) -> str:
    """`parts` joined with commas, as many as fit in `budget` visible characters, then «and N
    more». Cut before escaping, so an entity (`&amp;`) is never cut in half."""

    def more(n: int) -> str:
        return tr("and {n} more", n=n)

    shown: list[str] = []
    used = 0
    for index, part in enumerate(parts):
        left_after = len(parts) - index - 1
        # Room for «, and N more» is kept at every step, so stopping anywhere still fits.
        reserve = len(more(left_after)) + 2 if left_after else 0
        need = len(part) + (2 if shown else 0)
        if used + need + reserve > budget:
            break
        shown.append(part)
        used += need
    if not shown and parts:  # the first alone is longer than the room: its start
        room = budget - (len(more(len(parts) - 1)) + 2 if len(parts) > 1 else 0)
        shown = [parts[0][: max(room - 1, 1)] + "…"]
    text = ", ".join(escape(p) for p in shown)
    rest = len(parts) - len(shown)
    return f"{text}, {more(rest)}" if rest else text


def _items(tr: Translator, view: AlertView) -> str:
    parts = [item.name + (f" ×{item.quantity}" if item.quantity > 1 else "") for item in view.items]
    return shown_list(tr, parts, ITEMS_SHOWN_MAX)


def _orders(tr: Translator, view: AlertView) -> str:
    return shown_list(tr, list(view.orders), ORDERS_SHOWN_MAX)


def _customer(tr: Translator, view: AlertView) -> str:
    alert = view.alert
    name = escape(alert.customer_name) if alert.customer_name else tr("no name")
    details = [escape(alert.customer_phone)] if alert.customer_phone else []
    details.append(tr("shop ID {id}", id=escape(alert.customer_external_id)))
    return f"{name} ({', '.join(details)})"


def resolved_line(tr: Translator, view: AlertView, tz: tzinfo) -> str:
    alert = view.alert
    assert alert.resolved_at is not None
    return tr(
        "✅ Resolved: {name}, {when}",
        name=escape((alert.resolved_by_name or str(alert.resolved_by))[:200]),
        when=alert.resolved_at.astimezone(tz).strftime("%d.%m.%Y %H:%M"),
    )


def alert_text(tr: Translator, view: AlertView, tz: tzinfo, *, comment_only: bool = False) -> str:
    review = view.alert.review
    assert review.rating is not None
    if comment_only:
        lines = [
            "💬 <b>"
            + tr("Comment on a negative review ({rating} of 5)", rating=review.rating)
            + "</b>",
            tr("Customer: {customer}", customer=_customer(tr, view)),
            tr("Orders: {orders}", orders=_orders(tr, view)),
        ]
    else:
        lines = [
            "⚠️ <b>" + tr("Negative review: {rating} of 5", rating=review.rating) + "</b>",
            tr("Customer: {customer}", customer=_customer(tr, view)),
            tr("Orders: {orders}", orders=_orders(tr, view)),
            tr("Items: {items}", items=_items(tr, view)),
        ]
        if review.nps is not None:
            lines.append(tr("Would recommend us: {score} of 10", score=review.nps))
    if review.comment:
        lines.append(tr("Comment: {comment}", comment=escape(review.comment[:COMMENT_SHOWN_MAX])))
    if view.alert.resolved:
        lines += ["", resolved_line(tr, view, tz)]
    return "\n".join(lines)


def alert_keyboard(
    tr: Translator, view: AlertView, case: CaseRow | None = None
) -> InlineKeyboardMarkup | None:
    if view.alert.resolved:
        return None
    if case is not None:
        return case_keyboard(tr, case)
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=tr("Resolved"),
                    callback_data=AlertResolveCb(alert=view.alert.id).pack(),
                )
            ]
        ]
    )


async def _render(
    ctx: RenderContext, conn: aiosqlite.Connection, row: OutboxRow, *, comment_only: bool
) -> Rendered:
    if row.chat_id is None or row.ref_id is None:
        return Skip("failed", "alert row without a chat or an alert")
    if row.chat_id not in await current_admins(conn, ctx.settings.admin_ids):
        return Skip("cancelled", "no longer an admin")
    view = await alert_view(conn, row.ref_id)
    if view is None:
        return Skip("failed", "no such alert")
    if not comment_only and view.alert.resolved:
        return Skip("cancelled", "resolved before it went out")
    tr = Translator(ctx.i18n, ctx.settings.default_language)
    case = await cases_q.case_of_review(conn, view.alert.review.id)
    text = alert_text(tr, view, ctx.settings.tz, comment_only=comment_only)
    if case is not None:
        text += "\n" + tr("Case #{id}", id=case.id)
    return Outgoing(chat_id=row.chat_id, text=text, reply_markup=alert_keyboard(tr, view, case))


async def remember_alert(
    ctx: RenderContext, conn: aiosqlite.Connection, row: OutboxRow, message_id: int, now: datetime
) -> None:
    """The alert is a message of its case: a reply to it answers the customer."""
    view = await alert_view(conn, row.ref_id) if row.ref_id is not None else None
    case = await cases_q.case_of_review(conn, view.alert.review.id) if view else None
    if case is not None and row.chat_id is not None:
        await cases_q.note_chat_message(conn, row.chat_id, message_id, case.id)


async def render_alert(ctx: RenderContext, conn: aiosqlite.Connection, row: OutboxRow) -> Rendered:
    return await _render(ctx, conn, row, comment_only=False)


async def render_alert_comment(
    ctx: RenderContext, conn: aiosqlite.Connection, row: OutboxRow
) -> Rendered:
    return await _render(ctx, conn, row, comment_only=True)


KINDS: tuple[Kind, ...] = (
    Kind(NEGATIVE_ALERT, render_alert, respects_send_window=False, on_sent=remember_alert),
    Kind(
        NEGATIVE_ALERT_COMMENT,
        render_alert_comment,
        respects_send_window=False,
        on_sent=remember_alert,
    ),
)
