"""Employees answer the survey: /survey resumes it, buttons record answers."""

from __future__ import annotations

import logging

from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.callbacks import SurveyAnswerCb, SurveyBackCb
from bot.clock import Clock
from bot.i18n import I18n, Translator, _
from bot.plans.messages import with_comment_prompt
from bot.plans.service import open_comment_step
from bot.pseudonym import Pseudonymizer
from bot.survey import service as survey_service
from bot.survey.messages import next_step_message, question_message
from bot.survey.service import Refusal
from handlers.replies import show
from handlers.routes import Routes
from storage import Database

log = logging.getLogger(__name__)

routes = Routes(__name__)
# The score buttons are the bot's busiest updates (a wave is six presses per employee, all at
# once): their router goes right after the admins', so a press does not walk every feature's
# callback filters first (bench/throughput.py). Their prefixes (sa1, sb1) are the survey's
# own, so the order changes nothing else.
button_routes = Routes(__name__ + ".buttons")


def refusal_text(refusal: Refusal) -> str:
    return {
        Refusal.NOT_EMPLOYEE: _(
            "Only registered employees take the survey. Open the "
            "invitation link from your manager or HR to join."
        ),
        Refusal.NO_OPEN_WAVE: _(
            "There is no survey running right now. We will write when the next one starts."
        ),
        Refusal.WAVE_CLOSED: _("This survey is closed. Thank you!"),
        Refusal.STALE: _("This button is no longer active."),
        Refusal.INVALID: _("This button is no longer active."),
        Refusal.ALREADY: _("Your answer to this question is already saved."),
    }[refusal]


@routes.message(Command("survey"))
async def resume(
    message: Message, db: Database, clock: Clock, pseudonyms: Pseudonymizer, i18n: I18n
) -> None:
    assert message.from_user is not None
    progress = await survey_service.progress_for(
        db, pseudonyms, message.from_user.id, clock.now(), language=i18n.current_locale
    )
    if isinstance(progress, Refusal):
        await message.answer(refusal_text(progress))
        return
    tr = Translator(i18n, i18n.current_locale)
    text, markup = next_step_message(tr, progress)
    if progress.complete:
        text, markup = await _with_comment(db, pseudonyms, clock, tr, message.from_user.id,
                                           progress.wave.id, text, markup)  # fmt: skip
    await message.answer(text, reply_markup=markup)


@button_routes.callback_query(SurveyAnswerCb.filter())
async def answer(
    callback: CallbackQuery,
    callback_data: SurveyAnswerCb,
    db: Database,
    clock: Clock,
    pseudonyms: Pseudonymizer,
    i18n: I18n,
) -> None:
    result = await survey_service.record_answer(
        db,
        pseudonyms,
        telegram_id=callback.from_user.id,
        wave_id=callback_data.wave,
        question=callback_data.question,
        score=callback_data.score,
        change=callback_data.change,
        now=clock.now(),
    )
    if isinstance(result, Refusal):
        await callback.answer(refusal_text(result))
        if result is Refusal.ALREADY:
            # Saved earlier, but this message never moved on (the bot crashed, or Telegram
            # refused the edit, between saving and showing): show where the person really
            # is, so that no button is a dead end.
            progress = await survey_service.progress_in_wave(
                db, pseudonyms, callback.from_user.id, callback_data.wave
            )
            if isinstance(progress, survey_service.Progress):
                text, markup = next_step_message(Translator(i18n, i18n.current_locale), progress)
                await show(callback, text, markup)
        return
    await callback.answer(_("Saved: {score}").format(score=callback_data.score))
    tr = Translator(i18n, i18n.current_locale)
    text, markup = next_step_message(tr, result.progress)
    if result.progress.complete:
        text, markup = await _with_comment(db, pseudonyms, clock, tr, callback.from_user.id,
                                           result.progress.wave.id, text, markup)  # fmt: skip
    await show(callback, text, markup)


async def _with_comment(
    db: Database,
    pseudonyms: Pseudonymizer,
    clock: Clock,
    tr: Translator,
    user_id: int,
    wave_id: int,
    text: str,
    markup: InlineKeyboardMarkup,
) -> tuple[str, InlineKeyboardMarkup]:
    """The result with the optional anonymous comment under it (bot/plans), until passed."""
    async with db.write() as conn:
        ask = await open_comment_step(
            conn, wave_id, pseudonyms(user_id, wave_id), user_id, clock.now()
        )
    return with_comment_prompt(tr, text, markup, wave_id) if ask else (text, markup)


@button_routes.callback_query(SurveyBackCb.filter())
async def back(
    callback: CallbackQuery,
    callback_data: SurveyBackCb,
    db: Database,
    pseudonyms: Pseudonymizer,
    i18n: I18n,
) -> None:
    progress = await survey_service.progress_in_wave(
        db, pseudonyms, callback.from_user.id, callback_data.wave
    )
    if isinstance(progress, Refusal):
        await callback.answer(refusal_text(progress))
        return
    question = callback_data.question
    if question not in progress.answers:
        await callback.answer(refusal_text(Refusal.STALE))
        return
    await callback.answer()
    text, markup = question_message(
        Translator(i18n, i18n.current_locale), progress, question, change=True
    )
    await show(callback, text, markup)
