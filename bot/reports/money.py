"""Money figures of a period and the one before it: what a shop runs on.

- revenue: Σ unit price × quantity of the items of the period's orders (items without a price
  count for nothing; one currency, the one with the most revenue, the others are named);
- orders: orders purchased in the period; average order value = revenue ÷ orders with a price;
- repeat purchase rate: buyers of the period who had bought before, or bought twice in it,
  ÷ buyers of the period;
- historical LTV: revenue of every customer since their first order ÷ customers, up to the
  period's end, overall and by the month (TIMEZONE) of the first purchase;
- attributed revenue: the revenue of orders placed within the conversion window after a message
  to that customer — a restock reminder (14 days, the order holds the SKU), a review request
  (14 days), a win-back message (30 days). An order counts once per kind;
- win-back: messages sent in the period and how many converted (a purchase within 30 days);
- segments (as of now): new, repeat, at risk, lapsed (bot/winback/rules.py), with their
  customers' revenue to date.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import aiosqlite

from bot.reports.periods import Periods, Window, periods
from bot.winback import rules as winback
from storage.timestamps import from_db, to_db

RESTOCK_WINDOW = timedelta(days=14)
REVIEW_WINDOW = timedelta(days=14)
WINDOWS = {
    "restock": RESTOCK_WINDOW,
    "review_request": REVIEW_WINDOW,
    "winback": winback.CONVERSION_WINDOW,
}


@dataclass(frozen=True)
class MoneyFigures:
    revenue: int = 0  # hundredths of the currency
    orders: int = 0
    priced_orders: int = 0
    buyers: int = 0
    repeat_buyers: int = 0
    restock_revenue: int = 0
    review_revenue: int = 0
    winback_revenue: int = 0
    winback_sent: int = 0
    winback_converted: int = 0
    ltv: int | None = None  # hundredths; None without customers
    customers: int = 0

    @property
    def average_order(self) -> int | None:
        return round(self.revenue / self.priced_orders) if self.priced_orders else None

    @property
    def repeat_rate(self) -> float | None:
        return self.repeat_buyers / self.buyers if self.buyers else None


@dataclass(frozen=True)
class Cohort:
    month: str  # YYYY-MM, local
    customers: int
    revenue: int

    @property
    def ltv(self) -> int:
        return round(self.revenue / self.customers) if self.customers else 0


@dataclass(frozen=True)
class Segment:
    name: str
    customers: int = 0
    revenue: int = 0


@dataclass(frozen=True)
class MoneyReport:
    periods: Periods
    currency: str | None
    other_currencies: tuple[str, ...]
    current: MoneyFigures
    previous: MoneyFigures
    cohorts: list[Cohort] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)

    @property
    def has_money(self) -> bool:
        return self.currency is not None or self.current.orders > 0 or self.previous.orders > 0


async def _rows(conn: aiosqlite.Connection, sql: str, params: tuple | dict = ()) -> list:
    async with conn.execute(sql, params) as cur:
        return list(await cur.fetchall())


async def _currency(conn: aiosqlite.Connection) -> tuple[str | None, tuple[str, ...]]:
    rows = await _rows(
        conn,
        "SELECT currency, SUM(price_cents * quantity) AS total FROM order_items "
        "WHERE price_cents IS NOT NULL GROUP BY currency ORDER BY total DESC",
    )
    named = [r["currency"] for r in rows if r["currency"]]
    if not rows:
        return None, ()
    main = named[0] if named else None
    return main, tuple(c for c in named if c != main)


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


async def _orders(
    conn: aiosqlite.Connection, cur: str, start: datetime, end: datetime
) -> list[_Order]:
    rows = await _rows(conn, _ORDER_REVENUE, {"cur": cur, "start": to_db(start), "end": to_db(end)})
    return [
        _Order(
            r["id"],
            r["customer_id"],
            from_db(r["purchased_at"]),
            round(r["revenue"]) if r["revenue"] is not None else None,
            frozenset((r["skus"] or "").split("\x1f")),
        )
        for r in rows
    ]


async def _messages(
    conn: aiosqlite.Connection, start: datetime, end: datetime
) -> dict[str, dict[int, list[tuple[datetime, str | None]]]]:
    """Sent restock, review and win-back messages by kind and customer, oldest first."""
    rows = await _rows(
        conn,
        "SELECT x.kind, x.customer_id, x.sent_at, oi.sku FROM outbox x "
        "LEFT JOIN order_items oi ON x.kind = 'restock' AND oi.id = x.ref_id "
        "WHERE x.kind IN ('restock', 'review_request', 'winback') AND x.status = 'sent' "
        "AND x.sent_at >= ? AND x.sent_at < ? ORDER BY x.sent_at",
        (to_db(start), to_db(end)),
    )
    out: dict[str, dict[int, list[tuple[datetime, str | None]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for r in rows:
        out[r["kind"]][r["customer_id"]].append((from_db(r["sent_at"]), r["sku"]))
    return out


def _attributed(
    order: _Order, sent: list[tuple[datetime, str | None]], window: timedelta, kind: str
) -> bool:
    times = [t for t, _ in sent]
    low = bisect.bisect_left(times, order.at - window)
    high = bisect.bisect_right(times, order.at)
    return any(kind != "restock" or sku in order.skus for _, sku in sent[low:high])


async def _figures(
    conn: aiosqlite.Connection,
    cur: str,
    window: Window,
    orders: list[_Order],
    messages: dict[str, dict[int, list[tuple[datetime, str | None]]]],
) -> MoneyFigures:
    mine = [o for o in orders if window.start <= o.at < window.end]
    buyers = {o.customer for o in mine}
    firsts: dict[int, datetime] = {}
    if buyers:
        ids = list(buyers)
        for chunk in range(0, len(ids), 900):
            part = ids[chunk : chunk + 900]
            rows = await _rows(
                conn,
                f"SELECT customer_id, MIN(purchased_at) AS first FROM orders "
                f"WHERE customer_id IN ({','.join('?' * len(part))}) GROUP BY customer_id",
                part,
            )
            firsts.update({r["customer_id"]: from_db(r["first"]) for r in rows})
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
    ltv_row = (
        await _rows(
            conn,
            "SELECT COUNT(DISTINCT o.customer_id) AS n, SUM(CASE WHEN oi.price_cents IS NOT NULL "
            "AND COALESCE(oi.currency, :cur) = :cur THEN oi.price_cents * oi.quantity END) AS r "
            "FROM orders o JOIN order_items oi ON oi.order_id = o.id WHERE o.purchased_at < :end",
            {"cur": cur, "end": to_db(window.end)},
        )
    )[0]
    customers = ltv_row["n"] or 0
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
        ltv=round((ltv_row["r"] or 0) / customers) if customers else None,
        customers=customers,
    )


async def _cohorts(
    conn: aiosqlite.Connection, cur: str, end: datetime, tz: ZoneInfo
) -> list[Cohort]:
    rows = await _rows(
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
    return [Cohort(m, int(n), round(rev)) for m, (n, rev) in sorted(months.items())]


async def _segments(
    conn: aiosqlite.Connection, cur: str, now: datetime, winback_days: int | None
) -> list[Segment]:
    days = winback_days or winback.DEFAULT_DAYS
    rows = await _rows(
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
        times, money = per[r["customer_id"]]
        times.append(from_db(r["purchased_at"]))
        money.append(r["revenue"] or 0)
    counts = {name: [0, 0.0] for name in winback.SEGMENTS}
    for times, money in per.values():
        limit = winback.threshold(days, winback.usual_interval(times))
        name = winback.segment(len(times), max(times), limit, now)
        counts[name][0] += 1
        counts[name][1] += sum(money)
    return [Segment(name, int(n), round(r)) for name, (n, r) in counts.items()]


async def money_report(
    conn: aiosqlite.Connection,
    now: datetime,
    days: int,
    *,
    tz: ZoneInfo,
    winback_days: int | None,
) -> MoneyReport:
    span = periods(now, days)
    currency, others = await _currency(conn)
    cur = currency or ""
    earliest = span.previous.start - max(WINDOWS.values())
    orders = await _orders(
        conn, cur, span.previous.start, span.current.end + winback.CONVERSION_WINDOW
    )
    messages = await _messages(conn, earliest, span.current.end)
    current = await _figures(conn, cur, span.current, orders, messages)
    previous = await _figures(conn, cur, span.previous, orders, messages)
    return MoneyReport(
        periods=span,
        currency=currency,
        other_currencies=others,
        current=current,
        previous=previous,
        cohorts=await _cohorts(conn, cur, span.current.end, tz),
        segments=await _segments(conn, cur, now, winback_days),
    )
