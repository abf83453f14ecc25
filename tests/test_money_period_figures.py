"""The money section's period figures (revenue, orders, priced orders, buyers, repeat buyers,
attributed revenue, win-back sent and converted, LTV) are counted by SQLite over the period's
orders. On random histories — orders at any microsecond and right at the windows' edges, several
currencies and none, unpriced items, weighed quantities (halves round to even), repeat buyers,
orders without items, restock, review and win-back messages right at their windows' edges —
they equal the code they replaced, which read every order of the periods into Python (below)."""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.reports import money
from bot.reports.money import WINDOWS, MoneyFigures
from bot.reports.periods import Window, periods
from bot.winback import rules as winback
from storage import Database
from storage.timestamps import from_db, to_db

NOW = datetime(2026, 3, 1, 0, 30, 0, 250_000, tzinfo=UTC)
CUSTOMERS = 2
SKUS = ("A", "B", "C")


# --- the code the SQL replaced (bot/reports/money.py at 5f3d20f) -----------------------------
_ORDER_REVENUE = """
    SELECT o.id, o.customer_id, o.purchased_at,
           SUM(CASE WHEN oi.price_cents IS NOT NULL AND COALESCE(oi.currency, :cur) = :cur
                    THEN oi.price_cents * oi.quantity END) AS revenue,
           GROUP_CONCAT(oi.sku, char(31)) AS skus
    FROM orders o JOIN order_items oi ON oi.order_id = o.id
    WHERE o.purchased_at >= :start AND o.purchased_at < :end
    GROUP BY o.id
"""


@dataclass
class _Order:
    id: int
    customer: int
    at: datetime
    revenue: int | None
    skus: frozenset[str]
    exact: float = 0.0


async def _orders(conn: Any, cur: str, start: datetime, end: datetime) -> list[_Order]:
    rows = await money._rows(
        conn, _ORDER_REVENUE, {"cur": cur, "start": to_db(start), "end": to_db(end)}
    )
    return [
        _Order(
            r["id"],
            r["customer_id"],
            from_db(r["purchased_at"]),
            round(r["revenue"]) if r["revenue"] is not None else None,
            frozenset((r["skus"] or "").split("\x1f")),
            r["revenue"] or 0,
        )
        for r in rows
    ]


async def _messages(conn: Any, start: datetime, end: datetime) -> dict:
    rows = await money._rows(
        conn,
        "SELECT x.kind, x.customer_id, x.sent_at, oi.sku FROM outbox x "
        "LEFT JOIN order_items oi ON x.kind = 'restock' AND oi.id = x.ref_id "
        "WHERE x.kind IN ('restock', 'review_request', 'winback') AND x.status = 'sent' "
        "AND x.sent_at >= ? AND x.sent_at < ? ORDER BY x.sent_at",
        (to_db(start), to_db(end)),
    )
    out: dict = defaultdict(lambda: defaultdict(list))
    for r in rows:
        out[r["kind"]][r["customer_id"]].append((from_db(r["sent_at"]), r["sku"]))
    return out


def _attributed(order: _Order, sent: list, window: timedelta, kind: str) -> bool:
    times = [t for t, _ in sent]
    low = bisect.bisect_left(times, order.at - window)
    high = bisect.bisect_right(times, order.at)
    return any(kind != "restock" or sku in order.skus for _, sku in sent[low:high])


async def _figures(
    conn: Any,
    window: Window,
    orders: list[_Order],
    messages: dict,
    total: float,
    beyond: float,
) -> MoneyFigures:
    mine = [o for o in orders if window.start <= o.at < window.end]
    buyers = {o.customer for o in mine}
    firsts: dict[int, datetime] = {}
    for r in await money._rows(conn, "SELECT customer_id, first_at FROM customer_money"):
        if r["customer_id"] in buyers:
            firsts[r["customer_id"]] = from_db(r["first_at"])
    latest: dict[int, datetime] = {}
    for o in mine:
        latest[o.customer] = max(latest.get(o.customer, o.at), o.at)
    repeat = sum(1 for c in buyers if firsts.get(c, latest[c]) < latest[c])
    attributed = {k: 0 for k in WINDOWS}
    for o in mine:
        if not o.revenue:
            continue
        for kind, span in WINDOWS.items():
            sent = messages.get(kind, {}).get(o.customer)
            if sent and _attributed(o, sent, span, kind):
                attributed[kind] += o.revenue
    sent_wb = [
        (c, t)
        for c, times in messages.get("winback", {}).items()
        for t, _ in times
        if window.start <= t < window.end
    ]
    by_customer: dict[int, list[datetime]] = defaultdict(list)
    for o in orders:
        by_customer[o.customer].append(o.at)
    converted = sum(
        1 for c, t in sent_wb if any(winback.converted(t, at) for at in by_customer.get(c, []))
    )
    customers = (
        await money._rows(
            conn,
            "SELECT COUNT(*) AS n FROM customer_money WHERE first_at < ?",
            (to_db(window.end),),
        )
    )[0]["n"]
    ltv_revenue = total - sum(o.exact for o in orders if o.at >= window.end) - beyond
    return MoneyFigures(
        revenue=sum(o.revenue or 0 for o in mine),
        orders=len(mine),
        priced_orders=sum(1 for o in mine if o.revenue is not None),
        buyers=len(buyers),
        repeat_buyers=repeat,
        restock_revenue=attributed["restock"],
        review_revenue=attributed["review_request"],
        winback_revenue=attributed["winback"],
        winback_sent=len(sent_wb),
        winback_converted=converted,
        ltv=round(ltv_revenue / customers) if customers else None,
        customers=customers,
    )


async def reference(conn: Any, now: datetime, days: int) -> tuple[MoneyFigures, MoneyFigures]:
    span = periods(now, days)
    currency, _, total = await money._currency(conn)
    cur = currency or ""
    earliest = span.previous.start - max(WINDOWS.values())
    orders_end = span.current.end + winback.CONVERSION_WINDOW
    orders = await _orders(conn, cur, span.previous.start, orders_end)
    beyond = sum((await money._revenue_since(conn, cur, orders_end)).values())
    messages = await _messages(conn, earliest, span.current.end)
    return (
        await _figures(conn, span.current, orders, messages, total, beyond),
        await _figures(conn, span.previous, orders, messages, total, beyond),
    )


# --- histories ------------------------------------------------------------------------------
DAYS = 30
_EDGES = [
    -2 * DAYS,
    -DAYS,
    0,
    -DAYS - 14,
    -DAYS - 30,
    -2 * DAYS - 14,
    -2 * DAYS - 30,
    14,
    30,
]
# Moments around the windows' edges (the periods' starts and ends, the conversion windows'
# starts and ends), a microsecond either side, or anywhere over 100 days.
edge = st.tuples(st.sampled_from(_EDGES), st.sampled_from([-1, 0, 0, 1])).map(
    lambda e: NOW + timedelta(days=e[0], microseconds=e[1])
)
moment = st.one_of(
    edge,
    edge,
    edge,
    st.integers(-100 * 86_400_000_000, 35 * 86_400_000_000).map(
        lambda us: NOW + timedelta(microseconds=us)
    ),
)
item = st.tuples(
    st.one_of(st.none(), st.integers(0, 50_000)),  # price_cents
    st.sampled_from(["RUB", "RUB", "USD", None]),  # currency
    st.sampled_from([1, 1, 2, 0.5, 1.5, 2.5]),  # quantity (halves to round)
    st.sampled_from(SKUS),
)
order = st.tuples(st.integers(1, CUSTOMERS), moment, st.lists(item, min_size=0, max_size=3))
message = st.tuples(
    st.sampled_from(["restock", "review_request", "winback", "survey_invite"]),
    st.integers(1, CUSTOMERS),
    moment,
    st.sampled_from(["sent", "sent", "failed"]),
    st.integers(1, 12),  # the order item a restock reminder is about (may be none)
)


async def write(db: Database, orders: list[Any], messages: list[Any]) -> None:
    async with db.write() as conn:
        for table in (
            "outbox",
            "order_items",
            "orders",
            "customer_revenue",
            "customer_money",
            "customers",
        ):
            await conn.execute(f"DELETE FROM {table}")
        for c in range(1, CUSTOMERS + 1):
            await conn.execute(
                "INSERT INTO customers (id, external_id, link_token, created_at) "
                "VALUES (?, ?, ?, ?)",
                (c, f"C{c}", f"t{c}", to_db(NOW)),
            )
        for n, (customer, at, items) in enumerate(orders, start=1):
            await conn.execute(
                "INSERT INTO orders (id, order_id, customer_id, purchased_at, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (n, f"O{n}", customer, to_db(at), to_db(at)),
            )
            for price, currency, quantity, sku in items:
                await conn.execute(
                    "INSERT INTO order_items (order_id, sku, name, quantity, price_cents, "
                    "currency) VALUES (?, ?, 'S', ?, ?, ?)",
                    (n, sku, quantity, price, currency),
                )
        for kind, customer, at, status, ref in messages:
            sent = to_db(at)
            await conn.execute(
                "INSERT INTO outbox (kind, customer_id, ref_id, due_at, status, sent_at, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (kind, customer, ref, sent, status, sent, sent),
            )


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=300)
@given(
    orders=st.lists(order, max_size=25),
    messages=st.lists(message, max_size=12),
    # The report's now: on the histories' moments, or moved by under a day (windows start at
    # any time of day).
    shift_us=st.one_of(st.just(0), st.integers(-86_400_000_000, 86_400_000_000)),
)
async def test_the_period_figures_equal_the_python_reference(
    db: Database, orders: list[Any], messages: list[Any], shift_us: int
) -> None:
    await write(db, orders, messages)
    now = NOW + timedelta(microseconds=shift_us)
    async with db.read() as conn:
        report = await money.money_report(conn, now, DAYS, tz=ZoneInfo("UTC"), winback_days=None)
        assert (report.current, report.previous) == await reference(conn, now, DAYS)


@pytest.mark.parametrize("days", [7, 365])
async def test_other_periods_equal_the_python_reference(db: Database, days: int) -> None:
    orders = [
        (1 + i % CUSTOMERS, NOW - timedelta(days=i * 7 % 800, microseconds=i), items)
        for i, items in enumerate([[(1001, "RUB", 0.5, "A")], [(5, None, 1, "B")], []] * 40)
    ]
    messages = [
        (kind, 1 + i % CUSTOMERS, NOW - timedelta(days=i * 5 % 800, hours=i), "sent", 1 + i % 12)
        for i, kind in enumerate(["restock", "review_request", "winback"] * 30)
    ]
    await write(db, orders, messages)
    async with db.read() as conn:
        report = await money.money_report(conn, NOW, days, tz=ZoneInfo("UTC"), winback_days=None)
        assert (report.current, report.previous) == await reference(conn, NOW, days)


@pytest.mark.parametrize("kind", ["restock", "review_request", "winback"])
async def test_the_conversion_windows_edges_to_the_microsecond(db: Database, kind: str) -> None:
    # Revenues of distinct powers of two: the sum says which orders counted.
    sent = NOW - timedelta(days=40)
    span = WINDOWS[kind]
    moments = [
        sent - timedelta(microseconds=1),
        sent,
        sent + timedelta(microseconds=1),
        sent + span - timedelta(microseconds=1),
        sent + span,
        sent + span + timedelta(microseconds=1),
    ]
    orders = [(1, at, [(2**n, "RUB", 1, "A")]) for n, at in enumerate(moments)]
    await write(db, orders, [(kind, 1, sent, "sent", 1)])
    async with db.read() as conn:
        report = await money.money_report(conn, NOW, DAYS, tz=ZoneInfo("UTC"), winback_days=None)
        assert (report.current, report.previous) == await reference(conn, NOW, DAYS)
    both = (report.current, report.previous)
    attributed = {
        "restock": sum(f.restock_revenue for f in both),
        "review_request": sum(f.review_revenue for f in both),
        "winback": sum(f.winback_revenue for f in both),
    }
    assert attributed[kind] == 2 + 4 + 8 + 16
    assert report.previous.winback_converted == (kind == "winback")
