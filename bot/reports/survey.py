"""Survey figures of a wave: participation, the company's score, per-question and department means.

Only complete responses (all six answers) count towards scores, so the mean total equals the sum
of the six per-question means. Groups smaller than SURVEY_MIN_GROUP are never shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import aiosqlite

from bot.survey import QUESTION_COUNT, Level, level_for
from storage.survey import Wave


@dataclass(frozen=True)
class DepartmentScores:
    name: str
    respondents: int
    question_means: tuple[float, ...]

    @property
    def mean_total(self) -> float:
        return sum(self.question_means)


@dataclass(frozen=True)
class SurveySummary:
    wave: Wave
    invited: int
    responded: int
    question_means: tuple[float, ...] | None  # None when nobody has finished
    departments: list[DepartmentScores] = field(default_factory=list)
    hidden_departments: int = 0
    min_group: int = 3

    @property
    def response_rate(self) -> float | None:
        return self.responded / self.invited if self.invited else None

    @property
    def mean_total(self) -> float | None:
        return sum(self.question_means) if self.question_means else None

    @property
    def level(self) -> Level | None:
        return level_for(self.mean_total) if self.mean_total is not None else None

    @property
    def weakest(self) -> int | None:
        """1-based number of the weakest question (the first of equals)."""
        if not self.question_means:
            return None
        return min(range(QUESTION_COUNT), key=lambda i: (self.question_means[i], i)) + 1  # type: ignore[index]

    @property
    def strongest(self) -> int | None:
        if not self.question_means:
            return None
        return max(range(QUESTION_COUNT), key=lambda i: (self.question_means[i], -i)) + 1  # type: ignore[index]


_COMPLETE = f"""
    complete AS (
        SELECT respondent FROM survey_answers WHERE wave_id = :wave
        GROUP BY respondent HAVING COUNT(*) = {QUESTION_COUNT}
    )
"""


async def survey_summary(conn: aiosqlite.Connection, wave: Wave, min_group: int) -> SurveySummary:
    params = {"wave": wave.id}
    async with conn.execute(
        "SELECT COUNT(*) FROM wave_invitations WHERE wave_id = :wave", params
    ) as cur:
        invited = (await cur.fetchone())[0]  # type: ignore[index]
    async with conn.execute(
        f"WITH {_COMPLETE} SELECT a.question, AVG(a.score) AS mean, COUNT(*) AS n "
        "FROM survey_answers a JOIN complete c ON c.respondent = a.respondent "
        "WHERE a.wave_id = :wave GROUP BY a.question ORDER BY a.question",
        params,
    ) as cur:
        rows = await cur.fetchall()
    responded = rows[0]["n"] if rows else 0
    means = tuple(float(r["mean"]) for r in rows) if rows else None

    async with conn.execute(
        f"WITH {_COMPLETE} SELECT d.name AS department, a.question, AVG(a.score) AS mean, "
        "COUNT(*) AS n FROM survey_answers a JOIN complete c ON c.respondent = a.respondent "
        "JOIN departments d ON d.id = a.department_id "
        "WHERE a.wave_id = :wave GROUP BY d.id, a.question ORDER BY d.name, a.question",
        params,
    ) as cur:
        by_department: dict[str, list[tuple[int, float, int]]] = {}
        for r in await cur.fetchall():
            by_department.setdefault(r["department"], []).append((r["question"], r["mean"], r["n"]))
    shown, hidden = [], 0
    for name, items in by_department.items():
        respondents = items[0][2]
        if respondents >= min_group and len(items) == QUESTION_COUNT:
            shown.append(DepartmentScores(name, respondents, tuple(float(m) for _, m, _ in items)))
        else:
            hidden += 1
    return SurveySummary(wave, invited, responded, means, shown, hidden, min_group)
