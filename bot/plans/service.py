"""Action-plan use cases: plain async functions over a connection, in the caller's transaction.

Who may do what is decided here, not in the handlers: an initiative's status is changed by its
owner or an admin; the owner's check-in buttons cannot undo a finished one; every change and
every note is kept with who and when.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import aiosqlite

from bot.plans.model import (
    NOTE_MAX,
    TITLE_MAX,
    DuePreset,
    Move,
    PlanItem,
    Status,
    clean_text,
    decide_move,
    due_day,
    is_overdue,
)
from storage import plans as store
from storage.plans import Initiative, PlanDraft


@dataclass(frozen=True)
class StatusChange:
    move: Move
    initiative: Initiative | None  # as it is now; None when there is no such initiative
    not_allowed: bool = False  # the presser is neither the owner nor an admin


async def change_status(
    conn: aiosqlite.Connection,
    initiative_id: int,
    new: Status,
    *,
    by_chat_id: int,
    by_name: str | None,
    is_admin: bool,
    now: datetime,
) -> StatusChange:
    initiative = await store.get_initiative(conn, initiative_id)
    if initiative is None:
        return StatusChange(Move.REFUSED, None)
    if not is_admin and initiative.owner_chat_id != by_chat_id:
        return StatusChange(Move.REFUSED, initiative, not_allowed=True)
    current = Status(initiative.status)
    move = decide_move(current, new, by_admin=is_admin)
    if move == Move.REFUSED:
        return StatusChange(move, initiative)
    if move == Move.CHANGED:
        if not await store.set_status(
            conn, initiative_id, previous=current, status=new, now=now
        ):  # pragma: no cover - one writer at a time; kept for the day there are more
            return StatusChange(Move.REFUSED, initiative)
        await store.add_event(conn, initiative_id, new, current, None, by_chat_id, by_name, now)
    else:
        # «Still in progress» is an answer to a check-in too: kept in the history.
        await store.add_event(conn, initiative_id, new, current, None, by_chat_id, by_name, now)
    return StatusChange(move, await store.get_initiative(conn, initiative_id))


async def add_note(
    conn: aiosqlite.Connection,
    initiative_id: int,
    raw: str,
    *,
    by_chat_id: int,
    by_name: str | None,
    now: datetime,
) -> str | None:
    """Keep a check-in note; returns the note, or None when it is empty or too long."""
    note = clean_text(raw, NOTE_MAX)
    initiative = await store.get_initiative(conn, initiative_id)
    if note is None or initiative is None:
        return None
    await store.add_event(
        conn, initiative_id, initiative.status, initiative.status, note, by_chat_id, by_name, now
    )
    return note


async def create_from_draft(
    conn: aiosqlite.Connection,
    draft: PlanDraft,
    preset: DuePreset,
    *,
    today: date,
    base_wave_id: int | None,
    admin_name: str | None,
    now: datetime,
) -> Initiative | None:
    """The initiative of a finished /plan conversation; None when the draft is incomplete."""
    if draft.question is None or draft.title is None or draft.owner_chat_id is None:
        return None
    initiative_id = await store.insert_initiative(
        conn,
        question=draft.question,
        title=draft.title,
        owner_chat_id=draft.owner_chat_id,
        owner_name=draft.owner_name,
        owner_employee_id=draft.owner_employee_id,
        due_day=due_day(preset, today),
        due_next_wave=preset == DuePreset.NEXT_WAVE,
        base_wave_id=base_wave_id,
        source=draft.source,
        source_id=draft.source_id,
        created_by=draft.admin_id,
        created_by_name=admin_name,
        now=now,
    )
    if draft.source == "suggestion" and draft.source_id is not None:
        await store.link_suggestion(conn, draft.source_id, initiative_id)
    await store.delete_draft(conn, draft.admin_id)
    return await store.get_initiative(conn, initiative_id)


def title_of(raw: str | None) -> str | None:
    return clean_text(raw, TITLE_MAX)


def title_from(text: str) -> str:
    """A comment or a suggestion as an initiative's first title: one line, cut to fit."""
    line = " ".join(text.split())
    return line if len(line) <= TITLE_MAX else line[: TITLE_MAX - 1].rstrip() + "…"


def plan_item(initiative: Initiative, today: date, *, next_wave_opened: bool) -> PlanItem:
    status = Status(initiative.status)
    return PlanItem(
        id=initiative.id,
        question=initiative.question,
        title=initiative.title,
        status=status,
        owner_name=initiative.owner_name,
        due=initiative.due_day,
        due_next_wave=initiative.due_next_wave,
        done_on=initiative.done_at.date() if initiative.done_at else None,
        overdue=is_overdue(
            status,
            initiative.due_day,
            today,
            due_next_wave=initiative.due_next_wave,
            next_wave_opened=next_wave_opened,
        ),
        base_wave_id=initiative.base_wave_id,
    )


async def open_comment_step(
    conn: aiosqlite.Connection, wave_id: int, respondent: str, telegram_id: int, now: datetime
) -> bool:
    """After question 6: whether to ask for the comment (the step is not passed yet); the next
    plain text of the employee is then the comment."""
    if await store.comment_step_done(conn, wave_id, respondent):
        return False
    await store.set_pending(conn, telegram_id, "survey_comment", wave_id, now)
    return True


async def record_comment(
    conn: aiosqlite.Connection,
    wave_id: int,
    respondent: str,
    body: str | None,
    *,
    department_id: int | None,
    day: date,
) -> bool:
    """Pass the comment step (with a comment, or `None` to skip); False if it was passed before.

    The step is kept by pseudonym and the comment without one, so the database can say who has
    passed the step but not which comment is whose.
    """
    if not await store.mark_comment_step(conn, wave_id, respondent):
        return False
    if body is not None:
        await store.insert_comment(conn, wave_id, department_id, body, day)
    return True
