"""Survey figures: every wave's participation and scores, departments of the latest wave, targets.

Only complete responses (all six answers) count towards scores, so the mean total equals the sum
of the six per-question means. Means are computed from integer sums (sum ÷ count), so a company
at exactly 20.5 is 20.5 and lands in the level `bot.survey.scoring.level_for` gives it.

Every figure comes from bot.disclosure (issue 9): what a wave has released, never the answers
themselves. So no figure covers fewer than SURVEY_MIN_GROUP respondents (the company included),
departments are pooled or suppressed so that none can be worked out by subtraction, and figures
change only in steps the rules allow; `responded` is the live count, `counted` the respondents
behind the figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import aiosqlite

from bot.disclosure import plan_structure
from bot.disclosure.service import WaveView, refresh, released
from bot.survey.scoring import DEVELOPMENT_STEPS, QUESTION_COUNT, Level, level_for
from bot.survey.scoring import QUESTION_SHORT as QUESTION_SHORT  # re-exported: render, charts
from storage.survey import Wave, all_waves
from storage.timestamps import from_db


def _means(sums: Sequence[int], count: int) -> tuple[float, ...] | None:
    return tuple(s / count for s in sums) if count else None


@dataclass(frozen=True)
class WaveFigures:
    wave: Wave
    invited: int
    responded: int  # complete responses now (the live count)
    score_total: int = 0  # the sum of every score of the respondents behind the figures
    # Per question; None when there is no figure to show.
    question_sums: tuple[int, ...] | None = None
    counted: int | None = None  # respondents behind the figures (None: all who responded)
    min_group: int = 0

    @property
    def shown(self) -> int:
        return self.responded if self.counted is None else self.counted

    @property
    def response_rate(self) -> float | None:
        # An employee can answer without an invitation row only through a data repair; never
        # report more than 100%.
        return min(1.0, self.responded / self.invited) if self.invited else None

    @property
    def question_means(self) -> tuple[float, ...] | None:
        return _means(self.question_sums, self.shown) if self.question_sums else None

    @property
    def mean_total(self) -> float | None:
        return self.score_total / self.shown if self.shown else None

    @property
    def level(self) -> Level | None:
        mean = self.mean_total
        return level_for(mean) if mean is not None else None

    @property
    def weakest(self) -> int | None:
        """1-based number of the weakest question (the first of equals); None if all are equal."""
        sums = self.question_sums
        if not self.shown or not sums or min(sums) == max(sums):
            return None
        return min(range(QUESTION_COUNT), key=lambda i: (sums[i], i)) + 1

    @property
    def strongest(self) -> int | None:
        sums = self.question_sums
        if not self.shown or not sums or min(sums) == max(sums):
            return None
        return max(range(QUESTION_COUNT), key=lambda i: (sums[i], -i)) + 1

    @property
    def development_step(self) -> str | None:
        """What to work on next: the step for the weakest question (a msgid)."""
        weakest = self.weakest
        return DEVELOPMENT_STEPS[weakest - 1] if weakest else None


def figures_of(wave: Wave, invited: int, view: WaveView) -> WaveFigures:
    """A wave's figures as disclosure control released them."""
    release = view.release
    if release is None:
        return WaveFigures(wave, invited, view.respondents, counted=0, min_group=view.min_group)
    company = release.company
    return WaveFigures(
        wave,
        invited,
        view.respondents,
        company.total,
        company.sums,
        counted=company.respondents,
        min_group=view.min_group,
    )


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
    protected: int = 0  # departments big enough to show, hidden to protect a smaller group

    @property
    def others(self) -> DepartmentRow | None:
        return self.rows[-1] if self.pooled else None


def _rows_sorted(rows: list[DepartmentRow]) -> list[DepartmentRow]:
    return sorted(rows, key=lambda r: (-r.respondents, (r.name or "").casefold()))


def department_table(groups: Sequence[DepartmentGroup], min_group: int) -> DepartmentTable:
    """Departments big enough to show, the rest pooled as «Others» or suppressed (rules 1 and 2
    of bot.disclosure, within one view), largest first."""
    counts = {i: g.respondents for i, g in enumerate(groups) if g.respondents > 0}
    # A group without a department name is never shown on its own: give it no id to name.
    ids = {i: (i if g.name is not None else None) for i, g in enumerate(groups)}
    by_id: dict[int | None, int] = {}
    for i, n in counts.items():
        by_id[ids[i]] = by_id.get(ids[i], 0) + n
    structure = plan_structure(by_id, min_group)
    named = set(structure.named) if structure else set()
    rows = _rows_sorted(
        [
            DepartmentRow(g.name, g.respondents, _means(g.question_sums, g.respondents) or ())
            for i, g in enumerate(groups)
            if i in named
        ]
    )
    pool = [g for i, g in enumerate(groups) if i in counts and i not in named]
    small = sum(1 for g in pool if g.name is not None and g.respondents < min_group)
    pooled = bool(structure and structure.others)
    if pooled:
        n = sum(g.respondents for g in pool)
        sums = tuple(sum(g.question_sums[q] for g in pool) for q in range(QUESTION_COUNT))
        named_pool = sum(1 for g in pool if g.name is not None)
        rows.append(DepartmentRow(None, n, _means(sums, n) or (), pooled=named_pool))
    protected = structure.protected if structure else 0
    return DepartmentTable(rows, small, pooled, min_group, protected)


def table_of(view: WaveView) -> DepartmentTable:
    """The department table of a wave's release."""
    release = view.release
    if release is None:
        return DepartmentTable(min_group=view.min_group)
    counts = view.counts
    rows = _rows_sorted(
        [
            DepartmentRow(view.names.get(d, "?"), g.respondents, g.means)
            for d, g in release.named.items()
        ]
    )
    others = release.others
    if others is not None:
        pooled = sum(1 for d in release.structure.others if d is not None)
        rows.append(DepartmentRow(None, others.respondents, others.means, pooled=pooled))
    small = sum(
        1
        for d, n in counts.items()
        if d is not None and d not in release.structure.named and n < view.min_group
    )
    return DepartmentTable(
        rows, small, others is not None, view.min_group, release.structure.protected
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


async def invited_by_wave(
    conn: aiosqlite.Connection, *, wave_id: int | None = None
) -> dict[int, int]:
    where, params = ("WHERE wave_id = ?", (wave_id,)) if wave_id is not None else ("", ())
    async with conn.execute(
        f"SELECT wave_id, COUNT(*) AS n FROM wave_invitations {where} GROUP BY wave_id", params
    ) as cur:
        return {r["wave_id"]: r["n"] for r in await cur.fetchall()}


def wave_figures(wave: Wave, invited: int, groups: Sequence[DepartmentGroup]) -> WaveFigures:
    """Figures straight from department groups (for tests and pictures; reports use releases)."""
    sums = tuple(sum(g.question_sums[i] for g in groups) for i in range(QUESTION_COUNT))
    return WaveFigures(wave, invited, sum(g.respondents for g in groups), sum(sums), sums)


async def release_survey(conn: aiosqlite.Connection, *, min_group: int, now: datetime) -> None:
    """Before a surface shows survey figures: the next release of every wave the rules allow
    (in a write transaction; settled waves cost one lookup)."""
    for wave in await all_waves(conn):
        await refresh(conn, wave.id, closed=not wave.is_open, min_group=min_group, now=now)


async def disclosed_figures(conn: aiosqlite.Connection, wave: Wave, min_group: int) -> WaveFigures:
    invited = (await invited_by_wave(conn, wave_id=wave.id)).get(wave.id, 0)
    return figures_of(wave, invited, await released(conn, wave.id, min_group=min_group))


async def survey_report(conn: aiosqlite.Connection, min_group: int) -> SurveyReport | None:
    """The survey part of the report for the latest wave (open or closed); None before any.

    Reads only what disclosure control has released (`release_survey` makes the releases).
    """
    waves = await all_waves(conn)
    if not waves:
        return None
    invited = await invited_by_wave(conn)
    history = []
    latest_view = None
    for wave in waves:
        view = await released(conn, wave.id, min_group=min_group)
        history.append(figures_of(wave, invited.get(wave.id, 0), view))
        latest_view = view
    assert latest_view is not None
    latest = history[-1]
    previous = history[-2] if len(history) > 1 else None
    target = target_status(await current_target(conn), history, latest)
    return SurveyReport(latest, previous, history, table_of(latest_view), target)
