"""What customers see of a review: the request and its reminder, the steps, the bonus.

Each outbox kind renders its row when it is due, not when it was queued, so the message reflects
the database then: a rated purchase needs no reminder, a product bought again no restock
reminder, and a customer who said /stop, blocked the bot or asked to be forgotten gets nothing.
Where a row goes (and why it may not go yet) is `bot.customers.messages.customer_chat`.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import ReviewNpsCb, ReviewRatingCb, ReviewSkipCb
from bot.customers.messages import STAR, customer_chat, format_items, stars
from bot.i18n import Translator
from bot.outbox import Kind, OutboxRow, Outgoing, Postpone, RenderContext, Rendered, Skip
from bot.reviews import service as reviews
from bot.texts import N_
from storage import reviews as q
from storage.outbox import REVIEW_BONUS, REVIEW_REMINDER, REVIEW_REQUEST
from storage.reviews import ItemLine

if TYPE_CHECKING:
    import aiosqlite

    from bot.reviews.service import ReviewState


# --- pieces ------------------------------------------------------------------------------------
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


# --- the outbox --------------------------------------------------------------------------------
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
    items = []
    if not reminder:
        # The request names the orders whose REVIEW_DELAY_DAYS has passed; the others go to a
        # later request when this one is sent (reviews.request_sent).
        items = await q.review_items(
            conn, review.id, bought_by=reviews.asked_by(ctx, ctx.clock.now())
        )
    if not items:
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
)
