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

from bot.callbacks import ReviewEffortCb, ReviewNpsCb, ReviewRatingCb, ReviewSkipCb
from bot.customers.messages import STAR, customer_chat, format_items, stars
from bot.i18n import Translator
from bot.outbox import Kind, OutboxRow, Outgoing, Postpone, RenderContext, Rendered, Skip
from bot.reviews import service as reviews
from bot.shop import shop_header
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


def effort_keyboard(tr: Translator, review_id: int) -> InlineKeyboardMarkup:
    def button(text: str, score: int) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            text=text, callback_data=ReviewEffortCb(review=review_id, score=score).pack()
        )

    scores = range(reviews.EFFORT_MIN, reviews.EFFORT_MAX + 1)
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [button(str(score), score) for score in scores],
            [button(tr("Skip"), reviews.EFFORT_SKIP)],
        ]
    )


# --- the review, step by step ------------------------------------------------------------------
REQUEST = N_("How do you like your purchase: {items}?")
REQUEST_HINT = N_("Rate it from 1 to 5 stars: it takes one tap.")
REMINDER_INTRO = N_("⏰ We would love to hear from you.")


def request_message(
    tr: Translator,
    review_id: int,
    items: list[ItemLine],
    *,
    reminder: bool = False,
    shop: str | None = None,
) -> tuple[str, InlineKeyboardMarkup]:
    lines = [shop_header(tr, shop), ""]
    lines += [tr(REMINDER_INTRO), ""] if reminder else [tr("Hello!")]
    lines += ["<b>" + tr(REQUEST, items=format_items(tr, items)) + "</b>", "", tr(REQUEST_HINT)]
    return "\n".join(lines), rating_keyboard(review_id)


def _answers_so_far(tr: Translator, state: ReviewState) -> list[str]:
    review = state.review
    lines = [shop_header(tr, state.shop), "", tr(REQUEST, items=format_items(tr, state.items)), ""]
    if review.rating is not None:
        lines.append(tr("Your rating: {stars}", stars=stars(review.rating)))
    if review.nps is not None:
        lines.append(tr("Would recommend us: {score} of 10", score=review.nps))
    if review.ces is not None:
        lines.append(tr("Effort: {score} of 5", score=review.ces))
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


def effort_message(tr: Translator, state: ReviewState) -> tuple[str, InlineKeyboardMarkup]:
    lines = _answers_so_far(tr, state)
    lines += [
        "",
        "<b>" + tr("How easy was it to place the order and get it?") + "</b>",
        tr("1 — very hard … 5 — very easy."),
    ]
    return "\n".join(lines), effort_keyboard(tr, state.review.id)


def after_nps_message(tr: Translator, state: ReviewState) -> tuple[str, InlineKeyboardMarkup]:
    """The step after NPS: the effort question (REVIEW_ASK_EFFORT), else the comment."""
    return effort_message(tr, state) if state.ask_effort else comment_message(tr, state)


def comment_message(tr: Translator, state: ReviewState) -> tuple[str, InlineKeyboardMarkup]:
    lines = _answers_so_far(tr, state)
    if state.negative:
        prompt = tr("What went wrong? Write a couple of words or press «Skip».")
    elif state.positive:
        prompt = tr("What did you like? Write a couple of words or press «Skip».")
    else:
        prompt = tr("Write a couple of words or press «Skip».")
    lines += ["", "<b>" + prompt + "</b>"]
    return "\n".join(lines), skip_keyboard(tr, state.review.id)


def thanks_message(tr: Translator, state: ReviewState) -> str:
    lines = _answers_so_far(tr, state)
    if state.review.comment:
        lines.append(tr("Your comment: {comment}", comment=escape(state.review.comment)))
    lines += ["", thanks_text(tr, state)]
    return "\n".join(lines)


def thanks_text(tr: Translator, state: ReviewState | None = None) -> str:
    if state is not None and state.late:
        return tr("Thank you! Your rating is saved.")
    if state is not None and state.negative:
        # The promise the case keeps: an admin answers from the alert.
        return tr(
            "Thank you for your review! We will look into it and answer you here, in this chat."
        )
    return tr("Thank you for your review! It helps us get better.")


def thanks_reply(tr: Translator, state: ReviewState) -> str:
    """The answer to a comment (a new message, so it names the shop too)."""
    return shop_header(tr, state.shop) + "\n\n" + thanks_text(tr, state)


def bonus_message(tr: Translator, bonus: str, shop: str | None = None) -> str:
    return (
        shop_header(tr, shop)
        + "\n\n"
        + tr("🎁 A thank-you for your review: {bonus}", bonus=escape(bonus))
    )


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
    text, markup = request_message(
        tr, review.id, items, reminder=reminder, shop=ctx.settings.shop_name
    )
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
    return Outgoing(chat_id=chat_id, text=bonus_message(tr, bonus, ctx.settings.shop_name))


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
