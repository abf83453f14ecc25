"""Report figures as pure functions: hand-computed examples and properties over any input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.reports.metrics import (
    NpsCounts,
    RatingCounts,
    RetentionCounts,
    change,
    nps_category,
    ratio,
    retention_counts,
)
from bot.reports.periods import (
    DEFAULT_PERIOD_DAYS,
    ReportRequest,
    chart_weeks,
    parse_report_args,
    periods,
    week_starts,
)
from bot.reports.render import length, pack_messages, square
from bot.reports.survey import (
    DepartmentGroup,
    Target,
    WaveFigures,
    department_table,
    target_status,
)
from storage.survey import Wave

MOSCOW = ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)


# --- NPS ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("score", "category"),
    [(0, "detractor"), (6, "detractor"), (7, "passive"), (8, "passive"), (9, "promoter"),
     (10, "promoter")],
)  # fmt: skip
def test_nps_categories(score: int, category: str) -> None:
    assert nps_category(score) == category


@pytest.mark.parametrize("score", [-1, 11])
def test_nps_answer_out_of_range_is_refused(score: int) -> None:
    with pytest.raises(ValueError, match=r"0\.\.10"):
        nps_category(score)


def test_nps_by_hand() -> None:
    # 5 promoters (9, 10, 10, 9, 9), 3 passives (7, 8, 8), 2 detractors (0, 6): (5 − 2) / 10 = +30
    counts = NpsCounts.of([9, 10, 10, 9, 9, 7, 8, 8, 0, 6])
    assert counts == NpsCounts(promoters=5, passives=3, detractors=2)
    assert counts.score == pytest.approx(30.0)


def test_nps_extremes_and_no_answers() -> None:
    assert NpsCounts.of([10, 9]).score == 100
    assert NpsCounts.of([0, 6, 3]).score == -100
    assert NpsCounts.of([7, 8]).score == 0  # passives only
    assert NpsCounts().score is None  # no answers: no NPS, not 0


@given(st.lists(st.integers(0, 10), max_size=200))
def test_nps_is_share_of_promoters_minus_share_of_detractors(scores: list[int]) -> None:
    counts = NpsCounts.of(scores)
    assert counts.total == len(scores)
    if not scores:
        assert counts.score is None
        return
    promoters = sum(s >= 9 for s in scores) / len(scores)
    detractors = sum(s <= 6 for s in scores) / len(scores)
    assert counts.score == pytest.approx((promoters - detractors) * 100)
    assert -100 <= counts.score <= 100


# --- ratings and CSAT -----------------------------------------------------------------------------
def test_csat_and_mean_rating_by_hand() -> None:
    # ratings 5, 4, 4, 3, 1: CSAT 3 of 5 = 60%, mean 17 / 5 = 3.4, negative (≤ 2): one
    counts = RatingCounts.of([5, 4, 4, 3, 1], negative_max=2)
    assert counts.csat == pytest.approx(0.6)
    assert counts.mean == pytest.approx(3.4)
    assert counts.negative == 1
    assert RatingCounts().csat is None
    assert RatingCounts().mean is None


@given(st.lists(st.integers(1, 5), max_size=200), st.integers(1, 5))
def test_csat_is_the_share_of_fours_and_fives(ratings: list[int], negative_max: int) -> None:
    counts = RatingCounts.of(ratings, negative_max=negative_max)
    if not ratings:
        assert counts.csat is None
        return
    assert counts.csat == pytest.approx(sum(r >= 4 for r in ratings) / len(ratings))
    assert 1 <= counts.mean <= 5  # type: ignore[operator]
    assert counts.negative == sum(r <= negative_max for r in ratings)


def test_rating_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match=r"1\.\.5"):
        RatingCounts.of([0, 3], negative_max=2)


# --- retention ------------------------------------------------------------------------------------
def test_retention_across_periods_by_hand() -> None:
    # Previous period: A, B, C, D bought; this period: B, D, E. Kept B and D: 2 of 4 = 50%.
    counts = retention_counts({"A", "B", "C", "D"}, {"B", "D", "E"})
    assert counts == RetentionCounts(base=4, retained=2)
    assert counts.retention == pytest.approx(0.5)
    assert counts.churn == pytest.approx(0.5)
    assert RetentionCounts().retention is None
    assert RetentionCounts().churn is None


@given(st.sets(st.integers(0, 30)), st.sets(st.integers(0, 30)))
def test_retention_and_churn_add_up_to_one(previous: set[int], current: set[int]) -> None:
    counts = retention_counts(previous, current)  # type: ignore[arg-type]
    if not previous:
        assert counts.retention is None
        return
    assert 0 <= counts.retention <= 1  # type: ignore[operator]
    assert counts.retention + counts.churn == pytest.approx(1)  # type: ignore[operator]


def test_ratio_and_change() -> None:
    assert ratio(1, 4) == 0.25
    assert ratio(0, 0) is None
    with pytest.raises(ValueError, match="part <= whole"):
        ratio(5, 4)
    assert change(0.5, 0.25) == 0.25
    assert change(None, 0.25) is None
    assert change(0.5, None) is None


# --- periods and arguments ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (None, ReportRequest()),
        ("", ReportRequest()),
        ("survey", ReportRequest(survey=True, customers=False)),
        ("опрос", ReportRequest(survey=True, customers=False)),
        ("customers", ReportRequest(survey=False, customers=True)),
        ("Customers 7d", ReportRequest(survey=False, customers=True, days=7)),
        ("клиенты 90д", ReportRequest(survey=False, customers=True, days=90)),
        ("customers 365d", ReportRequest(survey=False, customers=True, days=365)),
        ("7d", ReportRequest(days=7)),
    ],
)
def test_report_arguments(args: str | None, expected: ReportRequest) -> None:
    assert parse_report_args(args) == expected


@pytest.mark.parametrize(
    "args",
    ["survey 30d", "customers 14d", "customers 30", "customers 30d 7d", "weather", "30 d",
     "customers 0d", "customers -7d", "survey customers"],
)  # fmt: skip
def test_report_arguments_refused(args: str) -> None:
    assert parse_report_args(args) is None


def test_default_period_is_30_days() -> None:
    assert DEFAULT_PERIOD_DAYS == 30


def test_periods_are_back_to_back() -> None:
    span = periods(NOW, 30)
    assert span.current.end == NOW
    assert span.current.start == NOW - timedelta(days=30)
    assert span.previous.end == span.current.start
    assert span.before_previous.end == span.previous.start
    assert span.before_previous.start == NOW - timedelta(days=90)


def test_week_starts_are_local_mondays() -> None:
    # 12 Jan 2026 09:00 UTC is Monday 12:00 in Moscow: the current week starts that morning.
    starts = week_starts(NOW, MOSCOW, 3)
    assert [s.astimezone(MOSCOW).strftime("%a %d.%m %H:%M") for s in starts] == [
        "Mon 29.12 00:00",
        "Mon 05.01 00:00",
        "Mon 12.01 00:00",
    ]
    # Sunday 23:30 in Moscow is still the previous week.
    sunday = datetime(2026, 1, 11, 20, 30, tzinfo=UTC)
    assert week_starts(sunday, MOSCOW, 1)[0].astimezone(MOSCOW).day == 5


def test_week_starts_across_daylight_saving() -> None:
    berlin = ZoneInfo("Europe/Berlin")  # clocks go forward on Sunday 29 March 2026
    starts = week_starts(datetime(2026, 4, 1, 12, tzinfo=UTC), berlin, 2)
    assert [s.astimezone(berlin).hour for s in starts] == [0, 0]
    # Aware datetimes in one zone subtract by wall clock; the real gap is an hour short.
    assert starts[1].astimezone(UTC) - starts[0].astimezone(UTC) == timedelta(days=7, hours=-1)


def test_chart_weeks() -> None:
    assert chart_weeks(7) == 12
    assert chart_weeks(90) == 13
    assert chart_weeks(365) == 53


# --- departments ----------------------------------------------------------------------------------
def group(name: str | None, n: int, per_question: int = 3) -> DepartmentGroup:
    return DepartmentGroup(name, n, (per_question * n,) * 6)


def test_small_departments_pooled_when_the_pool_is_big_enough() -> None:
    table = department_table(
        [group("Sales", 5, 4), group("Support", 3, 2), group("Legal", 1, 5), group("IT", 2, 1)],
        min_group=3,
    )
    assert [(r.name, r.respondents) for r in table.rows] == [
        ("Sales", 5),
        ("Support", 3),
        (None, 3),
    ]
    others = table.others
    assert others is not None
    assert others.pooled == 2
    # Legal (1 × 5) and IT (2 × 1): (5 + 2) / 3 per question
    assert others.question_means == pytest.approx((7 / 3,) * 6)
    assert table.small == 2
    assert table.pooled


def test_a_pool_too_small_takes_the_smallest_shown_department_with_it() -> None:
    # Issue 9, rule 2 (this test asserted the old rule: Sales shown, Legal and IT left out —
    # and their two answers were then company − Sales). Sales joins the pool; with no
    # department left to show on its own, the company figure is all there is.
    table = department_table([group("Sales", 4), group("Legal", 1), group("IT", 1)], min_group=3)
    assert table.rows == []
    assert table.small == 2
    assert table.protected == 1
    assert not table.pooled


department_groups = st.lists(
    st.builds(
        group,
        st.one_of(st.none(), st.text(min_size=1, max_size=5)),
        st.integers(0, 8),
        st.integers(1, 5),
    ),
    max_size=8,
    unique_by=lambda g: g.name,
)


@given(department_groups, st.integers(1, 6))
def test_no_row_ever_shows_fewer_than_the_minimum(
    groups: list[DepartmentGroup], min_group: int
) -> None:
    table = department_table(groups, min_group)
    assert all(row.respondents >= min_group for row in table.rows)
    named_small = [g for g in groups if g.name is not None and 0 < g.respondents < min_group]
    assert table.small == len(named_small)
    shown = sum(r.respondents for r in table.rows)
    everyone = sum(g.respondents for g in groups)
    left_out = everyone - shown
    # Issue 9, rule 2 (this asserted the old rule, "left out only in a pool too small to show",
    # which let the left-out be worked out as company − rows): with any department shown,
    # whoever is on no row is nobody or at least the minimum.
    assert not table.rows or left_out == 0 or left_out >= min_group


# --- targets --------------------------------------------------------------------------------------
def wave_with(wave_id: int, total_per_person: int, people: int = 2) -> WaveFigures:
    wave = Wave(wave_id, f"W{wave_id}", NOW, NOW)
    sums = [total_per_person // 6 * people] * 6
    sums[0] += total_per_person % 6 * people
    return WaveFigures(wave, people, people, sum(sums), tuple(sums))


def test_target_gap_reached_and_retired() -> None:
    target = Target(23, NOW, base_wave_id=1)
    w1, w2, w3 = wave_with(1, 18), wave_with(2, 24), wave_with(3, 20)
    waiting = target_status(target, [w1], w1)
    assert waiting is not None
    assert waiting.for_next_wave
    assert waiting.gap == pytest.approx(5)
    reached = target_status(target, [w1, w2], w2)
    assert reached is not None
    assert reached.reached_by == w2
    assert target_status(target, [w1, w2, w3], w3) is None  # reached before: not shown again
    assert target_status(None, [w1], w1) is None


def test_target_not_reached_by_the_wave_it_was_set_after() -> None:
    target = Target(20, NOW, base_wave_id=2)
    w1, w2 = wave_with(1, 25), wave_with(2, 22)  # both above 20, but set after wave 2
    status = target_status(target, [w1, w2], w2)
    assert status is not None
    assert status.reached_by is None
    assert status.for_next_wave


# --- text -----------------------------------------------------------------------------------------
def test_level_squares() -> None:
    assert [square(m) for m in (1.0, 2.0, 2.1, 3.4, 3.5, 4.25, 4.3, 5.0)] == [
        "🟥", "🟥", "🟧", "🟧", "🟨", "🟨", "🟩", "🟩",
    ]  # fmt: skip


html_lines = st.lists(
    st.one_of(
        st.text(max_size=300).map(lambda t: "<b>" + escape(t) + "</b>"),
        st.text(max_size=120).map(escape),
        st.just(""),
    ),
    max_size=60,
)


@given(st.lists(html_lines.map("\n".join), min_size=1, max_size=6), st.integers(200, 4096))
def test_packed_messages_fit_and_keep_every_line(sections: list[str], limit: int) -> None:
    messages = pack_messages(sections, limit)
    assert all(length(m) <= limit for m in messages)
    assert all(m.count("<b>") == m.count("</b>") for m in messages)
    original = [line for s in sections for line in s.split("\n") if line.strip()]
    packed = [line for m in messages for line in m.split("\n") if line.strip()]
    assert packed == original


def test_a_line_longer_than_a_message_is_cut_without_breaking_markup() -> None:
    line = "<b>" + escape("<&>" * 3000) + "</b>"
    messages = pack_messages([line], 4096)
    assert len(messages) > 1
    assert all(length(m) <= 4096 for m in messages)
    assert "".join(messages).replace("&lt;&amp;&gt;", "") == ""
