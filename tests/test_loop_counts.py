"""The report's loop figures counted by SQLite equal counting the cases one by one in Python.

`storage.cases.loop_counts` replaced reading every case of the period into objects (2 s for a
year at 300,000 reviews). Hypothesis writes random cases — opened inside and outside the window,
answered before and after their due time (to the microsecond), closed or not, confirmed,
reopened, complaints resolved with later ratings and purchases around the 60-day edge — and the
figures must equal the reference below, which is the code the report used before.
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median

import aiosqlite
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.cases.service import recovered_customers
from storage import Database
from storage import cases as q
from storage.timestamps import to_db
from tests.case_data import write_customers, write_returns

START = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
WINDOW = (START + timedelta(days=2), START + timedelta(days=32))
CUSTOMERS = (1, 2, 3)
HOUR = 3600.0

offset = st.integers(0, 40 * 24 * 3600 * 1000)  # milliseconds after START
case = st.fixed_dictionaries(
    {
        "customer": st.sampled_from(CUSTOMERS),
        "topic": st.sampled_from(("complaint", "question", "buy_again")),
        "status": st.sampled_from(("open", "answered", "resolved", "closed")),
        "opened": offset,
        "due_after": st.integers(0, 48 * 3600 * 1000),
        "answered_after": st.none() | st.integers(0, 72 * 3600 * 1000),
        "resolved_after": st.none() | st.integers(0, 90 * 24 * 3600),  # seconds
        "closed_after": st.none() | st.integers(0, 30 * 24 * 3600 * 1000),
        "closed_how": st.sampled_from((None, "confirmed", "timeout")),
        "reopened": st.integers(0, 2),
    }
)
later = st.tuples(
    st.sampled_from(CUSTOMERS),
    st.sampled_from(("rating", "purchase")),
    st.integers(1, 5),
    st.integers(0, 140 * 24 * 3600),  # seconds after START
)


def ms(n: int) -> timedelta:
    return timedelta(milliseconds=n)


async def reference(conn: aiosqlite.Connection, start: datetime, end: datetime) -> tuple:
    cases = await q.cases_opened_between(conn, start, end)
    return (
        len(cases),
        sum(
            1 for c in cases if c.first_answered_at is not None and c.first_answered_at <= c.due_at
        ),
        sum(1 for c in cases if c.closed_how == "confirmed"),
        sum(1 for c in cases if c.reopened > 0),
        len(await recovered_customers(conn, cases)),
        middle(
            [
                (c.first_answered_at - c.opened_at).total_seconds() / HOUR
                for c in cases
                if c.first_answered_at is not None
            ]
        ),
        middle([(c.closed_at - c.opened_at).total_seconds() / HOUR for c in cases if c.closed_at]),
    )


def middle(hours: list[float]) -> float | None:
    return median(hours) if hours else None


async def check(cases: list[dict], events: list[tuple], *, returns_first: bool = True) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = Database(Path(folder) / "t.sqlite3")
        await db.open(process_lock=False)
        try:
            async with db.write() as conn:
                await write_customers(conn, CUSTOMERS, START)
                returns = [
                    (cid, kind, stars, START + timedelta(seconds=seconds))
                    for cid, kind, stars, seconds in events
                ]
                if returns_first:
                    await write_returns(conn, returns, START)
                for n, c in enumerate(cases):
                    opened = START + ms(c["opened"])

                    def after(
                        key: str, unit: str = "ms", base: datetime = opened, c: dict = c
                    ) -> str | None:
                        value = c[key]
                        if value is None:
                            return None
                        step = ms(value) if unit == "ms" else timedelta(seconds=value)
                        return to_db(base + step)

                    await conn.execute(
                        "INSERT INTO cases (customer_id, topic, subject, status, opened_at, "
                        "due_at, first_answered_at, resolved_at, closed_at, closed_how, reopened) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            c["customer"],
                            c["topic"],
                            f"s-{n}",
                            c["status"],
                            to_db(opened),
                            after("due_after"),
                            after("answered_after"),
                            after("resolved_after", "s", START),
                            after("closed_after"),
                            c["closed_how"],
                            c["reopened"],
                        ),
                    )
                if not returns_first:  # the returns' own triggers mark the complaints
                    await write_returns(conn, returns, START)
            async with db.read() as conn:
                counted = await q.loop_counts(conn, *WINDOW)
                expected = await reference(conn, *WINDOW)
            got = (
                counted.opened,
                counted.in_target,
                counted.confirmed,
                counted.reopened,
                counted.recovered,
                counted.median_first_answer,
                counted.median_resolution,
            )
            assert got[:5] == expected[:5]
            for mine, theirs in zip(got[5:], expected[5:], strict=True):
                assert mine == theirs  # to the millisecond: exactly the same floats
        finally:
            await db.close()


@settings(max_examples=60, deadline=None)
@given(st.lists(case, max_size=8), st.lists(later, max_size=8), st.booleans())
def test_loop_counts_equal_counting_case_by_case(
    cases: list[dict], events: list[tuple], returns_first: bool
) -> None:
    asyncio.run(check(cases, events, returns_first=returns_first))


def test_the_medians_read_only_the_windows_cases_of_their_bucket() -> None:
    # Answered 2 h 10 min, 2 h 20 min (bucket 71: 7,000-7,999 s; 8,000 s is bucket 81) inside
    # the window, and sooner within the same bucket by cases opened before and after it: the
    # window's median is 2 h 15 min.
    def answered(opened_day: float, seconds: int) -> dict:
        return {
            "customer": 1, "topic": "question", "status": "answered",
            "opened": int(opened_day * 24 * 3600 * 1000), "due_after": 0,
            "answered_after": seconds * 1000, "resolved_after": None,
            "closed_after": seconds * 1000, "closed_how": None, "reopened": 0,
        }  # fmt: skip

    inside = [answered(10, 7800), answered(11, 7900)]
    outside = [answered(1, 7100), answered(35, 7000), answered(36, 7200)]
    asyncio.run(check(inside + outside, []))


def test_a_return_on_the_sixtieth_day_counts_and_one_a_second_later_does_not() -> None:
    complaint = {
        "customer": 1, "topic": "complaint", "status": "closed", "opened": 3 * 24 * 3600 * 1000,
        "due_after": 0, "answered_after": None, "resolved_after": 5 * 24 * 3600,
        "closed_after": None, "closed_how": "timeout", "reopened": 0,
    }  # fmt: skip
    edge = (5 + 60) * 24 * 3600
    asyncio.run(check([complaint], [(1, "purchase", 5, edge)]))
    asyncio.run(check([complaint], [(1, "purchase", 5, edge + 1)]))
    asyncio.run(check([complaint], [(1, "rating", 4, edge)]))


def _answered(opened_day: int, after_ms: int | None, closed_ms: int | None = None) -> dict:
    return {
        "customer": 1, "topic": "question", "status": "closed",
        "opened": (2 + opened_day) * 24 * 3600 * 1000 + 3600 * 1000, "due_after": 0,
        "answered_after": after_ms, "resolved_after": None, "closed_after": closed_ms,
        "closed_how": "confirmed", "reopened": 0,
    }  # fmt: skip


def test_a_median_inside_a_crowded_bucket_is_found_exactly() -> None:
    # Every duration from 3 h to 5.5 h shares one bucket (10,800–19,999 s): the median is then
    # read in the middle of the bucket, and the mean of two middle ones for an even count.
    crowded = [_answered(day, 3 * 3600 * 1000 + day * 7 * 60 * 1000 + 1) for day in range(7)]
    asyncio.run(check(crowded, []))
    asyncio.run(check([*crowded, _answered(8, 4 * 3600 * 1000 + 17)], []))
    same = [_answered(day, 3 * 3600 * 1000, 72 * 3600 * 1000) for day in range(6)]
    asyncio.run(check([*same, _answered(6, 10 * 60 * 1000, 73 * 3600 * 1000)], []))
