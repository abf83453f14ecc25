"""Queries for departments, invitations, employees, waves and survey answers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import aiosqlite

from storage.timestamps import from_db, to_db


@dataclass(frozen=True)
class Department:
    id: int
    name: str


@dataclass(frozen=True)
class Employee:
    id: int
    telegram_id: int | None
    department_id: int
    department: str
    language: str


@dataclass(frozen=True)
class Wave:
    id: int
    title: str
    opened_at: datetime
    closed_at: datetime | None

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


def _wave(row: aiosqlite.Row) -> Wave:
    return Wave(
        id=row["id"],
        title=row["title"],
        opened_at=from_db(row["opened_at"]),
        closed_at=from_db(row["closed_at"]) if row["closed_at"] else None,
    )


# --- departments and invitations --------------------------------------------------------------
async def get_or_create_department(
    conn: aiosqlite.Connection, name: str, now: datetime
) -> Department:
    await conn.execute(
        "INSERT INTO departments (name, created_at) VALUES (?, ?) ON CONFLICT(name) DO NOTHING",
        (name, to_db(now)),
    )
    async with conn.execute("SELECT id, name FROM departments WHERE name = ?", (name,)) as cur:
        row = await cur.fetchone()
    assert row is not None
    return Department(row["id"], row["name"])


async def add_invite(
    conn: aiosqlite.Connection, token: str, department_id: int, admin_id: int, now: datetime
) -> None:
    await conn.execute(
        "INSERT INTO invites (token, department_id, created_by, created_at) VALUES (?, ?, ?, ?)",
        (token, department_id, admin_id, to_db(now)),
    )


async def find_invite(conn: aiosqlite.Connection, token: str) -> Department | None:
    async with conn.execute(
        "SELECT d.id, d.name FROM invites i JOIN departments d ON d.id = i.department_id "
        "WHERE i.token = ?",
        (token,),
    ) as cur:
        row = await cur.fetchone()
    return Department(row["id"], row["name"]) if row else None


async def departments_with_members(conn: aiosqlite.Connection) -> list[tuple[str, int]]:
    async with conn.execute(
        "SELECT d.name, COUNT(e.id) AS members FROM departments d "
        "LEFT JOIN employees e ON e.department_id = d.id AND e.telegram_id IS NOT NULL "
        "GROUP BY d.id ORDER BY d.name COLLATE NOCASE"
    ) as cur:
        return [(r["name"], r["members"]) for r in await cur.fetchall()]


# --- employees ----------------------------------------------------------------------------------
_EMPLOYEE_SQL = (
    "SELECT e.id, e.telegram_id, e.department_id, d.name AS department, e.language "
    "FROM employees e JOIN departments d ON d.id = e.department_id "
)


async def find_employee(conn: aiosqlite.Connection, telegram_id: int) -> Employee | None:
    async with conn.execute(_EMPLOYEE_SQL + "WHERE e.telegram_id = ?", (telegram_id,)) as cur:
        row = await cur.fetchone()
    return _employee(row) if row else None


async def get_employee(conn: aiosqlite.Connection, employee_id: int) -> Employee | None:
    async with conn.execute(_EMPLOYEE_SQL + "WHERE e.id = ?", (employee_id,)) as cur:
        row = await cur.fetchone()
    return _employee(row) if row else None


def _employee(row: aiosqlite.Row) -> Employee:
    return Employee(
        row["id"], row["telegram_id"], row["department_id"], row["department"], row["language"]
    )


async def upsert_employee(
    conn: aiosqlite.Connection, telegram_id: int, department_id: int, language: str, now: datetime
) -> tuple[int, int | None]:
    """Register (or move) an employee; returns (employee id, previous department id or None)."""
    async with conn.execute(
        "SELECT id, department_id FROM employees WHERE telegram_id = ?", (telegram_id,)
    ) as cur:
        existing = await cur.fetchone()
    if existing:
        await conn.execute(
            "UPDATE employees SET department_id = ?, language = ?, unreachable_at = NULL "
            "WHERE id = ?",
            (department_id, language, existing["id"]),
        )
        return existing["id"], existing["department_id"]
    cur = await conn.execute(
        "INSERT INTO employees (telegram_id, department_id, language, joined_at) "
        "VALUES (?, ?, ?, ?)",
        (telegram_id, department_id, language, to_db(now)),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid, None


async def set_employee_language(
    conn: aiosqlite.Connection, employee_id: int, language: str
) -> None:
    await conn.execute("UPDATE employees SET language = ? WHERE id = ?", (language, employee_id))


async def active_employees(conn: aiosqlite.Connection) -> list[Employee]:
    async with conn.execute(
        _EMPLOYEE_SQL + "WHERE e.telegram_id IS NOT NULL AND e.unreachable_at IS NULL ORDER BY e.id"
    ) as cur:
        return [_employee(r) for r in await cur.fetchall()]


# --- waves --------------------------------------------------------------------------------------
async def open_wave(conn: aiosqlite.Connection) -> Wave | None:
    async with conn.execute("SELECT * FROM waves WHERE closed_at IS NULL") as cur:
        row = await cur.fetchone()
    return _wave(row) if row else None


async def wave_titled(conn: aiosqlite.Connection, title: str) -> Wave | None:
    """A wave with this title, whatever its case or spacing (titles name waves in reports)."""
    # Compared in Python: SQLite's lower() folds ASCII letters only, not «Весна» to «весна».
    wanted = " ".join(title.split()).casefold()
    async with conn.execute("SELECT * FROM waves ORDER BY id") as cur:
        for row in await cur.fetchall():
            if " ".join(row["title"].split()).casefold() == wanted:
                return _wave(row)
    return None


async def get_wave(conn: aiosqlite.Connection, wave_id: int) -> Wave | None:
    async with conn.execute("SELECT * FROM waves WHERE id = ?", (wave_id,)) as cur:
        row = await cur.fetchone()
    return _wave(row) if row else None


async def latest_waves(conn: aiosqlite.Connection, limit: int = 2) -> list[Wave]:
    async with conn.execute("SELECT * FROM waves ORDER BY id DESC LIMIT ?", (limit,)) as cur:
        return [_wave(r) for r in await cur.fetchall()]


async def all_waves(conn: aiosqlite.Connection) -> list[Wave]:
    async with conn.execute("SELECT * FROM waves ORDER BY id") as cur:
        return [_wave(r) for r in await cur.fetchall()]


async def insert_wave(conn: aiosqlite.Connection, title: str, admin_id: int, now: datetime) -> Wave:
    cur = await conn.execute(
        "INSERT INTO waves (title, opened_by, opened_at) VALUES (?, ?, ?)",
        (title, admin_id, to_db(now)),
    )
    assert cur.lastrowid is not None
    return Wave(cur.lastrowid, title, now, None)


async def close_wave(conn: aiosqlite.Connection, wave_id: int, now: datetime) -> None:
    await conn.execute("UPDATE waves SET closed_at = ? WHERE id = ?", (to_db(now), wave_id))


async def invite_to_wave(
    conn: aiosqlite.Connection, wave_id: int, employee: Employee, now: datetime
) -> bool:
    """True when the employee was not yet invited to this wave."""
    cur = await conn.execute(
        "INSERT INTO wave_invitations (wave_id, employee_id, department_id, invited_at) "
        "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (wave_id, employee.id, employee.department_id, to_db(now)),
    )
    return cur.rowcount == 1


async def is_invited(conn: aiosqlite.Connection, wave_id: int, employee_id: int) -> bool:
    async with conn.execute(
        "SELECT 1 FROM wave_invitations WHERE wave_id = ? AND employee_id = ?",
        (wave_id, employee_id),
    ) as cur:
        return await cur.fetchone() is not None


# --- answers ------------------------------------------------------------------------------------
async def answers_of(conn: aiosqlite.Connection, wave_id: int, respondent: str) -> dict[int, int]:
    async with conn.execute(
        "SELECT question, score FROM survey_answers WHERE wave_id = ? AND respondent = ?",
        (wave_id, respondent),
    ) as cur:
        return {r["question"]: r["score"] for r in await cur.fetchall()}


async def insert_answer(
    conn: aiosqlite.Connection,
    *,
    wave_id: int,
    respondent: str,
    department_id: int,
    question: int,
    score: int,
    now: datetime,
) -> bool:
    """Store a first answer; False (nothing written) when the question was already answered."""
    cur = await conn.execute(
        "INSERT INTO survey_answers (wave_id, respondent, department_id, question, score, "
        "answered_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (wave_id, respondent, department_id, question, score, to_db(now)),
    )
    return cur.rowcount == 1


async def update_answer(
    conn: aiosqlite.Connection,
    *,
    wave_id: int,
    respondent: str,
    question: int,
    score: int,
    now: datetime,
) -> bool:
    cur = await conn.execute(
        "UPDATE survey_answers SET score = ?, answered_at = ? "
        "WHERE wave_id = ? AND respondent = ? AND question = ?",
        (score, to_db(now), wave_id, respondent, question),
    )
    return cur.rowcount == 1


# --- answers in batches (the group commit of survey_service.record_answer) ----------------------
@dataclass
class AnswerState:
    """What answering needs to know about one employee and one wave, read in one query."""

    employee_id: int | None  # None: no employee has this Telegram id
    department_id: int | None
    wave: Wave | None  # None: no such wave
    invited: bool
    answers: dict[int, int]  # question → score, so far


# One prepared statement whatever the batch size: the keys travel as one JSON array of
# [telegram_id, wave_id, respondent] triples, unpacked by json_each.
_ANSWER_STATES_SQL = """
SELECT k.key AS idx,
       e.id AS employee_id,
       -- A person's department for a wave is the one they were invited with: moving later
       -- does not split their answers between two departments (issue 9).
       COALESCE((SELECT i.department_id FROM wave_invitations i
                 WHERE i.wave_id = w.id AND i.employee_id = e.id), e.department_id)
           AS department_id,
       w.id AS wave_id, w.title, w.opened_at, w.closed_at,
       EXISTS (SELECT 1 FROM wave_invitations i
               WHERE i.wave_id = w.id AND i.employee_id = e.id) AS invited,
       (SELECT json_group_object(s.question, s.score) FROM survey_answers s
        WHERE s.wave_id = w.id AND s.respondent = k.value ->> 2) AS answers
FROM json_each(?) AS k
LEFT JOIN employees e ON e.telegram_id = k.value ->> 0
LEFT JOIN waves w ON w.id = k.value ->> 1
"""


async def answer_states(
    conn: aiosqlite.Connection, keys: Sequence[tuple[int, int, str]]
) -> list[AnswerState]:
    """One state per (telegram_id, wave_id, respondent) key, in the keys' order."""
    rows = await conn.execute_fetchall(_ANSWER_STATES_SQL, (json.dumps(keys),))
    states: list[AnswerState | None] = [None] * len(keys)
    for row in rows:
        wave = _wave_from(row) if row["wave_id"] is not None else None
        answers = json.loads(row["answers"]) if row["answers"] else {}
        states[row["idx"]] = AnswerState(
            employee_id=row["employee_id"],
            department_id=row["department_id"],
            wave=wave,
            invited=bool(row["invited"]) and row["employee_id"] is not None,
            answers={int(q): int(score) for q, score in answers.items()},
        )
    assert all(s is not None for s in states)
    return states  # type: ignore[return-value]


def _wave_from(row: aiosqlite.Row) -> Wave:
    return Wave(
        id=row["wave_id"],
        title=row["title"],
        opened_at=_time_from_db(row["opened_at"]),
        closed_at=_time_from_db(row["closed_at"]) if row["closed_at"] else None,
    )


# A batch of answers carries the same wave on every row: parse its times once (strptime is
# slow). Datetimes are immutable, so sharing them is safe.
_time_from_db = lru_cache(maxsize=256)(from_db)


@dataclass(frozen=True)
class AnswerWrite:
    wave_id: int
    respondent: str
    department_id: int | None
    question: int
    score: int
    now: datetime


async def write_answers(conn: aiosqlite.Connection, writes: Sequence[AnswerWrite]) -> None:
    """First answers and changed ones, in order, in one statement (the last write wins)."""
    if not writes:
        return
    await conn.executemany(
        "INSERT INTO survey_answers (wave_id, respondent, department_id, question, score, "
        "answered_at) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (wave_id, respondent, question) "
        "DO UPDATE SET score = excluded.score, answered_at = excluded.answered_at",
        [
            (w.wave_id, w.respondent, w.department_id, w.question, w.score, to_db(w.now))
            for w in writes
        ],
    )


async def set_employee_reachable_by_telegram(
    conn: aiosqlite.Connection, telegram_id: int, reachable: bool, now: datetime
) -> int:
    """Telegram told us (my_chat_member) that this account blocked the bot or came back."""
    cur = await conn.execute(
        "UPDATE employees SET unreachable_at = CASE WHEN ? THEN NULL "
        "ELSE coalesce(unreachable_at, ?) END WHERE telegram_id = ?",
        (reachable, to_db(now), telegram_id),
    )
    return cur.rowcount


async def mark_employee_unreachable(
    conn: aiosqlite.Connection, employee_id: int, now: datetime
) -> None:
    """Telegram answered 403: the employee blocked the bot or is gone."""
    await conn.execute(
        "UPDATE employees SET unreachable_at = ? WHERE id = ?", (to_db(now), employee_id)
    )
