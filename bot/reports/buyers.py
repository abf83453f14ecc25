"""Buyers of the report's three periods, counted once for the customer and the money sections.

A customer's first order in a period is the one whose previous order (prev_at, migration 0018)
is before the period; they had bought before when that previous order exists, and they bought
in the period before too when it is in that one. For the report's period lengths these counts
are kept as steps by UTC day (migration 0029, buyer_steps): a period from one UTC midnight to
another is a sum of at most a row a day, whatever the number of orders. A period ends now,
mostly not at midnight, so the orders of its partial edge days are read to correct that sum
(`_edges`); any other period is counted over its orders (`_PERIOD_BUYERS`, about 12 ms a year
of 100,000 orders). tests/test_buyer_steps.py holds both equal to the sets of buyers.

The customer section's retention and the money section's repeat buyers both start from them,
so `assemble_report` reads them once and hands them to both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from itertools import pairwise

import aiosqlite

from bot.reports.periods import Periods, Window
from storage.steps import STEP_SPANS, day_number, utc_midnight
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
_STEPS = (
    "SELECT {arm}, COALESCE(SUM(buyers), 0), COALESCE(SUM(had), 0), COALESCE(SUM(retained), 0) "
    "FROM buyer_steps WHERE span = :span AND day <= :{day}"
)
# The three counts of the orders of [lo, hi) (a partial day, off orders_prev) whose previous
# order is before `start`, exists and is before it, and is in [since, start).
_STRIP = (
    "SELECT {arm}, COUNT(*) - COUNT(*) FILTER (WHERE prev_at >= :{start}), "
    "COUNT(*) FILTER (WHERE prev_at < :{start}), "
    "COUNT(*) FILTER (WHERE prev_at >= :{since} AND prev_at < :{start}) "
    "FROM orders INDEXED BY orders_prev WHERE purchased_at >= :{lo} AND purchased_at < :{hi}"
)
# The orders of [lo, hi) whose previous order is in [after, before), a partial day: looked up
# among the orders of the customers who bought in that day (orders_customer), not read off the
# whole of [lo, hi).
_NEXT = (
    "SELECT {arm}, COUNT(*), 0, 0 FROM orders INDEXED BY orders_customer "
    "WHERE customer_id IN (SELECT customer_id FROM orders INDEXED BY orders_prev "
    "WHERE purchased_at >= :{after} AND purchased_at < :{before}) "
    "AND purchased_at >= :{lo} AND purchased_at < :{hi} "
    "AND prev_at >= :{after} AND prev_at < :{before}"
)
# How an edge's counts move a period's (buyers, had bought before, bought in the period before).
_ADD = ((1, 0, 0), (0, 1, 0), (0, 0, 1))
_TAKE = ((-1, 0, 0), (0, -1, 0), (0, 0, -1))
_ADD_TO_ALL = ((1, 1, 1), (0, 0, 0), (0, 0, 0))
_TAKE_FROM_RETAINED = ((0, 0, -1), (0, 0, 0), (0, 0, 0))


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


async def _sum_rows(conn: aiosqlite.Connection, sql: str, params: dict[str, object]) -> list:
    async with conn.execute(sql, params) as cur:
        return [tuple(row) for row in await cur.fetchall()]


async def buyer_counts(conn: aiosqlite.Connection, span: Periods) -> BuyerCounts:
    windows = (span.before_previous, span.previous, span.current)
    counts = await _stepped(conn, span.days, windows)
    if counts is None:
        counts = await _raw(conn, windows)
    (before, _, _), (previous, previous_had, previous_retained), current_row = counts
    current, current_had, current_retained = current_row
    return BuyerCounts(
        before=before,
        previous=previous,
        previous_retained=previous_retained,
        current=current,
        current_retained=current_retained,
        previous_had_before=previous_had,
        current_had_before=current_had,
    )


async def _raw(conn: aiosqlite.Connection, windows: tuple[Window, ...]) -> list[tuple[int, ...]]:
    params = {f"t{i}": to_db(w.start) for i, w in enumerate(windows)}
    params["t3"] = to_db(windows[-1].end)
    rows = sorted(await _sum_rows(conn, _BUYER_COUNTS_SQL, params))
    return [tuple(int(v) for v in row[1:]) for row in rows]


async def _stepped(
    conn: aiosqlite.Connection, days: int, windows: tuple[Window, ...]
) -> list[tuple[int, ...]] | None:
    """The three counts of each of `windows` (contiguous, `days` long) from buyer_steps and the
    orders of their partial edge days; None when the steps are not kept for such periods.

    A period [s, e) is counted as the one from the UTC midnight S before s to the midnight E
    before e (one sum of steps) with the orders that differ between the two: those of [E, e),
    counted; those of [S, s), taken off; and those of [s, E) whose previous order is in
    [S, s), which the steps count as not having bought before (counted), or, for «bought in
    the period before too», in [U, u) at the start of the period before (taken off).
    """
    length = timedelta(days=days)
    starts = [windows[0].start - length, *(w.start for w in windows)]
    midnights = [utc_midnight(t) for t in (*starts, windows[-1].end)]
    if days not in STEP_SPANS or any(b - a != length for a, b in pairwise(midnights)):
        return None  # the steps are kept for whole-day periods of the report's lengths only
    params: dict[str, object] = {"span": days}
    for i, (moment, midnight) in enumerate(zip((*starts, windows[-1].end), midnights, strict=True)):
        params[f"t{i}"], params[f"m{i}"] = to_db(moment), to_db(midnight)
        params[f"d{i}"] = day_number(midnight)
    arms: list[tuple[int, tuple[tuple[int, int, int], ...], str]] = []  # period, weights, sql

    def arm(period: int, weights: tuple[tuple[int, int, int], ...], sql: str, **names: str) -> None:
        arms.append((period, weights, sql.format(arm=len(arms), **names)))

    for i in range(3):
        u, s, e = f"t{i}", f"t{i + 1}", f"t{i + 2}"
        mu, ms, me = f"m{i}", f"m{i + 1}", f"m{i + 2}"
        arm(i, _ADD, _STEPS, day=f"d{i + 2}")
        if params[me] != params[e]:
            arm(i, _ADD, _STRIP, start=s, since=u, lo=me, hi=e)
        if params[ms] != params[s]:
            arm(i, _TAKE, _STRIP, start=ms, since=mu, lo=ms, hi=s)
            arm(i, _ADD_TO_ALL, _NEXT, after=ms, before=s, lo=s, hi=me)
        if params[mu] != params[u]:
            arm(i, _TAKE_FROM_RETAINED, _NEXT, after=mu, before=u, lo=s, hi=me)
    rows = sorted(await _sum_rows(conn, " UNION ALL ".join(sql for *_, sql in arms), params))
    totals = [[0, 0, 0] for _ in range(3)]
    for (period, weights, _), (_, *values) in zip(arms, rows, strict=True):
        for value, weight in zip(values, weights, strict=True):
            for k in range(3):
                totals[period][k] += int(value) * weight[k]
    return [tuple(row) for row in totals]


async def window_buyers(conn: aiosqlite.Connection, window: Window) -> tuple[int, int]:
    """(buyers, those of them who had bought before it) of one window: a period's arm alone."""
    sql = _PERIOD_BUYERS.format(i=0, before="start", start="start", end="end")
    params = {"start": to_db(window.start), "end": to_db(window.end)}
    async with conn.execute(sql, params) as cur:
        row = await cur.fetchone()
    assert row is not None  # an aggregate without GROUP BY: always one row
    return int(row[1]), int(row[2])
