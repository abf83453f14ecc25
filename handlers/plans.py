"""Owners, employees and the plan: check-in buttons and notes, the survey's anonymous comment,
suggestions from the voice of the customer, and the internal service pulse."""

from __future__ import annotations

from datetime import timedelta
from html import escape

from aiogram import F
from aiogram.filters import BaseFilter
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.admins.service import Roster
from bot.callbacks import (
    CommentSkipCb,
    PlanNoteCb,
    PlanStatusCb,
    PulseDoneCb,
    PulsePickCb,
    PulseScoreCb,
    VocSuggestCb,
)
from bot.clock import Clock
from bot.i18n import I18n, Translator, _
from bot.outbox import OutboxPort
from bot.plans import service
from bot.plans.comments import clean_comment
from bot.plans.messages import initiative_lines, local_today, status_keyboard, status_title
from bot.plans.model import Move, Status
from bot.pseudonym import Pseudonymizer
from bot.pulse import service as pulse
from bot.settings import Settings
from bot.survey import service as survey_service
from bot.survey.messages import result_message
from bot.voc.messages import clean_suggestion, submit_suggestion
from handlers.replies import show
from handlers.routes import Routes
from storage import Database
from storage import plans as store
from storage import survey as survey_q

routes = Routes(__name__)


def _tr(i18n: I18n) -> Translator:
    return Translator(i18n, i18n.current_locale)


def _name(callback_or_message: CallbackQuery | Message) -> str | None:
    user = callback_or_message.from_user
    if user is None:
        return None
    return " ".join(p for p in (user.first_name, user.last_name) if p) or user.username


# --- check-ins ----------------------------------------------------------------------------------
@routes.callback_query(PlanStatusCb.filter())
async def set_status(
    callback: CallbackQuery,
    callback_data: PlanStatusCb,
    db: Database,
    clock: Clock,
    roster: Roster,
    i18n: I18n,
) -> None:
    try:
        status = Status(callback_data.status)
    except ValueError:
        await callback.answer(_("This button is no longer active."))
        return
    async with db.write() as conn:
        change = await service.change_status(
            conn,
            callback_data.initiative,
            status,
            by_chat_id=callback.from_user.id,
            by_name=_name(callback),
            is_admin=roster.is_admin(callback.from_user.id),
            now=clock.now(),
        )
    if change.initiative is None or change.not_allowed:
        await callback.answer(_("This button is no longer active."))
        return
    tr = _tr(i18n)
    if change.move == Move.REFUSED:
        await callback.answer(
            _("The initiative is already {status}; only an admin can reopen it.").format(
                status=status_title(tr, change.initiative.status)
            )
        )
        return
    await callback.answer(_("Saved: {status}").format(status=status_title(tr, status)))
    text = "\n".join(
        [*initiative_lines(tr, change.initiative), "", _("Thank you! The status is saved.")]
    )
    await show(callback, text, status_keyboard(tr, change.initiative))


@routes.callback_query(PlanNoteCb.filter())
async def ask_note(
    callback: CallbackQuery,
    callback_data: PlanNoteCb,
    db: Database,
    clock: Clock,
    roster: Roster,
) -> None:
    async with db.write() as conn:
        initiative = await store.get_initiative(conn, callback_data.initiative)
        allowed = initiative is not None and (
            initiative.owner_chat_id == callback.from_user.id
            or roster.is_admin(callback.from_user.id)
        )
        if allowed:
            await store.set_pending(
                conn, callback.from_user.id, "checkin_note", callback_data.initiative, clock.now()
            )
    if not allowed or initiative is None:
        await callback.answer(_("This button is no longer active."))
        return
    await callback.answer()
    await callback.message.answer(  # type: ignore[union-attr]
        _("Write the note about «{title}» in one message.").format(title=escape(initiative.title))
    )


# --- the survey's anonymous comment -------------------------------------------------------------


async def _comment_department(
    db_conn: object, employee_department_id: int, wave_id: int, min_group: int
) -> int | None:
    """The department is kept with a comment only when at least `min_group` of it were asked."""
    async with db_conn.execute(  # type: ignore[attr-defined]
        "SELECT COUNT(*) FROM wave_invitations WHERE wave_id = ? AND department_id = ?",
        (wave_id, employee_department_id),
    ) as cur:
        row = await cur.fetchone()
    return employee_department_id if row and row[0] >= min_group else None


async def _finish_comment(
    db: Database,
    pseudonyms: Pseudonymizer,
    clock: Clock,
    settings: Settings,
    telegram_id: int,
    wave_id: int,
    body: str | None,
) -> bool:
    now = clock.now()
    async with db.write() as conn:
        await store.clear_pending(conn, telegram_id, "survey_comment")
        wave = await survey_q.get_wave(conn, wave_id)
        employee = await survey_q.find_employee(conn, telegram_id)
        if wave is None or not wave.is_open or employee is None:
            return False
        department = (
            await _comment_department(
                conn, employee.department_id, wave_id, settings.survey_comment_min_group
            )
            if body is not None
            else None
        )
        return await service.record_comment(
            conn,
            wave_id,
            pseudonyms(telegram_id, wave_id),
            body,
            department_id=department,
            day=local_today(now, settings.tz),
        )


@routes.callback_query(CommentSkipCb.filter())
async def skip_comment(
    callback: CallbackQuery,
    callback_data: CommentSkipCb,
    db: Database,
    pseudonyms: Pseudonymizer,
    clock: Clock,
    settings: Settings,
    i18n: I18n,
) -> None:
    async with db.read() as conn:
        pending = await store.get_pending(conn, callback.from_user.id)
    if pending is None or pending.kind != "survey_comment" or pending.ref_id != callback_data.wave:
        # Only the prompt the bot showed can be skipped (a forged press changes nothing).
        await callback.answer(_("This button is no longer active."))
        return
    await _finish_comment(
        db, pseudonyms, clock, settings, callback.from_user.id, callback_data.wave, None
    )
    await callback.answer(_("Thank you! See you at the next survey."))
    # The message goes back to the survey's result alone (the prompt and «Skip» go).
    progress = await survey_service.progress_in_wave(
        db, pseudonyms, callback.from_user.id, callback_data.wave
    )
    if isinstance(progress, survey_service.Progress) and progress.complete:
        text, markup = result_message(_tr(i18n), progress)
        await show(callback, text, markup)


# --- the voice of the customer: suggestions -----------------------------------------------------
@routes.callback_query(VocSuggestCb.filter())
async def suggest(
    callback: CallbackQuery, callback_data: VocSuggestCb, db: Database, clock: Clock
) -> None:
    async with db.read() as conn:
        issue = await store.get_voc_issue(conn, callback_data.issue)
    if issue is None:
        await callback.answer(_("This button is no longer active."))
        return
    await callback.answer()
    if callback_data.signed is None:
        await callback.message.answer(  # type: ignore[union-attr]
            _(
                "What would you improve? Choose how to send it: anonymously (nobody, the admins "
                "included, learns who wrote it) or with your name."
            ),
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[
                    [
                        InlineKeyboardButton(
                            text=_("🕶 Anonymously"),
                            callback_data=VocSuggestCb(issue=issue.id, signed=False).pack(),
                        ),
                        InlineKeyboardButton(
                            text=_("✍ With my name"),
                            callback_data=VocSuggestCb(issue=issue.id, signed=True).pack(),
                        ),
                    ]
                ]
            ),
        )
        return
    async with db.write() as conn:
        await store.set_pending(
            conn,
            callback.from_user.id,
            "suggestion",
            issue.id,
            clock.now(),
            signed=callback_data.signed,
        )
    await show(
        callback,
        _("Write your suggestion in one message (up to 2000 characters)."),
        None,
    )


# --- free text the bot waits for ---------------------------------------------------------------
# A question the bot asked waits this long for its text; after that a plain message is not
# taken for the answer (it goes to whatever else it may be, e.g. a review's comment).
PENDING_FOR = timedelta(days=1)


class AwaitingInput(BaseFilter):
    """The sender owes the bot a text (a note, a comment, a suggestion): a plain text message."""

    async def __call__(
        self, message: Message, db: Database, clock: Clock
    ) -> bool | dict[str, object]:
        if message.from_user is None or not message.text or message.text.startswith("/"):
            return False
        async with db.read() as conn:
            pending = await store.get_pending(conn, message.from_user.id)
            if pending is None or clock.now() - pending.created_at > PENDING_FOR:
                return False
            if pending.kind == "survey_comment":
                wave = await survey_q.get_wave(conn, pending.ref_id)
                if wave is None or not wave.is_open:
                    return False  # the survey closed: the text is not a comment any more
        return {"pending": pending}


@routes.message(F.text, AwaitingInput())
async def text_input(
    message: Message,
    pending: store.PendingInput,
    db: Database,
    clock: Clock,
    settings: Settings,
    pseudonyms: Pseudonymizer,
    outbox: OutboxPort,
    i18n: I18n,
    roster: Roster,
) -> None:
    assert message.from_user is not None
    assert message.text is not None
    user_id = message.from_user.id
    if pending.kind == "survey_comment":
        body = clean_comment(message.text)
        if body is None:
            await message.answer(
                _("The comment is up to 2000 characters. Write it shorter, please.")
            )
            return
        saved = await _finish_comment(
            db, pseudonyms, clock, settings, user_id, pending.ref_id, body
        )
        await message.answer(
            _("Thank you! Your comment is saved anonymously.")
            if saved
            else _("This survey is closed. Thank you!")
        )
        return
    if pending.kind == "suggestion":
        body = clean_suggestion(message.text)
        if body is None:
            await message.answer(
                _("The suggestion is up to 2000 characters. Write it shorter, please.")
            )
            return
        now = clock.now()
        async with db.write() as conn:
            await store.clear_pending(conn, user_id, "suggestion")
            await submit_suggestion(
                conn,
                issue_id=pending.ref_id,
                body=body,
                signed_chat_id=user_id if pending.signed else None,
                signed_name=_name(message) if pending.signed else None,
                admin_ids=roster.ids,
                today=local_today(now, settings.tz),
                now=now,
            )
        outbox.kick()
        await message.answer(_("Thank you! The admins have your suggestion."))
        return
    # A check-in note.
    async with db.write() as conn:
        await store.clear_pending(conn, user_id, "checkin_note")
        note = await service.add_note(
            conn, pending.ref_id, message.text, by_chat_id=user_id, by_name=_name(message),
            now=clock.now(),
        )  # fmt: skip
    if note is None:
        await message.answer(_("The note is 1 to 1000 characters; it was not saved."))
        return
    await message.answer(_("The note is saved. Thank you!"))


# --- the internal service pulse -----------------------------------------------------------------
@routes.callback_query(PulsePickCb.filter())
async def pulse_pick(
    callback: CallbackQuery,
    callback_data: PulsePickCb,
    db: Database,
    pseudonyms: Pseudonymizer,
    i18n: I18n,
) -> None:
    async with db.write() as conn:
        state = await pulse.state_for(conn, pseudonyms, callback_data.round, callback.from_user.id)
        ok = state is not None and await pulse.toggle_pick(conn, state, callback_data.department)
        if state is not None:
            state = await pulse.state_for(
                conn, pseudonyms, callback_data.round, callback.from_user.id
            )
    if state is None:
        await callback.answer(_("This pulse is closed. Thank you!"))
        return
    if not ok:
        await callback.answer(_("Up to three departments, not your own; a rated one stays."))
        return
    await callback.answer()
    text, markup = pulse.pick_message(_tr(i18n), state)
    await show(callback, text, markup)


async def _next_pulse_step(callback: CallbackQuery, state: pulse.PulseState, i18n: I18n) -> None:
    tr = _tr(i18n)
    department = state.next_unrated
    if department is None:
        await show(callback, pulse.thanks_message(tr), None)
        return
    text, markup = pulse.score_message(tr, state, department)
    await show(callback, text, markup)


@routes.callback_query(PulseDoneCb.filter())
async def pulse_done(
    callback: CallbackQuery,
    callback_data: PulseDoneCb,
    db: Database,
    pseudonyms: Pseudonymizer,
    i18n: I18n,
) -> None:
    async with db.read() as conn:
        state = await pulse.state_for(conn, pseudonyms, callback_data.round, callback.from_user.id)
    if state is None:
        await callback.answer(_("This pulse is closed. Thank you!"))
        return
    if not state.picks:
        await callback.answer(_("Pick at least one department first."))
        return
    await callback.answer()
    await _next_pulse_step(callback, state, i18n)


@routes.callback_query(PulseScoreCb.filter())
async def pulse_score(
    callback: CallbackQuery,
    callback_data: PulseScoreCb,
    db: Database,
    pseudonyms: Pseudonymizer,
    i18n: I18n,
) -> None:
    if not 1 <= callback_data.score <= 5:
        await callback.answer(_("This button is no longer active."))
        return
    async with db.write() as conn:
        state = await pulse.state_for(conn, pseudonyms, callback_data.round, callback.from_user.id)
        saved = state is not None and await store.set_pulse_score(
            conn, state.round_id, state.respondent, callback_data.department, callback_data.score
        )
        if state is not None:
            state = await pulse.state_for(
                conn, pseudonyms, callback_data.round, callback.from_user.id
            )
    if state is None:
        await callback.answer(_("This pulse is closed. Thank you!"))
        return
    if not saved:
        await callback.answer(_("This button is no longer active."))
        return
    await callback.answer(_("Saved: {score}").format(score=callback_data.score))
    await _next_pulse_step(callback, state, i18n)
