"""Admins plan the change: /plan (question → title → owner → due), owners picked in Telegram,
comments and suggestions turned into initiatives, department targets, the service pulse."""

from __future__ import annotations

import random
from collections.abc import Sequence
from html import escape

from aiogram import F
from aiogram.filters import BaseFilter, Command, CommandObject
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    KeyboardButtonRequestUsers,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.callbacks import (
    CommentToPlanCb,
    PlanCancelCb,
    PlanDueCb,
    PlanOwnerCb,
    PlanQuestionCb,
    PlanReassignCb,
    SuggestionToPlanCb,
)
from bot.clock import Clock
from bot.i18n import I18n, Translator, _
from bot.outbox import OutboxPort
from bot.plans import service
from bot.plans.comments import Comment
from bot.plans.messages import initiative_lines, local_today, question_label, tell_owner
from bot.plans.model import DUE_PRESET_TITLES, DuePreset, weakest_first
from bot.pulse.service import open_round
from bot.reports.plans import comments_of, latest_closed_wave
from bot.reports.render import fmt
from bot.reports.survey import survey_report
from bot.reports.targets import TARGET_MAX, TARGET_MIN, parse_target
from bot.settings import Settings
from bot.survey.scoring import DEVELOPMENT_STEPS
from handlers.replies import show
from handlers.routes import Routes
from storage import Database
from storage import plans as store
from storage import survey as survey_q
from storage.plans import PlanDraft

routes = Routes(__name__)

# The request_id of the «pick in Telegram» button: Telegram sends it back with the chosen user.
OWNER_REQUEST_ID = 12
OWNER_LIST_MAX = 8


def _tr(i18n: I18n) -> Translator:
    return Translator(i18n, i18n.current_locale)


def _name(first: str | None, last: str | None = None, username: str | None = None) -> str | None:
    name = " ".join(p for p in (first, last) if p)
    return name or (f"@{username}" if username else None)


def _cancel_row() -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(text=_("✖ Cancel"), callback_data=PlanCancelCb().pack())]


# --- /plan: the question ------------------------------------------------------------------------
async def _question_prompt(
    db: Database, settings: Settings, tr: Translator, draft: PlanDraft
) -> tuple[str, InlineKeyboardMarkup]:
    async with db.read() as conn:
        survey = await survey_report(conn, settings.survey_min_group)
    means = survey.latest.question_means if survey is not None else None
    choices = weakest_first(means)
    lines = ["🧭 <b>" + _("A new initiative of the action plan") + "</b>"]
    if draft.title:
        lines.append(_("Title: {title}").format(title=escape(draft.title)))
    if means:
        weakest = choices[0].question
        lines += [
            _("The weakest question is first: {question}, {mean} of 5.").format(
                question=escape(question_label(tr, weakest)), mean=fmt(means[weakest - 1])
            ),
            _("Development step: {step}").format(step=escape(tr(DEVELOPMENT_STEPS[weakest - 1]))),
        ]
    lines.append(_("Which question should the initiative improve?"))
    rows = [
        [
            InlineKeyboardButton(
                text=question_label(tr, c.question)
                + (f" · {fmt(c.mean)}" if c.mean is not None else ""),
                callback_data=PlanQuestionCb(question=c.question).pack(),
            )
        ]
        for c in choices
    ]
    rows.append(_cancel_row())
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


async def _start_draft(
    db: Database,
    clock: Clock,
    admin_id: int,
    *,
    title: str | None,
    source: str,
    source_id: int | None,
) -> PlanDraft:
    draft = PlanDraft(admin_id, "question", None, title, None, None, None, source, source_id)
    async with db.write() as conn:
        await store.save_draft(conn, draft, clock.now())
    return draft


@routes.message(Command("plan"))
async def plan(
    message: Message, db: Database, clock: Clock, settings: Settings, i18n: I18n
) -> None:
    assert message.from_user is not None
    draft = await _start_draft(
        db, clock, message.from_user.id, title=None, source="admin", source_id=None
    )
    text, markup = await _question_prompt(db, settings, _tr(i18n), draft)
    await message.answer(text, reply_markup=markup)


@routes.callback_query(PlanQuestionCb.filter())
async def plan_question(
    callback: CallbackQuery, callback_data: PlanQuestionCb, db: Database, clock: Clock, i18n: I18n
) -> None:
    admin_id = callback.from_user.id
    async with db.write() as conn:
        draft = await store.get_draft(conn, admin_id)
        if draft is None or draft.step != "question" or not 1 <= callback_data.question <= 6:
            await callback.answer(_("This button is no longer active."))
            return
        step = "owner" if draft.title else "title"
        draft = PlanDraft(
            admin_id,
            step,
            callback_data.question,
            draft.title,
            None,
            None,
            None,
            draft.source,
            draft.source_id,
        )
        await store.save_draft(conn, draft, clock.now())
    await callback.answer()
    tr = _tr(i18n)
    chosen = _("Question: {question}").format(
        question=escape(question_label(tr, callback_data.question))
    )
    if step == "title":
        await show(
            callback,
            chosen
            + "\n"
            + _("Write the initiative's title in one message (up to 200 characters)."),
            InlineKeyboardMarkup(inline_keyboard=[_cancel_row()]),
        )
        return
    await show(callback, chosen, None)
    await _owner_prompt(callback.message, db, admin_id, tr)  # type: ignore[arg-type]


class DraftAt(BaseFilter):
    """The admin's /plan conversation waits for this step (a plain text, not a command)."""

    def __init__(self, step: str) -> None:
        self.step = step

    async def __call__(self, message: Message, db: Database) -> bool:
        if message.from_user is None or not message.text or message.text.startswith("/"):
            return False
        async with db.read() as conn:
            draft = await store.get_draft(conn, message.from_user.id)
        return draft is not None and draft.step == self.step


@routes.message(F.text, DraftAt("title"))
async def plan_title(message: Message, db: Database, clock: Clock, i18n: I18n) -> None:
    assert message.from_user is not None
    title = service.title_of(message.text)
    if title is None:
        await message.answer(_("The title is 1 to 200 characters. Write it again, please."))
        return
    async with db.write() as conn:
        draft = await store.get_draft(conn, message.from_user.id)
        assert draft is not None
        await store.save_draft(
            conn,
            PlanDraft(
                draft.admin_id,
                "owner",
                draft.question,
                title,
                None,
                None,
                None,
                draft.source,
                draft.source_id,
            ),
            clock.now(),
        )
    await _owner_prompt(message, db, message.from_user.id, _tr(i18n))


# --- the owner ----------------------------------------------------------------------------------
async def _known_owners(db: Database, admin_id: int) -> list[tuple[int, str]]:
    """Whom the list offers: earlier owners (newest first), then the admin themself."""
    async with db.read() as conn:
        initiatives = await store.all_initiatives(conn)
    seen: dict[int, str] = {}
    for item in sorted(initiatives, key=lambda i: -i.id):
        if item.owner_chat_id is not None and item.owner_chat_id not in seen:
            seen[item.owner_chat_id] = item.owner_name or str(item.owner_chat_id)
    seen.pop(admin_id, None)
    return list(seen.items())[: OWNER_LIST_MAX - 1]


async def _owner_prompt(message: Message, db: Database, admin_id: int, tr: Translator) -> None:
    picker = ReplyKeyboardMarkup(
        keyboard=[
            [
                KeyboardButton(
                    text=_("👤 Pick the owner in Telegram"),
                    request_users=KeyboardButtonRequestUsers(
                        request_id=OWNER_REQUEST_ID,
                        user_is_bot=False,
                        max_quantity=1,
                        request_name=True,
                        request_username=True,
                    ),
                )
            ]
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )
    await message.answer(
        _("Who owns the initiative? Pick a person with the button below (any chat of yours)."),
        reply_markup=picker,
    )
    rows = [
        [InlineKeyboardButton(text=_("🙋 Me"), callback_data=PlanOwnerCb(owner=admin_id).pack())]
    ]
    rows += [
        [InlineKeyboardButton(text=name, callback_data=PlanOwnerCb(owner=chat_id).pack())]
        for chat_id, name in await _known_owners(db, admin_id)
    ]
    rows.append(_cancel_row())
    await message.answer(
        _("…or from the list:"), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
    )


async def _set_owner(
    message: Message,
    db: Database,
    clock: Clock,
    outbox: OutboxPort,
    tr: Translator,
    admin_id: int,
    owner_id: int,
    owner_name: str | None,
) -> bool:
    """Put the owner in the draft (or, for a reassignment, on the initiative); False if stale."""
    now = clock.now()
    async with db.write() as conn:
        draft = await store.get_draft(conn, admin_id)
        if draft is None or draft.step != "owner":
            return False
        employee = await survey_q.find_employee(conn, owner_id)
        employee_id = employee.id if employee is not None else None
        if draft.source == "reassign" and draft.source_id is not None:
            await store.set_owner(
                conn, draft.source_id, chat_id=owner_id, name=owner_name, employee_id=employee_id
            )
            await store.delete_draft(conn, admin_id)
            initiative = await store.get_initiative(conn, draft.source_id)
            assert initiative is not None
            await tell_owner(conn, initiative, now)
        else:
            initiative = None
            await store.save_draft(
                conn,
                PlanDraft(
                    admin_id,
                    "due",
                    draft.question,
                    draft.title,
                    owner_id,
                    owner_name,
                    employee_id,
                    draft.source,
                    draft.source_id,
                ),
                now,
            )
    await message.answer(
        _("Owner: {name}").format(name=escape(owner_name or str(owner_id))),
        reply_markup=ReplyKeyboardRemove(),
    )
    if initiative is not None:
        outbox.kick()
        await message.answer(
            _("The new owner of «{title}» is told.").format(title=escape(initiative.title))
        )
        return True
    rows = [
        [
            InlineKeyboardButton(
                text=tr(DUE_PRESET_TITLES[preset]), callback_data=PlanDueCb(preset=preset).pack()
            )
        ]
        for preset in DuePreset
    ]
    rows.append(_cancel_row())
    await message.answer(
        _("When is it due?"), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
    )
    return True


@routes.message(F.users_shared)
async def owner_shared(
    message: Message, db: Database, clock: Clock, outbox: OutboxPort, i18n: I18n
) -> None:
    assert message.from_user is not None
    assert message.users_shared is not None
    shared = message.users_shared
    if shared.request_id != OWNER_REQUEST_ID or not shared.users:
        return
    person = shared.users[0]
    name = _name(person.first_name, person.last_name, person.username)
    if not await _set_owner(
        message, db, clock, outbox, _tr(i18n), message.from_user.id, person.user_id, name
    ):
        await message.answer(
            _("There is no initiative waiting for an owner. Start one with /plan."),
            reply_markup=ReplyKeyboardRemove(),
        )


@routes.callback_query(PlanOwnerCb.filter())
async def owner_from_list(
    callback: CallbackQuery,
    callback_data: PlanOwnerCb,
    db: Database,
    clock: Clock,
    outbox: OutboxPort,
    i18n: I18n,
) -> None:
    admin = callback.from_user
    offered = dict(await _known_owners(db, admin.id))
    offered[admin.id] = _name(admin.first_name, admin.last_name, admin.username) or str(admin.id)
    # The data came from the client: only someone the list offered can be chosen.
    if callback_data.owner not in offered or callback.message is None:
        await callback.answer(_("This button is no longer active."))
        return
    ok = await _set_owner(
        callback.message,  # type: ignore[arg-type]
        db,
        clock,
        outbox,
        _tr(i18n),
        admin.id,
        callback_data.owner,
        offered[callback_data.owner],
    )
    await callback.answer(None if ok else _("This button is no longer active."))


# --- the due date, and the initiative is made ----------------------------------------------------
@routes.callback_query(PlanDueCb.filter())
async def plan_due(
    callback: CallbackQuery,
    callback_data: PlanDueCb,
    db: Database,
    clock: Clock,
    settings: Settings,
    outbox: OutboxPort,
    i18n: I18n,
) -> None:
    admin = callback.from_user
    try:
        preset = DuePreset(callback_data.preset)
    except ValueError:
        await callback.answer(_("This button is no longer active."))
        return
    now = clock.now()
    async with db.write() as conn:
        draft = await store.get_draft(conn, admin.id)
        if draft is None or draft.step != "due":
            await callback.answer(_("This button is no longer active."))
            return
        waves = await survey_q.all_waves(conn)
        initiative = await service.create_from_draft(
            conn,
            draft,
            preset,
            today=local_today(now, settings.tz),
            base_wave_id=waves[-1].id if waves else None,
            admin_name=_name(admin.first_name, admin.last_name, admin.username),
            now=now,
        )
        if initiative is not None:
            await tell_owner(conn, initiative, now)
    if initiative is None:
        await callback.answer(_("This button is no longer active."))
        return
    outbox.kick()
    await callback.answer()
    tr = _tr(i18n)
    await show(
        callback,
        "\n".join(
            [
                "✅ " + _("Initiative №{id} is in the plan:").format(id=initiative.id),
                *initiative_lines(tr, initiative),
                _("The owner is told, and asked how it goes once a month."),
            ]
        ),
        None,
    )


@routes.callback_query(PlanCancelCb.filter())
async def plan_cancel(callback: CallbackQuery, db: Database) -> None:
    async with db.write() as conn:
        await store.delete_draft(conn, callback.from_user.id)
    await callback.answer()
    await show(callback, _("Cancelled: no initiative was made."), None)


@routes.callback_query(PlanReassignCb.filter())
async def plan_reassign(
    callback: CallbackQuery, callback_data: PlanReassignCb, db: Database, clock: Clock, i18n: I18n
) -> None:
    async with db.write() as conn:
        initiative = await store.get_initiative(conn, callback_data.initiative)
        if initiative is None:
            await callback.answer(_("This button is no longer active."))
            return
        await store.save_draft(
            conn,
            PlanDraft(
                callback.from_user.id,
                "owner",
                initiative.question,
                initiative.title,
                None,
                None,
                None,
                "reassign",
                initiative.id,
            ),
            clock.now(),
        )
    await callback.answer()
    await _owner_prompt(callback.message, db, callback.from_user.id, _tr(i18n))  # type: ignore[arg-type]


# --- comments and suggestions into the plan ----------------------------------------------------
@routes.callback_query(CommentToPlanCb.filter())
async def comment_to_plan(
    callback: CallbackQuery,
    callback_data: CommentToPlanCb,
    db: Database,
    clock: Clock,
    settings: Settings,
    i18n: I18n,
) -> None:
    async with db.read() as conn:
        comment = await store.get_comment(conn, callback_data.comment)
        visible = (
            await comments_of(conn, comment.wave_id, settings.survey_comment_min_group)
            if comment is not None
            else None
        )
    shown = {c.id for g in visible.groups for c in g.comments} if visible else set()
    if comment is None or comment.id not in shown:
        await callback.answer(_("This button is no longer active."))
        return
    await _plan_from(callback, db, clock, settings, i18n, comment.body, "comment", comment.id)


@routes.callback_query(SuggestionToPlanCb.filter())
async def suggestion_to_plan(
    callback: CallbackQuery,
    callback_data: SuggestionToPlanCb,
    db: Database,
    clock: Clock,
    settings: Settings,
    i18n: I18n,
) -> None:
    async with db.read() as conn:
        suggestion = await store.get_suggestion(conn, callback_data.suggestion)
    if suggestion is None:
        await callback.answer(_("This button is no longer active."))
        return
    if suggestion.initiative_id is not None:
        await callback.answer(
            _("Already in the plan: initiative №{id}.").format(id=suggestion.initiative_id)
        )
        return
    await _plan_from(
        callback, db, clock, settings, i18n, suggestion.body, "suggestion", suggestion.id
    )


async def _plan_from(
    callback: CallbackQuery,
    db: Database,
    clock: Clock,
    settings: Settings,
    i18n: I18n,
    body: str,
    source: str,
    source_id: int,
) -> None:
    """An initiative drafted from a comment or a suggestion: its words are the title."""
    await callback.answer()
    draft = await _start_draft(
        db,
        clock,
        callback.from_user.id,
        title=service.title_from(body),
        source=source,
        source_id=source_id,
    )
    text, markup = await _question_prompt(db, settings, _tr(i18n), draft)
    await callback.message.answer(text, reply_markup=markup)  # type: ignore[union-attr]


# A page of /comments: within Telegram's 4096 characters with room for the heading, and few
# enough buttons to press comfortably (Telegram allows 100).
PAGE_CHARS = 3500
PAGE_BUTTONS = 30


def _comment_pages(comments: Sequence[Comment]) -> list[list[tuple[int, Comment]]]:
    """Numbered comments split into pages; a comment is never cut (each is at most 2000)."""
    pages: list[list[tuple[int, Comment]]] = [[]]
    size = 0
    for number, comment in enumerate(comments, start=1):
        length = len(escape(comment.body)) + 8
        if pages[-1] and (size + length > PAGE_CHARS or len(pages[-1]) >= PAGE_BUTTONS):
            pages.append([])
            size = 0
        pages[-1].append((number, comment))
        size += length
    return pages


@routes.message(Command("comments"))
async def comments(message: Message, db: Database, settings: Settings) -> None:
    """The latest closed wave's comments that may be shown, each with «➕ To the plan»."""
    async with db.read() as conn:
        wave = await latest_closed_wave(conn)
        visible = (
            await comments_of(conn, wave.id, settings.survey_comment_min_group, random.Random())
            if wave is not None
            else None
        )
    if wave is None or visible is None or not visible.total:
        await message.answer(_("No comments from a closed survey yet."))
        return
    if not visible.groups:
        await message.answer(
            _(
                "«{title}»: {count} comments, none shown: each group has fewer than {min} "
                "commenters."
            ).format(
                title=escape(wave.title),
                count=visible.total,
                min=settings.survey_comment_min_group,
            )
        )
        return
    for group in visible.groups:
        heading = escape(group.department) if group.department else _("Other departments")
        for part in _comment_pages(group.comments):
            lines = [f"💬 <b>{escape(wave.title)} — {heading}</b>"]
            buttons = []
            for number, comment in part:
                lines.append(f"{number}. {escape(comment.body)}")
                buttons.append(
                    InlineKeyboardButton(
                        text=f"➕ {number}",
                        callback_data=CommentToPlanCb(comment=comment.id).pack(),
                    )
                )
            rows = [buttons[i : i + 5] for i in range(0, len(buttons), 5)]
            await message.answer(
                "\n".join(lines), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
            )
    if visible.hidden:
        await message.answer(
            _("{count} comments are not shown: their groups have fewer than {min}.").format(
                count=visible.hidden, min=settings.survey_comment_min_group
            )
        )


# --- department targets -------------------------------------------------------------------------
class DepartmentTarget(BaseFilter):
    """/target with a department after the number: /target 23 Продажи."""

    async def __call__(self, message: Message) -> bool:
        parts = (message.text or "").split(maxsplit=2)
        # A department is named with letters; «/target 23 24» stays the plain refusal.
        return len(parts) == 3 and any(char.isalpha() for char in parts[2])


@routes.message(Command("target"), DepartmentTarget())
async def department_target(
    message: Message, command: CommandObject, db: Database, clock: Clock, settings: Settings
) -> None:
    assert message.from_user is not None
    assert command.args is not None
    raw_value, name = command.args.split(maxsplit=1)
    value = parse_target(raw_value)
    if value is None:
        await message.answer(
            _("The target is a whole number from {min} to {max}, e.g. /target 23 Sales").format(
                min=TARGET_MIN, max=TARGET_MAX
            )
        )
        return
    now = clock.now()
    async with db.write() as conn:
        # Matched without regard to case in Python: SQLite's NOCASE folds ASCII letters only.
        async with conn.execute("SELECT id, name FROM departments") as cur:
            wanted = " ".join(name.split()).casefold()
            row = next((r for r in await cur.fetchall() if r[1].casefold() == wanted), None)
        if row is None:
            names = ", ".join(n for n, _count in await survey_q.departments_with_members(conn))
            await message.answer(
                _("There is no department «{name}». Departments: {names}").format(
                    name=escape(name.strip()), names=escape(names) or "—"
                )
            )
            return
        waves = await survey_q.all_waves(conn)
        await store.insert_department_target(
            conn, row[0], value, message.from_user.id, waves[-1].id if waves else None, now
        )
    await message.answer(
        _(
            "🎯 Target of «{department}» for the next wave: {target} of {max}. The report shows "
            "it with the gap where the department's figures may be shown (at least {min} "
            "respondents)."
        ).format(
            department=escape(row[1]),
            target=value,
            max=TARGET_MAX,
            min=settings.survey_min_group,
        )
    )


# --- the internal service pulse -----------------------------------------------------------------
@routes.message(Command("pulse_start"))
async def pulse_start(message: Message, db: Database, clock: Clock, outbox: OutboxPort) -> None:
    assert message.from_user is not None
    async with db.write() as conn:
        opened = await open_round(conn, message.from_user.id, clock.now())
    if opened is None:
        await message.answer(_("A pulse is already open. Close it with /pulse_close first."))
        return
    outbox.kick()
    await message.answer(
        _("🤝 The internal service pulse is open: {count} employees are asked.").format(
            count=opened[1]
        )
    )


@routes.message(Command("pulse_close"))
async def pulse_close(message: Message, db: Database, clock: Clock) -> None:
    async with db.write() as conn:
        pulse = await store.open_pulse(conn)
        if pulse is not None:
            await store.close_pulse(conn, pulse.id, clock.now())
    await message.answer(
        _("The pulse is closed; see /report.") if pulse else _("There is no open pulse.")
    )
