"""The report's recovered customers, counted for a whole cohort at once, equal what `recovery`
says case by case (hypothesis, over the real database): complaints closed or not, resolved at
any time, later ratings of any stars and purchases before, inside and past the 60 days."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.cases.service import recovered_customers, recovery
from storage import Database
from storage import cases as q
from storage.timestamps import to_db
from tests.case_data import write_customers, write_returns

START = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
CUSTOMERS = (1, 2, 3)

case = st.tuples(
    st.sampled_from(CUSTOMERS),
    st.sampled_from(("complaint", "question")),
    st.sampled_from(("open", "answered", "resolved", "closed")),
    st.one_of(st.none(), st.integers(0, 90)),  # resolved, days after START
)
later = st.tuples(
    st.sampled_from(CUSTOMERS),
    st.sampled_from(("rating", "purchase")),
    st.integers(1, 5),  # stars of a rating
    st.integers(0, 200),  # days after START
)


async def _check(cases: list[tuple[int, str, str, int | None]], events: list[tuple]) -> set[int]:
    with tempfile.TemporaryDirectory() as folder:
        db = Database(Path(folder) / "t.sqlite3")
        await db.open(process_lock=False)
        try:
            now = to_db(START)
            async with db.write() as conn:
                await write_customers(conn, CUSTOMERS, START)
                await write_returns(
                    conn,
                    [
                        (cid, kind, stars, START + timedelta(days=days, hours=n % 5))
                        for n, (cid, kind, stars, days) in enumerate(events)
                    ],
                    START,
                )
                for n, (cid, topic, status, resolved) in enumerate(cases):
                    at = START + timedelta(days=resolved) if resolved is not None else None
                    await conn.execute(
                        "INSERT INTO cases (customer_id, topic, subject, status, opened_at, "
                        "due_at, resolved_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (cid, topic, f"s-{n}", status, now, now, to_db(at) if at else None),
                    )
            async with db.read() as conn:
                rows = [c for c in [await q.get_case(conn, i + 1) for i in range(len(cases))] if c]
                one_by_one = {c.customer_id for c in rows if await recovery(conn, c) is not None}
                assert await recovered_customers(conn, rows) == one_by_one
        finally:
            await db.close()
    return one_by_one


@settings(max_examples=40)
@given(st.lists(case, max_size=6), st.lists(later, max_size=8))
def test_the_cohorts_recovered_customers_equal_recovery_case_by_case(
    cases: list[tuple[int, str, str, int | None]], events: list[tuple]
) -> None:
    asyncio.run(_check(cases, events))


def test_a_return_on_the_last_day_counts_and_a_day_later_does_not() -> None:
    closed = [(1, "complaint", "closed", 0)]
    assert asyncio.run(_check(closed, [(1, "purchase", 5, 60)])) == {1}
    assert asyncio.run(_check(closed, [(1, "purchase", 5, 61)])) == set()
    assert asyncio.run(_check(closed, [(1, "rating", 3, 10)])) == set()  # 3 stars: no return
    assert asyncio.run(_check(closed, [(1, "rating", 4, 10)])) == {1}
    assert asyncio.run(_check([(1, "complaint", "answered", 0)], [(1, "rating", 5, 1)])) == set()
