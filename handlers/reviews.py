"""Customers answer review requests (stars, NPS, effort, comment).

Thin: every press goes to `bot.reviews.service`, which checks it against the database; these
handlers only show the outcome. A «Resolved» press that reaches this router
came from someone who is not an admin (the admin router, earlier, takes admins' presses).
"""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import BaseFilter
from aiogram.types import CallbackQuery, Message

from bot.callbacks import (
    AlertResolveCb,
    ReviewEffortCb,
    ReviewNpsCb,
    ReviewRatingCb,
    ReviewSkipCb,
)
from bot.clock import Clock
from bot.i18n import I18n, Translator, _
from bot.outbox import OutboxPort
from bot.reviews import service as reviews
from bot.reviews.messages import (
    after_nps_message,
    comment_message,
    nps_message,
    thanks_message,
    thanks_reply,
)
from bot.settings import Settings
from handlers.media import media_of, words_of
from handlers.replies import show
from handlers.routes import Routes
from storage import Database

log = logging.getLogger(__name__)

routes = Routes(__name__)


def refusal_text(refusal: reviews.Refusal) -> str:
    return {
        reviews.Refusal.INVALID: _("This button is no longer active."),
        reviews.Refusal.STALE: _("This button is no longer active."),
        reviews.Refusal.ALREADY: _("Your answer is already saved. Thank you!"),
        reviews.Refusal.EXPIRED: _("The time to answer this request has passed. Thank you!"),
    }[refusal]


def _tr(i18n: I18n) -> Translator:
    return Translator(i18n, i18n.current_locale)


# --- the review --------------------------------------------------------------------------------
@routes.callback_query(ReviewRatingCb.filter())
async def rate(
    callback: CallbackQuery,
    callback_data: ReviewRatingCb,
    db: Database,
    clock: Clock,
    settings: Settings,
    i18n: I18n,
    outbox: OutboxPort,
) -> None:
    result = await reviews.rate(
        db,
        telegram_id=callback.from_user.id,
        review_id=callback_data.review,
        rating=callback_data.rating,
        now=clock.now(),
        settings=settings,
    )
    if isinstance(result, reviews.Refusal):
        await callback.answer(refusal_text(result))
        return
    if result.negative:
        outbox.kick()  # the admins' alerts are queued: send them now, not at the next tick
    await callback.answer(_("Saved, thank you!"))
    if result.late:
        # Past the request's time: the rating is kept, the conversation is over.
        await show(callback, thanks_message(_tr(i18n), result), None)
        return
    await show(callback, *nps_message(_tr(i18n), result))


@routes.callback_query(ReviewNpsCb.filter())
async def recommend(
    callback: CallbackQuery,
    callback_data: ReviewNpsCb,
    db: Database,
    clock: Clock,
    settings: Settings,
    i18n: I18n,
) -> None:
    result = await reviews.score_nps(
        db,
        telegram_id=callback.from_user.id,
        review_id=callback_data.review,
        score=callback_data.score,
        now=clock.now(),
        settings=settings,
    )
    if isinstance(result, reviews.Refusal):
        await callback.answer(refusal_text(result))
        return
    await callback.answer(_("Saved, thank you!"))
    await show(callback, *after_nps_message(_tr(i18n), result))


@routes.callback_query(ReviewEffortCb.filter())
async def effort(
    callback: CallbackQuery,
    callback_data: ReviewEffortCb,
    db: Database,
    clock: Clock,
    settings: Settings,
    i18n: I18n,
) -> None:
    result = await reviews.score_effort(
        db,
        telegram_id=callback.from_user.id,
        review_id=callback_data.review,
        score=callback_data.score,
        now=clock.now(),
        settings=settings,
    )
    if isinstance(result, reviews.Refusal):
        await callback.answer(refusal_text(result))
        return
    await callback.answer(_("Saved, thank you!") if callback_data.score else None)
    await show(callback, *comment_message(_tr(i18n), result))


@routes.callback_query(ReviewSkipCb.filter())
async def skip_comment(
    callback: CallbackQuery,
    callback_data: ReviewSkipCb,
    db: Database,
    clock: Clock,
    settings: Settings,
    i18n: I18n,
    outbox: OutboxPort,
) -> None:
    result = await reviews.skip_comment(
        db,
        telegram_id=callback.from_user.id,
        review_id=callback_data.review,
        now=clock.now(),
        settings=settings,
    )
    if isinstance(result, reviews.Refusal):
        await callback.answer(refusal_text(result))
        return
    outbox.kick()  # the bonus, when there is one
    await callback.answer()
    await show(callback, thanks_message(_tr(i18n), result), None)


class AwaitingComment(BaseFilter):
    """The sender is a customer whose review waits for a comment: a plain text (not a
    command), or anything else (a photo, a voice message), which is then asked for as text."""

    async def __call__(self, message: Message, db: Database, clock: Clock) -> bool:
        if message.from_user is None or (message.text or "").startswith("/"):
            return False
        if message.contact is not None:
            return False  # a shared phone is linking (handlers/customers.py), never a comment
        return await reviews.awaiting_comment(db, message.from_user.id, clock.now())


@routes.message(AwaitingComment())
async def comment(
    message: Message,
    db: Database,
    clock: Clock,
    settings: Settings,
    i18n: I18n,
    outbox: OutboxPort,
) -> None:
    assert message.from_user is not None
    # A photo of the defect with a caption «вот фото брака»: the caption is the comment, and
    # the photo goes to the shop in the complaint's case.
    text, media = words_of(message), media_of(message)
    if not text or not text.strip():
        if media is not None and await reviews.attach_to_complaint(
            db, telegram_id=message.from_user.id, media=media, now=clock.now(), settings=settings
        ):
            outbox.kick()
            await message.answer(
                _(
                    "Thank you, we have passed it on to the shop. Please write in a few words "
                    "what went wrong, or press «Skip»."
                )
            )
            return
        await message.answer(
            _(
                "Please write your comment as text (photos and voice messages are not saved), "
                "or press «Skip»."
            )
        )
        return
    result = await reviews.add_comment(
        db,
        telegram_id=message.from_user.id,
        text=text,
        now=clock.now(),
        settings=settings,
        media=media,
    )
    if result is None:
        raise SkipHandler  # completed meanwhile (e.g. «Skip» pressed): not a comment after all
    outbox.kick()  # the bonus and the admins' follow-up, when there are any
    tr = _tr(i18n)
    assert message.bot is not None
    # The review message still offers «Skip» (and perhaps the effort buttons): the comment is
    # in, so it becomes the thank-you without buttons.
    for chat_id, message_id in await reviews.conversation_messages(db, result.review.id):
        await _settle_message(message.bot, chat_id, message_id, thanks_message(tr, result))
    await message.answer(thanks_reply(tr, result))


async def _settle_message(bot: Bot, chat_id: int, message_id: int, text: str) -> None:
    try:
        await bot.edit_message_text(text, chat_id=chat_id, message_id=message_id)
    except TelegramAPIError as exc:
        # Not modified (it was settled already), or too old to edit: nothing more to do.
        log.debug("review message %s/%s not settled: %s", chat_id, message_id, exc)


# --- not for customers -------------------------------------------------------------------------
@routes.callback_query(AlertResolveCb.filter())
async def resolve_not_admin(callback: CallbackQuery) -> None:
    await callback.answer(_("This button is for the bot's administrators only."))
