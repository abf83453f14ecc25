"""Scoring and maturity levels: every band edge, the rounding rule, properties over answers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.survey.scoring import (
    LEVELS,
    QUESTION_COUNT,
    TOTAL_MAX,
    TOTAL_MIN,
    band_value,
    level_for,
    total_score,
)


@pytest.mark.parametrize(
    ("total", "level"),
    [
        (6, "initial"),
        (12, "initial"),
        (13, "transitional"),
        (20, "transitional"),
        (21, "forming"),
        (25, "forming"),
        (26, "mature"),
        (30, "mature"),
    ],
)
def test_band_edges(total: int, level: str) -> None:
    assert level_for(total).key == level


@pytest.mark.parametrize(
    ("mean", "level"),
    [
        (20.5, "transitional"),  # the issue's own example
        (20.51, "forming"),
        (20.49, "transitional"),
        (12.5, "initial"),
        (12.6, "transitional"),
        (25.5, "forming"),
        (25.75, "mature"),
        (6.0, "initial"),
        (29.99, "mature"),
    ],
)
def test_means_are_banded_by_rounding_with_halves_down(mean: float, level: str) -> None:
    assert level_for(mean).key == level


@pytest.mark.parametrize("value", [5, 5.99, 30.01, 31, -1])
def test_out_of_range_totals_are_refused(value: float) -> None:
    with pytest.raises(ValueError, match=r"a total is 6\.\.30"):
        level_for(value)


def test_bands_cover_every_total_once() -> None:
    covered = [t for level in LEVELS for t in range(level.low, level.high + 1)]
    assert covered == list(range(TOTAL_MIN, TOTAL_MAX + 1))


@pytest.mark.parametrize("scores", [[1] * 5, [1] * 7, [0, 1, 1, 1, 1, 1], [6, 1, 1, 1, 1, 1]])
def test_total_refuses_bad_answer_sets(scores: list[int]) -> None:
    with pytest.raises(ValueError, match=r"expected 6 answers|every score must be"):
        total_score(scores)


@given(st.lists(st.integers(min_value=1, max_value=5), min_size=6, max_size=6))
def test_level_of_any_six_answers(scores: list[int]) -> None:
    total = total_score(scores)
    assert total == sum(scores)
    assert TOTAL_MIN <= total <= TOTAL_MAX
    level = level_for(total)
    expected = (
        "initial" if total <= 12 else
        "transitional" if total <= 20 else
        "forming" if total <= 25 else
        "mature"
    )  # fmt: skip
    assert level.key == expected


@given(
    st.lists(
        st.lists(st.integers(min_value=1, max_value=5), min_size=6, max_size=6),
        min_size=1,
        max_size=50,
    )
)
def test_company_mean_is_sum_of_question_means(respondents: list[list[int]]) -> None:
    totals = [sum(r) for r in respondents]
    mean_total = sum(totals) / len(totals)
    question_means = [
        sum(r[q] for r in respondents) / len(respondents) for q in range(QUESTION_COUNT)
    ]
    assert sum(question_means) == pytest.approx(mean_total)
    assert level_for(mean_total).low <= band_value(mean_total) <= level_for(mean_total).high
