"""The voice of the customer's outbox kinds and use cases.

- voc_digest: one row per employee per VOC_CRON slot; the issue (figures and scrubbed comments)
  is built once, when the slot comes, and stored, so every employee reads the same one and a
  restart resends nothing new;
- voc_suggestion: an employee's suggestion, to every admin, with «➕ To the plan».

The ritual is the voc_digest kind's sweep (see bot.plans.rituals).
"""

from __future__ import annotations

from datetime import date, datetime
from html import escape
from typing import TYPE_CHECKING

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import SuggestionToPlanCb, VocSuggestCb
from bot.i18n import Translator
from bot.outbox import Kind, OutboxRow, Outgoing, RenderContext, Rendered, Skip
from bot.plans.model import add_months
from bot.plans.rituals import take_slot
from bot.texts import N_
from bot.voc.digest import issue_body, pick_comments, render_issue
from bot.voc.figures import month_comments, month_figures
from storage import outbox as outbox_q
from storage import plans as store
from storage import survey as survey_q
from storage.outbox import VOC_DIGEST, VOC_SUGGESTION

if TYPE_CHECKING:
    import aiosqlite

VOC_RITUAL = "voc"
SUGGESTION_MAX = 2000

MONTHS = (
    N_("January"), N_("February"), N_("March"), N_("April"), N_("May"), N_("June"), N_("July"),
    N_("August"), N_("September"), N_("October"), N_("November"), N_("December"),
)  # fmt: skip


def month_name(tr: Translator, day: date) -> str:
    return f"{tr(MONTHS[day.month - 1])} {day.year}"


async def build_issue(
    conn: aiosqlite.Connection, ctx: RenderContext, slot: datetime, now: datetime
) -> int:
    """The issue of a slot: the month before it (in TIMEZONE), scrubbed and stored."""
    local = slot.astimezone(ctx.settings.tz)
    end = local.replace(hour=0, minute=0, second=0, microsecond=0)
    start_day = add_months(end.date(), -1)
    start = end.replace(year=start_day.year, month=start_day.month, day=start_day.day)
    figures = await month_figures(conn, start, end, negative_max=ctx.settings.negative_rating_max)
    comments = pick_comments(await month_comments(conn, start, end))
    return await store.insert_voc_issue(conn, slot, start, end, issue_body(figures, comments), now)


async def voc_sweep(conn: aiosqlite.Connection, ctx: RenderContext, now: datetime) -> int:
    slot = await take_slot(conn, VOC_RITUAL, ctx.settings.voc_cron, ctx.settings.tz, now)
    if slot is None:
        return 0
    issue_id = await build_issue(conn, ctx, slot, now)
    employees = await survey_q.active_employees(conn)
    for employee in employees:
        await outbox_q.enqueue(
            conn, kind=VOC_DIGEST, due_at=now, now=now, employee_id=employee.id, ref_id=issue_id
        )
    return len(employees)


def suggest_keyboard(tr: Translator, issue_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=tr("💡 Suggest an improvement"),
                    callback_data=VocSuggestCb(issue=issue_id).pack(),
                )
            ]
        ]
    )


async def render_digest(ctx: RenderContext, conn: aiosqlite.Connection, row: OutboxRow) -> Rendered:
    if row.employee_id is None or row.ref_id is None:
        return Skip("failed", "voc row without employee or issue")
    employee = await survey_q.get_employee(conn, row.employee_id)
    if employee is None or employee.telegram_id is None:
        return Skip("cancelled", "employee left")
    issue = await store.get_voc_issue(conn, row.ref_id)
    if issue is None:
        return Skip("failed", "no such issue")
    tr = Translator(ctx.i18n, employee.language)
    month = month_name(tr, issue.period_from.astimezone(ctx.settings.tz).date())
    text = render_issue(tr, issue.body, month, escape)
    return Outgoing(employee.telegram_id, text, suggest_keyboard(tr, issue.id))


async def render_suggestion(
    ctx: RenderContext, conn: aiosqlite.Connection, row: OutboxRow
) -> Rendered:
    if row.chat_id is None or row.ref_id is None:
        return Skip("failed", "suggestion row without admin or suggestion")
    suggestion = await store.get_suggestion(conn, row.ref_id)
    if suggestion is None:
        return Skip("failed", "no such suggestion")
    tr = Translator(ctx.i18n, ctx.settings.default_language)
    author = (
        tr("from {name}", name=escape(suggestion.signed_name or str(suggestion.signed_chat_id)))
        if suggestion.signed_chat_id is not None
        else tr("anonymous")
    )
    text = "\n".join(
        [
            "💡 <b>" + tr("A suggestion from an employee ({author})", author=author) + "</b>",
            escape(suggestion.body),
        ]
    )
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=tr("➕ To the plan"),
                    callback_data=SuggestionToPlanCb(suggestion=suggestion.id).pack(),
                )
            ]
        ]
    )
    return Outgoing(row.chat_id, text, markup)


async def submit_suggestion(
    conn: aiosqlite.Connection,
    *,
    issue_id: int | None,
    body: str,
    signed_chat_id: int | None,
    signed_name: str | None,
    admin_ids: frozenset[int],
    today: date,
    now: datetime,
) -> int:
    """Store a suggestion and queue it to every admin (anonymous: no trace of the sender)."""
    suggestion_id = await store.insert_suggestion(
        conn,
        issue_id,
        body,
        signed_chat_id=signed_chat_id,
        signed_name=signed_name,
        day=today,
    )
    for admin_id in sorted(admin_ids):
        await outbox_q.enqueue(
            conn, kind=VOC_SUGGESTION, due_at=now, now=now, chat_id=admin_id, ref_id=suggestion_id
        )
    return suggestion_id


def clean_suggestion(raw: str | None) -> str | None:
    if raw is None:
        return None
    text = raw.strip()
    return text if text and len(text) <= SUGGESTION_MAX else None


KINDS = (
    Kind(VOC_DIGEST, render_digest, respects_send_window=False, sweep=voc_sweep),
    Kind(VOC_SUGGESTION, render_suggestion, respects_send_window=False),
)
