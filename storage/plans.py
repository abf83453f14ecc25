"""Queries for action plans, department targets, survey comments, the voice of the customer's
issues and suggestions, and the internal service pulse (migration 0009)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import aiosqlite

from storage.timestamps import from_db, to_db


# --- initiatives ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Initiative:
    id: int
    question: int
    title: str
    owner_chat_id: int | None
    owner_name: str | None
    owner_employee_id: int | None
    due_day: date | None
    due_next_wave: bool
    status: str
    base_wave_id: int | None
    source: str
    source_id: int | None
    created_by: int
    created_at: datetime
    status_at: datetime
    done_at: datetime | None
    owner_unreachable: bool
    owner_left: bool


@dataclass(frozen=True)
class InitiativeEvent:
    status: str
    previous: str | None
    note: str | None
    by_chat_id: int
    by_name: str | None
    at: datetime


def _initiative(row: aiosqlite.Row) -> Initiative:
    return Initiative(
        id=row["id"],
        question=row["question"],
        title=row["title"],
        owner_chat_id=row["owner_chat_id"],
        owner_name=row["owner_name"],
        owner_employee_id=row["owner_employee_id"],
        due_day=date.fromisoformat(row["due_day"]) if row["due_day"] else None,
        due_next_wave=bool(row["due_next_wave"]),
        status=row["status"],
        base_wave_id=row["base_wave_id"],
        source=row["source"],
        source_id=row["source_id"],
        created_by=row["created_by"],
        created_at=from_db(row["created_at"]),
        status_at=from_db(row["status_at"]),
        done_at=from_db(row["done_at"]) if row["done_at"] else None,
        owner_unreachable=row["owner_unreachable_at"] is not None,
        owner_left=row["owner_left_at"] is not None,
    )


async def insert_initiative(
    conn: aiosqlite.Connection,
    *,
    question: int,
    title: str,
    owner_chat_id: int | None,
    owner_name: str | None,
    owner_employee_id: int | None,
    due_day: date | None,
    due_next_wave: bool,
    base_wave_id: int | None,
    source: str,
    source_id: int | None,
    created_by: int,
    created_by_name: str | None,
    now: datetime,
) -> int:
    cur = await conn.execute(
        "INSERT INTO initiatives (question, title, owner_chat_id, owner_name, owner_employee_id,"
        " due_day, due_next_wave, base_wave_id, source, source_id, created_by, created_at,"
        " status_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            question,
            title,
            owner_chat_id,
            owner_name,
            owner_employee_id,
            due_day.isoformat() if due_day else None,
            int(due_next_wave),
            base_wave_id,
            source,
            source_id,
            created_by,
            to_db(now),
            to_db(now),
        ),
    )
    initiative_id = int(cur.lastrowid or 0)
    await add_event(conn, initiative_id, "planned", None, None, created_by, created_by_name, now)
    return initiative_id


async def get_initiative(conn: aiosqlite.Connection, initiative_id: int) -> Initiative | None:
    async with conn.execute("SELECT * FROM initiatives WHERE id = ?", (initiative_id,)) as cur:
        row = await cur.fetchone()
    return _initiative(row) if row else None


async def all_initiatives(conn: aiosqlite.Connection) -> list[Initiative]:
    async with conn.execute("SELECT * FROM initiatives ORDER BY question, id") as cur:
        return [_initiative(row) for row in await cur.fetchall()]


async def open_initiatives(conn: aiosqlite.Connection) -> list[Initiative]:
    async with conn.execute(
        "SELECT * FROM initiatives WHERE status IN ('planned', 'in_progress', 'stuck') ORDER BY id"
    ) as cur:
        return [_initiative(row) for row in await cur.fetchall()]


async def set_status(
    conn: aiosqlite.Connection,
    initiative_id: int,
    *,
    previous: str,
    status: str,
    now: datetime,
) -> bool:
    """Move the status if it still is `previous` (two presses at once: only one moves it)."""
    cur = await conn.execute(
        "UPDATE initiatives SET status = ?, status_at = ?,"
        " done_at = CASE WHEN ? = 'done' THEN ? ELSE NULL END"
        " WHERE id = ? AND status = ?",
        (status, to_db(now), status, to_db(now), initiative_id, previous),
    )
    return cur.rowcount == 1


async def add_event(
    conn: aiosqlite.Connection,
    initiative_id: int,
    status: str,
    previous: str | None,
    note: str | None,
    by_chat_id: int,
    by_name: str | None,
    now: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO initiative_events (initiative_id, status, previous, note, by_chat_id,"
        " by_name, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (initiative_id, status, previous, note, by_chat_id, by_name, to_db(now)),
    )


async def events_of(conn: aiosqlite.Connection, initiative_id: int) -> list[InitiativeEvent]:
    async with conn.execute(
        "SELECT status, previous, note, by_chat_id, by_name, at FROM initiative_events"
        " WHERE initiative_id = ? ORDER BY id",
        (initiative_id,),
    ) as cur:
        return [
            InitiativeEvent(r[0], r[1], r[2], r[3], r[4], from_db(r[5]))
            for r in await cur.fetchall()
        ]


async def set_owner_unreachable(
    conn: aiosqlite.Connection, initiative_id: int, now: datetime
) -> None:
    await conn.execute(
        "UPDATE initiatives SET owner_unreachable_at = ? WHERE id = ?",
        (to_db(now), initiative_id),
    )


async def forget_person(conn: aiosqlite.Connection, telegram_id: int, now: datetime) -> int:
    """Someone left (/leave): their Telegram id goes from plans and history (names stay, as
    the admins saw them); the initiatives they owned wait for a new owner. Returns how many."""
    cur = await conn.execute(
        "UPDATE initiatives SET owner_chat_id = NULL, owner_left_at = ? WHERE owner_chat_id = ?",
        (to_db(now), telegram_id),
    )
    await conn.execute(
        "UPDATE initiative_events SET by_chat_id = 0 WHERE by_chat_id = ?", (telegram_id,)
    )
    await conn.execute("DELETE FROM pending_inputs WHERE chat_id = ?", (telegram_id,))
    await conn.execute("DELETE FROM plan_drafts WHERE owner_chat_id = ?", (telegram_id,))
    return cur.rowcount


async def owners_gone_untold(conn: aiosqlite.Connection) -> list[int]:
    """Open initiatives whose owner blocked the bot or left, the admins not told yet."""
    async with conn.execute(
        "SELECT id FROM initiatives WHERE owner_gone_told_at IS NULL"
        " AND (owner_unreachable_at IS NOT NULL OR owner_left_at IS NOT NULL)"
        " AND status IN ('planned', 'in_progress', 'stuck') ORDER BY id"
    ) as cur:
        return [r[0] for r in await cur.fetchall()]


async def mark_gone_told(conn: aiosqlite.Connection, initiative_id: int, now: datetime) -> None:
    await conn.execute(
        "UPDATE initiatives SET owner_gone_told_at = ? WHERE id = ?", (to_db(now), initiative_id)
    )


async def set_owner(
    conn: aiosqlite.Connection,
    initiative_id: int,
    *,
    chat_id: int,
    name: str | None,
    employee_id: int | None,
) -> None:
    await conn.execute(
        "UPDATE initiatives SET owner_chat_id = ?, owner_name = ?, owner_employee_id = ?,"
        " owner_unreachable_at = NULL, owner_left_at = NULL, owner_gone_told_at = NULL"
        " WHERE id = ?",
        (chat_id, name, employee_id, initiative_id),
    )


# --- the /plan conversation -------------------------------------------------------------------
@dataclass(frozen=True)
class PlanDraft:
    admin_id: int
    step: str
    question: int | None
    title: str | None
    owner_chat_id: int | None
    owner_name: str | None
    owner_employee_id: int | None
    source: str
    source_id: int | None


async def get_draft(conn: aiosqlite.Connection, admin_id: int) -> PlanDraft | None:
    async with conn.execute(
        "SELECT admin_id, step, question, title, owner_chat_id, owner_name, owner_employee_id,"
        " source, source_id FROM plan_drafts WHERE admin_id = ?",
        (admin_id,),
    ) as cur:
        row = await cur.fetchone()
    return PlanDraft(*row) if row else None


async def save_draft(conn: aiosqlite.Connection, draft: PlanDraft, now: datetime) -> None:
    await conn.execute(
        "INSERT INTO plan_drafts (admin_id, step, question, title, owner_chat_id, owner_name,"
        " owner_employee_id, source, source_id, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(admin_id) DO UPDATE SET step = excluded.step,"
        " question = excluded.question, title = excluded.title,"
        " owner_chat_id = excluded.owner_chat_id, owner_name = excluded.owner_name,"
        " owner_employee_id = excluded.owner_employee_id, source = excluded.source,"
        " source_id = excluded.source_id",
        (
            draft.admin_id,
            draft.step,
            draft.question,
            draft.title,
            draft.owner_chat_id,
            draft.owner_name,
            draft.owner_employee_id,
            draft.source,
            draft.source_id,
            to_db(now),
        ),
    )


async def delete_draft(conn: aiosqlite.Connection, admin_id: int) -> None:
    await conn.execute("DELETE FROM plan_drafts WHERE admin_id = ?", (admin_id,))


# --- free text the bot waits for ---------------------------------------------------------------
@dataclass(frozen=True)
class PendingInput:
    chat_id: int
    kind: str
    ref_id: int
    signed: bool
    created_at: datetime


async def set_pending(
    conn: aiosqlite.Connection,
    chat_id: int,
    kind: str,
    ref_id: int,
    now: datetime,
    *,
    signed: bool = False,
) -> None:
    await conn.execute(
        "INSERT INTO pending_inputs (chat_id, kind, ref_id, signed, created_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT(chat_id) DO UPDATE SET kind = excluded.kind,"
        " ref_id = excluded.ref_id, signed = excluded.signed, created_at = excluded.created_at",
        (chat_id, kind, ref_id, int(signed), to_db(now)),
    )


async def get_pending(conn: aiosqlite.Connection, chat_id: int) -> PendingInput | None:
    async with conn.execute(
        "SELECT chat_id, kind, ref_id, signed, created_at FROM pending_inputs WHERE chat_id = ?",
        (chat_id,),
    ) as cur:
        row = await cur.fetchone()
    return PendingInput(row[0], row[1], row[2], bool(row[3]), from_db(row[4])) if row else None


async def clear_pending(conn: aiosqlite.Connection, chat_id: int, kind: str | None = None) -> None:
    if kind is None:
        await conn.execute("DELETE FROM pending_inputs WHERE chat_id = ?", (chat_id,))
    else:
        await conn.execute(
            "DELETE FROM pending_inputs WHERE chat_id = ? AND kind = ?", (chat_id, kind)
        )


# --- ritual slots -----------------------------------------------------------------------------
async def last_slot(conn: aiosqlite.Connection, ritual: str) -> datetime | None:
    async with conn.execute(
        "SELECT last_slot FROM ritual_slots WHERE ritual = ?", (ritual,)
    ) as cur:
        row = await cur.fetchone()
    return from_db(row[0]) if row else None


async def set_last_slot(conn: aiosqlite.Connection, ritual: str, slot: datetime) -> None:
    await conn.execute(
        "INSERT INTO ritual_slots (ritual, last_slot) VALUES (?, ?)"
        " ON CONFLICT(ritual) DO UPDATE SET last_slot = excluded.last_slot",
        (ritual, to_db(slot)),
    )


# --- department targets -----------------------------------------------------------------------
async def insert_department_target(
    conn: aiosqlite.Connection,
    department_id: int,
    value: int,
    admin_id: int,
    base_wave_id: int | None,
    now: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO department_targets (department_id, value, set_by, set_at, base_wave_id)"
        " VALUES (?, ?, ?, ?, ?)",
        (department_id, value, admin_id, to_db(now), base_wave_id),
    )


async def department_targets(conn: aiosqlite.Connection) -> dict[int, tuple[int, int | None]]:
    """Each department's newest target: department id → (value, base wave id)."""
    async with conn.execute(
        "SELECT department_id, value, base_wave_id FROM department_targets t"
        " WHERE id = (SELECT MAX(id) FROM department_targets u"
        "             WHERE u.department_id = t.department_id)"
    ) as cur:
        return {r[0]: (r[1], r[2]) for r in await cur.fetchall()}


# --- survey comments --------------------------------------------------------------------------
async def comment_step_done(conn: aiosqlite.Connection, wave_id: int, respondent: str) -> bool:
    async with conn.execute(
        "SELECT 1 FROM survey_comment_steps WHERE wave_id = ? AND respondent = ?",
        (wave_id, respondent),
    ) as cur:
        return await cur.fetchone() is not None


async def mark_comment_step(conn: aiosqlite.Connection, wave_id: int, respondent: str) -> bool:
    """Note that the respondent has passed the step; False if they had already."""
    cur = await conn.execute(
        "INSERT OR IGNORE INTO survey_comment_steps (wave_id, respondent) VALUES (?, ?)",
        (wave_id, respondent),
    )
    return cur.rowcount == 1


async def insert_comment(
    conn: aiosqlite.Connection, wave_id: int, department_id: int | None, body: str, day: date
) -> int:
    # A random id, not the next in sequence: see the migration.
    for _ in range(5):
        comment_id = secrets.randbelow(2**62) + 1
        cur = await conn.execute(
            "INSERT OR IGNORE INTO survey_comments (id, wave_id, department_id, body,"
            " created_day) VALUES (?, ?, ?, ?, ?)",
            (comment_id, wave_id, department_id, body, day.isoformat()),
        )
        if cur.rowcount == 1:
            return comment_id
    raise RuntimeError("no free comment id")  # 5 collisions in 2**62: not in this universe


@dataclass(frozen=True)
class StoredComment:
    id: int
    wave_id: int
    department_id: int | None
    department: str | None
    body: str
    day: date


async def comments_of_wave(conn: aiosqlite.Connection, wave_id: int) -> list[StoredComment]:
    async with conn.execute(
        "SELECT c.id, c.wave_id, c.department_id, d.name, c.body, c.created_day"
        " FROM survey_comments c LEFT JOIN departments d ON d.id = c.department_id"
        " WHERE c.wave_id = ? ORDER BY c.id",
        (wave_id,),
    ) as cur:
        return [
            StoredComment(r[0], r[1], r[2], r[3], r[4], date.fromisoformat(r[5]))
            for r in await cur.fetchall()
        ]


async def get_comment(conn: aiosqlite.Connection, comment_id: int) -> StoredComment | None:
    async with conn.execute(
        "SELECT c.id, c.wave_id, c.department_id, d.name, c.body, c.created_day"
        " FROM survey_comments c LEFT JOIN departments d ON d.id = c.department_id"
        " WHERE c.id = ?",
        (comment_id,),
    ) as cur:
        r = await cur.fetchone()
    return StoredComment(r[0], r[1], r[2], r[3], r[4], date.fromisoformat(r[5])) if r else None


async def all_comments(conn: aiosqlite.Connection) -> list[StoredComment]:
    async with conn.execute(
        "SELECT c.id, c.wave_id, c.department_id, d.name, c.body, c.created_day"
        " FROM survey_comments c LEFT JOIN departments d ON d.id = c.department_id"
        " ORDER BY c.wave_id, c.id"
    ) as cur:
        return [
            StoredComment(r[0], r[1], r[2], r[3], r[4], date.fromisoformat(r[5]))
            for r in await cur.fetchall()
        ]


# --- voice of the customer --------------------------------------------------------------------
@dataclass(frozen=True)
class VocIssue:
    id: int
    slot: datetime
    period_from: datetime
    period_to: datetime
    body: dict[str, Any]


async def insert_voc_issue(
    conn: aiosqlite.Connection,
    slot: datetime,
    period_from: datetime,
    period_to: datetime,
    body: dict[str, Any],
    now: datetime,
) -> int:
    cur = await conn.execute(
        "INSERT INTO voc_issues (slot, period_from, period_to, body, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (to_db(slot), to_db(period_from), to_db(period_to), json.dumps(body), to_db(now)),
    )
    return int(cur.lastrowid or 0)


async def get_voc_issue(conn: aiosqlite.Connection, issue_id: int) -> VocIssue | None:
    async with conn.execute(
        "SELECT id, slot, period_from, period_to, body FROM voc_issues WHERE id = ?",
        (issue_id,),
    ) as cur:
        r = await cur.fetchone()
    if not r:
        return None
    return VocIssue(r[0], from_db(r[1]), from_db(r[2]), from_db(r[3]), json.loads(r[4]))


@dataclass(frozen=True)
class Suggestion:
    id: int
    issue_id: int | None
    body: str
    signed_chat_id: int | None
    signed_name: str | None
    day: date
    initiative_id: int | None


def _suggestion(r: aiosqlite.Row) -> Suggestion:
    return Suggestion(r[0], r[1], r[2], r[3], r[4], date.fromisoformat(r[5]), r[6])


async def insert_suggestion(
    conn: aiosqlite.Connection,
    issue_id: int | None,
    body: str,
    *,
    signed_chat_id: int | None,
    signed_name: str | None,
    day: date,
) -> int:
    cur = await conn.execute(
        "INSERT INTO voc_suggestions (issue_id, body, signed_chat_id, signed_name, created_day)"
        " VALUES (?, ?, ?, ?, ?)",
        (issue_id, body, signed_chat_id, signed_name, day.isoformat()),
    )
    return int(cur.lastrowid or 0)


async def get_suggestion(conn: aiosqlite.Connection, suggestion_id: int) -> Suggestion | None:
    async with conn.execute(
        "SELECT id, issue_id, body, signed_chat_id, signed_name, created_day, initiative_id"
        " FROM voc_suggestions WHERE id = ?",
        (suggestion_id,),
    ) as cur:
        r = await cur.fetchone()
    return _suggestion(r) if r else None


async def link_suggestion(
    conn: aiosqlite.Connection, suggestion_id: int, initiative_id: int
) -> bool:
    cur = await conn.execute(
        "UPDATE voc_suggestions SET initiative_id = ? WHERE id = ? AND initiative_id IS NULL",
        (initiative_id, suggestion_id),
    )
    return cur.rowcount == 1


async def suggestion_counts(
    conn: aiosqlite.Connection, since: date | None = None
) -> tuple[int, int]:
    """(suggestions, of them turned into initiatives), since a day if given."""
    async with conn.execute(
        "SELECT COUNT(*), COUNT(initiative_id) FROM voc_suggestions WHERE created_day >= ?",
        ((since or date.min).isoformat(),),
    ) as cur:
        row = await cur.fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


# --- the internal service pulse ---------------------------------------------------------------
@dataclass(frozen=True)
class PulseRound:
    id: int
    opened_at: datetime
    closed_at: datetime | None


def _round(r: aiosqlite.Row) -> PulseRound:
    return PulseRound(r[0], from_db(r[1]), from_db(r[2]) if r[2] else None)


async def open_pulse(conn: aiosqlite.Connection) -> PulseRound | None:
    async with conn.execute(
        "SELECT id, opened_at, closed_at FROM pulse_rounds WHERE closed_at IS NULL"
    ) as cur:
        r = await cur.fetchone()
    return _round(r) if r else None


async def latest_closed_pulse(conn: aiosqlite.Connection) -> PulseRound | None:
    async with conn.execute(
        "SELECT id, opened_at, closed_at FROM pulse_rounds WHERE closed_at IS NOT NULL"
        " ORDER BY id DESC LIMIT 1"
    ) as cur:
        r = await cur.fetchone()
    return _round(r) if r else None


async def get_pulse(conn: aiosqlite.Connection, round_id: int) -> PulseRound | None:
    async with conn.execute(
        "SELECT id, opened_at, closed_at FROM pulse_rounds WHERE id = ?", (round_id,)
    ) as cur:
        r = await cur.fetchone()
    return _round(r) if r else None


async def insert_pulse(conn: aiosqlite.Connection, admin_id: int, now: datetime) -> int:
    cur = await conn.execute(
        "INSERT INTO pulse_rounds (opened_by, opened_at) VALUES (?, ?)", (admin_id, to_db(now))
    )
    return int(cur.lastrowid or 0)


async def close_pulse(conn: aiosqlite.Connection, round_id: int, now: datetime) -> None:
    await conn.execute(
        "UPDATE pulse_rounds SET closed_at = ? WHERE id = ? AND closed_at IS NULL",
        (to_db(now), round_id),
    )


async def pulse_picks(
    conn: aiosqlite.Connection, round_id: int, respondent: str
) -> dict[int, int | None]:
    """The respondent's departments in a round: served department id → score (None: not yet)."""
    async with conn.execute(
        "SELECT served_department_id, score FROM pulse_ratings"
        " WHERE round_id = ? AND respondent = ?",
        (round_id, respondent),
    ) as cur:
        return {r[0]: r[1] for r in await cur.fetchall()}


async def add_pick(
    conn: aiosqlite.Connection,
    round_id: int,
    respondent: str,
    rater_department_id: int | None,
    served_department_id: int,
) -> None:
    await conn.execute(
        "INSERT OR IGNORE INTO pulse_ratings (round_id, respondent, rater_department_id,"
        " served_department_id) VALUES (?, ?, ?, ?)",
        (round_id, respondent, rater_department_id, served_department_id),
    )


async def remove_pick(
    conn: aiosqlite.Connection, round_id: int, respondent: str, served_department_id: int
) -> None:
    await conn.execute(
        "DELETE FROM pulse_ratings WHERE round_id = ? AND respondent = ?"
        " AND served_department_id = ? AND score IS NULL",
        (round_id, respondent, served_department_id),
    )


async def set_pulse_score(
    conn: aiosqlite.Connection,
    round_id: int,
    respondent: str,
    served_department_id: int,
    score: int,
) -> bool:
    cur = await conn.execute(
        "UPDATE pulse_ratings SET score = ? WHERE round_id = ? AND respondent = ?"
        " AND served_department_id = ?",
        (score, round_id, respondent, served_department_id),
    )
    return cur.rowcount == 1


async def pulse_raters(conn: aiosqlite.Connection, round_id: int) -> int:
    async with conn.execute(
        "SELECT COUNT(DISTINCT respondent) FROM pulse_ratings"
        " WHERE round_id = ? AND score IS NOT NULL",
        (round_id,),
    ) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def pulse_scores(
    conn: aiosqlite.Connection, round_id: int
) -> list[tuple[str, int | None, int, int]]:
    """Every score of a round: (respondent, rater department id, served department id, score)."""
    async with conn.execute(
        "SELECT respondent, rater_department_id, served_department_id, score FROM pulse_ratings"
        " WHERE round_id = ? AND score IS NOT NULL",
        (round_id,),
    ) as cur:
        return [(r[0], r[1], r[2], r[3]) for r in await cur.fetchall()]
