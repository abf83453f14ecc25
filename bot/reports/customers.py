"""Customer figures of a period and the one before it, counted in SQL (formulas: metrics.py).

Every query is one range scan over an index that covers it (migration 0004) and splits the
range in two with `t >= :mid`, so the period and the previous one cost a single pass.

What each figure counts:
- review requests: reviews whose request was sent in the period; answered = those of them with
  a rating or an NPS answer by now (a cohort, so the rate never exceeds 100%);
- ratings, CSAT, negative reviews: ratings given in the period; resolved = negative ones whose
  alert an admin has marked resolved;
- NPS: NPS answers given in the period;
- restock: reminders sent in the period; converted = the SKU was bought again afterwards;
- retention: see metrics.py; the previous period's retention needs the period before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import aiosqlite

from bot.clock import to_db
from bot.reports.metrics import NpsCounts, RatingCounts, RetentionCounts, ratio
from bot.reports.periods import Periods, chart_weeks, periods, week_starts


@dataclass(frozen=True)
class CustomerFigures:
    requests_sent: int = 0
    requests_answered: int = 0
    ratings: RatingCounts = field(default_factory=RatingCounts)
    nps: NpsCounts = field(default_factory=NpsCounts)
    restock_sent: int = 0
    restock_converted: int = 0
    buyers: int = 0  # customers with at least one purchase in the period
    retention: RetentionCounts = field(default_factory=RetentionCounts)

    @property
    def response_rate(self) -> float | None:
        return ratio(self.requests_answered, self.requests_sent)

    @property
    def conversion(self) -> float | None:
        return ratio(self.restock_converted, self.restock_sent)


@dataclass(frozen=True)
class WeekPoint:
    start: datetime  # local Monday 00:00
    ratings: RatingCounts
    nps: NpsCounts


@dataclass(frozen=True)
class CustomerReport:
    periods: Periods
    current: CustomerFigures
    previous: CustomerFigures
    weeks: list[WeekPoint] = field(default_factory=list)


def _split(rows: list[aiosqlite.Row]) -> tuple[aiosqlite.Row | None, aiosqlite.Row | None]:
    """(current, previous) rows of a query grouped by `cur` (1 for the period, 0 before it)."""
    by_flag = {r["cur"]: r for r in rows}
    return by_flag.get(1), by_flag.get(0)


async def _fetch(conn: aiosqlite.Connection, sql: str, params: dict[str, object]) -> list:
    async with conn.execute(sql, params) as cur:
        return list(await cur.fetchall())


_REQUESTS_SQL = """
SELECT requested_at >= :t2 AS cur, COUNT(*) AS sent, COUNT(COALESCE(rating, nps)) AS answered
FROM reviews WHERE requested_at >= :t1 AND requested_at < :t3 GROUP BY cur
"""
_RATINGS_SQL = """
SELECT rated_at >= :t2 AS cur, COUNT(*) AS n, SUM(rating) AS total,
       SUM(rating >= 4) AS satisfied, SUM(rating <= :negative) AS negative
FROM reviews WHERE rated_at >= :t1 AND rated_at < :t3 GROUP BY cur
"""
_RESOLVED_SQL = """
SELECT r.rated_at >= :t2 AS cur, COUNT(*) AS n
FROM alerts a JOIN reviews r ON r.id = a.review_id
WHERE a.resolved_at IS NOT NULL AND r.rating <= :negative
  AND r.rated_at >= :t1 AND r.rated_at < :t3
GROUP BY cur
"""
_NPS_SQL = """
SELECT nps_at >= :t2 AS cur, SUM(nps >= 9) AS promoters, SUM(nps BETWEEN 7 AND 8) AS passives,
       SUM(nps <= 6) AS detractors
FROM reviews WHERE nps_at >= :t1 AND nps_at < :t3 GROUP BY cur
"""
_RESTOCK_SQL = """
SELECT sent_at >= :t2 AS cur, COUNT(*) AS sent, COUNT(converted_at) AS converted
FROM outbox WHERE kind = 'restock' AND sent_at >= :t1 AND sent_at < :t3 GROUP BY cur
"""
# b0, b1, b2: the customer bought in the period before the previous one, the previous one, this one.
_RETENTION_SQL = """
SELECT COALESCE(SUM(b0 AND b1), 0) AS prev_retained, COALESCE(SUM(b0), 0) AS prev_base,
       COALESCE(SUM(b1 AND b2), 0) AS retained, COALESCE(SUM(b1), 0) AS base,
       COALESCE(SUM(b1), 0) AS prev_buyers, COALESCE(SUM(b2), 0) AS buyers
FROM (
    SELECT customer_id, MAX(purchased_at < :t1) AS b0,
           MAX(purchased_at >= :t1 AND purchased_at < :t2) AS b1,
           MAX(purchased_at >= :t2) AS b2
    FROM orders WHERE purchased_at >= :t0 AND purchased_at < :t3
    GROUP BY customer_id
)
"""


def _figures(
    requests: aiosqlite.Row | None,
    ratings: aiosqlite.Row | None,
    resolved: aiosqlite.Row | None,
    nps: aiosqlite.Row | None,
    restock: aiosqlite.Row | None,
    *,
    buyers: int,
    retention: RetentionCounts,
) -> CustomerFigures:
    """One period's figures from its rows (a missing row: nothing happened in the period)."""
    return CustomerFigures(
        requests_sent=requests["sent"] if requests else 0,
        requests_answered=requests["answered"] if requests else 0,
        ratings=RatingCounts(
            count=ratings["n"],
            total=ratings["total"],
            satisfied=ratings["satisfied"],
            negative=ratings["negative"],
            resolved=resolved["n"] if resolved else 0,
        )
        if ratings
        else RatingCounts(),
        nps=NpsCounts(nps["promoters"], nps["passives"], nps["detractors"]) if nps else NpsCounts(),
        restock_sent=restock["sent"] if restock else 0,
        restock_converted=restock["converted"] if restock else 0,
        buyers=buyers,
        retention=retention,
    )


def _weeks_sql(column: str, weeks: int, select: str) -> str:
    values = ", ".join(f"({i}, :w{i}, :w{i + 1})" for i in range(weeks))
    return (
        f"WITH weeks(i, s, e) AS (VALUES {values}) "
        f"SELECT w.i AS i, {select} FROM weeks w JOIN reviews r "
        f"ON r.{column} >= w.s AND r.{column} < w.e GROUP BY w.i"
    )


async def weekly_points(
    conn: aiosqlite.Connection, now: datetime, tz: ZoneInfo, weeks: int
) -> list[WeekPoint]:
    """Ratings and NPS answers per calendar week, the current (partial) week last."""
    starts = week_starts(now, tz, weeks)
    bounds = [to_db(s) for s in starts] + [to_db(now)]
    params = {f"w{i}": b for i, b in enumerate(bounds)}
    ratings = {
        r["i"]: RatingCounts(count=r["n"], total=r["total"], satisfied=r["satisfied"])
        for r in await _fetch(
            conn,
            _weeks_sql(
                "rated_at",
                weeks,
                "COUNT(*) AS n, SUM(r.rating) AS total, SUM(r.rating >= 4) AS satisfied",
            ),
            params,
        )
    }
    nps = {
        r["i"]: NpsCounts(r["promoters"], r["passives"], r["detractors"])
        for r in await _fetch(
            conn,
            _weeks_sql(
                "nps_at",
                weeks,
                "SUM(r.nps >= 9) AS promoters, SUM(r.nps BETWEEN 7 AND 8) AS passives, "
                "SUM(r.nps <= 6) AS detractors",
            ),
            params,
        )
    }
    return [
        WeekPoint(start, ratings.get(i, RatingCounts()), nps.get(i, NpsCounts()))
        for i, start in enumerate(starts)
    ]


async def customer_report(
    conn: aiosqlite.Connection, now: datetime, days: int, *, negative_max: int, tz: ZoneInfo
) -> CustomerReport:
    span = periods(now, days)
    params: dict[str, object] = {
        "t0": to_db(span.before_previous.start),
        "t1": to_db(span.previous.start),
        "t2": to_db(span.current.start),
        "t3": to_db(span.current.end),
        "negative": negative_max,
    }
    requests = _split(await _fetch(conn, _REQUESTS_SQL, params))
    ratings = _split(await _fetch(conn, _RATINGS_SQL, params))
    resolved = _split(await _fetch(conn, _RESOLVED_SQL, params))
    nps = _split(await _fetch(conn, _NPS_SQL, params))
    restock = _split(await _fetch(conn, _RESTOCK_SQL, params))
    (kept,) = await _fetch(conn, _RETENTION_SQL, params)

    current = _figures(
        requests[0], ratings[0], resolved[0], nps[0], restock[0],
        buyers=kept["buyers"], retention=RetentionCounts(kept["base"], kept["retained"]),
    )  # fmt: skip
    previous = _figures(
        requests[1], ratings[1], resolved[1], nps[1], restock[1],
        buyers=kept["prev_buyers"],
        retention=RetentionCounts(kept["prev_base"], kept["prev_retained"]),
    )  # fmt: skip
    weeks = await weekly_points(conn, now, tz, chart_weeks(days))
    return CustomerReport(span, current, previous, weeks)
