"""What employees see: questions with their keyboards, results, and the survey's outbox kinds."""

from __future__ import annotations

from functools import lru_cache
from html import escape
from typing import TYPE_CHECKING

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import SurveyAnswerCb, SurveyBackCb
from bot.i18n import Translator
from bot.outbox import Kind, OutboxRow, Outgoing, RenderContext, Rendered, Skip
from bot.survey.scoring import (
    QUESTION_COUNT,
    QUESTIONS,
    SCALE_HINT,
    SCORE_MAX,
    SCORE_MIN,
    level_for,
)
from bot.survey.service import Progress, employee_wave_state
from bot.texts import N_
from storage.outbox import SURVEY_INVITE, SURVEY_REMINDER

if TYPE_CHECKING:
    import aiosqlite


def question_message(
    tr: Translator,
    progress: Progress,
    question: int,
    *,
    change: bool = False,
    intro: str | None = None,
) -> tuple[str, InlineKeyboardMarkup]:
    """«Question N of 6», the text, the scale hint and five score buttons (plus «Back»)."""
    wave_id = progress.wave.id
    current = progress.answers.get(question)
    lines = []
    if intro:
        lines += [intro, ""]
    lines += [
        "<b>" + tr("Question {n} of {count}", n=question, count=QUESTION_COUNT) + "</b>",
        "",
        escape(tr(QUESTIONS[question - 1])),
        "",
        "<i>" + escape(tr(SCALE_HINT)) + "</i>",
    ]
    if change and current is not None:
        lines += ["", tr("Your answer now: {score}. Choose a new one.", score=current)]
    back = tr("◀ Back") if question > 1 else None
    return "\n".join(lines), _score_keyboard(wave_id, question, current, change, back)


# Every press shows one of a few keyboards (wave × question × current score); building one
# means a dozen pydantic models and callback packs, so they are built once. The markup is never
# mutated after it is built (aiogram only serialises it).
@lru_cache(maxsize=4096)
def _score_keyboard(
    wave_id: int, question: int, current: int | None, change: bool, back_text: str | None
) -> InlineKeyboardMarkup:
    scores = [
        InlineKeyboardButton(
            text=f"· {score} ·" if score == current else str(score),
            callback_data=SurveyAnswerCb(
                wave=wave_id, question=question, score=score, change=change
            ).pack(),
        )
        for score in range(SCORE_MIN, SCORE_MAX + 1)
    ]
    rows = [scores]
    if back_text is not None:
        rows.append(
            [
                InlineKeyboardButton(
                    text=back_text,
                    callback_data=SurveyBackCb(wave=wave_id, question=question - 1).pack(),
                )
            ]
        )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def result_message(tr: Translator, progress: Progress) -> tuple[str, InlineKeyboardMarkup]:
    total = progress.total
    level = level_for(total)
    text = "\n".join(
        [
            tr("Thank you! Your answers are saved."),
            "",
            "<b>"
            + tr("Your total: {total} of {max}", total=total, max=QUESTION_COUNT * SCORE_MAX)
            + "</b>",
            "<b>" + escape(tr(level.title)) + "</b>",
            escape(tr(level.description)),
            "",
            tr("Answers are confidential: admins see only totals across the company."),
        ]
    )
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=tr("◀ Change an answer"),
                    callback_data=SurveyBackCb(
                        wave=progress.wave.id, question=QUESTION_COUNT
                    ).pack(),
                )
            ]
        ]
    )
    return text, markup


def next_step_message(
    tr: Translator, progress: Progress, *, intro: str | None = None
) -> tuple[str, InlineKeyboardMarkup]:
    """The first unanswered question, or the result when every question is answered."""
    question = progress.next_question
    if question is None:
        return result_message(tr, progress)
    return question_message(tr, progress, question, intro=intro)


# --- the outbox ---------------------------------------------------------------------------------
async def _render(
    ctx: RenderContext, conn: aiosqlite.Connection, row: OutboxRow, intro: str
) -> Rendered:
    if row.employee_id is None or row.ref_id is None:
        return Skip("failed", "survey row without employee or wave")
    state = await employee_wave_state(conn, ctx.pseudonyms, row.employee_id, row.ref_id)
    if state is None:
        return Skip("cancelled", "wave closed or employee left")
    employee, progress = state
    if progress.complete:
        return Skip("cancelled", "survey already complete")
    assert employee.telegram_id is not None
    tr = Translator(ctx.i18n, employee.language)
    text, markup = next_step_message(
        tr, progress, intro=tr(intro, title=escape(progress.wave.title))
    )
    return Outgoing(chat_id=employee.telegram_id, text=text, reply_markup=markup)


INVITE_INTRO = N_(
    "📋 A new survey has started: «{title}». Six questions, a minute of your time. "
    "Answers are confidential."
)
REMINDER_INTRO = N_("⏰ A reminder: the survey «{title}» is waiting for your answers.")


async def render_invite(ctx: RenderContext, conn: aiosqlite.Connection, row: OutboxRow) -> Rendered:
    return await _render(ctx, conn, row, INVITE_INTRO)


async def render_reminder(
    ctx: RenderContext, conn: aiosqlite.Connection, row: OutboxRow
) -> Rendered:
    return await _render(ctx, conn, row, REMINDER_INTRO)


KINDS = (
    Kind(SURVEY_INVITE, render_invite, respects_send_window=False),
    Kind(SURVEY_REMINDER, render_reminder, respects_send_window=False),
)
