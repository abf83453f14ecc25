"""/report on a big shop: the time of the report's figures beside its raw SQL alone.

    .venv/bin/python -m bench.report [--reviews 1000000] [--orders 200000] [--answers 100000]
    .venv/bin/python -m bench.report --orders 1000000 --reviews 10000 --answers 1000 --money-only

A temp SQLite file (the production schema, every migration applied) is filled in one
transaction per table with executemany: customers, purchases spread over two years, reviews
(requested, rated, NPS, negative ones with alerts), restock reminders, and survey waves of
about 2,100 employees in 20 departments. Then, in one process, against the same reader
connection and snapshot:

- assembly: `bot.reports.assemble.assemble_report` — every figure of `/report` (survey part,
  customer part for 30 days with the previous 30, the weekly NPS/CSAT series), as plain data,
  without text or charts;
- raw SQL: exactly the statements that assembly ran (recorded from it), replayed with
  `fetchall()` and nothing else.

Printed: median and p90 of each (after warm-up), their ratio, the same for a 365-day period, the
chart drawing time for information, and the assembly without migration 0004's covering indexes.
Goals: assembly under 300 ms; within 1.5× of the raw SQL. First, the money section alone
(every item priced) and its parts — the ones over every order the shop ever had (cohorts,
segments, LTV) are what grows with the shop; goal: under 200 ms at a million orders.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench._common import machine_note, percentile
from bot.i18n import Translator, build_i18n
from bot.reports.assemble import Report, assemble_report
from bot.reports.charts import render_charts
from bot.reports.periods import ReportRequest, periods
from bot.reports.survey import release_survey
from storage import Database
from storage.timestamps import to_db

NOW = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
SPAN = timedelta(days=730)
TZ = ZoneInfo("Europe/Moscow")
DEPARTMENTS = 20
WAVES = 8


def _stamp(rng: random.Random, start: datetime, span: timedelta) -> datetime:
    return start + timedelta(seconds=rng.random() * span.total_seconds())


def fill(path: Path, *, reviews: int, orders: int, answers: int, seed: int = 7) -> None:
    """Write the data set with plain sqlite3 (the schema is already there)."""
    rng = random.Random(seed)
    start = NOW - SPAN
    customers = max(1000, orders // 4)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous = OFF")
    created = to_db(start)
    with conn:
        conn.executemany(
            "INSERT INTO customers (id, external_id, link_token, created_at) VALUES (?, ?, ?, ?)",
            ((i, f"C{i}", f"t{i}", created) for i in range(1, customers + 1)),
        )
    with conn:
        rows = []
        for i in range(1, orders + 1):
            at = to_db(_stamp(rng, start, SPAN))
            rows.append((i, f"O{i}", rng.randint(1, customers), at, at))
        conn.executemany(
            "INSERT INTO orders (id, order_id, customer_id, purchased_at, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            rows,
        )
        conn.executemany(
            "INSERT INTO order_items (order_id, sku, name, quantity, restock_days, price_cents, "
            "currency) VALUES (?, ?, 'Item', 1, 30, ?, 'RUB')",
            ((i, f"SKU{i % 500}", 10_000 + i % 90_000) for i in range(1, orders + 1)),
        )
    with conn:
        rows, alerts = [], []
        for i in range(1, reviews + 1):
            asked = _stamp(rng, start, SPAN)
            rating = rated = nps = nps_at = None
            if rng.random() < 0.7:
                rating = rng.choices((1, 2, 3, 4, 5), (5, 5, 10, 30, 50))[0]
                rated = asked + timedelta(hours=rng.random() * 48)
                if rng.random() < 0.85:
                    nps = rng.randint(0, 10)
                    nps_at = rated + timedelta(minutes=rng.random() * 30)
                if rating <= 2:
                    resolved = to_db(rated + timedelta(days=1)) if rng.random() < 0.6 else None
                    alerts.append((i, to_db(rated), 1 if resolved else None, resolved))
            rows.append(
                (
                    i, rng.randint(1, customers), to_db(asked), to_db(asked), rating,
                    to_db(rated) if rated else None, nps, to_db(nps_at) if nps_at else None,
                    "answered" if rating else "requested",
                )
            )  # fmt: skip
        conn.executemany(
            "INSERT INTO reviews (id, customer_id, created_at, requested_at, rating, rated_at, "
            "nps, nps_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        conn.executemany(
            "INSERT INTO alerts (review_id, created_at, resolved_by, resolved_at) "
            "VALUES (?, ?, ?, ?)",
            alerts,
        )
    with conn:
        restock = []
        for _ in range(orders // 10):
            sent = _stamp(rng, start, SPAN)
            converted = to_db(sent + timedelta(days=2)) if rng.random() < 0.3 else None
            restock.append(
                (rng.randint(1, customers), rng.randint(1, orders), to_db(sent), to_db(sent),
                 converted, to_db(sent))
            )  # fmt: skip
        conn.executemany(
            "INSERT INTO outbox (kind, customer_id, ref_id, due_at, status, sent_at, "
            "converted_at, created_at) VALUES ('restock', ?, ?, ?, 'sent', ?, ?, ?)",
            restock,
        )
    with conn:
        conn.executemany(
            "INSERT INTO departments (id, name, created_at) VALUES (?, ?, ?)",
            ((d, f"Department {d}", created) for d in range(1, DEPARTMENTS + 1)),
        )
        people = max(1, answers // (WAVES * 6) * 100 // 90)  # 90% answer all six
        conn.executemany(
            "INSERT INTO employees (id, telegram_id, department_id, joined_at) VALUES (?, ?, ?, ?)",
            ((e, 10_000_000 + e, 1 + e % DEPARTMENTS, created) for e in range(1, people + 1)),
        )
        survey_rows, invitations = [], []
        for w in range(1, WAVES + 1):
            opened = start + SPAN * (w - 1) / WAVES
            conn.execute(
                "INSERT INTO waves (id, title, opened_by, opened_at, closed_at) "
                "VALUES (?, ?, 1, ?, ?)",
                (w, f"Wave {w}", to_db(opened),
                 None if w == WAVES else to_db(opened + timedelta(days=14))),
            )  # fmt: skip
            for e in range(1, people + 1):
                dept = 1 + e % DEPARTMENTS
                invitations.append((w, e, dept, to_db(opened)))
                how_many = 6 if rng.random() < 0.9 else rng.randint(1, 5)
                for q in range(1, how_many + 1):
                    survey_rows.append(
                        (w, f"r_{e:020x}", dept, q, rng.randint(1, 5), to_db(opened))
                    )
                if len(survey_rows) >= answers:
                    break
        conn.executemany("INSERT INTO wave_invitations VALUES (?, ?, ?, ?)", invitations)
        conn.executemany("INSERT INTO survey_answers VALUES (?, ?, ?, ?, ?, ?)", survey_rows)
    conn.execute("ANALYZE")
    conn.close()


class Recorder:
    """A connection that notes every statement it runs (to replay them as the raw SQL)."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self.statements: list[tuple[str, Any]] = []

    def execute(self, sql: str, params: Any = None) -> Any:
        self.statements.append((sql, params))
        return self._conn.execute(sql, params) if params is not None else self._conn.execute(sql)


CPU: dict[str, list[float]] = {}  # process CPU time of each timed run, by name


async def timed(run: Callable[[], Awaitable[object]], repeats: int, name: str = "") -> list[float]:
    """Wall-clock milliseconds of each run; the process's CPU milliseconds go to CPU[name].

    CPU time counts SQLite's thread too, and is what a busy machine (other processes on the
    two cores) inflates least.
    """
    await run()  # warm the page cache and the statement cache
    times = []
    for _ in range(repeats):
        began, cpu = time.perf_counter(), time.process_time()
        await run()
        times.append((time.perf_counter() - began) * 1000)
        CPU.setdefault(name, []).append((time.process_time() - cpu) * 1000)
    return times


def line(name: str, times: list[float]) -> str:
    return (
        f"  {name:<34} median {statistics.median(times):7.1f} ms   "
        f"p90 {percentile(times, 90):7.1f} ms   (n={len(times)})"
    )


async def measure(
    db: Database, days: int, repeats: int, *, breakdown: bool = False
) -> tuple[float, float, Report]:
    request = ReportRequest(days=days)
    result: list[Report] = []
    # Survey figures come from releases (bot.disclosure), made before the report is read.
    async with db.write() as conn:
        await release_survey(conn, min_group=3, now=NOW)

    async def assemble() -> None:
        async with db.read() as conn:
            result.append(
                await assemble_report(conn, request, now=NOW, min_group=3, negative_max=2, tz=TZ)
            )

    async with db.read() as conn:
        recorder = Recorder(conn)
        await assemble_report(recorder, request, now=NOW, min_group=3, negative_max=2, tz=TZ)  # type: ignore[arg-type]
        statements = recorder.statements

    async def raw() -> None:
        async with db.read() as conn:
            for sql, params in statements:
                async with conn.execute(sql, params or ()) as cur:
                    await cur.fetchall()

    # Interleaved, so that any drift of the machine's load touches both alike.
    assembly_times, raw_times = [], []
    CPU.pop(f"assembly {days}", None)
    CPU.pop(f"raw {days}", None)
    for _ in range(repeats):
        assembly_times += await timed(assemble, 1, f"assembly {days}")
        raw_times += await timed(raw, 1, f"raw {days}")
    print(f"{days}-day period ({len(statements)} statements):")
    print(line("report assembly (all figures)", assembly_times))
    print(line("raw SQL alone (same statements)", raw_times))
    ratio = statistics.median(assembly_times) / statistics.median(raw_times)
    cpu_assembly = statistics.median(CPU[f"assembly {days}"])
    cpu_raw = statistics.median(CPU[f"raw {days}"])
    print(f"  ratio assembly / raw SQL: {ratio:.2f}× (wall clock)")
    print(
        f"  CPU time (median): assembly {cpu_assembly:.1f} ms, raw SQL {cpu_raw:.1f} ms, "
        f"ratio {cpu_assembly / cpu_raw:.2f}×"
    )
    if breakdown:
        print("  where the raw SQL time goes (median of 5 each):")
        for sql, params in statements:

            async def one(sql: str = sql, params: Any = params) -> None:
                async with db.read() as conn, conn.execute(sql, params or ()) as cur:
                    await cur.fetchall()

            first = " ".join(sql.split())[:70]
            print(f"    {statistics.median(await timed(one, 5)):7.1f} ms  {first}")
    return statistics.median(assembly_times), ratio, result[-1]


async def measure_money(db: Database, days: int, repeats: int) -> float:
    """The money section alone (revenue, LTV, cohorts, segments: bot/reports/money.py), and its
    parts, on the same snapshot: what grows with every order the shop ever had."""
    from bot.reports import money

    span = periods(NOW, days)
    cur = "RUB"  # the only currency of the data set (its parts below read it as such)

    def reading(part: Callable[[Any], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            async with db.read() as conn:
                await part(conn)

        return run

    parts: list[tuple[str, Callable[[Any], Awaitable[object]]]] = [
        (
            "money section (all of it)",
            lambda c: money.money_report(c, NOW, days, tz=TZ, winback_days=None),
        ),
        ("  currency (every priced item)", lambda c: money._currency(c)),
        ("  cohorts (first order, all orders)", lambda c: money._cohorts(c, cur, NOW, TZ, True)),
        ("  segments (every order's time)", lambda c: money._segments(c, cur, NOW, None, True)),
        (
            "  period figures incl. LTV",
            lambda c: _figures_only(money, c, cur, span),
        ),
    ]
    print(f"money section, {days}-day period:")
    whole = 0.0
    for name, part in parts:
        times = await timed(reading(part), repeats, f"money {name}")
        whole = whole or statistics.median(times)
        print(line(name, times))
    return whole


async def _figures_only(money: Any, conn: Any, cur: str, span: Any) -> None:
    _, _, total = await money._currency(conn)
    later = sum((await money._revenue_since(conn, cur, span.current.end)).values())
    _, exact = await money._figures(conn, cur, span.current, total, later)
    await money._figures(conn, cur, span.previous, total, later + exact)


async def without_covering_indexes(db: Database, median30: float, repeats: int) -> None:
    """The same report on migration 0001's single-column indexes only."""
    async with db.write() as conn:
        for name in ("reviews_rated_rating", "reviews_requested_answers", "reviews_nps",
                     "outbox_restock_sent"):  # fmt: skip
            await conn.execute(f"DROP INDEX {name}")
        await conn.execute("CREATE INDEX reviews_rated ON reviews(rated_at)")
        await conn.execute("CREATE INDEX reviews_requested ON reviews(requested_at)")
        await conn.execute("ANALYZE")
    print("without migration 0004's covering indexes:")
    slow, _, _ = await measure(db, 30, max(3, repeats // 3))
    print(f"  covering indexes make the 30-day report {slow / median30:.1f}× faster")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reviews", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--answers", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument(
        "--db", type=Path, help="keep the data set in this file and reuse it on later runs"
    )
    parser.add_argument(
        "--keep-indexes", action="store_true", help="skip the run without 0004's indexes"
    )
    parser.add_argument(
        "--money-only", action="store_true", help="time the money section alone, then stop"
    )
    parser.add_argument(
        "--money-days", type=int, default=30, help="the money section's period (7, 30, 90, 365)"
    )
    args = parser.parse_args()

    print(f"machine: {machine_note()}")
    with tempfile.TemporaryDirectory() as folder:
        path = args.db or Path(folder) / "bench.sqlite3"
        db = Database(path)
        if not path.exists():
            await db.open(process_lock=False)
            await db.close()  # the schema is in; fill it with plain sqlite3
            began = time.perf_counter()
            fill(path, reviews=args.reviews, orders=args.orders, answers=args.answers)
            print(f"data written in {time.perf_counter() - began:.1f} s")
        size = path.stat().st_size / 1e6
        print(
            f"data: {args.reviews:,} reviews, {args.orders:,} purchases, ~{args.answers:,} "
            f"survey answers in {WAVES} waves; {size:.0f} MB ({path.name})"
        )
        await db.open(process_lock=False)
        try:
            money30 = await measure_money(db, args.money_days, max(3, args.repeats // 3))
            if args.money_only:
                print(f"\nmachine at the end: {machine_note()}")
                print(
                    f"goal: money section < 200 ms → {'met' if money30 < 200 else 'NOT met'} "
                    f"({money30:.0f} ms at {args.orders:,} orders)"
                )
                return
            median30, ratio30, report = await measure(db, 30, args.repeats, breakdown=True)
            cpu30 = statistics.median(CPU["assembly 30"])
            await measure(db, 365, max(5, args.repeats // 3))

            tr = Translator(build_i18n("ru"), "ru")
            draw = []
            for _ in range(3):
                began = time.perf_counter()
                charts = await asyncio.to_thread(render_charts, tr, report)
                draw.append((time.perf_counter() - began) * 1000)
            print(f"charts (for information, in a worker thread): {len(charts)} PNGs")
            print(line("drawing", draw))

            if not (args.keep_indexes or args.db):  # never alter a data set kept for reuse
                await without_covering_indexes(db, median30, args.repeats)
        finally:
            await db.close()
    print()
    print(f"machine at the end: {machine_note()}")
    print(
        f"goal: assembly < 300 ms → wall clock {'met' if median30 < 300 else 'NOT met'} "
        f"({median30:.0f} ms), CPU time {'met' if cpu30 < 300 else 'NOT met'} ({cpu30:.0f} ms)"
    )
    print(f"goal: within 1.5× of raw SQL → {'met' if ratio30 <= 1.5 else 'NOT met'} "
          f"({ratio30:.2f}×)")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
