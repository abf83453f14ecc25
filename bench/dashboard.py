"""The dashboard and /report on a big shop: each page's server time and the report's figures for
30 and 365 days, beside the raw SQL over `reviews` that the hourly aggregates replace.

    .venv/bin/python -m bench.dashboard [--reviews 1000000 3000000] [--repeats 7]

For each size, a temp SQLite file (every migration applied) is filled by bench/report.py's
generator with the review triggers dropped for the bulk load, the hourly table then rebuilt in one
INSERT … SELECT (what the migration does for an existing database) and the triggers put back; so
writing 3M reviews costs the same as before the aggregates existed. Then, in one process:

- figures: `assemble_report` for 30 and 365 days (the customer part from `review_hours`), in
  two halves on one snapshot as the bot reads it, and on one connection beside it;
- raw: the same report with the customer part counted from `reviews` (the old code path, kept
  for this and for the property tests), i.e. the SQL the aggregates replace;
- pages: each dashboard page through HTTP (aiohttp test client, a signed-in session), server
  time from request to last byte; charts are separate requests and cached, timed apart.

The database has no ANALYZE statistics, as the bot's own never has (SQLite then plans by its
rules alone); the figures and pages are measured again after an ANALYZE, since with statistics
SQLite may take other plans. Complaints are answered from 5 minutes to 2 days after opening,
spread evenly, so the median times walk real buckets of durations.

Goal: every page and every period under 100 ms at 3M reviews, flat as the data grows.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from bench._common import machine_note
from bench.report import NOW, SPAN, TZ, fill, line, timed
from bot.clock import FakeClock
from bot.dashboard import service
from bot.dashboard.signin import COOKIE_NAME
from bot.i18n import build_i18n
from bot.pseudonym import Pseudonymizer
from bot.reports import customers as customer_figures
from bot.reports.assemble import assemble_report
from bot.reports.money_days import fold_money_days
from bot.reports.periods import ReportRequest
from bot.reports.rollup import REBUILT_SQL
from bot.settings import Settings
from handlers.web.dashboard import DashboardDeps, build_dashboard
from storage import Database

PAGES = (
    "/",
    "/survey",
    "/customers?days=30",
    "/customers?days=365",
    "/cases",
    "/cases?status=all",
    "/cases/1",
    "/exports",
)
GOAL_MS = 100.0


# Reviews generated inside SQLite (a recursive CTE, random() in C): bench/report.py's
# distribution — 70% rated (1–5 weighted 5/5/10/30/50), 85% of those with an NPS answer, an
# alert for every rating of 1–2, 60% of them resolved — at about ten times the speed of Python.
_REVIEWS_SQL = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count),
r AS MATERIALIZED (
    SELECT i, 1 + abs(random()) % :customers AS customer,
           :start + abs(random()) % :span AS asked,
           abs(random()) % 1000000 / 1e6 AS u_rated, abs(random()) % 1000000 / 1e6 AS u_rating,
           abs(random()) % 1000000 / 1e6 AS u_nps, abs(random()) % 172800 AS rated_after,
           abs(random()) % 1800 AS nps_after, abs(random()) % 11 AS nps
    FROM n
), s AS (
    SELECT i, customer, asked,
           CASE WHEN u_rated < 0.7 THEN CASE WHEN u_rating < 0.05 THEN 1 WHEN u_rating < 0.10
                THEN 2 WHEN u_rating < 0.20 THEN 3 WHEN u_rating < 0.50 THEN 4 ELSE 5 END END
                AS rating,
           asked + rated_after AS rated, u_nps < 0.85 AS has_nps, nps, nps_after
    FROM r
)
INSERT INTO reviews (id, customer_id, created_at, requested_at, rating, rated_at, nps, nps_at,
                     status)
SELECT i, customer, {ts}(asked), {ts}(asked), rating,
       CASE WHEN rating IS NOT NULL THEN {ts}(rated) END,
       CASE WHEN rating IS NOT NULL AND has_nps THEN nps END,
       CASE WHEN rating IS NOT NULL AND has_nps THEN {ts}(rated + nps_after) END,
       CASE WHEN rating IS NOT NULL THEN 'answered' ELSE 'requested' END
FROM s
"""
_ALERTS_SQL = """
INSERT INTO alerts (review_id, created_at, resolved_by, resolved_at)
SELECT id, rated_at, CASE WHEN resolved THEN 1 END,
       CASE WHEN resolved THEN strftime('%Y-%m-%dT%H:%M:%S.000000Z', rated_at,
                                        '+' || (3600 + id * 104729 % 255600) || ' seconds') END
FROM (SELECT id, rated_at, abs(random()) % 10 < 6 AS resolved FROM reviews WHERE rating <= 2)
"""

# One complaint case per alert (bot/cases opens one for each low rating): a resolved alert's
# case closed three days after (silence after «Вопрос решён?»), half of the others answered
# within two days, the rest still open — so the cases page lists, counts and follows real rows.
# Alerts are resolved from one hour to three days in: with every case closed exactly a day in
# (as this bench once had it) the median of a year's closings is a sort of 63,000 equal values.
_CASES_SQL = """
INSERT INTO cases (customer_id, topic, subject, review_id, status, opened_at, due_at,
                   first_answered_at, first_answered_by, resolved_at, resolved_by, closed_at,
                   closed_how)
SELECT r.customer_id, 'complaint', 'review:' || r.id, r.id,
       CASE WHEN a.resolved_at IS NOT NULL THEN 'closed' WHEN a.id % 2 = 0 THEN 'answered'
            ELSE 'open' END,
       a.created_at, strftime('%Y-%m-%dT%H:%M:%S.000000Z', a.created_at, '+1 day'),
       CASE WHEN a.resolved_at IS NOT NULL OR a.id % 2 = 0
            THEN strftime('%Y-%m-%dT%H:%M:%S.000000Z', a.created_at,
                          '+' || (300 + a.id * 7919 % 172500) || ' seconds') END,
       CASE WHEN a.resolved_at IS NOT NULL OR a.id % 2 = 0 THEN 1 END,
       a.resolved_at, CASE WHEN a.resolved_at IS NOT NULL THEN 1 END,
       strftime('%Y-%m-%dT%H:%M:%S.000000Z', a.resolved_at, '+3 days'),
       CASE WHEN a.resolved_at IS NOT NULL THEN 'timeout' END
FROM alerts a JOIN reviews r ON r.id = a.review_id
"""


def _ts(expression: str) -> str:
    return f"strftime('%Y-%m-%dT%H:%M:%S.000000Z', {expression}, 'unixepoch')"


def bulk_fill(path: Path, reviews: int, orders: int, answers: int) -> float:
    """bench/report.py's data set with the reviews written by SQLite itself and the review
    triggers off for the bulk load (the hourly table is rebuilt after, in one statement, as the
    migration does for an existing database); seconds taken."""
    began = time.perf_counter()
    fill(path, reviews=0, orders=orders, answers=answers)  # customers, purchases, the survey
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous = OFF")
    triggers = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'review_hours%'"
    ).fetchall()
    # Indexes are built once after the load (a sort) instead of row by row in random order.
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN "
        "('reviews', 'alerts') AND sql IS NOT NULL"
    ).fetchall()
    customers = max(1000, orders // 4)
    start = int((NOW - SPAN).timestamp())
    with conn:
        for name, _sql in triggers + indexes:
            conn.execute(f"DROP {'TRIGGER' if name.startswith('review_hours') else 'INDEX'} {name}")
        # An expression in place of each {ts}(…): sqlite formats the seconds itself.
        sql = _REVIEWS_SQL
        for column in ("asked", "rated", "rated + nps_after"):
            sql = sql.replace("{ts}(" + column + ")", _ts(column))
        conn.execute(
            sql, {"count": reviews, "customers": customers, "start": start,
                  "span": int(SPAN.total_seconds())},
        )  # fmt: skip
        conn.execute(_ALERTS_SQL)
        conn.execute("DELETE FROM review_hours")
        conn.execute(
            "INSERT INTO review_hours (hour, requested, answered, r1, r2, r3, r4, r5, s1, s2, s3, "
            "s4, s5, promoters, passives, detractors) " + REBUILT_SQL
        )
        for _name, statement in indexes + triggers:
            conn.execute(statement)
        # After the reviews' indexes are back: a closed complaint's trigger looks up whether its
        # customer rated 4–5 since (case_recovery, migration 0016), one index seek each.
        conn.execute(_CASES_SQL)
    # The bot never runs ANALYZE, so its database has no statistics; the figures are measured
    # that way first (`run` measures again with them, so neither plan goes unseen).
    conn.execute("DROP TABLE IF EXISTS sqlite_stat1")
    conn.close()
    return time.perf_counter() - began


async def figures(
    db: Database, days: int, repeats: int, *, raw: bool = True
) -> tuple[float, float]:
    request = ReportRequest(days=days)

    async def from_hours() -> None:  # as the bot reads it: two halves on one snapshot
        async with db.snapshot() as (conn, side):
            await assemble_report(
                conn, request, now=NOW, min_group=3, negative_max=2, tz=TZ, side=side
            )

    async def one_connection() -> None:
        async with db.read() as conn:
            await assemble_report(conn, request, now=NOW, min_group=3, negative_max=2, tz=TZ)

    async def rows() -> None:
        # On a Database of its own: reading every review through the bot's readers would fill
        # their page caches with reviews and leave the pages after it timed on cold caches.
        async with raw_db.read() as conn:
            await customer_figures.customer_report(
                conn, NOW, days, negative_max=2, tz=TZ, from_hours=False
            )
            await assemble_report(
                conn, ReportRequest(customers=False), now=NOW, min_group=3, negative_max=2, tz=TZ
            )

    fast, single, slow = [], [], []
    raw_db = Database(db.path)
    if raw:
        await raw_db.open(process_lock=False)
    try:
        for _ in range(repeats):
            fast += await timed(from_hours, 1, f"hours {days}")
            single += await timed(one_connection, 1, f"one connection {days}")
            if raw:
                slow += await timed(rows, 1, f"raw {days}")
    finally:
        await raw_db.close()
    print(line(f"/report figures, {days} days", fast))
    print(
        line("  on one connection", single)
        + f"  (two halves: {statistics.median(fast) / statistics.median(single):.2f} of it)"
    )
    if not raw:
        return statistics.median(fast), float("nan")
    # The raw run is the customer section alone counted from `reviews` plus the survey part:
    # the money and loop sections (part of the customer report) are not in it.
    print(line("  raw: review figures from rows, no money or loop", slow))
    return statistics.median(fast), statistics.median(slow)


async def pages(db: Database, settings: Settings, repeats: int) -> dict[str, float]:
    clock = FakeClock(NOW)
    deps = DashboardDeps(
        db=db,
        settings=settings,
        clock=clock,
        i18n=build_i18n("ru"),
        is_admin=lambda user_id: user_id == 1,
        kick_outbox=lambda: None,
        bot_token=settings.bot_token.get_secret_value(),
        public_url=None,
        pseudonyms=Pseudonymizer(b"bench-pseudonym-key"),
    )
    token = await service.issue_link(db, 1, NOW)
    session = await service.redeem_link(db, token, NOW, is_admin=deps.is_admin)
    assert isinstance(session, service.Session)
    from aiohttp import web

    root = web.Application()
    root.add_subapp("/dashboard", build_dashboard(deps))
    medians: dict[str, float] = {}
    async with TestClient(TestServer(root)) as client:
        client.session.cookie_jar.update_cookies({COOKIE_NAME: session.token})
        for page in PAGES:

            async def get(page: str = page) -> None:
                async with client.get("/dashboard" + page) as response:
                    assert response.status == 200, (page, response.status)
                    await response.read()

            times = await timed(get, repeats, page)
            print(line(f"page {page}", times))
            medians[page] = statistics.median(times)
        for chart in ("survey", "departments", "customers"):

            async def svg(chart: str = chart) -> None:
                async with client.get(f"/dashboard/charts/{chart}.svg") as response:
                    await response.read()

            began = time.perf_counter()
            await svg()
            first = (time.perf_counter() - began) * 1000
            cached = await timed(svg, repeats, chart)
            print(f"  chart {chart}.svg: first {first:.0f} ms (drawn), then "
                  f"{statistics.median(cached):.1f} ms (cached)")  # fmt: skip
    return medians


async def run(size: int, args: argparse.Namespace, folder: Path) -> dict[str, float]:
    path = folder / f"bench-{size}.sqlite3"
    db = Database(path)
    await db.open(process_lock=False)
    await db.close()
    seconds = bulk_fill(path, size, args.orders, args.answers)
    print(f"\n{size:,} reviews, {args.orders:,} purchases: written in {seconds:.0f} s, "
          f"{path.stat().st_size / 1e6:.0f} MB")  # fmt: skip
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token="123456:BENCH-token",
        database_path=path,
        pseudonym_secret="bench",
    )
    await db.open(process_lock=False)
    # A bulk load marks every day of the money totals to be folded; reports fold 62 days each
    # (bot/reports/money_days.py) until all are. The figures here are those of a settled database.
    began = time.perf_counter()
    async with db.write() as conn:
        folded = await fold_money_days(conn, NOW, max_days=None)
    print(f"  money days folded: {folded} in {time.perf_counter() - began:.1f} s")
    try:
        result: dict[str, float] = {}
        for days in (30, 365):
            fast, slow = await figures(db, days, args.repeats)
            result[f"report {days}d"] = fast
            result[f"raw {days}d"] = slow
        result.update(await pages(db, settings, args.repeats))
        # Someone may run ANALYZE on it (sqlite3's shell, a tool): SQLite then plans from the
        # statistics, and a page must not turn slow for that.
        await db.close()
        conn = sqlite3.connect(path)
        conn.execute("ANALYZE")
        conn.close()
        await db.open(process_lock=False)
        print("  after ANALYZE:")
        for days in (30, 365):
            fast, _ = await figures(db, days, args.repeats, raw=False)
            result[f"report {days}d, ANALYZE"] = fast
        analyzed = await pages(db, settings, args.repeats)
        result.update({f"{name}, ANALYZE": ms for name, ms in analyzed.items()})
    finally:
        await db.close()
    path.unlink()
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reviews", type=int, nargs="+", default=[1_000_000, 3_000_000])
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--answers", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    began = time.perf_counter()
    print(f"machine: {machine_note()}")
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for size in args.reviews:
            results[size] = await run(size, args, Path(folder))
    print("\nsummary (median ms):")
    names = list(next(iter(results.values())))
    print(f"  {'':<32}" + "".join(f"{size:>14,}" for size in results))
    for name in names:
        print(f"  {name:<32}" + "".join(f"{results[s][name]:>14.1f}" for s in results))
    worst = max(v for r in results.values() for k, v in r.items() if not k.startswith("raw"))
    print(f"goal: every page and period < {GOAL_MS:.0f} ms → "
          f"{'met' if worst < GOAL_MS else 'NOT met'} (slowest {worst:.0f} ms)")  # fmt: skip
    print(f"the whole benchmark took {time.perf_counter() - began:.0f} s")
    print(f"machine at the end: {machine_note()}")


if __name__ == "__main__":
    asyncio.run(main())
