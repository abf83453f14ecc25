"""Recovered customers from the steps by UTC day (migration 0031) and the complaints of the
periods' partial edge days: through any writes to cases, reviews and orders
(tests/test_recovery_prev.py's), the count of any period of the report's lengths, starting at
any moment, equals the customers counted one by one; and the steps the triggers keep are those
of the recovered complaints there are."""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import aiosqlite
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.reports.periods import PERIOD_DAYS
from storage import cases as q
from storage.steps import STEP_SPANS
from tests.test_loop_days import DAY_MS, T0, _schema
from tests.test_recovery_prev import DISTINCT, _write, closed_complaint, comeback, step

# Mostly closed complaints and comebacks, so that customers have several recovered complaints
# (the generic writes alone seldom make one), among the writes that move and delete them.
writes = st.lists(closed_complaint | comeback | step, max_size=40)
# Around the days the complaints are written in, at any millisecond: partial days at both ends.
starts = st.integers(-31 * DAY_MS, 6 * DAY_MS) | st.builds(
    lambda days, hours: days * DAY_MS + hours * 3_600_000,
    st.integers(-31, 6),
    st.sampled_from([-9, -1, 0, 1, 3]),
)


def _kept(conn: sqlite3.Connection) -> set[tuple[int, int, int]]:
    return set(conn.execute("SELECT * FROM recovery_steps WHERE customers != 0"))


def _steps_of_the_complaints(conn: sqlite3.Connection) -> set[tuple[int, int, int]]:
    """The steps of the recovered complaints there are, by the migration header's rule."""
    steps: dict[tuple[int, int], int] = defaultdict(int)

    def day(stamp: str | None) -> int | None:
        return None if stamp is None else date.fromisoformat(stamp[:10]).toordinal() + 1721424

    rows = conn.execute("SELECT opened_at, prev_opened FROM case_recovery WHERE recovered = 1")
    for opened, prev in rows:
        d, p = day(opened), day(prev)
        for span in STEP_SPANS:
            a, e = (d + 1 if p is None else max(d + 1, p + span + 1)), d + span + 1
            if a < e:
                steps[span, a] += 1
                steps[span, e] -= 1
    return {(*key, n) for key, n in steps.items() if n}


def _recovered(conn: sqlite3.Connection, start: datetime, end: datetime) -> int:
    async def read(path: Path) -> int:
        async with aiosqlite.connect(path) as aconn:
            return await q._recovered(aconn, start, end)

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "copy.sqlite3"
        with sqlite3.connect(path) as copy:
            conn.backup(copy)
        return asyncio.run(read(path))


@settings(max_examples=200, deadline=None)
@given(writes, starts, st.sampled_from([7, 7, 30, 3]))
# The customer's previous recovered complaint on the period's first day, before its start: the
# steps (whole days) hold the later one as not the customer's first.
@example(
    [
        ("closed_complaint", 1, 0, 1000),
        ("closed_complaint", 1, 2 * DAY_MS, 1000),
        ("buy", 1, 3 * DAY_MS),
    ],
    3600 * 1000,
    7,
)
# A recovered complaint on the period's last day, before its end: not in the steps' whole days.
@example([("closed_complaint", 2, 0, 1000), ("buy", 2, DAY_MS)], -7 * DAY_MS + 3_600_000, 7)
def test_the_recovered_customers_equal_those_counted_one_by_one(
    ops: list,  # type: ignore[type-arg]
    start_ms: int,
    days: int,
) -> None:
    conn = sqlite3.connect(":memory:")
    _schema(conn)
    for op in ops:
        _write(conn, op)
    conn.commit()
    assert _kept(conn) == _steps_of_the_complaints(conn)
    start = T0 + timedelta(milliseconds=start_ms)
    end = start + timedelta(days=days)
    window = (start.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), end.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    assert _recovered(conn, start, end) == conn.execute(DISTINCT, window).fetchone()[0]


def test_the_steps_are_kept_for_the_reports_period_lengths() -> None:
    assert set(PERIOD_DAYS) == STEP_SPANS
