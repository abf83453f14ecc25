"""What customers see: review requests and reminders, the review's steps, restock reminders.

Each outbox kind renders its row when it is due, not when it was queued, so the message reflects
the database then: a rated purchase needs no reminder, a product bought again no restock
reminder, and a customer who said /stop, blocked the bot or asked to be forgotten gets nothing.
A customer who has not linked Telegram yet waits (the row is postponed to its expiry and
`scheduler.outbox.release_waiting` makes it due when they link).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape
from typing import TYPE_CHECKING

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from babel.dates import format_date

from bot.callbacks import RestockAction, RestockCb, ReviewNpsCb, ReviewRatingCb, ReviewSkipCb
from bot.i18n import Translator
from bot.reviews import alerts as alert_messages
from bot.reviews import service as reviews
from bot.texts import N_
from scheduler.kinds import Kind, OutboxRow, Outgoing, Postpone, RenderContext, Rendered, Skip
from scheduler.outbox import WAITING_FOR_LINK
from storage import reviews as q
from storage.reviews import (
    RESTOCK,
    REVIEW_BONUS,
    REVIEW_REMINDER,
    REVIEW_REQUEST,
    ItemLine,
    RestockItem,
)

if TYPE_CHECKING:
    import aiosqlite

    from bot.reviews.service import ReviewState

MAX_ITEMS_SHOWN = 5
ITEM_NAME_MAX = 80
STAR = "⭐"


# --- pieces ------------------------------------------------------------------------------------
def _short(name: str, limit: int = ITEM_NAME_MAX) -> str:
    name = " ".join(name.split())
    return name if len(name) <= limit else name[: limit - 1].rstrip() + "…"


def format_items(tr: Translator, items: list[ItemLine]) -> str:
    """«Coffee ×2, Filters and 3 more», HTML-escaped (names come from the shop)."""
    shown = [
        escape(_short(item.name)) + (f" ×{item.quantity}" if item.quantity > 1 else "")
        for item in items[:MAX_ITEMS_SHOWN]
    ]
    text = ", ".join(shown)
    if len(items) > MAX_ITEMS_SHOWN:
        text = tr("{items} and {count} more", items=text, count=len(items) - MAX_ITEMS_SHOWN)
    return text


def stars(rating: int) -> str:
    return STAR * rating


def local_date(tr: Translator, moment: datetime, tz: object) -> str:
    """«12 January 2026» / «12 января 2026» in the customer's language and the shop's zone."""
    # A fixed pattern rather than "long": that one ends Russian dates with «г.», which reads
    # badly before a full stop.
    day = moment.astimezone(tz).date()  # type: ignore[arg-type]
    return format_date(day, "d MMMM y", locale=tr.locale)


def rating_keyboard(review_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=f"{rating}{STAR}",
                    callback_data=ReviewRatingCb(review=review_id, rating=rating).pack(),
                )
                for rating in range(reviews.RATING_MIN, reviews.RATING_MAX + 1)
            ]
        ]
    )


def nps_keyboard(review_id: int) -> InlineKeyboardMarkup:
    def button(score: int) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            text=str(score), callback_data=ReviewNpsCb(review=review_id, score=score).pack()
        )

    return InlineKeyboardMarkup(
        inline_keyboard=[[button(s) for s in range(0, 6)], [button(s) for s in range(6, 11)]]
    )


def skip_keyboard(tr: Translator, review_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=tr("Skip"), callback_data=ReviewSkipCb(review=review_id).pack()
                )
            ]
        ]
    )


# --- the review, step by step ------------------------------------------------------------------
REQUEST = N_("How do you like your purchase: {items}?")
REQUEST_HINT = N_("Rate it from 1 to 5 stars: it takes one tap.")
REMINDER_INTRO = N_("⏰ We would love to hear from you.")


def request_message(
    tr: Translator, review_id: int, items: list[ItemLine], *, reminder: bool = False
) -> tuple[str, InlineKeyboardMarkup]:
    lines = [tr(REMINDER_INTRO), ""] if reminder else []
    lines += ["<b>" + tr(REQUEST, items=format_items(tr, items)) + "</b>", "", tr(REQUEST_HINT)]
    return "\n".join(lines), rating_keyboard(review_id)


def _answers_so_far(tr: Translator, state: ReviewState) -> list[str]:
    review = state.review
    lines = [tr(REQUEST, items=format_items(tr, state.items)), ""]
    if review.rating is not None:
        lines.append(tr("Your rating: {stars}", stars=stars(review.rating)))
    if review.nps is not None:
        lines.append(tr("Would recommend us: {score} of 10", score=review.nps))
    return lines


def nps_message(tr: Translator, state: ReviewState) -> tuple[str, InlineKeyboardMarkup]:
    lines = _answers_so_far(tr, state)
    if state.negative:
        lines += ["", tr("We are sorry it was not good. Our team will look into it.")]
    lines += [
        "",
        "<b>" + tr("How likely are you to recommend us to friends?") + "</b>",
        tr("0 means not at all, 10 means definitely."),
    ]
    return "\n".join(lines), nps_keyboard(state.review.id)


def comment_message(tr: Translator, state: ReviewState) -> tuple[str, InlineKeyboardMarkup]:
    lines = _answers_so_far(tr, state)
    lines += ["", "<b>" + tr("Write a couple of words or press «Skip».") + "</b>"]
    return "\n".join(lines), skip_keyboard(tr, state.review.id)


def thanks_message(tr: Translator, state: ReviewState) -> str:
    lines = _answers_so_far(tr, state)
    if state.review.comment:
        lines.append(tr("Your comment: {comment}", comment=escape(state.review.comment)))
    lines += ["", thanks_text(tr)]
    return "\n".join(lines)


def thanks_text(tr: Translator) -> str:
    return tr("Thank you for your review! It helps us get better.")


def bonus_message(tr: Translator, bonus: str) -> str:
    return tr("🎁 A thank-you for your review: {bonus}", bonus=escape(bonus))


# --- restock -----------------------------------------------------------------------------------
def _reorder_url(url: str | None) -> str | None:
    # A malformed URL would make Telegram refuse the whole message; better no button.
    if url and url.startswith(("https://", "http://")) and len(url) <= 2048 and " " not in url:
        return url
    return None


def restock_text(tr: Translator, item: RestockItem, tz: object) -> str:
    return tr(
        "🛒 On {date} you bought {item}. Time to restock?",
        date=local_date(tr, item.purchased_at, tz),
        item="<b>" + escape(_short(item.name)) + "</b>",
    )


def restock_keyboard(
    tr: Translator, item: RestockItem, *, snooze: bool = True, stop: bool = True
) -> InlineKeyboardMarkup | None:
    """«Buy again» (a link, when the product has one), «Remind me in a week», «Don't remind»."""
    rows: list[list[InlineKeyboardButton]] = []
    url = _reorder_url(item.reorder_url)
    if url is not None:
        rows.append([InlineKeyboardButton(text=tr("Buy again"), url=url)])
    if snooze:
        rows.append(
            [
                InlineKeyboardButton(
                    text=tr("Remind me in a week"),
                    callback_data=RestockCb(item=item.id, action=RestockAction.SNOOZE).pack(),
                )
            ]
        )
    if stop:
        rows.append(
            [
                InlineKeyboardButton(
                    text=tr("Don't remind me again"),
                    callback_data=RestockCb(item=item.id, action=RestockAction.STOP).pack(),
                )
            ]
        )
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def snoozed_text(tr: Translator, item: RestockItem, until: datetime, tz: object) -> str:
    return (
        restock_text(tr, item, tz)
        + "\n\n"
        + tr("⏰ I will remind you on {date}.", date=local_date(tr, until, tz))
    )


def stopped_text(tr: Translator, item: RestockItem, tz: object) -> str:
    return (
        restock_text(tr, item, tz)
        + "\n\n"
        + tr(
            "🔕 Done: no more reminders about {item}.",
            item="<b>" + escape(_short(item.name)) + "</b>",
        )
    )


# --- the outbox --------------------------------------------------------------------------------
async def customer_chat(
    ctx: RenderContext, conn: aiosqlite.Connection, row: OutboxRow
) -> tuple[int, Translator] | Skip | Postpone:
    """Where a customer's row goes and in which language, or why it does not go (now)."""
    recipient = await q.recipient_of_row(conn, row.id) if row.customer_id is not None else None
    if recipient is None:
        return Skip("failed", "customer row without a customer")
    if recipient.forgotten:
        return Skip("cancelled", "the customer asked to be forgotten")
    if not recipient.subscribed:
        return Skip("cancelled", "the customer unsubscribed (/stop)")
    if recipient.unreachable:
        return Skip("cancelled", "the customer blocked the bot")
    if recipient.telegram_id is None:
        deadline = recipient.row_created_at + timedelta(days=ctx.settings.link_wait_days)
        if ctx.clock.now() >= deadline:
            return Skip("expired", "the customer did not link Telegram within LINK_WAIT_DAYS")
        # Not re-claimed on every tick: it waits until its expiry, or `release_waiting`.
        return Postpone(deadline, WAITING_FOR_LINK)
    language = recipient.language or ctx.settings.default_language
    return recipient.telegram_id, Translator(ctx.i18n, language)


async def _review_request(
    ctx: RenderContext, conn: aiosqlite.Connection, row: OutboxRow, *, reminder: bool
) -> Rendered:
    target = await customer_chat(ctx, conn, row)
    if isinstance(target, Skip | Postpone):
        return target
    chat_id, tr = target
    review = await q.get_review(conn, row.ref_id) if row.ref_id is not None else None
    if review is None or review.customer_id != row.customer_id:
        return Skip("failed", "no such review for this customer")
    if reminder:
        if review.status != "requested":
            return Skip("cancelled", f"review {review.status}")
        assert review.requested_at is not None
        expiry = reviews.expires_at(review.requested_at, ctx.settings.review_reminder_days)
        if ctx.clock.now() >= expiry:
            return Skip("expired", "the review request expired")
    elif review.status != "pending":
        return Skip("cancelled", f"review {review.status}")
    items = await q.review_items(conn, review.id)
    if not items:
        return Skip("failed", "the review covers no order items")
    text, markup = request_message(tr, review.id, items, reminder=reminder)
    return Outgoing(chat_id=chat_id, text=text, reply_markup=markup)


async def render_review_request(
    ctx: RenderContext, conn: aiosqlite.Connection, row: OutboxRow
) -> Rendered:
    return await _review_request(ctx, conn, row, reminder=False)


async def render_review_reminder(
    ctx: RenderContext, conn: aiosqlite.Connection, row: OutboxRow
) -> Rendered:
    return await _review_request(ctx, conn, row, reminder=True)


async def render_review_bonus(
    ctx: RenderContext, conn: aiosqlite.Connection, row: OutboxRow
) -> Rendered:
    target = await customer_chat(ctx, conn, row)
    if isinstance(target, Skip | Postpone):
        return target
    chat_id, tr = target
    bonus = (ctx.settings.review_bonus_text or "").strip()
    if not bonus:
        return Skip("cancelled", "REVIEW_BONUS_TEXT is no longer set")
    return Outgoing(chat_id=chat_id, text=bonus_message(tr, bonus))


async def render_restock(
    ctx: RenderContext, conn: aiosqlite.Connection, row: OutboxRow
) -> Rendered:
    target = await customer_chat(ctx, conn, row)
    if isinstance(target, Skip | Postpone):
        return target
    chat_id, tr = target
    item = await q.restock_item(conn, row.ref_id) if row.ref_id is not None else None
    if item is None or item.customer_id != row.customer_id:
        return Skip("failed", "no such order item for this customer")
    if await q.is_opted_out(conn, item.customer_id, item.sku):
        return Skip("cancelled", "the customer opted out of this product")
    if await q.bought_again_after(conn, item.customer_id, item.sku, item.purchased_at):
        return Skip("cancelled", "bought again since")
    tz = ctx.settings.tz
    return Outgoing(
        chat_id=chat_id, text=restock_text(tr, item, tz), reply_markup=restock_keyboard(tr, item)
    )


KINDS: tuple[Kind, ...] = (
    Kind(
        REVIEW_REQUEST,
        render_review_request,
        on_sent=reviews.request_sent,
        on_skipped=reviews.request_skipped,
        sweep=reviews.sweep,
    ),
    Kind(REVIEW_REMINDER, render_review_reminder),
    # The bonus answers the customer's last step: it goes at once, whatever the hour.
    Kind(REVIEW_BONUS, render_review_bonus, respects_send_window=False),
    Kind(RESTOCK, render_restock),
    *alert_messages.KINDS,
)
