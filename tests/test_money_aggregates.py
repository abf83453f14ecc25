"""The money section's figures over every order (currency, LTV, cohorts, segments) read the
per-customer aggregates of migration 0013, kept by triggers. On random histories — orders in any
order, items priced later (as the webhooks write them), several currencies and none, weighed
quantities, two orders at one moment, orders dated after now, a moved order — they equal the
raw query over every order (the code they replaced, below)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.reports import money
from bot.winback import rules as winback
from storage import Database
from storage.timestamps import from_db, to_db

NOW = datetime(2026, 3, 1, 0, 30, tzinfo=UTC)
CUSTOMERS = 5


# --- the raw queries over every order -------------------------------------------------------
async def raw_currency(conn: Any) -> tuple[str | None, tuple[str, ...]]:
    rows = await money._rows(
        conn,
        "SELECT currency, SUM(price_cents * quantity) AS total FROM order_items "
        "WHERE price_cents IS NOT NULL GROUP BY currency ORDER BY total DESC, currency",
    )
    named = [r["currency"] for r in rows if r["currency"]]
    if not rows:
        return None, ()
    main = named[0] if named else None
    return main, tuple(c for c in named if c != main)


async def raw_ltv(conn: Any, cur: str, end: datetime) -> tuple[int, int | None]:
    row = (
        await money._rows(
            conn,
            "SELECT COUNT(DISTINCT o.customer_id) AS n, SUM(CASE WHEN oi.price_cents IS NOT NULL "
            "AND COALESCE(oi.currency, :cur) = :cur THEN oi.price_cents * oi.quantity END) AS r "
            "FROM orders o JOIN order_items oi ON oi.order_id = o.id WHERE o.purchased_at < :end",
            {"cur": cur, "end": to_db(end)},
        )
    )[0]
    n = row["n"] or 0
    return n, (round((row["r"] or 0) / n) if n else None)


async def raw_cohorts(conn: Any, cur: str, end: datetime, tz: ZoneInfo) -> list[money.Cohort]:
    rows = await money._rows(
        conn,
        """
        SELECT f.first, COALESCE(r.revenue, 0) AS revenue FROM
          (SELECT customer_id, MIN(purchased_at) AS first FROM orders
           WHERE purchased_at < :end GROUP BY customer_id) f
        LEFT JOIN
          (SELECT o.customer_id, SUM(CASE WHEN oi.price_cents IS NOT NULL
                  AND COALESCE(oi.currency, :cur) = :cur THEN oi.price_cents * oi.quantity END)
                  AS revenue
           FROM orders o JOIN order_items oi ON oi.order_id = o.id
           WHERE o.purchased_at < :end GROUP BY o.customer_id) r
        ON r.customer_id = f.customer_id
        """,
        {"cur": cur, "end": to_db(end)},
    )
    months: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    for r in rows:
        month = from_db(r["first"]).astimezone(tz).strftime("%Y-%m")
        months[month][0] += 1
        months[month][1] += r["revenue"]
    return [money.Cohort(m, int(n), round(rev)) for m, (n, rev) in sorted(months.items())]


async def raw_segments(conn: Any, cur: str, now: datetime, days: int) -> list[money.Segment]:
    rows = await money._rows(
        conn,
        """
        SELECT o.customer_id, o.purchased_at,
               SUM(CASE WHEN oi.price_cents IS NOT NULL AND COALESCE(oi.currency, :cur) = :cur
                        THEN oi.price_cents * oi.quantity END) AS revenue
        FROM orders o JOIN order_items oi ON oi.order_id = o.id
        WHERE o.purchased_at < :now
        GROUP BY o.id ORDER BY o.customer_id
        """,
        {"cur": cur, "now": to_db(now)},
    )
    per: dict[int, tuple[list[datetime], list[float]]] = defaultdict(lambda: ([], []))
    for r in rows:
        times, cash = per[r["customer_id"]]
        times.append(from_db(r["purchased_at"]))
        cash.append(r["revenue"] or 0)
    counts = {name: [0, 0.0] for name in winback.SEGMENTS}
    for times, cash in per.values():
        limit = winback.threshold(days, winback.usual_interval(times))
        name = winback.segment(len(times), max(times), limit, now)
        counts[name][0] += 1
        counts[name][1] += sum(cash)
    return [money.Segment(name, int(n), round(r)) for name, (n, r) in counts.items()]


# --- histories ------------------------------------------------------------------------------
item = st.tuples(
    st.one_of(st.none(), st.integers(0, 500_000)),  # price_cents
    st.sampled_from(["RUB", "RUB", "USD", None]),  # currency
    st.sampled_from([1, 1, 2, 0.5, 1.5]),  # quantity (goods by weight too)
    st.booleans(),  # priced after the insert, as the webhooks' extras are
)
order = st.tuples(
    st.integers(1, CUSTOMERS),
    # Whole minutes from 400 days before now to two days after; a few shared moments, and one
    # past the orders the period figures read (35 days on).
    st.one_of(
        st.integers(-400 * 1440, 2 * 1440), st.sampled_from([-90 * 1440, -30 * 1440, -1, 35 * 1440])
    ),
    st.lists(item, min_size=1, max_size=3),
)
history = st.lists(order, max_size=25)


async def write(db: Database, orders: list[Any], move: int | None) -> None:
    async with db.write() as conn:
        for table in ("order_items", "orders", "customer_revenue", "customer_money", "customers"):
            await conn.execute(f"DELETE FROM {table}")
        for c in range(1, CUSTOMERS + 1):
            await conn.execute(
                "INSERT INTO customers (id, external_id, link_token, created_at) "
                "VALUES (?, ?, ?, ?)",
                (c, f"C{c}", f"t{c}", to_db(NOW)),
            )
        for n, (customer, minutes, items) in enumerate(orders, start=1):
            at = to_db(NOW + timedelta(minutes=minutes))
            await conn.execute(
                "INSERT INTO orders (id, order_id, customer_id, purchased_at, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (n, f"O{n}", customer, at, at),
            )
            for price, currency, quantity, later in items:
                cur = await conn.execute(
                    "INSERT INTO order_items (order_id, sku, name, quantity, price_cents, "
                    "currency) VALUES (?, 'S', 'S', ?, ?, ?)",
                    (n, quantity, None if later else price, None if later else currency),
                )
                if later:
                    await conn.execute(
                        "UPDATE order_items SET price_cents = ?, currency = ? WHERE id = ?",
                        (price, currency, cur.lastrowid),
                    )
        if move is not None and orders:
            # An order moved to another customer (the aggregates of both follow).
            await conn.execute(
                "UPDATE orders SET customer_id = ? WHERE id = ?",
                (1 + move % CUSTOMERS, 1 + move % len(orders)),
            )


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # reset per example
@given(
    orders=history,
    move=st.one_of(st.none(), st.integers(0, 100)),
    days=st.sampled_from([30, 90]),
    winback_days=st.sampled_from([None, 30, 120]),
    tz=st.sampled_from([ZoneInfo("Europe/Moscow"), ZoneInfo("Asia/Kathmandu"), ZoneInfo("UTC")]),
)
async def test_the_aggregates_give_the_raw_figures(
    db: Database,
    orders: list[Any],
    move: int | None,
    days: int,
    winback_days: int | None,
    tz: ZoneInfo,
) -> None:
    await write(db, orders, move)
    async with db.read() as conn:
        report = await money.money_report(conn, NOW, days, tz=tz, winback_days=winback_days)
        main, others = await raw_currency(conn)
        cur = main or ""
        if len(others) < 2:  # two others of one total may come in either order
            assert (report.currency, report.other_currencies) == (main, others)
        else:
            assert report.currency == main
        for figures, window in (
            (report.current, report.periods.current),
            (report.previous, report.periods.previous),
        ):
            assert (figures.customers, figures.ltv) == await raw_ltv(conn, cur, window.end)
        assert report.cohorts == await raw_cohorts(conn, cur, report.periods.current.end, tz)
        segments = await raw_segments(conn, cur, NOW, winback_days or winback.DEFAULT_DAYS)
        assert report.segments == segments
