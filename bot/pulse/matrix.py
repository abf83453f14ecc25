"""The internal service index and the who-serves-whom matrix, with small groups hidden.

Inputs are scores (respondent pseudonym, rater department, served department, 1–5). A figure
stands for a group of distinct raters and is shown only when the group has at least `min_group`
of them:

- a served department's index: the mean of every score it got;
- a matrix cell (rater department × served department): the mean of that department's raters.

Complementary suppression: a served department's column shows its index over all raters and
some of its cells; the raters in no shown cell (hidden cells, and raters without a department)
have a sum that follows from the index and the shown cells. So that rest must be none or at
least `min_group` raters, and while it is not, the smallest shown cell is hidden too. This is
the anonymity module's rule 2 (`bot.disclosure.plan_structure`) applied to each column, with the
rater departments as the groups: the columns are separate figures (a person's scores of two
departments are two different numbers), so each is safe on its own. A round is shown once it is
closed, so there is no differencing over time either (bot.pulse.service).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from bot.disclosure import plan_structure


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
    names = sorted({rater for rater, _served in groups})
    ids = {name: number for number, name in enumerate(names, start=1)}
    for served, by_rater in column.items():
        rater_of = {
            i.respondent: i.rater_department for i in items if i.served_department == served
        }
        counts = Counter(ids[rater_of[r]] if rater_of[r] is not None else None for r in by_rater)
        structure = plan_structure(counts, min_group)
        shown = {names[i - 1] for i in structure.named} if structure is not None else set()
        for key in [k for k in cells if k[1] == served]:
            if key[0] not in shown:
                cells[key] = Cell(cells[key].raters, None)
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
