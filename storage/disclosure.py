"""Queries for disclosure control: the pseudonym key's fingerprint and the released figures.

Tables of migration 0007: `pseudonym_key`, `pseudonym_scheme`, `disclosure_releases`,
`disclosure_members`. The rules that decide what to write live in bot/disclosure/.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage.timestamps import from_db as _from_db
from storage.timestamps import to_db as _to_db


# --- the key ------------------------------------------------------------------------------------
async def key_fingerprint(conn: aiosqlite.Connection) -> str | None:
    async with conn.execute("SELECT fingerprint FROM pseudonym_key WHERE id = 1") as cur:
        row = await cur.fetchone()
    return str(row[0]) if row else None


async def set_key_fingerprint(conn: aiosqlite.Connection, value: str, now: datetime) -> None:
    await conn.execute(
        "INSERT INTO pseudonym_key (id, fingerprint, set_at) VALUES (1, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET fingerprint = excluded.fingerprint, "
        "set_at = excluded.set_at",
        (value, _to_db(now)),
    )


async def open_wave_has_answers(conn: aiosqlite.Connection) -> bool:
    async with conn.execute(
        "SELECT 1 FROM survey_answers a JOIN waves w ON w.id = a.wave_id "
        "WHERE w.closed_at IS NULL LIMIT 1"
    ) as cur:
        return await cur.fetchone() is not None


async def per_wave_from(conn: aiosqlite.Connection) -> int:
    """The first wave whose answers stand under per-wave pseudonyms."""
    async with conn.execute("SELECT per_wave_from FROM pseudonym_scheme WHERE id = 1") as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 1


# --- releases -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class StoredRelease:
    epoch: int
    structure: dict[str, object]  # rules.Structure.to_json()
    released_at: datetime


@dataclass(frozen=True)
class StoredMember:
    respondent: str
    department_id: int | None
    epoch: int
    payload: object  # the released values (the six scores for the survey's channel)


async def releases(conn: aiosqlite.Connection, wave_id: int, channel: str) -> list[StoredRelease]:
    async with conn.execute(
        "SELECT epoch, structure, released_at FROM disclosure_releases "
        "WHERE wave_id = ? AND channel = ? ORDER BY epoch",
        (wave_id, channel),
    ) as cur:
        return [StoredRelease(r[0], json.loads(r[1]), _from_db(r[2])) for r in await cur.fetchall()]


async def members(conn: aiosqlite.Connection, wave_id: int, channel: str) -> list[StoredMember]:
    async with conn.execute(
        "SELECT respondent, department_id, epoch, payload FROM disclosure_members "
        "WHERE wave_id = ? AND channel = ? ORDER BY respondent",
        (wave_id, channel),
    ) as cur:
        return [StoredMember(r[0], r[1], r[2], json.loads(r[3])) for r in await cur.fetchall()]


async def member_sums(
    conn: aiosqlite.Connection, wave_id: int, channel: str, epoch: int, questions: int = 6
) -> list[tuple[int | None, int, tuple[int, ...]]]:
    """(department id, members, per-question sums) of the members counted by `epoch`, summed
    in SQL so that a report does not rebuild every member in Python."""
    columns = ", ".join(f"SUM(json_extract(payload, '$[{i}]'))" for i in range(questions))
    async with conn.execute(
        f"SELECT department_id, COUNT(*), {columns} FROM disclosure_members "
        "WHERE wave_id = ? AND channel = ? AND epoch <= ? GROUP BY department_id",
        (wave_id, channel, epoch),
    ) as cur:
        return [
            (r[0], r[1], tuple(int(v or 0) for v in r[2 : 2 + questions]))
            for r in await cur.fetchall()
        ]


# Counting a wave's respondents from its answers: what survey_wave_state.respondents (migration
# 0019, kept by triggers for the six questions) replaces; tests/test_survey_state.py holds the
# two equal.
COMPLETE_COUNT_SQL = (
    "SELECT COUNT(*) FROM (SELECT 1 FROM survey_answers WHERE wave_id = ? "
    "GROUP BY respondent HAVING COUNT(*) = ?)"
)


async def released_totals(
    conn: aiosqlite.Connection, wave_id: int, channel: str
) -> list[tuple[int | None, int, tuple[int, ...]]]:
    """member_sums of every released member (migration 0019's disclosure_totals, kept by a
    trigger as members are added): what the latest release counts, as one lookup."""
    async with conn.execute(
        "SELECT department, members, s1, s2, s3, s4, s5, s6 FROM disclosure_totals "
        "WHERE wave_id = ? AND channel = ? AND members > 0 ORDER BY department",
        (wave_id, channel),
    ) as cur:
        return [
            (None if r[0] == -1 else r[0], r[1], tuple(int(v) for v in r[2:8]))
            for r in await cur.fetchall()
        ]


async def complete_count(conn: aiosqlite.Connection, wave_id: int, questions: int = 6) -> int:
    """How many respondents of a wave have answered every question (the live count)."""
    if questions == 6:
        async with conn.execute(
            "SELECT respondents FROM survey_wave_state WHERE wave_id = ?", (wave_id,)
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0
    async with conn.execute(COMPLETE_COUNT_SQL, (wave_id, questions)) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def answers_version(conn: aiosqlite.Connection, wave_id: int) -> int:
    """A number that changes with every write of the wave's answers (0 before any)."""
    async with conn.execute(
        "SELECT version FROM survey_wave_state WHERE wave_id = ?", (wave_id,)
    ) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def checked(conn: aiosqlite.Connection, wave_id: int, channel: str) -> tuple[int, int] | None:
    """(answers' version, group size) at which the wave last needed no release, if recorded."""
    async with conn.execute(
        "SELECT version, min_group FROM disclosure_checked WHERE wave_id = ? AND channel = ?",
        (wave_id, channel),
    ) as cur:
        row = await cur.fetchone()
    return (int(row[0]), int(row[1])) if row else None


async def mark_checked(
    conn: aiosqlite.Connection, wave_id: int, channel: str, version: int, min_group: int
) -> None:
    await conn.execute(
        "INSERT INTO disclosure_checked (wave_id, channel, version, min_group) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (wave_id, channel) "
        "DO UPDATE SET version = excluded.version, min_group = excluded.min_group",
        (wave_id, channel, version, min_group),
    )


async def add_release(
    conn: aiosqlite.Connection,
    wave_id: int,
    channel: str,
    epoch: int,
    structure: dict[str, object],
    new_members: Sequence[StoredMember],
    now: datetime,
) -> None:
    """Store release `epoch` and the respondents it counts first (inside the caller's
    transaction, so a release is never half-written)."""
    await conn.execute(
        "INSERT INTO disclosure_releases (wave_id, channel, epoch, structure, released_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (wave_id, channel, epoch, json.dumps(structure, sort_keys=True), _to_db(now)),
    )
    await conn.executemany(
        "INSERT INTO disclosure_members (wave_id, channel, respondent, department_id, epoch, "
        "payload) VALUES (?, ?, ?, ?, ?, ?)",
        [
            (wave_id, channel, m.respondent, m.department_id, m.epoch, json.dumps(m.payload))
            for m in new_members
        ],
    )


async def is_settled(conn: aiosqlite.Connection, wave_id: int, channel: str) -> bool:
    async with conn.execute(
        "SELECT 1 FROM disclosure_settled WHERE wave_id = ? AND channel = ?", (wave_id, channel)
    ) as cur:
        return await cur.fetchone() is not None


async def settle(conn: aiosqlite.Connection, wave_id: int, channel: str, now: datetime) -> None:
    await conn.execute(
        "INSERT INTO disclosure_settled (wave_id, channel, settled_at) VALUES (?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        (wave_id, channel, _to_db(now)),
    )


# --- the live answers, as disclosure control reads them -------------------------------------
@dataclass(frozen=True)
class CompleteResponse:
    respondent: str
    department_id: int | None
    scores: tuple[int, ...]


async def complete_responses(
    conn: aiosqlite.Connection, wave_id: int, questions: int = 6
) -> list[CompleteResponse]:
    """Every respondent of a wave with all questions answered (the one definition of a
    respondent), with the department of the wave.

    Answers carry the department the person was invited with; rows written before that rule
    may disagree, and the smallest id stands for all of them.
    """
    found: list[CompleteResponse] = []
    async with conn.execute(
        "SELECT respondent, MIN(department_id) AS department_id, "
        "group_concat(question || ':' || score) AS answers FROM survey_answers "
        "WHERE wave_id = ? GROUP BY respondent HAVING COUNT(*) = ? ORDER BY respondent",
        (wave_id, questions),
    ) as cur:
        for row in await cur.fetchall():
            pairs = sorted(tuple(map(int, part.split(":"))) for part in row[2].split(","))
            found.append(CompleteResponse(row[0], row[1], tuple(score for _, score in pairs)))
    return found


async def department_names(conn: aiosqlite.Connection) -> dict[int, str]:
    async with conn.execute("SELECT id, name FROM departments") as cur:
        return {r[0]: r[1] for r in await cur.fetchall()}
