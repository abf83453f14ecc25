"""Survey use cases: invitations, joining, waves and answers. Handlers call these.

Every function takes the database and the current time, returns a plain result, and writes
everything it changes in one transaction.
"""

from __future__ import annotations

import itertools
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING

from bot.pseudonym import Pseudonymizer
from bot.survey.scoring import QUESTION_COUNT, is_valid_question, is_valid_score, total_score
from storage import Database
from storage import survey as q
from storage.outbox import SURVEY_INVITE, SURVEY_REMINDER, cancel_for_ref, enqueue
from storage.survey import Employee, Wave

if TYPE_CHECKING:
    import aiosqlite

INVITE_PREFIX = "j_"
DEPARTMENT_MAX_LEN = 64
WAVE_TITLE_MAX_LEN = 100
_INVITE_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,62}$")


class SurveyError(Exception):
    """A refusal the user should hear about; `code` picks the text."""

    def __init__(self, code: str, *, suggestion: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.suggestion = suggestion  # e.g. a free title to offer instead of one already used


# --- departments and invitations ----------------------------------------------------------------
def clean_department_name(raw: str | None) -> str:
    name = " ".join((raw or "").split())
    if not name:
        raise SurveyError("department_missing")
    if len(name) > DEPARTMENT_MAX_LEN:
        raise SurveyError("department_too_long")
    return name


async def create_invite(
    db: Database, raw_department: str | None, admin_id: int, now: datetime
) -> tuple[str, str]:
    """A new invitation payload for a department (created on first use); (payload, department)."""
    name = clean_department_name(raw_department)
    token = secrets.token_urlsafe(18)  # 24 chars, 144 random bits
    async with db.write() as conn:
        department = await q.get_or_create_department(conn, name, now)
        await q.add_invite(conn, token, department.id, admin_id, now)
    return INVITE_PREFIX + token, department.name


def is_invite_payload(payload: str | None) -> bool:
    return bool(payload) and payload.startswith(INVITE_PREFIX)  # type: ignore[union-attr]


@dataclass(frozen=True)
class Joined:
    department: str
    moved_from: str | None
    already_member: bool
    wave: Wave | None  # the open wave the employee was just invited to, if any
    employee_id: int


async def join(
    db: Database,
    payload: str,
    telegram_id: int,
    language: str,
    now: datetime,
    *,
    reminder_days: float,
) -> Joined | None:
    """Register the sender in the invitation's department; None for an unknown payload."""
    token = payload.removeprefix(INVITE_PREFIX)
    if not _INVITE_TOKEN_RE.match(token):
        return None
    async with db.write() as conn:
        department = await q.find_invite(conn, token)
        if department is None:
            return None
        employee_id, previous = await q.upsert_employee(
            conn, telegram_id, department.id, language, now
        )
        moved_from = None
        if previous is not None and previous != department.id:
            async with conn.execute(
                "SELECT name FROM departments WHERE id = ?", (previous,)
            ) as cur:
                row = await cur.fetchone()
            moved_from = row["name"] if row else None
        wave = await q.open_wave(conn)
        invited_wave = None
        if wave is not None:
            employee = await q.get_employee(conn, employee_id)
            assert employee is not None
            if await q.invite_to_wave(conn, wave.id, employee, now):
                invited_wave = wave
                await _enqueue_reminder(conn, wave, employee, now, reminder_days)
    return Joined(department.name, moved_from, previous == department.id, invited_wave, employee_id)


async def departments(db: Database) -> list[tuple[str, int]]:
    async with db.read() as conn:
        return await q.departments_with_members(conn)


# --- waves --------------------------------------------------------------------------------------
def clean_title(raw: str | None, now: datetime) -> str:
    title = " ".join((raw or "").split())
    if not title:
        return now.strftime("%Y-%m")
    if len(title) > WAVE_TITLE_MAX_LEN:
        raise SurveyError("title_too_long")
    return title


async def _free_title(conn: aiosqlite.Connection, title: str) -> str:
    """«Весна 2026 (2)» for a used «Весна 2026»: the first numbered title no wave has."""
    for number in itertools.count(2):
        suffix = f" ({number})"
        candidate = title[: WAVE_TITLE_MAX_LEN - len(suffix)].rstrip() + suffix
        if await q.wave_titled(conn, candidate) is None:
            return candidate
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True)
class Opened:
    wave: Wave
    invited: int


async def start_wave(
    db: Database, raw_title: str | None, admin_id: int, now: datetime, *, reminder_days: float
) -> Opened:
    """Open a wave and queue its first question (and one reminder) for every employee."""
    title = clean_title(raw_title, now)
    async with db.write() as conn:
        if await q.open_wave(conn) is not None:
            raise SurveyError("wave_already_open")
        # Refused with the reason, and nothing written: a wave nobody is asked in, or a second
        # wave under a title the report already uses for another one.
        employees = await q.active_employees(conn)
        if not employees:
            raise SurveyError("no_employees")
        if (raw_title or "").strip() and await q.wave_titled(conn, title) is not None:
            raise SurveyError("title_used", suggestion=await _free_title(conn, title))
        wave = await q.insert_wave(conn, title, admin_id, now)
        for employee in employees:
            await q.invite_to_wave(conn, wave.id, employee, now)
            await enqueue(
                conn,
                kind=SURVEY_INVITE,
                due_at=now,
                now=now,
                employee_id=employee.id,
                ref_id=wave.id,
            )
            await _enqueue_reminder(conn, wave, employee, now, reminder_days)
    return Opened(wave, len(employees))


async def _enqueue_reminder(
    conn: aiosqlite.Connection, wave: Wave, employee: Employee, now: datetime, days: float
) -> None:
    due = wave.opened_at + timedelta(days=days)
    if due > now:
        await enqueue(
            conn, kind=SURVEY_REMINDER, due_at=due, now=now, employee_id=employee.id, ref_id=wave.id
        )


async def close_wave(db: Database, now: datetime) -> Wave:
    async with db.write() as conn:
        wave = await q.open_wave(conn)
        if wave is None:
            raise SurveyError("no_open_wave")
        await q.close_wave(conn, wave.id, now)
        await cancel_for_ref(
            conn, kinds=(SURVEY_INVITE, SURVEY_REMINDER), ref_id=wave.id, reason="wave closed"
        )
    return Wave(wave.id, wave.title, wave.opened_at, now)


# --- answering ----------------------------------------------------------------------------------
class Refusal(Enum):
    NOT_EMPLOYEE = "not_employee"
    NO_OPEN_WAVE = "no_open_wave"
    WAVE_CLOSED = "wave_closed"
    STALE = "stale"
    INVALID = "invalid"
    ALREADY = "already"


@dataclass(frozen=True)
class Progress:
    wave: Wave
    answers: dict[int, int]

    @property
    def next_question(self) -> int | None:
        for question in range(1, QUESTION_COUNT + 1):
            if question not in self.answers:
                return question
        return None

    @property
    def complete(self) -> bool:
        return self.next_question is None

    @property
    def total(self) -> int:
        return total_score([self.answers[i] for i in range(1, QUESTION_COUNT + 1)])


@dataclass(frozen=True)
class Answered:
    progress: Progress
    question: int
    changed: bool


async def progress_for(
    db: Database,
    pseudonyms: Pseudonymizer,
    telegram_id: int,
    now: datetime,
    language: str | None = None,
) -> Progress | Refusal:
    """Where an employee stands in the open wave (joining it if they were not invited yet)."""
    async with db.write() as conn:
        employee = await q.find_employee(conn, telegram_id)
        if employee is None:
            return Refusal.NOT_EMPLOYEE
        if language and language != employee.language:
            await q.set_employee_language(conn, employee.id, language)
        wave = await q.open_wave(conn)
        if wave is None:
            return Refusal.NO_OPEN_WAVE
        await conn.execute(
            "UPDATE employees SET unreachable_at = NULL WHERE id = ?", (employee.id,)
        )
        # An employee who reaches the survey by /survey counts as invited to the wave.
        await q.invite_to_wave(conn, wave.id, employee, now)
        answers = await q.answers_of(conn, wave.id, pseudonyms(telegram_id, wave.id))
    return Progress(wave, answers)


async def record_answer(
    db: Database,
    pseudonyms: Pseudonymizer,
    *,
    telegram_id: int,
    wave_id: int,
    question: int,
    score: int,
    change: bool,
    now: datetime,
) -> Answered | Refusal:
    """Store one press of a score button, after checking it makes sense for this person now.

    Presses arriving together are written in one transaction (storage/group_commit.py): under
    load that is what keeps the database from being the bottleneck (bench/throughput.py).
    """
    if not is_valid_question(question) or not is_valid_score(score):
        return Refusal.INVALID
    press = _Press(
        telegram_id, pseudonyms(telegram_id, wave_id), wave_id, question, score, change, now
    )
    return await db.group_commit(_apply_presses).submit(press)


@dataclass(frozen=True)
class _Press:
    telegram_id: int
    respondent: str
    wave_id: int
    question: int
    score: int
    change: bool
    now: datetime


async def _apply_presses(
    conn: aiosqlite.Connection, presses: Sequence[_Press]
) -> list[Answered | Refusal]:
    """Decide and write a batch of presses as if one after another, in one read and one write."""
    keys = list(dict.fromkeys((p.telegram_id, p.wave_id, p.respondent) for p in presses))
    states = dict(zip(keys, await q.answer_states(conn, keys), strict=True))
    writes: list[q.AnswerWrite] = []
    results = [
        _decide(states[(p.telegram_id, p.wave_id, p.respondent)], p, writes) for p in presses
    ]
    await q.write_answers(conn, writes)
    return results


def _decide(state: q.AnswerState, press: _Press, writes: list[q.AnswerWrite]) -> Answered | Refusal:
    """One press against the state so far; a write to make goes to `writes`, and into `state`."""
    if state.employee_id is None:
        return Refusal.NOT_EMPLOYEE
    wave = state.wave
    if wave is None:
        return Refusal.INVALID
    if not wave.is_open:
        return Refusal.WAVE_CLOSED
    if not state.invited:
        return Refusal.STALE
    answers = state.answers
    question, score = press.question, press.score
    if question in answers:
        if not press.change:
            # A double press, or a press on an old message: the first answer stands.
            return Refusal.ALREADY
        reopened, write = True, answers[question] != score
    elif question != Progress(wave, answers).next_question:
        # Questions are answered in order; a press for a later one is not from our buttons.
        return Refusal.STALE
    else:
        reopened, write = False, True
    if write:
        writes.append(
            q.AnswerWrite(
                wave_id=wave.id,
                respondent=press.respondent,
                department_id=state.department_id,
                question=question,
                score=score,
                now=press.now,
            )
        )
        answers[question] = score
    return Answered(Progress(wave, dict(answers)), question, changed=reopened)


async def progress_in_wave(
    db: Database, pseudonyms: Pseudonymizer, telegram_id: int, wave_id: int
) -> Progress | Refusal:
    """Progress in a given wave, for the «Back» button (read-only)."""
    async with db.read() as conn:
        employee = await q.find_employee(conn, telegram_id)
        if employee is None:
            return Refusal.NOT_EMPLOYEE
        wave = await q.get_wave(conn, wave_id)
        if wave is None:
            return Refusal.INVALID
        if not wave.is_open:
            return Refusal.WAVE_CLOSED
        answers = await q.answers_of(conn, wave.id, pseudonyms(telegram_id, wave.id))
    return Progress(wave, answers)


async def employee_wave_state(
    conn: aiosqlite.Connection, pseudonyms: Pseudonymizer, employee_id: int, wave_id: int
) -> tuple[Employee, Progress] | None:
    """For the outbox: the employee and their progress, or None when nothing should be sent."""
    employee = await q.get_employee(conn, employee_id)
    if employee is None or employee.telegram_id is None:
        return None
    wave = await q.get_wave(conn, wave_id)
    if wave is None or not wave.is_open:
        return None
    answers = await q.answers_of(conn, wave.id, pseudonyms(employee.telegram_id, wave.id))
    return employee, Progress(wave, answers)


__all__ = [
    "Answered",
    "Joined",
    "Opened",
    "Progress",
    "Refusal",
    "SurveyError",
]
