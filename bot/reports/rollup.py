"""Review figures over any time buckets from the hourly and daily aggregates (review_hours,
review_days).

Migration 0010's triggers keep `review_hours` in the same transaction as every change to a review
or an alert, and 0028's keep `review_days` as its hours summed by day, so the sums here always
equal the raw aggregates over `reviews` (property-tested in tests/test_review_hours.py). A bucket
[a, b) is the sum of its whole UTC days, of its other whole UTC hours, and of the raw rows of the
partial hours at its edges (a period that ends «now» starts and ends mid-hour); the raw part is
at most two hours of reviews per edge, and a year-long period reads 365 days and at most 46 hours,
whatever the data's size. So /report and the dashboard cost the same at a thousand reviews and at
three million.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import aiosqlite

from storage.timestamps import to_db

HOUR = timedelta(hours=1)
RATINGS = (1, 2, 3, 4, 5)


@dataclass
class Sums:
    """What one bucket adds up to (ratings and resolved alerts by rating value 1..5)."""

    requested: int = 0
    answered: int = 0
    ratings: list[int] = field(default_factory=lambda: [0] * 5)
    resolved: list[int] = field(default_factory=lambda: [0] * 5)
    promoters: int = 0
    passives: int = 0
    detractors: int = 0

    def add_ratings(self, values: list[int], resolved: list[int]) -> None:
        for i in range(5):
            self.ratings[i] += values[i]
            self.resolved[i] += resolved[i]


def floor_hour(moment: datetime) -> datetime:
    utc = moment.astimezone(UTC)
    return utc.replace(minute=0, second=0, microsecond=0)


def hour_key(moment: datetime) -> str:
    """The table's key of the UTC hour that starts at `moment` ('YYYY-MM-DDTHH')."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H")


def _bucket_of(edges: list[datetime], start: datetime, end: datetime) -> int | None:
    """The bucket that holds all of [start, end), or None when an edge cuts it."""
    for i in range(len(edges) - 1):
        if edges[i] <= start and end <= edges[i + 1]:
            return i
    return None


def _pieces(edges: list[datetime]) -> list[tuple[int, datetime, datetime]]:
    """(bucket, start, end) of the parts of hours that an edge cuts: these are read raw."""
    cut_hours = sorted({floor_hour(e) for e in edges if floor_hour(e) != e})
    pieces = []
    first, last = edges[0], edges[-1]
    for hour in cut_hours:
        points = sorted({max(hour, first), min(hour + HOUR, last)} | {
            e for e in edges if hour < e < hour + HOUR
        })  # fmt: skip
        for a, b in pairwise(points):
            if a < b:
                bucket = _bucket_of(edges, a, b)
                if bucket is not None:
                    pieces.append((bucket, a, b))
    return pieces


# An arm per range of a bucket: whole days off review_days (migration 0028), whole hours off
# review_hours, each summed by SQLite off the primary key.
_SUMS_ARM = (
    "SELECT {i} AS i, SUM(requested) AS requested, SUM(answered) AS answered, "
    "SUM(r1) AS r1, SUM(r2) AS r2, SUM(r3) AS r3, SUM(r4) AS r4, SUM(r5) AS r5, "
    "SUM(s1) AS s1, SUM(s2) AS s2, SUM(s3) AS s3, SUM(s4) AS s4, SUM(s5) AS s5, "
    "SUM(promoters) AS promoters, SUM(passives) AS passives, SUM(detractors) AS detractors "
    "FROM {table} WHERE {key} >= :a{n} AND {key} < :b{n}"
)
DAY = timedelta(days=1)


def _whole_ranges(first: datetime, last: datetime) -> list[tuple[str, str, str, str]]:
    """[first, last) (whole UTC hours) as (table, key, from, to): its whole UTC days from
    review_days, the hours before the first midnight and after the last from review_hours."""
    midnight = first.replace(hour=0)
    day_from = midnight if midnight == first else midnight + DAY
    day_to = last.replace(hour=0)
    if day_from >= day_to:
        return [("review_hours", "hour", hour_key(first), hour_key(last))]
    ranges = [("review_days", "day", day_from.strftime("%Y-%m-%d"), day_to.strftime("%Y-%m-%d"))]
    ranges += [
        ("review_hours", "hour", hour_key(a), hour_key(b))
        for a, b in ((first, day_from), (day_to, last))
        if a < b
    ]
    return ranges


_RAW_REQUESTS = (
    "SELECT {i} AS i, COUNT(*) AS sent, COUNT(COALESCE(rating, nps)) AS answered FROM reviews "
    "WHERE requested_at >= :a{i} AND requested_at < :b{i}"
)
_RAW_RATINGS = (
    "SELECT {i} AS i, r.rating AS rating, COUNT(*) AS n, SUM(EXISTS (SELECT 1 FROM alerts a "
    "WHERE a.review_id = r.id AND a.resolved_at IS NOT NULL)) AS resolved FROM reviews r "
    "WHERE r.rated_at >= :a{i} AND r.rated_at < :b{i} AND r.rating IS NOT NULL "
    "GROUP BY r.rating"
)
_RAW_NPS = (
    "SELECT {i} AS i, SUM(nps >= 9) AS promoters, SUM(nps BETWEEN 7 AND 8) AS passives, "
    "SUM(nps <= 6) AS detractors FROM reviews "
    "WHERE nps_at >= :a{i} AND nps_at < :b{i} AND nps IS NOT NULL"
)


async def _raw(
    conn: aiosqlite.Connection, arm: str, pieces: list[tuple[int, datetime, datetime]]
) -> list[aiosqlite.Row]:
    if not pieces:
        return []
    sql = " UNION ALL ".join(f"SELECT * FROM ({arm.format(i=i)})" for i in range(len(pieces)))
    params: dict[str, object] = {}
    for i, (_bucket, a, b) in enumerate(pieces):
        params[f"a{i}"], params[f"b{i}"] = to_db(a), to_db(b)
    async with conn.execute(sql, params) as cur:
        return list(await cur.fetchall())


async def bucket_sums(conn: aiosqlite.Connection, edges: list[datetime]) -> list[Sums]:
    """The review figures of every bucket [edges[i], edges[i + 1]) (edges ascending)."""
    sums = [Sums() for _ in edges[:-1]]
    if len(edges) < 2:
        return sums
    # The whole hours of each bucket: from the first hour that starts in it to the last that
    # ends in it; the hours an edge cuts are read raw below.
    arms, params = [], {}
    for i, (a, b) in enumerate(pairwise(edges)):
        first = floor_hour(a) if floor_hour(a) == a else floor_hour(a) + HOUR
        last = floor_hour(b)
        if first < last:
            for table, key, lo, hi in _whole_ranges(first, last):
                n = len(arms)
                arms.append(_SUMS_ARM.format(i=i, n=n, table=table, key=key))
                params[f"a{n}"], params[f"b{n}"] = lo, hi
    if arms:
        sql = " UNION ALL ".join(f"SELECT * FROM ({arm})" for arm in arms)
        async with conn.execute(sql, params) as cur:
            rows = await cur.fetchall()
        for row in rows:
            if row["requested"] is None:
                continue  # no hour of the bucket has a row
            target = sums[row["i"]]
            target.requested += row["requested"]
            target.answered += row["answered"]
            target.add_ratings([row[f"r{k}"] for k in RATINGS], [row[f"s{k}"] for k in RATINGS])
            target.promoters += row["promoters"]
            target.passives += row["passives"]
            target.detractors += row["detractors"]
    pieces = _pieces(edges)
    for r in await _raw(conn, _RAW_REQUESTS, pieces):
        target = sums[pieces[r["i"]][0]]
        target.requested += r["sent"]
        target.answered += r["answered"]
    for r in await _raw(conn, _RAW_RATINGS, pieces):
        if r["rating"] is None:
            continue
        target = sums[pieces[r["i"]][0]]
        target.ratings[r["rating"] - 1] += r["n"]
        target.resolved[r["rating"] - 1] += r["resolved"] or 0
    for r in await _raw(conn, _RAW_NPS, pieces):
        target = sums[pieces[r["i"]][0]]
        target.promoters += r["promoters"] or 0
        target.passives += r["passives"] or 0
        target.detractors += r["detractors"] or 0
    return sums


# --- the table's own check ----------------------------------------------------------------------
REBUILT_SQL = """
WITH req AS (
    SELECT substr(requested_at, 1, 13) AS hour, COUNT(*) AS requested,
           COUNT(COALESCE(rating, nps)) AS answered
    FROM reviews WHERE requested_at IS NOT NULL GROUP BY 1
), rat AS (
    SELECT substr(r.rated_at, 1, 13) AS hour,
           SUM(r.rating = 1) AS r1, SUM(r.rating = 2) AS r2, SUM(r.rating = 3) AS r3,
           SUM(r.rating = 4) AS r4, SUM(r.rating = 5) AS r5,
           SUM(r.rating = 1 AND x.resolved) AS s1, SUM(r.rating = 2 AND x.resolved) AS s2,
           SUM(r.rating = 3 AND x.resolved) AS s3, SUM(r.rating = 4 AND x.resolved) AS s4,
           SUM(r.rating = 5 AND x.resolved) AS s5
    FROM reviews r JOIN (SELECT r2.id, EXISTS (SELECT 1 FROM alerts a WHERE a.review_id = r2.id
         AND a.resolved_at IS NOT NULL) AS resolved FROM reviews r2) x ON x.id = r.id
    WHERE r.rated_at IS NOT NULL AND r.rating IS NOT NULL GROUP BY 1
), np AS (
    SELECT substr(nps_at, 1, 13) AS hour, SUM(nps >= 9) AS promoters,
           SUM(nps BETWEEN 7 AND 8) AS passives, SUM(nps <= 6) AS detractors
    FROM reviews WHERE nps_at IS NOT NULL AND nps IS NOT NULL GROUP BY 1
), hours AS (SELECT hour FROM req UNION SELECT hour FROM rat UNION SELECT hour FROM np)
SELECT h.hour, COALESCE(req.requested, 0), COALESCE(req.answered, 0),
       COALESCE(r1, 0), COALESCE(r2, 0), COALESCE(r3, 0), COALESCE(r4, 0), COALESCE(r5, 0),
       COALESCE(s1, 0), COALESCE(s2, 0), COALESCE(s3, 0), COALESCE(s4, 0), COALESCE(s5, 0),
       COALESCE(promoters, 0), COALESCE(passives, 0), COALESCE(detractors, 0)
FROM hours h LEFT JOIN req ON req.hour = h.hour LEFT JOIN rat ON rat.hour = h.hour
LEFT JOIN np ON np.hour = h.hour ORDER BY h.hour
"""
_STORED = (
    "SELECT hour, requested, answered, r1, r2, r3, r4, r5, s1, s2, s3, s4, s5, promoters, "
    "passives, detractors FROM review_hours ORDER BY hour"
)


async def stored_hours(conn: aiosqlite.Connection) -> list[tuple[object, ...]]:
    """The table as kept by the triggers, without the hours that sum to nothing."""
    async with conn.execute(_STORED) as cur:
        rows = [tuple(r) for r in await cur.fetchall()]
    return [r for r in rows if any(r[1:])]


async def rebuilt_hours(conn: aiosqlite.Connection) -> list[tuple[object, ...]]:
    """The table as it should be, computed from the raw rows."""
    async with conn.execute(REBUILT_SQL) as cur:
        rows = [tuple(r) for r in await cur.fetchall()]
    return [r for r in rows if any(r[1:])]


async def rebuild(conn: aiosqlite.Connection) -> None:
    """Recompute the table from the raw rows (after a bulk load written with the triggers off)."""
    await conn.execute("DELETE FROM review_hours")
    await conn.execute(
        "INSERT INTO review_hours (hour, requested, answered, r1, r2, r3, r4, r5, s1, s2, s3, "
        "s4, s5, promoters, passives, detractors) " + REBUILT_SQL
    )
