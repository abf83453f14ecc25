"""What owners and admins see of action plans, and the plans' outbox kinds.

- plan_owner: the owner is told what they own, with the status buttons;
- plan_checkin: the monthly «How is … going?» (PLAN_CHECKIN_CRON), the statuses as buttons and
  «Add a note»;
- plan_overdue: the admins' list of overdue initiatives, with each check-in ritual;
- plan_owner_gone: an owner blocked the bot or left; the admins are asked for a new one.

The check-in ritual itself is the plan_checkin kind's sweep: each tick it asks whether a
PLAN_CHECKIN_CRON time has come since the last one handled (bot.plans.rituals) and queues the
month's rows in the same transaction that records the slot.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from html import escape
from typing import TYPE_CHECKING

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.admins.service import current_admins
from bot.callbacks import CommentSkipCb, PlanNoteCb, PlanReassignCb, PlanStatusCb
from bot.i18n import Translator
from bot.outbox import Kind, OutboxRow, Outgoing, RenderContext, Rendered, Skip
from bot.plans.model import (
    OPEN,
    STATUS_ICONS,
    STATUS_TITLES,
    Status,
    checkin_choices,
    is_overdue,
)
from bot.plans.rituals import take_slot
from bot.survey.scoring import QUESTION_SHORT
from storage import outbox as outbox_q
from storage import plans as store
from storage import survey as survey_q
from storage.outbox import PLAN_CHECKIN, PLAN_OVERDUE, PLAN_OWNER, PLAN_OWNER_GONE
from storage.plans import Initiative

if TYPE_CHECKING:
    import aiosqlite

CHECKIN_RITUAL = "plan_checkin"
# The admins' overdue list stops before Telegram's 4096 characters; the report has them all.
OVERDUE_CHARS = 3800


def status_title(tr: Translator, status: str) -> str:
    value = Status(status)
    return f"{STATUS_ICONS[value]} {tr(STATUS_TITLES[value])}"


def question_label(tr: Translator, question: int) -> str:
    return tr("Q{n} «{name}»", n=question, name=tr(QUESTION_SHORT[question - 1]))


def due_text(tr: Translator, initiative: Initiative) -> str:
    if initiative.due_next_wave:
        return tr("by the next wave")
    if initiative.due_day is None:
        return "—"
    return initiative.due_day.strftime("%d.%m.%Y")


def initiative_lines(tr: Translator, initiative: Initiative) -> list[str]:
    owner = escape(initiative.owner_name) if initiative.owner_name else "—"
    return [
        f"<b>{escape(initiative.title)}</b>",
        tr("Question: {question}", question=escape(question_label(tr, initiative.question))),
        tr("Owner: {owner}", owner=owner),
        tr("Due: {due}", due=due_text(tr, initiative)),
        tr("Status: {status}", status=status_title(tr, initiative.status)),
    ]


def status_keyboard(tr: Translator, initiative: Initiative) -> InlineKeyboardMarkup | None:
    """The owner's buttons: the statuses they may choose, and «Add a note»."""
    current = Status(initiative.status)
    if current not in OPEN:
        return None
    buttons = [
        InlineKeyboardButton(
            text=("• " if status == current else "") + status_title(tr, status),
            callback_data=PlanStatusCb(initiative=initiative.id, status=status.value).pack(),
        )
        for status in checkin_choices(current)
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append(
        [
            InlineKeyboardButton(
                text=tr("📝 Add a note"),
                callback_data=PlanNoteCb(initiative=initiative.id).pack(),
            )
        ]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def with_comment_prompt(
    tr: Translator, text: str, markup: InlineKeyboardMarkup | None, wave_id: int
) -> tuple[str, InlineKeyboardMarkup]:
    """The survey's result message with the optional anonymous comment below it: one message,
    edited in place like the questions, with «Skip» above the result's own buttons."""
    prompt = "\n".join(
        [
            "",
            "💬 <b>" + tr("What keeps us from being closer to the customer?") + "</b>",
            tr(
                "Write it in one message, if you like. The comment is anonymous: it is kept "
                "without your name and without the time you wrote it, and admins read "
                "comments only in groups of several people."
            ),
        ]
    )
    skip = [InlineKeyboardButton(text=tr("Skip"), callback_data=CommentSkipCb(wave=wave_id).pack())]
    rows = [skip, *(markup.inline_keyboard if markup is not None else [])]
    return text + "\n" + prompt, InlineKeyboardMarkup(inline_keyboard=rows)


def owner_message(tr: Translator, initiative: Initiative) -> str:
    return "\n".join(
        [
            "📌 " + tr("You own an initiative of the action plan:"),
            *initiative_lines(tr, initiative),
            "",
            tr("Once a month the bot asks how it is going. Change the status with the buttons."),
        ]
    )


def checkin_message(tr: Translator, initiative: Initiative) -> str:
    return "\n".join(
        [
            "🧭 " + tr("How is «{title}» going?", title=escape(initiative.title)),
            tr("Question: {question}", question=escape(question_label(tr, initiative.question))),
            tr("Due: {due}", due=due_text(tr, initiative)),
            tr("Now: {status}", status=status_title(tr, initiative.status)),
            "",
            tr("Choose the status; add a note if there is something to tell."),
        ]
    )


async def _owner_state(
    conn: aiosqlite.Connection, initiative: Initiative
) -> tuple[str | None, str]:
    """(why the owner cannot be asked, or None; the owner's language)."""
    if initiative.owner_left:
        return "owner left", "ru"
    if initiative.owner_unreachable:
        return "owner unreachable", "ru"
    if initiative.owner_chat_id is None:
        return "no owner", "ru"
    if initiative.owner_employee_id is not None:
        employee = await survey_q.get_employee(conn, initiative.owner_employee_id)
        if employee is not None and employee.telegram_id == initiative.owner_chat_id:
            return None, employee.language
    return None, "ru"


async def _render_for_owner(
    ctx: RenderContext, conn: aiosqlite.Connection, row: OutboxRow, *, checkin: bool
) -> Rendered:
    if row.ref_id is None:
        return Skip("failed", "plan row without an initiative")
    initiative = await store.get_initiative(conn, row.ref_id)
    if initiative is None:
        return Skip("failed", "no such initiative")
    if checkin and Status(initiative.status) not in OPEN:
        return Skip("cancelled", "initiative finished")
    problem, language = await _owner_state(conn, initiative)
    if problem is not None or initiative.owner_chat_id is None:
        return Skip("cancelled", problem or "no owner")
    tr = Translator(ctx.i18n, language)
    text = checkin_message(tr, initiative) if checkin else owner_message(tr, initiative)
    return Outgoing(initiative.owner_chat_id, text, status_keyboard(tr, initiative))


async def render_owner(ctx: RenderContext, conn: aiosqlite.Connection, row: OutboxRow) -> Rendered:
    return await _render_for_owner(ctx, conn, row, checkin=False)


async def render_checkin(
    ctx: RenderContext, conn: aiosqlite.Connection, row: OutboxRow
) -> Rendered:
    return await _render_for_owner(ctx, conn, row, checkin=True)


async def on_owner_unreachable(
    ctx: RenderContext, conn: aiosqlite.Connection, row: OutboxRow, now: datetime
) -> None:
    """403 on an owner's message: they blocked the bot (or never started it). The admins hear
    of it from the plan_owner_gone sweep, in the next tick."""
    if row.ref_id is not None:
        await store.set_owner_unreachable(conn, row.ref_id, now)


async def owner_gone_sweep(conn: aiosqlite.Connection, ctx: RenderContext, now: datetime) -> int:
    """Ask the admins for a new owner, once, for each initiative whose owner blocked the bot or
    left (bot.privacy's /leave clears the owner's id)."""
    told = 0
    for initiative_id in await store.owners_gone_untold(conn):
        for admin_id in sorted(await current_admins(conn, ctx.settings.admin_ids)):
            await outbox_q.enqueue(
                conn,
                kind=PLAN_OWNER_GONE,
                due_at=now,
                now=now,
                chat_id=admin_id,
                ref_id=initiative_id,
            )
        await store.mark_gone_told(conn, initiative_id, now)
        told += 1
    return told


def local_today(now: datetime, tz: tzinfo) -> date:
    return now.astimezone(tz).date()


async def overdue_initiatives(conn: aiosqlite.Connection, today: date) -> list[Initiative]:
    waves = await survey_q.all_waves(conn)
    newest = waves[-1].id if waves else 0
    return [
        i
        for i in await store.open_initiatives(conn)
        if is_overdue(
            Status(i.status),
            i.due_day,
            today,
            due_next_wave=i.due_next_wave,
            next_wave_opened=newest > (i.base_wave_id or 0),
        )
    ]


async def render_overdue(
    ctx: RenderContext, conn: aiosqlite.Connection, row: OutboxRow
) -> Rendered:
    if row.chat_id is None:
        return Skip("failed", "overdue list without an admin")
    items = await overdue_initiatives(conn, local_today(ctx.clock.now(), ctx.settings.tz))
    if not items:
        return Skip("cancelled", "nothing overdue any more")
    tr = Translator(ctx.i18n, ctx.settings.default_language)
    lines = ["⏰ <b>" + tr("Overdue initiatives: {count}", count=len(items)) + "</b>"]
    listed = 0
    for item in items:
        owner = escape(item.owner_name) if item.owner_name else "—"
        line = tr(
            "№{id} {title} — {owner}, due {due}, {status}",
            id=item.id,
            title=escape(item.title),
            owner=owner,
            due=due_text(tr, item),
            status=status_title(tr, item.status),
        )
        if sum(len(x) + 1 for x in lines) + len(line) > OVERDUE_CHARS:
            break
        lines.append(line)
        listed += 1
    if listed < len(items):
        lines.append(tr("…and {n} more: see /report.", n=len(items) - listed))
    return Outgoing(row.chat_id, "\n".join(lines))


async def render_owner_gone(
    ctx: RenderContext, conn: aiosqlite.Connection, row: OutboxRow
) -> Rendered:
    if row.chat_id is None or row.ref_id is None:
        return Skip("failed", "owner-gone row without an admin or initiative")
    initiative = await store.get_initiative(conn, row.ref_id)
    if initiative is None or Status(initiative.status) not in OPEN:
        return Skip("cancelled", "initiative finished")
    if not (initiative.owner_left or initiative.owner_unreachable):
        return Skip("cancelled", "a new owner was chosen meanwhile")
    tr = Translator(ctx.i18n, ctx.settings.default_language)
    why = (
        tr("blocked the bot")
        if initiative.owner_unreachable
        else tr("has left the company's survey")
    )
    text = "\n".join(
        [
            "⚠️ "
            + tr(
                "The owner of «{title}» ({owner}) {why}: check-ins cannot reach them.",
                title=escape(initiative.title),
                owner=escape(initiative.owner_name or "—"),
                why=why,
            ),
            tr("Choose a new owner with the button."),
        ]
    )
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=tr("👤 New owner"),
                    callback_data=PlanReassignCb(initiative=initiative.id).pack(),
                )
            ]
        ]
    )
    return Outgoing(row.chat_id, text, markup)


async def checkin_sweep(conn: aiosqlite.Connection, ctx: RenderContext, now: datetime) -> int:
    """PLAN_CHECKIN_CRON: queue the month's check-ins and the admins' overdue list, once."""
    slot = await take_slot(
        conn, CHECKIN_RITUAL, ctx.settings.plan_checkin_cron, ctx.settings.tz, now
    )
    if slot is None:
        return 0
    queued = 0
    for initiative in await store.open_initiatives(conn):
        if initiative.owner_chat_id is None or initiative.owner_unreachable:
            continue  # the admins were asked for a new owner (owner_gone_sweep)
        await outbox_q.enqueue(
            conn,
            kind=PLAN_CHECKIN,
            due_at=now,
            now=now,
            chat_id=initiative.owner_chat_id,
            ref_id=initiative.id,
        )
        queued += 1
    if await overdue_initiatives(conn, local_today(now, ctx.settings.tz)):
        for admin_id in sorted(await current_admins(conn, ctx.settings.admin_ids)):
            await outbox_q.enqueue(conn, kind=PLAN_OVERDUE, due_at=now, now=now, chat_id=admin_id)
            queued += 1
    return queued


async def tell_owner(conn: aiosqlite.Connection, initiative: Initiative, now: datetime) -> None:
    """Queue the owner's «you own this» message (in the transaction that made them the owner)."""
    if initiative.owner_chat_id is not None:
        await outbox_q.enqueue(
            conn,
            kind=PLAN_OWNER,
            due_at=now,
            now=now,
            chat_id=initiative.owner_chat_id,
            ref_id=initiative.id,
        )


KINDS = (
    Kind(
        PLAN_OWNER,
        render_owner,
        respects_send_window=False,
        on_unreachable=on_owner_unreachable,
    ),
    Kind(
        PLAN_CHECKIN,
        render_checkin,
        respects_send_window=False,
        sweep=checkin_sweep,
        on_unreachable=on_owner_unreachable,
    ),
    Kind(PLAN_OVERDUE, render_overdue, respects_send_window=False),
    Kind(PLAN_OWNER_GONE, render_owner_gone, respects_send_window=False, sweep=owner_gone_sweep),
)
