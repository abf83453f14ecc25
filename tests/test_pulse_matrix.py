"""The internal service pulse: small cells hidden, and no hidden cell recoverable by subtraction."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.pulse.matrix import Score, build_matrix, may_pick

DEPARTMENTS = ("Продажи", "Склад", "ИТ", "Бухгалтерия")


@st.composite
def pulses(draw: st.DrawFn) -> list[Score]:
    people = draw(st.integers(0, 25))
    scores: list[Score] = []
    for person in range(people):
        own = draw(st.sampled_from((*DEPARTMENTS, None)))
        others = [d for d in DEPARTMENTS if d != own]
        picks = draw(st.lists(st.sampled_from(others), max_size=3, unique=True))
        for served in picks:
            scores.append(Score(f"r{person}", own, served, draw(st.integers(1, 5))))
    return scores


@given(pulses(), st.integers(1, 5))
def test_shown_figures_stand_for_enough_raters_and_no_hidden_cell_can_be_subtracted(
    scores: list[Score], min_group: int
) -> None:
    matrix = build_matrix(scores, min_group)
    for cell in [*matrix.index.values(), *matrix.cells.values()]:
        if cell.mean is not None:
            assert cell.raters >= min_group
    # The adversary: for a column with its index shown, the sum and size of the hidden cells
    # together are index − shown cells (raters without a department aside). That recovers a
    # hidden cell only when it is the only hidden one in the column.
    for served in matrix.served:
        if matrix.index[served].mean is None:
            continue
        column = [c for (r, s), c in matrix.cells.items() if s == served]
        hidden = [c for c in column if c.mean is None]
        shown = [c for c in column if c.mean is not None]
        assert len(hidden) != 1 or not shown, (served, column)
        if len(hidden) == 1:
            # The single hidden group is then no smaller than the index's own group less the
            # raters without a department; with all raters in it, it is the index itself.
            no_department = {
                s.respondent
                for s in scores
                if s.served_department == served and s.rater_department is None
            }
            assert hidden[0].raters + len(no_department) >= matrix.index[served].raters


def test_by_example_a_small_cell_hides_a_neighbour_too() -> None:
    scores = [Score(f"s{i}", "Продажи", "Склад", 4) for i in range(4)]
    scores += [Score(f"i{i}", "ИТ", "Склад", 2) for i in range(3)]
    scores += [Score("b0", "Бухгалтерия", "Склад", 1)]
    matrix = build_matrix(scores, 3)
    assert matrix.index["Склад"].mean == pytest.approx((16 + 6 + 1) / 8)
    assert matrix.cells[("Бухгалтерия", "Склад")].mean is None
    # ИТ (3 raters) is the smallest shown cell: hidden too, so Бухгалтерия's 1 stays unknown.
    assert matrix.cells[("ИТ", "Склад")].mean is None
    assert matrix.cells[("Продажи", "Склад")].mean == 4
    assert matrix.raters == 8


def test_out_of_range_scores_and_minimums_are_refused() -> None:
    with pytest.raises(ValueError, match=r"1\.\.5"):
        build_matrix([Score("a", "ИТ", "Склад", 6)], 3)
    with pytest.raises(ValueError, match="min_group"):
        build_matrix([], 0)


def test_picks_up_to_three_never_the_own_department() -> None:
    assert may_pick("ИТ", [], "Склад")
    assert not may_pick("ИТ", [], "ИТ")
    assert not may_pick("ИТ", ["Склад"], "Склад")
    assert not may_pick("ИТ", ["Склад", "Продажи", "Бухгалтерия"], "Маркетинг")
