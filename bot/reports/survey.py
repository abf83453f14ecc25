"""Survey figures: every wave's participation and scores, departments of the latest wave, targets.

Only complete responses (all six answers) count towards scores, so the mean total equals the sum
of the six per-question means. Means are computed from integer sums (sum ÷ count), so a company
at exactly 20.5 is 20.5 and lands in the level `bot.survey.scoring.level_for` gives it.

Departments with fewer than SURVEY_MIN_GROUP respondents are never shown on their own: they are
pooled as «Others» when the pool reaches the minimum, and left out otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import aiosqlite

from bot.survey.scoring import DEVELOPMENT_STEPS, QUESTION_COUNT, Level, level_for
from bot.texts import N_
from storage.survey import Wave, all_waves
from storage.timestamps import from_db

# Short names of the six questions, for tables and chart axes (full texts: bot.survey.scoring).
QUESTION_SHORT = (
    N_("Customer in decisions"),
    N_("Internal service"),
    N_("Collecting feedback"),
    N_("Using feedback"),
    N_("Customer journey"),
    N_("One team"),
)


def _means(sums: Sequence[int], count: int) -> tuple[float, ...] | None:
    return tuple(s / count for s in sums) if count else None


@dataclass(frozen=True)
class WaveFigures:
    wave: Wave
    invited: int
    responded: int  # complete responses
    score_total: int = 0  # the sum of every score of the complete responses
    # Per question; None for the older waves, of which the report needs the total only.
    question_sums: tuple[int, ...] | None = None

    @property
    def response_rate(self) -> float | None:
        # An employee can answer without an invitation row only through a data repair; never
        # report more than 100%.
        return min(1.0, self.responded / self.invited) if self.invited else None

    @property
    def question_means(self) -> tuple[float, ...] | None:
        return _means(self.question_sums, self.responded) if self.question_sums else None

    @property
    def mean_total(self) -> float | None:
        return self.score_total / self.responded if self.responded else None

    @property
    def level(self) -> Level | None:
        mean = self.mean_total
        return level_for(mean) if mean is not None else None

    @property
    def weakest(self) -> int | None:
        """1-based number of the weakest question (the first of equals); None if all are equal."""
        sums = self.question_sums
        if not self.responded or not sums or min(sums) == max(sums):
            return None
        return min(range(QUESTION_COUNT), key=lambda i: (sums[i], i)) + 1

    @property
    def strongest(self) -> int | None:
        sums = self.question_sums
        if not self.responded or not sums or min(sums) == max(sums):
            return None
        return max(range(QUESTION_COUNT), key=lambda i: (sums[i], -i)) + 1

    @property
    def development_step(self) -> str | None:
        """What to work on next: the step for the weakest question (a msgid)."""
        weakest = self.weakest
        return DEVELOPMENT_STEPS[weakest - 1] if weakest else None


# --- departments ----------------------------------------------------------------------------
@dataclass(frozen=True)
class DepartmentGroup:
    """Complete respondents of one department in one wave (name None: no department recorded)."""

    name: str | None
    respondents: int
    question_sums: tuple[int, ...]


@dataclass(frozen=True)
class DepartmentRow:
    name: str | None  # None for the pooled «Others»
    respondents: int
    question_means: tuple[float, ...]
    pooled: int = 0  # how many small departments make up «Others»

    @property
    def mean_total(self) -> float:
        return sum(self.question_means)


@dataclass(frozen=True)
class DepartmentTable:
    rows: list[DepartmentRow] = field(default_factory=list)
    small: int = 0  # departments with respondents, but fewer than the minimum
    pooled: bool = False  # the small ones are shown together as «Others»
    min_group: int = 3

    @property
    def others(self) -> DepartmentRow | None:
        return self.rows[-1] if self.pooled else None


def department_table(groups: Sequence[DepartmentGroup], min_group: int) -> DepartmentTable:
    """Departments big enough to show, the small ones pooled (or left out), largest first."""
    shown: list[DepartmentGroup] = []
    small: list[DepartmentGroup] = []
    for group in groups:
        if group.name is not None and group.respondents >= min_group:
            shown.append(group)
        elif group.respondents > 0:
            small.append(group)
    rows = [
        DepartmentRow(g.name, g.respondents, _means(g.question_sums, g.respondents) or ())
        for g in sorted(shown, key=lambda g: (-g.respondents, (g.name or "").casefold()))
    ]
    pool = sum(g.respondents for g in small)
    pooled = bool(small) and pool >= min_group
    if pooled:
        sums = tuple(sum(g.question_sums[i] for g in small) for i in range(QUESTION_COUNT))
        named = sum(1 for g in small if g.name is not None)
        rows.append(DepartmentRow(None, pool, _means(sums, pool) or (), pooled=named))
    return DepartmentTable(
        rows=rows,
        small=sum(1 for g in small if g.name is not None),
        pooled=pooled,
        min_group=min_group,
    )


# --- targets --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    value: int
    set_at: datetime
    base_wave_id: int | None  # the latest wave when it was set; it applies to later waves


@dataclass(frozen=True)
class TargetStatus:
    target: Target
    reached_by: WaveFigures | None  # the latest wave, when it reached the target
    gap: float | None  # target − the latest wave's mean total (None: no complete answers yet)
    for_next_wave: bool  # no wave has started since the target was set


def target_status(
    target: Target | None, history: Sequence[WaveFigures], latest: WaveFigures | None
) -> TargetStatus | None:
    """What the report says about the target; None once an earlier wave has reached it."""
    if target is None:
        return None
    base = target.base_wave_id or 0
    for figures in history:
        mean = figures.mean_total
        if figures.wave.id > base and mean is not None and mean >= target.value:
            if latest is not None and figures.wave.id == latest.wave.id:
                return TargetStatus(target, figures, None, for_next_wave=False)
            return None  # reached by an earlier wave: the report stops showing it
    mean = latest.mean_total if latest is not None else None
    gap = target.value - mean if mean is not None else None
    for_next = latest is None or latest.wave.id <= base
    return TargetStatus(target, None, gap, for_next_wave=for_next)


async def current_target(conn: aiosqlite.Connection) -> Target | None:
    async with conn.execute(
        "SELECT value, set_at, base_wave_id FROM survey_targets ORDER BY id DESC LIMIT 1"
    ) as cur:
        row = await cur.fetchone()
    return Target(row["value"], from_db(row["set_at"]), row["base_wave_id"]) if row else None


# --- the survey part of the report ------------------------------------------------------------
@dataclass(frozen=True)
class SurveyReport:
    latest: WaveFigures
    previous: WaveFigures | None
    history: list[WaveFigures]  # every wave, oldest first
    departments: DepartmentTable
    target: TargetStatus | None


# One pass over the answers in primary-key order: each respondent's six scores are folded into
# one row, incomplete respondents dropped, then summed per wave and department.
_SURVEY_SQL = """
SELECT r.wave_id, r.department_id, d.name AS department, COUNT(*) AS respondents,
       SUM(r.q1) AS q1, SUM(r.q2) AS q2, SUM(r.q3) AS q3,
       SUM(r.q4) AS q4, SUM(r.q5) AS q5, SUM(r.q6) AS q6
FROM (
    SELECT wave_id, MIN(department_id) AS department_id,
           SUM(CASE question WHEN 1 THEN score END) AS q1,
           SUM(CASE question WHEN 2 THEN score END) AS q2,
           SUM(CASE question WHEN 3 THEN score END) AS q3,
           SUM(CASE question WHEN 4 THEN score END) AS q4,
           SUM(CASE question WHEN 5 THEN score END) AS q5,
           SUM(CASE question WHEN 6 THEN score END) AS q6
    FROM survey_answers
    {where}
    GROUP BY wave_id, respondent
    HAVING COUNT(*) = {count}
) AS r
LEFT JOIN departments d ON d.id = r.department_id
GROUP BY r.wave_id, r.department_id
"""


async def survey_groups(
    conn: aiosqlite.Connection, *, wave_id: int | None = None, wave_ids: tuple[int, ...] = ()
) -> dict[int, list[DepartmentGroup]]:
    """Complete respondents by wave (every wave, or the ones named) and department."""
    groups: dict[int, list[DepartmentGroup]] = {}
    ids = (wave_id,) if wave_id is not None else wave_ids
    where, params = (f"WHERE wave_id IN ({','.join('?' * len(ids))})", ids) if ids else ("", ())
    async with conn.execute(_SURVEY_SQL.format(where=where, count=QUESTION_COUNT), params) as cur:
        for r in await cur.fetchall():
            groups.setdefault(r["wave_id"], []).append(
                DepartmentGroup(
                    r["department"],
                    r["respondents"],
                    (r["q1"], r["q2"], r["q3"], r["q4"], r["q5"], r["q6"]),
                )
            )
    return groups


async def invited_by_wave(
    conn: aiosqlite.Connection, *, wave_id: int | None = None
) -> dict[int, int]:
    where, params = ("WHERE wave_id = ?", (wave_id,)) if wave_id is not None else ("", ())
    async with conn.execute(
        f"SELECT wave_id, COUNT(*) AS n FROM wave_invitations {where} GROUP BY wave_id", params
    ) as cur:
        return {r["wave_id"]: r["n"] for r in await cur.fetchall()}


def wave_figures(wave: Wave, invited: int, groups: Sequence[DepartmentGroup]) -> WaveFigures:
    sums = tuple(sum(g.question_sums[i] for g in groups) for i in range(QUESTION_COUNT))
    return WaveFigures(wave, invited, sum(g.respondents for g in groups), sum(sums), sums)


# The older waves' totals, for the history: one light pass (a sum and a count per respondent),
# over the primary key's range below the waves read in detail.
_TOTALS_SQL = """
SELECT wave_id, COUNT(*) AS respondents, SUM(total) AS total FROM (
    SELECT wave_id, SUM(score) AS total FROM survey_answers WHERE wave_id < ?
    GROUP BY wave_id, respondent HAVING COUNT(*) = {count}
) GROUP BY wave_id
"""


async def wave_totals(conn: aiosqlite.Connection, before: int) -> dict[int, tuple[int, int]]:
    """(complete respondents, sum of their scores) of every wave older than `before`."""
    async with conn.execute(_TOTALS_SQL.format(count=QUESTION_COUNT), (before,)) as cur:
        return {r["wave_id"]: (r["respondents"], r["total"]) for r in await cur.fetchall()}


async def survey_report(conn: aiosqlite.Connection, min_group: int) -> SurveyReport | None:
    """The survey part of the report for the latest wave (open or closed); None before any."""
    waves = await all_waves(conn)
    if not waves:
        return None
    recent = waves[-2:]  # the latest wave and the one it is compared with, in detail
    groups = await survey_groups(conn, wave_ids=tuple(w.id for w in recent))
    invited = await invited_by_wave(conn)
    totals = await wave_totals(conn, recent[0].id) if len(waves) > len(recent) else {}
    history = []
    for wave in waves:
        if wave in recent:
            history.append(wave_figures(wave, invited.get(wave.id, 0), groups.get(wave.id, [])))
        else:
            respondents, total = totals.get(wave.id, (0, 0))
            history.append(WaveFigures(wave, invited.get(wave.id, 0), respondents, total))
    latest = history[-1]
    previous = history[-2] if len(history) > 1 else None
    target = target_status(await current_target(conn), history, latest)
    departments = department_table(groups.get(latest.wave.id, []), min_group)
    return SurveyReport(latest, previous, history, departments, target)
