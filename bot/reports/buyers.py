"""Buyers of the report's three periods, counted once for the customer and the money sections.

One range scan of orders_prev (covering) a period, over the period's own orders: a customer's
first order in a period is the one whose previous order (prev_at, migration 0018) is before the
period; they had bought before when that previous order exists, and they bought in the period
before too when it is in that one. The counts are those of the sets of buyers
(tests/test_orders_prev.py); about 12 ms a year of 100,000 orders. The customer section's
retention and the money section's repeat buyers both start from them, so `assemble_report`
reads them once and hands them to both (the money section's own reading of them cost a
year-long report 25 ms for each of its two periods).
"""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from bot.reports.periods import Periods, Window
from storage.timestamps import to_db

_PERIOD_BUYERS = """
    SELECT {i} AS period, COUNT(*) - COUNT(*) FILTER (WHERE prev_at >= :{start}) AS buyers,
           COUNT(*) FILTER (WHERE prev_at < :{start}) AS had_before,
           COUNT(*) FILTER (WHERE prev_at >= :{before} AND prev_at < :{start}) AS retained
    FROM orders INDEXED BY orders_prev WHERE purchased_at >= :{start} AND purchased_at < :{end}
"""
# The first period's retention is not asked for (before = start: nothing is in [start, start)).
_BUYER_COUNTS_SQL = " UNION ALL ".join(
    _PERIOD_BUYERS.format(i=i, before=before, start=start, end=end)
    for i, (before, start, end) in enumerate(
        (("t0", "t0", "t1"), ("t0", "t1", "t2"), ("t1", "t2", "t3"))
    )
)


@dataclass(frozen=True)
class BuyerCounts:
    """Customers with a purchase in each period, those of them who had bought before it, and
    those who bought in the period before it too."""

    before: int = 0  # the period before the previous one
    previous: int = 0
    previous_retained: int = 0
    current: int = 0
    current_retained: int = 0
    previous_had_before: int = 0
    current_had_before: int = 0


async def buyer_counts(conn: aiosqlite.Connection, span: Periods) -> BuyerCounts:
    params = {
        "t0": to_db(span.before_previous.start),
        "t1": to_db(span.previous.start),
        "t2": to_db(span.current.start),
        "t3": to_db(span.current.end),
    }
    async with conn.execute(_BUYER_COUNTS_SQL, params) as cur:
        rows = sorted(tuple(row) for row in await cur.fetchall())
    (_, before, _, _), (_, previous, previous_had, previous_retained), current_row = rows
    _, current, current_had, current_retained = current_row
    return BuyerCounts(
        before=before,
        previous=previous,
        previous_retained=previous_retained,
        current=current,
        current_retained=current_retained,
        previous_had_before=previous_had,
        current_had_before=current_had,
    )


async def window_buyers(conn: aiosqlite.Connection, window: Window) -> tuple[int, int]:
    """(buyers, those of them who had bought before it) of one window: a period's arm alone."""
    sql = _PERIOD_BUYERS.format(i=0, before="start", start="start", end="end")
    params = {"start": to_db(window.start), "end": to_db(window.end)}
    async with conn.execute(sql, params) as cur:
        row = await cur.fetchone()
    assert row is not None  # an aggregate without GROUP BY: always one row
    return int(row[1]), int(row[2])
