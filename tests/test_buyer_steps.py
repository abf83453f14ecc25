"""The report's buyers from the steps by UTC day (migration 0029) and the orders of the
periods' partial edge days: the same counts as the sets of buyers, for every period length
the steps are kept for, through any writes to the orders, at any moment of the day; and the
steps the triggers keep are those the migration computes from the orders."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import aiosqlite
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.reports import buyers
from bot.reports.periods import PERIOD_DAYS, periods
from storage.migrations import load_migrations
from storage.steps import STEP_SPANS, day_number
from tests.buyers_helpers import CUSTOMERS, apply, buyer_sets, counted, schema

T0 = datetime(2025, 3, 1, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")
[STEPS] = [m for m in load_migrations() if m.version == 29]


@st.composite
def histories(draw: st.DrawFn) -> tuple[int, list[tuple], datetime]:  # type: ignore[type-arg]
    """A period length, writes to the orders over four such periods, and a moment to report."""
    days = draw(st.sampled_from(PERIOD_DAYS))
    # Midnight, a minute either side of it, noon, or any minute; the days either side of each
    # period's edges, or any day: the edges of days and periods, and their partial days.
    minutes = st.one_of(st.sampled_from([0, 1, 720, 1439]), st.integers(0, 1439))
    edges = [k * days + j for k in range(5) for j in (-1, 0, 1) if k * days + j >= 0]
    moments = st.builds(
        lambda d, m: T0 + timedelta(days=d, minutes=m),
        st.one_of(st.sampled_from(edges), st.integers(0, 4 * days)),
        minutes,
    )
    operation = st.one_of(
        st.tuples(st.just("insert"), st.sampled_from(CUSTOMERS), moments),
        st.tuples(st.just("insert"), st.sampled_from(CUSTOMERS), moments),
        st.tuples(st.just("move"), st.integers(0, 30), moments),
        st.tuples(st.just("reassign"), st.integers(0, 30), st.sampled_from(CUSTOMERS)),
        st.tuples(st.just("delete"), st.integers(0, 30)),
    )
    return days, draw(st.lists(operation, max_size=30)), draw(moments)


def _steps_kept(conn: sqlite3.Connection) -> set[tuple[int, ...]]:
    return set(
        conn.execute(
            "SELECT * FROM buyer_steps WHERE buyers != 0 OR had != 0 OR retained != 0"
        ).fetchall()
    )


def _steps_of_the_orders(conn: sqlite3.Connection) -> set[tuple[int, ...]]:
    """The steps of the orders there are, by the rule the migration's header states."""
    steps: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0, 0])

    def day(stamp: str | None) -> int | None:
        return None if stamp is None else date.fromisoformat(stamp[:10]).toordinal() + 1721424

    for purchased, prev in conn.execute("SELECT purchased_at, prev_at FROM orders"):
        d, q = day(purchased), day(prev)
        for span in STEP_SPANS:
            a, e = (d + 1 if q is None else max(d + 1, q + span + 1)), d + span + 1
            if a < e:
                steps[span, a][0] += 1
                steps[span, e][0] -= 1
                steps[span, a][1] += q is not None
                steps[span, e][1] -= q is not None
            if q is not None and a < (c := min(e, q + 2 * span + 1)):
                steps[span, a][2] += 1
                steps[span, c][2] -= 1
    return {(*key, *values) for key, values in steps.items() if any(values)}


@settings(max_examples=300, deadline=None)
@given(histories(), st.booleans())
# A customer's previous order at 00:00 of the day a period starts at 00:01: it is in the period
# before, and on the period's own first (partial) day.
@example(
    (
        7,
        [("insert", 1, T0 + timedelta(days=7)), ("insert", 1, T0 + timedelta(days=10))],
        T0 + timedelta(days=14, minutes=1),
    ),
    False,
)
# The previous order on the first day of the period before, but before its first moment: that
# customer did not buy in the period before (the steps, whole days, say they did).
@example(
    (
        7,
        [("insert", 1, T0 + timedelta(hours=6)), ("insert", 1, T0 + timedelta(days=10))],
        T0 + timedelta(days=14, hours=12),
    ),
    False,
)
def test_the_counts_equal_the_sets_and_the_steps_the_orders(history: tuple, local: bool) -> None:  # type: ignore[type-arg]
    days, ops, now = history
    conn = sqlite3.connect(":memory:")
    schema(conn, T0)
    for n, op in enumerate(ops):
        apply(conn, op, n)
    conn.commit()
    assert _steps_kept(conn) == _steps_of_the_orders(conn)
    span = periods(now.astimezone(BERLIN) if local else now, days)
    assert counted(conn, span) == buyer_sets(conn, span)


def test_the_steps_are_read_for_every_period_of_the_report_ending_now_in_utc() -> None:
    """Not counted over the orders: the steps and the edge days (a local `now` whose periods
    cross a change of clocks may not be whole days apart, and is counted over the orders)."""

    async def stepped(days: int) -> list[tuple[int, ...]] | None:
        async with aiosqlite.connect(":memory:") as conn:
            for migration in load_migrations():
                await conn.executescript(migration.sql)
            span = periods(T0 + timedelta(hours=9, minutes=30), days)
            windows = (span.before_previous, span.previous, span.current)
            return await buyers._stepped(conn, days, windows)

    assert set(PERIOD_DAYS) == STEP_SPANS
    for days in PERIOD_DAYS:
        assert asyncio.run(stepped(days)) == [(0, 0, 0)] * 3
    assert asyncio.run(stepped(3)) is None


def test_the_migration_keeps_steps_for_each_period_length_and_day_numbers_as_python() -> None:
    conn = sqlite3.connect(":memory:")
    schema(conn, T0)
    apply(conn, ("insert", 1, T0 + timedelta(hours=5)), 0)
    spans = {row[0] for row in conn.execute("SELECT span FROM buyer_steps")}
    assert spans == STEP_SPANS
    # The first order's buyers step is the day after its own.
    first = conn.execute("SELECT MIN(day) FROM buyer_steps WHERE buyers = 1").fetchone()[0]
    assert first == day_number(datetime(2025, 3, 2, tzinfo=UTC))
    assert first == date(2025, 3, 2).toordinal() + 1721424


def test_the_migration_steps_the_orders_already_there() -> None:
    conn = sqlite3.connect(":memory:")
    schema(conn, T0, below=29)
    for n, (customer, day) in enumerate([(1, 3), (1, 1), (2, 2), (1, 9), (2, 40), (3, 8)]):
        apply(conn, ("insert", customer, T0 + timedelta(days=day, hours=7)), n)
    conn.executescript(STEPS.sql)
    conn.commit()
    for days in PERIOD_DAYS:
        for now in (T0 + timedelta(days=10, hours=8), T0 + timedelta(days=41)):
            span = periods(now, days)
            assert counted(conn, span) == buyer_sets(conn, span)
