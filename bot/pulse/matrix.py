"""The internal service index and the who-serves-whom matrix, with small groups hidden.

Inputs are scores (respondent pseudonym, rater department, served department, 1–5). A figure
stands for a group of distinct raters and is shown only when the group has at least `min_group`
of them:

- a served department's index: the mean of every score it got;
- a matrix cell (rater department × served department): the mean of that department's raters.

Complementary suppression: a served department's column shows its index over all raters and
its cells; with exactly one hidden cell, the cell would follow from the index and the shown
cells (its raters' sum = the index's sum − the shown cells' sums, and its size likewise). So a
column with one hidden cell hides its smallest shown cell too — or, when there is none, the
column is left as is, because then the hidden cell's raters are all the column's raters and the
index itself is hidden for the same reason. Raters without a department (it was too small to
store) count in the index only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Score:
    respondent: str
    rater_department: str | None
    served_department: str
    score: int


@dataclass(frozen=True)
class Cell:
    raters: int  # distinct raters in the group (shown only with the mean)
    mean: float | None  # None: hidden (under the minimum, or to protect a hidden neighbour)


@dataclass(frozen=True)
class PulseMatrix:
    index: dict[str, Cell]  # served department → its index over all raters
    cells: dict[tuple[str, str], Cell]  # (rater department, served department) → cell
    raters: int  # distinct people who rated anyone
    min_group: int

    @property
    def served(self) -> list[str]:
        return sorted(self.index)

    @property
    def rater_departments(self) -> list[str]:
        return sorted({rater for rater, _ in self.cells})


def build_matrix(scores: Iterable[Score], min_group: int) -> PulseMatrix:
    if min_group < 1:
        raise ValueError("min_group must be at least 1")
    items = list(scores)
    for item in items:
        if not 1 <= item.score <= 5:
            raise ValueError(f"a pulse score is 1..5, got {item.score}")
    column: dict[str, dict[str, int]] = {}
    groups: dict[tuple[str, str], dict[str, int]] = {}
    for item in items:
        # One score per respondent and served department (the storage key); keep the last.
        column.setdefault(item.served_department, {})[item.respondent] = item.score
        if item.rater_department is not None:
            key = (item.rater_department, item.served_department)
            groups.setdefault(key, {})[item.respondent] = item.score
    index = {served: _cell(by_rater.values(), min_group) for served, by_rater in column.items()}
    cells = {key: _cell(by_rater.values(), min_group) for key, by_rater in groups.items()}
    for served in column:
        keys = [key for key in cells if key[1] == served]
        hidden = [key for key in keys if cells[key].mean is None]
        shown = [key for key in keys if cells[key].mean is not None]
        if len(hidden) == 1 and index[served].mean is not None and shown:
            # Hide the smallest shown cell too (ties: by rater department, stably).
            victim = min(shown, key=lambda k: (cells[k].raters, k[0]))
            cells[victim] = Cell(cells[victim].raters, None)
    return PulseMatrix(
        index=index,
        cells=cells,
        raters=len({item.respondent for item in items}),
        min_group=min_group,
    )


def _cell(values: Iterable[int], min_group: int) -> Cell:
    items = list(values)
    if len(items) < min_group:
        return Cell(len(items), None)
    return Cell(len(items), sum(items) / len(items))


MAX_PICKS = 3


def may_pick(own_department: str | None, picked: Iterable[str], department: str) -> bool:
    """An employee rates up to three departments, never their own, each once."""
    chosen = set(picked)
    if department == own_department or department in chosen:
        return False
    return len(chosen) < MAX_PICKS
