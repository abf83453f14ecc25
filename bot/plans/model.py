"""The pure rules of an action plan: statuses, who may move them where, due dates, figures."""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from bot.texts import N_

QUESTIONS = range(1, 7)
TITLE_MAX = 200
NOTE_MAX = 1000


class Status(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    STUCK = "stuck"
    DROPPED = "dropped"


STATUS_TITLES: Mapping[Status, str] = {
    Status.PLANNED: N_("planned"),
    Status.IN_PROGRESS: N_("in progress"),
    Status.DONE: N_("done"),
    Status.STUCK: N_("stuck"),
    Status.DROPPED: N_("dropped"),
}
STATUS_ICONS: Mapping[Status, str] = {
    Status.PLANNED: "🗓",
    Status.IN_PROGRESS: "🔄",
    Status.DONE: "✅",
    Status.STUCK: "⛔",
    Status.DROPPED: "🗑",
}

# An initiative still to be finished: check-ins go to its owner, a passed due date is overdue.
OPEN = frozenset({Status.PLANNED, Status.IN_PROGRESS, Status.STUCK})
# Where an owner may move an open initiative (a check-in's buttons). Done and dropped are the
# end for an owner; only an admin reopens them (back to in progress), so a stray press on an
# old check-in cannot undo a finished initiative.
_OWNER_MOVES: Mapping[Status, frozenset[Status]] = {
    Status.PLANNED: frozenset({Status.IN_PROGRESS, Status.DONE, Status.STUCK, Status.DROPPED}),
    Status.IN_PROGRESS: frozenset({Status.DONE, Status.STUCK, Status.DROPPED}),
    Status.STUCK: frozenset({Status.IN_PROGRESS, Status.DONE, Status.DROPPED}),
    Status.DONE: frozenset(),
    Status.DROPPED: frozenset(),
}
_ADMIN_REOPEN: Mapping[Status, frozenset[Status]] = {
    Status.DONE: frozenset({Status.IN_PROGRESS}),
    Status.DROPPED: frozenset({Status.PLANNED, Status.IN_PROGRESS}),
}


class Move(StrEnum):
    CHANGED = "changed"
    UNCHANGED = "unchanged"  # the same status again: a check-in that says "still in progress"
    REFUSED = "refused"


def decide_move(current: Status, new: Status, *, by_admin: bool) -> Move:
    """Whether `current` may become `new`, for an owner or (with more rights) an admin."""
    if new == current:
        return Move.UNCHANGED
    allowed = set(_OWNER_MOVES[current])
    if by_admin:
        allowed |= _ADMIN_REOPEN.get(current, frozenset())
    return Move.CHANGED if new in allowed else Move.REFUSED


def checkin_choices(current: Status) -> list[Status]:
    """The buttons of a check-in: stay where it is, or any move an owner may make."""
    return [s for s in Status if s == current or s in _OWNER_MOVES[current]]


# --- due dates --------------------------------------------------------------------------------
class DuePreset(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    HALF_YEAR = "half"
    NEXT_WAVE = "wave"


DUE_PRESET_TITLES: Mapping[DuePreset, str] = {
    DuePreset.MONTH: N_("In a month"),
    DuePreset.QUARTER: N_("In a quarter"),
    DuePreset.HALF_YEAR: N_("In half a year"),
    DuePreset.NEXT_WAVE: N_("By the next wave"),
}
_PRESET_MONTHS = {DuePreset.MONTH: 1, DuePreset.QUARTER: 3, DuePreset.HALF_YEAR: 6}


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def due_day(preset: DuePreset, today: date) -> date | None:
    """The due date of a preset; None for «by the next wave» (due when the next wave opens)."""
    months = _PRESET_MONTHS.get(preset)
    return add_months(today, months) if months else None


def is_overdue(
    status: Status,
    due: date | None,
    today: date,
    *,
    due_next_wave: bool = False,
    next_wave_opened: bool = False,
) -> bool:
    """An open initiative whose day has passed (or whose "next wave" has opened)."""
    if status not in OPEN:
        return False
    if due_next_wave:
        return next_wave_opened
    return due is not None and today > due


# --- questions weakest first ------------------------------------------------------------------
@dataclass(frozen=True)
class QuestionChoice:
    question: int
    mean: float | None


def weakest_first(means: Sequence[float] | None) -> list[QuestionChoice]:
    """The six questions, the weakest (lowest mean) first; in order 1–6 without a wave yet.

    Ties keep the questions' own order, so the list is stable from one /plan to the next.
    """
    if not means:
        return [QuestionChoice(q, None) for q in QUESTIONS]
    if len(means) != len(QUESTIONS):
        raise ValueError(f"expected six means, got {len(means)}")
    order = sorted(QUESTIONS, key=lambda q: (means[q - 1], q))
    return [QuestionChoice(q, means[q - 1]) for q in order]


# --- the plan beside the change ---------------------------------------------------------------
@dataclass(frozen=True)
class PlanItem:
    """What the report needs of one initiative."""

    id: int
    question: int
    title: str
    status: Status
    owner_name: str | None
    due: date | None
    due_next_wave: bool
    done_on: date | None
    overdue: bool = False
    base_wave_id: int | None = None  # the newest wave when it was planned (its results)


@dataclass(frozen=True)
class QuestionEffect:
    """One question at the next wave: its change beside the initiatives done for it."""

    question: int
    change: float | None  # latest wave's mean − the previous wave's; None without both
    done: int  # initiatives done for this question since the previous wave opened
    open: int  # still open (planned, in progress, stuck)


def question_effects(
    items: Iterable[PlanItem],
    latest: Sequence[float] | None,
    previous: Sequence[float] | None,
) -> list[QuestionEffect]:
    """Per question with at least one initiative: the change and how many were done.

    `items` are the initiatives planned for the latest wave to measure: those planned since
    the previous wave (the caller selects them by base wave).
    """
    done: dict[int, int] = {}
    still_open: dict[int, int] = {}
    for item in items:
        if item.status == Status.DONE:
            done[item.question] = done.get(item.question, 0) + 1
        elif item.status in OPEN:
            still_open[item.question] = still_open.get(item.question, 0) + 1
    out = []
    for q in QUESTIONS:
        if q not in done and q not in still_open:
            continue
        change = latest[q - 1] - previous[q - 1] if latest and previous else None
        out.append(QuestionEffect(q, change, done.get(q, 0), still_open.get(q, 0)))
    return out


def clean_text(raw: str | None, limit: int) -> str | None:
    """A title or a note as typed: stripped, inner whitespace kept; None when empty or too long."""
    if raw is None:
        return None
    text = raw.strip()
    if not text or len(text) > limit:
        return None
    return text
