"""The report's plan part: initiatives by question, the change beside what was done, department
targets, the anonymous comments, employees' suggestions and the internal service pulse.

Everything about employees passes the same rules as the survey's figures: a department's target
is shown only where its figures are (SURVEY_MIN_GROUP respondents), comments only in groups of
SURVEY_COMMENT_MIN_GROUP, pulse cells only with SURVEY_MIN_GROUP raters (bot.pulse.matrix).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date

import aiosqlite

from bot.plans.comments import Comment, VisibleComments, visible_comments
from bot.plans.model import OPEN, PlanItem, QuestionEffect, question_effects
from bot.plans.service import plan_item
from bot.pulse.matrix import PulseMatrix
from bot.pulse.service import open_round_raters, pulse_matrix
from bot.reports.survey import SurveyReport
from storage import plans as store
from storage.survey import Wave, all_waves


@dataclass(frozen=True)
class DepartmentTargetLine:
    department: str
    target: int
    mean: float | None  # None: the department's figures may not be shown
    gap: float | None


@dataclass(frozen=True)
class PlansReport:
    items: list[PlanItem]
    effects: list[QuestionEffect]  # at the next wave: each question's change beside the plan
    effects_wave: str | None  # the wave the effects are measured at
    targets: list[DepartmentTargetLine]
    comments_wave: str | None  # the latest closed wave with comments
    comments: VisibleComments | None
    comments_open: int  # comments so far in an open wave (shown once it closes)
    suggestions: int
    suggestions_planned: int
    pulse: PulseMatrix | None  # the newest closed round
    pulse_open_raters: int | None  # raters so far in an open round (shown once it closes)
    comment_min_group: int
    # The current plan: the initiatives of the newest wave that has any (planned on its
    # results), and the earlier waves' initiatives still open beside it.
    plan_wave: str | None = None
    current: list[PlanItem] = field(default_factory=list)
    carried_over: list[PlanItem] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.items or self.targets or self.comments or self.comments_open
            or self.suggestions or self.pulse or self.pulse_open_raters is not None
        )  # fmt: skip


async def latest_closed_wave(conn: aiosqlite.Connection) -> Wave | None:
    closed = [w for w in await all_waves(conn) if not w.is_open]
    return closed[-1] if closed else None


async def comments_of(
    conn: aiosqlite.Connection, wave_id: int, min_group: int, rng: random.Random | None = None
) -> VisibleComments:
    stored = await store.comments_of_wave(conn, wave_id)
    return visible_comments([Comment(c.id, c.department, c.body) for c in stored], min_group, rng)


async def plans_report(
    conn: aiosqlite.Connection,
    survey: SurveyReport | None,
    *,
    today: date,
    min_group: int,
    comment_min_group: int,
) -> PlansReport:
    waves = await all_waves(conn)
    newest = waves[-1].id if waves else 0
    initiatives = await store.all_initiatives(conn)
    items = [
        plan_item(i, today, next_wave_opened=newest > (i.base_wave_id or 0)) for i in initiatives
    ]
    effects: list[QuestionEffect] = []
    effects_wave = None
    if survey is not None and survey.previous is not None:
        # The plan made after the previous wave's results is measured by the latest wave.
        measured = [
            item
            for item, i in zip(items, initiatives, strict=True)
            if i.base_wave_id == survey.previous.wave.id
        ]
        effects = question_effects(
            measured, survey.latest.question_means, survey.previous.question_means
        )
        effects_wave = survey.latest.wave.title if effects else None
    targets: list[DepartmentTargetLine] = []
    stored_targets = await store.department_targets(conn)
    if stored_targets:
        async with conn.execute("SELECT id, name FROM departments") as cur:
            names = {r[0]: r[1] for r in await cur.fetchall()}
        shown = {
            row.name: row.mean_total
            for row in (survey.departments.rows if survey is not None else [])
            if row.name is not None
        }
        for department_id, (value, _base) in sorted(
            stored_targets.items(), key=lambda kv: names.get(kv[0], "")
        ):
            name = names.get(department_id)
            if name is None:
                continue
            mean = shown.get(name)
            targets.append(
                DepartmentTargetLine(name, value, mean, value - mean if mean is not None else None)
            )
    closed = await latest_closed_wave(conn)
    comments = await comments_of(conn, closed.id, comment_min_group) if closed else None
    open_wave = waves[-1] if waves and waves[-1].is_open else None
    comments_open = len(await store.comments_of_wave(conn, open_wave.id)) if open_wave else 0
    suggestions, planned = await store.suggestion_counts(conn)
    plan_wave, current, carried_over = current_plan(items, waves)
    return PlansReport(
        items=items,
        effects=effects,
        effects_wave=effects_wave,
        targets=targets,
        comments_wave=closed.title if closed and comments and comments.total else None,
        comments=comments if comments and comments.total else None,
        comments_open=comments_open,
        suggestions=suggestions,
        suggestions_planned=planned,
        pulse=await pulse_matrix(conn, min_group),
        pulse_open_raters=await open_round_raters(conn),
        comment_min_group=comment_min_group,
        plan_wave=plan_wave,
        current=current,
        carried_over=carried_over,
    )


def current_plan(
    items: list[PlanItem], waves: list[Wave]
) -> tuple[str | None, list[PlanItem], list[PlanItem]]:
    """The newest wave with initiatives (its title), its initiatives, and the earlier ones still
    open (planned, in progress, stuck). Initiatives planned before any wave count as earlier."""
    planned_on = {i.base_wave_id for i in items if i.base_wave_id is not None}
    newest = next((w for w in reversed(waves) if w.id in planned_on), None)
    if newest is None:
        return None, [], [i for i in items if i.status in OPEN]
    current = [i for i in items if i.base_wave_id == newest.id]
    carried = [i for i in items if i.base_wave_id != newest.id and i.status in OPEN]
    return newest.title, current, carried
