"""Customer figures of a period and the one before it, counted in SQL (formulas: metrics.py).

Every query is one range scan over an index that covers it (migration 0004). Requests, restock
reminders and purchases split their range with `t >= :mid`, so the period and the previous one
cost one pass; ratings and NPS answers are cut into buckets that serve the two periods and the
weekly chart from one pass each.

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

from bot.reports import rollup
from bot.reports.buyers import BuyerCounts, buyer_counts
from bot.reports.metrics import NpsCounts, RatingCounts, RetentionCounts, ratio
from bot.reports.periods import Periods, chart_weeks, periods, week_starts
from storage.timestamps import to_db


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


# Each figure is a UNION ALL of plain range aggregates, one arm per period: SQLite streams each
# arm off the index, where `GROUP BY <expression>` would first sort every row into a temporary
# B-tree (measured: 3× slower on a million reviews).
def _per_period(select: str, table_where: str, column: str) -> str:
    arm = (
        f"SELECT {{flag}} AS cur, {select} FROM {table_where} "
        f"{column} >= {{start}} AND {column} < {{end}}"
    )
    return (
        arm.format(flag=1, start=":t2", end=":t3")
        + " UNION ALL "
        + arm.format(flag=0, start=":t1", end=":t2")
    )


_REQUESTS_SQL = _per_period(
    "COUNT(*) AS sent, COUNT(COALESCE(rating, nps)) AS answered", "reviews WHERE", "requested_at"
)
_RESTOCK_SQL = _per_period(
    "COUNT(*) AS sent, COUNT(converted_at) AS converted",
    # Named: without ANALYZE's statistics SQLite walked every restock reminder off outbox_ref.
    "outbox INDEXED BY outbox_restock_sent WHERE kind = 'restock' AND",
    "sent_at",
)
# Ratings and NPS answers are each read in ONE range scan that serves both the two periods and
# the weekly chart: the range is cut at every week start and period edge into buckets, each of
# which lies in one week and one period, and the buckets are summed in Python.
_BUCKET_ARM = (
    "SELECT {i} AS i, {select} FROM reviews r WHERE r.{column} >= :b{i} AND r.{column} < :b{next}"
)
_RATING_COLUMNS = (
    "COUNT(*) AS n, SUM(r.rating) AS total, SUM(r.rating >= 4) AS satisfied, "
    "SUM(r.rating <= :negative) AS negative, "
    # The alert is looked up for negative ratings only (CASE evaluates lazily).
    "SUM(CASE WHEN r.rating <= :negative THEN EXISTS (SELECT 1 FROM alerts a "
    "WHERE a.review_id = r.id AND a.resolved_at IS NOT NULL) ELSE 0 END) AS resolved"
)
_NPS_COLUMNS = (
    "COUNT(*) AS n, SUM(r.nps >= 9) AS promoters, SUM(r.nps BETWEEN 7 AND 8) AS passives, "
    "SUM(r.nps <= 6) AS detractors"
)


@dataclass(frozen=True)
class Buckets:
    """Time cut at every week start and period edge: [edges[i], edges[i + 1])."""

    edges: list[datetime]
    week_of: list[int | None]  # the chart week of each bucket (None: before the chart)
    period_of: list[int | None]  # 0: the period, 1: the previous one, None: neither

    @classmethod
    def cut(cls, span: Periods, starts: list[datetime]) -> Buckets:
        now = span.current.end
        edges = sorted({*starts, span.previous.start, span.current.start, now})
        edges = [e for e in edges if e <= now]
        week_of: list[int | None] = []
        period_of: list[int | None] = []
        for edge in edges[:-1]:
            weeks = [i for i, start in enumerate(starts) if start <= edge]
            week_of.append(weeks[-1] if weeks else None)
            if edge >= span.current.start:
                period_of.append(0)
            elif edge >= span.previous.start:
                period_of.append(1)
            else:
                period_of.append(None)
        return cls(edges, week_of, period_of)

    def sql(self, column: str, select: str) -> tuple[str, dict[str, object]]:
        arms = [
            _BUCKET_ARM.format(i=i, next=i + 1, select=select, column=column)
            for i in range(len(self.edges) - 1)
        ]
        params: dict[str, object] = {f"b{i}": to_db(e) for i, e in enumerate(self.edges)}
        return " UNION ALL ".join(arms), params


def _add_ratings(a: RatingCounts, b: RatingCounts) -> RatingCounts:
    return RatingCounts(
        a.count + b.count,
        a.total + b.total,
        a.satisfied + b.satisfied,
        a.negative + b.negative,
        a.resolved + b.resolved,
    )


def _add_nps(a: NpsCounts, b: NpsCounts) -> NpsCounts:
    return NpsCounts(
        a.promoters + b.promoters, a.passives + b.passives, a.detractors + b.detractors
    )


async def _bucketed(
    conn: aiosqlite.Connection, buckets: Buckets, column: str, select: str, negative_max: int
) -> dict[int, aiosqlite.Row]:
    sql, params = buckets.sql(column, select)
    if "negative" in select:
        params["negative"] = negative_max
    return {r["i"]: r for r in await _fetch(conn, sql, params) if r["n"]}


def _rating_counts(sums: rollup.Sums, negative_max: int) -> RatingCounts:
    values = sums.ratings
    return RatingCounts(
        count=sum(values),
        total=sum(k * n for k, n in zip(rollup.RATINGS, values, strict=True)),
        satisfied=sum(n for k, n in zip(rollup.RATINGS, values, strict=True) if k >= 4),
        negative=sum(n for k, n in zip(rollup.RATINGS, values, strict=True) if k <= negative_max),
        resolved=sum(
            n for k, n in zip(rollup.RATINGS, sums.resolved, strict=True) if k <= negative_max
        ),
    )


async def _from_hours(
    conn: aiosqlite.Connection, buckets: Buckets, negative_max: int
) -> tuple[list[aiosqlite.Row | None], dict[int, dict], dict[int, dict]]:
    """Requests by period and the rating and NPS rows of every bucket, from review_hours."""
    sums = await rollup.bucket_sums(conn, buckets.edges)
    requests: list[dict | None] = [None, None]
    ratings_rows: dict[int, dict] = {}
    nps_rows: dict[int, dict] = {}
    for i, (bucket, period) in enumerate(zip(sums, buckets.period_of, strict=True)):
        if period is not None:
            seen = requests[period] or {"sent": 0, "answered": 0}
            seen["sent"] += bucket.requested
            seen["answered"] += bucket.answered
            requests[period] = seen
        counts = _rating_counts(bucket, negative_max)
        if counts.count:
            ratings_rows[i] = {"n": counts.count, "total": counts.total,
                               "satisfied": counts.satisfied, "negative": counts.negative,
                               "resolved": counts.resolved}  # fmt: skip
        if bucket.promoters + bucket.passives + bucket.detractors:
            nps_rows[i] = {"n": 1, "promoters": bucket.promoters, "passives": bucket.passives,
                           "detractors": bucket.detractors}  # fmt: skip
    return requests, ratings_rows, nps_rows  # type: ignore[return-value]


async def customer_report(
    conn: aiosqlite.Connection,
    now: datetime,
    days: int,
    *,
    negative_max: int,
    tz: ZoneInfo,
    from_hours: bool = True,
    bought: BuyerCounts | None = None,
) -> CustomerReport:
    """The customer part of the report. Review figures come from the hourly aggregates
    (`bot.reports.rollup`); `from_hours=False` counts them from `reviews` row by row, the way
    they were counted before (kept for the benchmark and the property test that the two agree).
    `bought`: the periods' buyers when the caller has read them already (bot.reports.buyers).
    """
    span = periods(now, days)
    params: dict[str, object] = {
        "t1": to_db(span.previous.start),
        "t2": to_db(span.current.start),
        "t3": to_db(span.current.end),
    }
    restock = _split(await _fetch(conn, _RESTOCK_SQL, params))
    if bought is None:
        bought = await buyer_counts(conn, span)

    starts = week_starts(now, tz, chart_weeks(days))
    buckets = Buckets.cut(span, starts)
    if from_hours:
        requests, ratings_rows, nps_rows = await _from_hours(conn, buckets, negative_max)
    else:
        requests = list(_split(await _fetch(conn, _REQUESTS_SQL, params)))
        ratings_rows = await _bucketed(conn, buckets, "rated_at", _RATING_COLUMNS, negative_max)
        nps_rows = await _bucketed(conn, buckets, "nps_at", _NPS_COLUMNS, negative_max)
    ratings = [RatingCounts(), RatingCounts()]
    nps = [NpsCounts(), NpsCounts()]
    week_ratings = [RatingCounts() for _ in starts]
    week_nps = [NpsCounts() for _ in starts]
    for i, (week, period) in enumerate(zip(buckets.week_of, buckets.period_of, strict=True)):
        if i in ratings_rows:
            r = ratings_rows[i]
            counts = RatingCounts(r["n"], r["total"], r["satisfied"], r["negative"], r["resolved"])
            if period is not None:
                ratings[period] = _add_ratings(ratings[period], counts)
            if week is not None:
                week_ratings[week] = _add_ratings(week_ratings[week], counts)
        if i in nps_rows:
            r = nps_rows[i]
            answers = NpsCounts(r["promoters"], r["passives"], r["detractors"])
            if period is not None:
                nps[period] = _add_nps(nps[period], answers)
            if week is not None:
                week_nps[week] = _add_nps(week_nps[week], answers)

    def figures(period: int, buyers: int, retention: RetentionCounts) -> CustomerFigures:
        req, stock = requests[period], restock[period]
        return CustomerFigures(
            requests_sent=req["sent"] if req else 0,
            requests_answered=req["answered"] if req else 0,
            ratings=ratings[period],
            nps=nps[period],
            restock_sent=stock["sent"] if stock else 0,
            restock_converted=stock["converted"] if stock else 0,
            buyers=buyers,
            retention=retention,
        )

    current = figures(
        0, bought.current, RetentionCounts(base=bought.previous, retained=bought.current_retained)
    )
    previous = figures(
        1, bought.previous, RetentionCounts(base=bought.before, retained=bought.previous_retained)
    )
    weeks = [WeekPoint(start, week_ratings[i], week_nps[i]) for i, start in enumerate(starts)]
    return CustomerReport(span, current, previous, weeks)
