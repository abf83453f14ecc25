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

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import aiosqlite

from bot.reports.buyers import BuyerCounts, window_buyers
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


async def _currency(conn: aiosqlite.Connection) -> tuple[str | None, tuple[str, ...], int]:
    """(the main currency, the others, revenue ever in the main one and in none given)."""
    rows = await _rows(
        conn,
        "SELECT currency, revenue AS total FROM currency_revenue WHERE customers > 0 "
        "ORDER BY total DESC, currency",
    )
    named = [r["currency"] for r in rows if r["currency"]]
    if not rows:
        return None, (), 0
    main = named[0] if named else None
    total = sum(r["total"] for r in rows if r["currency"] in (main or "", ""))
    return main, tuple(c for c in named if c != main), total


# Items without a currency count in the main one. customer_money and customer_revenue (migration
# 0013) are kept by triggers with every order: the figures over all orders read them.
_MAIN = "currency IN (:cur, '')"
_CUSTOMER_REVENUE = (
    "COALESCE((SELECT SUM(r.revenue) FROM customer_revenue r "
    f"WHERE r.customer_id = c.customer_id AND r.{_MAIN}), 0)"
)


def _customer_revenue(one_currency: bool) -> str:
    """A customer's revenue in the main currency (c: their customer_money row): with no other
    currency, every priced item counts, and it is on the row itself."""
    return "c.revenue" if one_currency else _CUSTOMER_REVENUE


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


async def _revenue_since(conn: aiosqlite.Connection, cur: str, start: datetime) -> dict[int, float]:
    """Revenue of orders purchased at or after `start`, by customer (an index range; named,
    as grouping by customer otherwise walks every order in orders_customer)."""
    rows = await _rows(
        conn,
        "SELECT o.customer_id, SUM(CASE WHEN oi.price_cents IS NOT NULL AND "
        "COALESCE(oi.currency, :cur) = :cur THEN oi.price_cents * oi.quantity END) AS revenue "
        "FROM orders o INDEXED BY orders_purchased JOIN order_items oi ON oi.order_id = o.id "
        "WHERE o.purchased_at >= :start GROUP BY o.customer_id",
        {"cur": cur, "start": to_db(start)},
    )
    return {r["customer_id"]: r["revenue"] or 0 for r in rows}


async def _revenue_total_since(conn: aiosqlite.Connection, cur: str, start: datetime) -> float:
    """Revenue of every order purchased at or after `start` (a range of orders_purchased)."""
    rows = await _rows(
        conn,
        f"SELECT TOTAL({_item_revenue(':cur')}) AS revenue "
        "FROM orders o JOIN order_items oi ON oi.order_id = o.id WHERE o.purchased_at >= :start",
        {"cur": cur, "start": to_db(start)},
    )
    return rows[0]["revenue"]


# The period figures are counted by SQLite, not read into Python. An order's revenue is rounded
# as Python's round() does (half to even): the figures sum the orders' rounded revenue. Times are
# the storage text, which sorts like time; a message's window end (or an order's window start) is
# the text moved by whole days, its fraction kept.
def _round(x: str) -> str:
    whole = f"CAST({x} AS INTEGER)"
    return (
        f"({whole} + CASE WHEN {x} - {whole} > 0.5 THEN 1 WHEN {x} - {whole} < 0.5 THEN 0 "
        f"ELSE {whole} % 2 END)"
    )


def _item_revenue(cur: str, item: str = "oi") -> str:
    """What an item adds to its order's revenue in the main currency `cur` (an SQL expression):
    an item without a currency counts in the main one, an unpriced item for nothing (NULL)."""
    return (
        f"CASE WHEN {item}.price_cents IS NOT NULL AND COALESCE({item}.currency, {cur}) = {cur} "
        f"THEN {item}.price_cents * {item}.quantity END"
    )


def _shift(t: str, days: int) -> str:
    return (
        f"(strftime('%Y-%m-%dT%H:%M:%S', substr({t}, 1, 19), '{days:+d} days') || substr({t}, 20))"
    )


# Whether an order (alias `o`: its id, customer_id and purchased_at) counts for a kind of message:
# one of that kind was sent to its customer within the window before it (a restock reminder
# about an item of the SKU the order holds). It depends on the order alone, whatever the period,
# so per-day sums of it add up (money_days, migration 0025).
def counts_for(kind: str, o: str = "o") -> str:
    sku = (
        f" AND EXISTS (SELECT 1 FROM order_items ai WHERE ai.order_id = {o}.id AND ai.sku = "
        "(SELECT mi.sku FROM order_items mi WHERE mi.id = x.ref_id))"
        if kind == "restock"
        else ""
    )
    return (
        f"EXISTS (SELECT 1 FROM outbox x INDEXED BY outbox_customer_sent "
        f"WHERE x.customer_id = {o}.customer_id "
        f"AND x.kind = '{kind}' AND x.status = 'sent' AND x.sent_at <= {o}.purchased_at "
        f"AND x.sent_at >= {_shift(f'{o}.purchased_at', -WINDOWS[kind].days)}{sku})"
    )


# The figures' names of the attributed revenue (money_days' columns) and their messages' kinds.
ATTRIBUTED_KINDS = (("restock", "restock"), ("review", "review_request"), ("winback", "winback"))
# The attributed revenue of orders `o` with their revenue `exact` in the main currency: the sum
# of the rounded revenue of those that count, by kind.
ATTRIBUTED_SUMS = ", ".join(
    f"TOTAL(CASE WHEN exact IS NOT NULL AND {counts_for(kind)} THEN {_round('exact')} END) "
    f"AS {name}"
    for name, kind in ATTRIBUTED_KINDS
)

# A period's orders, priced orders, revenue and attributed revenue: its whole UTC days that are
# folded (money_days, migrations 0015 and 0025) read from there, the rest — the two partial days
# at its edges and any day written since the last fold — counted from the orders of those ranges
# (each an index range of orders_purchased). A day's row is the one of the main currency if the
# day has one, else the row '' (only the items without a currency count: the main one is not
# named that day).
_RAW = f"""
    WITH w(lo, hi, mark) AS (VALUES {{ranges}}), o AS MATERIALIZED (
        SELECT o.id, o.customer_id, o.purchased_at, SUM({_item_revenue(":cur")}) AS exact
        FROM w JOIN orders o ON o.purchased_at >= w.lo AND o.purchased_at < w.hi
        JOIN order_items oi ON oi.order_id = o.id
        GROUP BY o.id
    )
    SELECT COUNT(*) AS orders, COUNT(exact) AS priced, TOTAL({_round("exact")}) AS revenue,
           TOTAL(exact) AS exact, {ATTRIBUTED_SUMS}
    FROM o
"""
_DAYS = """
    SELECT TOTAL(orders) AS orders, TOTAL(priced) AS priced, TOTAL(revenue) AS revenue,
           TOTAL(exact) AS exact, TOTAL(restock) AS restock, TOTAL(review) AS review,
           TOTAL(winback) AS winback
    FROM money_days m
    WHERE m.day >= :first_day AND m.day < :end_day
      AND NOT EXISTS (SELECT 1 FROM money_dirty d WHERE d.day = m.day)
      AND (m.cur = :cur OR m.cur = '' AND NOT EXISTS (
          SELECT 1 FROM money_days x WHERE x.day = m.day AND x.cur = :cur))
"""
_DIRTY = "SELECT day FROM money_dirty WHERE day >= :first_day AND day < :end_day"
# Folded days with orders that have no items (they are no purchase, and only there the buyers
# need a look at each order's items).
_BARE = """
    SELECT day FROM money_days
    WHERE day >= :first_day AND day < :end_day AND cur = '' AND bare > 0
"""

# Buyers: the customers of the period's orders with items, each with their latest purchase in it;
# a repeat buyer had ordered before that (customer_money.first_at, every order).
#
# When every order of the period has items (the usual case: an order without any is no purchase
# and rare), they are counted from each order's previous one (orders.prev_at, migration 0018) and
# each customer's second moment (customer_money.second_at, migration 0020), over two index ranges
# (the first is bot.reports.buyers', which the customer section reads too):
#   buyers        = orders of [lo, hi) whose previous order is before lo, or none
#                   (each customer's first order in the period, once);
#   repeat buyers = those of them with a previous order (first_at < lo ≤ latest)
#                   + customers whose first order is in [lo, hi) and who bought again, later
#                   than that moment, before hi (second_at < hi).
# The orders without items are known on the folded days (money_days.bare); on the others (the
# edges, the dirty days) they are looked for. If there is one, the buyers are those of the orders
# with items, by customer.
_NO_ITEMS = """
    WITH w(lo, hi, mark) AS (VALUES {ranges})
    SELECT EXISTS (
        SELECT 1 FROM w JOIN orders o ON o.purchased_at >= w.lo AND o.purchased_at < w.hi
        WHERE NOT EXISTS (SELECT 1 FROM order_items oi WHERE oi.order_id = o.id)
    ) AS found
"""
# The second range: customers whose first purchase is in the window and a second one before its
# end.
_BOUGHT_AGAIN = """
    SELECT COUNT(*) AS again FROM customer_money c
    WHERE c.first_at >= :lo AND c.first_at < :hi AND c.second_at < :hi
"""
# Buyers and repeat buyers by customer, looking up an order's items (order_items_order) only
# where an order may have none: the edges, the dirty days and the folded days with such orders
# (a temporary B-tree of the period's buyers: 80 ms a year-long period at 200,000 orders,
# against about 20 by order).
_BUYERS = """
    WITH w(lo, hi, probe) AS (VALUES {ranges}), b AS MATERIALIZED (
        SELECT o.customer_id AS c, MAX(o.purchased_at) AS latest
        FROM w JOIN orders o ON o.purchased_at >= w.lo AND o.purchased_at < w.hi
        WHERE NOT w.probe OR EXISTS (SELECT 1 FROM order_items oi WHERE oi.order_id = o.id)
        GROUP BY o.customer_id
    )
    SELECT COUNT(*) AS buyers, TOTAL(m.first_at < b.latest) AS repeat_buyers
    FROM b LEFT JOIN customer_money m ON m.customer_id = b.c
"""

_WINBACK = f"""
    SELECT COUNT(*) AS sent, TOTAL(EXISTS (
        SELECT 1 FROM orders a WHERE a.customer_id = x.customer_id
            AND a.purchased_at >= x.sent_at AND a.purchased_at <= {_shift("x.sent_at", 30)}
            AND EXISTS (SELECT 1 FROM order_items ai WHERE ai.order_id = a.id))) AS converted
    FROM outbox x
    WHERE x.kind = 'winback' AND x.status = 'sent' AND x.sent_at >= :start AND x.sent_at < :end
"""

_DAY = timedelta(days=1)


def _whole_days(window: Window) -> tuple[datetime, datetime]:
    """The UTC midnights that bound the whole days of `window` (equal when there are none)."""
    start, end = window.start.astimezone(UTC), window.end.astimezone(UTC)
    first = datetime(start.year, start.month, start.day, tzinfo=UTC)
    if first < start:
        first += _DAY
    last = datetime(end.year, end.month, end.day, tzinfo=UTC)
    return (first, last) if first < last else (end, end)


def _split(
    window: Window, first: datetime, last: datetime, marked: set[str]
) -> list[tuple[datetime, datetime, bool]]:
    """`window` cut into ascending ranges, each marked when it is one of the edges outside the
    whole days [first, last) or one of the `marked` days ('YYYY-MM-DD') among them; adjacent
    ranges alike are joined."""
    parts = [(window.start, first, True)]
    at = first
    for day in sorted(marked):
        lo = datetime.fromisoformat(day).replace(tzinfo=UTC)
        if not first <= lo < last:
            continue
        parts += [(at, lo, False), (lo, lo + _DAY, True)]
        at = lo + _DAY
    parts += [(at, last, False), (last, window.end, True)]
    merged: list[tuple[datetime, datetime, bool]] = []
    for lo, hi, mark in parts:
        if lo >= hi:
            continue
        if merged and merged[-1][1] == lo and merged[-1][2] == mark:
            merged[-1] = (merged[-1][0], hi, mark)
        else:
            merged.append((lo, hi, mark))
    return merged


def _values(ranges: list[tuple[datetime, datetime, bool]], params: dict[str, object]) -> str:
    """The VALUES rows (lo, hi, mark) of `ranges`, their times put into `params`."""
    for n, (lo, hi, _) in enumerate(ranges):
        params.update({f"lo{n}": to_db(lo), f"hi{n}": to_db(hi)})
    return ", ".join(f"(:lo{n}, :hi{n}, {int(mark)})" for n, (*_, mark) in enumerate(ranges))


async def _period_counts(
    conn: aiosqlite.Connection, cur: str, window: Window, known: tuple[int, int] | None
) -> tuple[dict[str, int], float]:
    """Orders, priced orders, revenue, attributed revenue (restock, review, winback), buyers
    and repeat buyers of `window`, and its revenue unrounded."""
    first, last = _whole_days(window)
    days = {"cur": cur, "first_day": first.date().isoformat(), "end_day": last.date().isoformat()}
    dirty = {r["day"] for r in await _rows(conn, _DIRTY, days)}
    bare = {r["day"] for r in await _rows(conn, _BARE, days)} if first < last else set()
    raw_ranges = [r for r in _split(window, first, last, dirty) if r[2]]
    counts = dict.fromkeys(("orders", "priced", "revenue", "restock", "review", "winback"), 0)
    exact = 0.0
    parts = []
    if raw_ranges:
        params: dict[str, object] = {"cur": cur}
        parts.append(await _rows(conn, _RAW.format(ranges=_values(raw_ranges, params)), params))
    if first < last:
        parts.append(await _rows(conn, _DAYS, days))
    for (row,) in parts:
        for name in counts:
            counts[name] += int(row[name])
        exact += row["exact"]
    buyers = await _buyers(conn, window, first, last, dirty, bare, known)
    counts["buyers"], counts["repeat_buyers"] = buyers
    return counts, exact


async def _buyers_by_order(
    conn: aiosqlite.Connection, window: Window, known: tuple[int, int] | None
) -> tuple[int, int]:
    """Buyers and repeat buyers of `window` when each of its orders has items; `known`: its
    (buyers, who had bought before it) when already read (bot.reports.buyers)."""
    params = {"lo": to_db(window.start), "hi": to_db(window.end)}
    buyers, had_before = known if known is not None else await window_buyers(conn, window)
    return buyers, had_before + (await _rows(conn, _BOUGHT_AGAIN, params))[0]["again"]


async def _buyers(
    conn: aiosqlite.Connection,
    window: Window,
    first: datetime,
    last: datetime,
    dirty: set[str],
    bare: set[str],
    known: tuple[int, int] | None,
) -> tuple[int, int]:
    """Buyers and repeat buyers of `window` ([first, last): its whole UTC days; `dirty` and
    `bare`: its days not folded and its folded days with orders without items; `known`: see
    `_buyers_by_order`, counted over every order, so of use only when each has items)."""
    if not bare:
        looked = [r for r in _split(window, first, last, dirty) if r[2]]
        found = False
        if looked:
            edges: dict[str, object] = {}
            sql = _NO_ITEMS.format(ranges=_values(looked, edges))
            found = (await _rows(conn, sql, edges))[0]["found"]
        if not found:
            return await _buyers_by_order(conn, window, known)
    params: dict[str, object] = {}
    ranges = _values(_split(window, first, last, dirty | bare), params)
    row = (await _rows(conn, _BUYERS.format(ranges=ranges), params))[0]
    return row["buyers"], int(row["repeat_buyers"])


async def _figures(
    conn: aiosqlite.Connection,
    cur: str,
    window: Window,
    total: float,
    later: float,
    known: tuple[int, int] | None = None,
) -> tuple[MoneyFigures, float]:
    """The figures of `window`, and its orders' revenue unrounded; `total`: the revenue ever,
    `later`: that of the orders from `window.end` on (for the LTV up to `window.end`); `known`:
    see `_buyers_by_order`."""
    params = {"start": to_db(window.start), "end": to_db(window.end)}
    counts, exact = await _period_counts(conn, cur, window, known)
    wb = (await _rows(conn, _WINBACK, params))[0]
    customers = await _customers_before(conn, window.end)
    ltv_revenue = total - later
    figures = MoneyFigures(
        revenue=counts["revenue"],
        orders=counts["orders"],
        priced_orders=counts["priced"],
        buyers=counts["buyers"],
        repeat_buyers=counts["repeat_buyers"],
        restock_revenue=counts["restock"],
        review_revenue=counts["review"],
        winback_revenue=counts["winback"],
        winback_sent=wb["sent"],
        winback_converted=int(wb["converted"]),
        ltv=round(ltv_revenue / customers) if customers else None,
        customers=customers,
    )
    return figures, exact


def _month_starts(first: datetime, end: datetime, tz: ZoneInfo) -> list[tuple[str, datetime]]:
    """The local months from the one of `first` to the one of `end`: (YYYY-MM, its start)."""
    local = first.astimezone(tz)
    year, month = local.year, local.month
    out = []
    while True:
        start = datetime(year, month, 1, tzinfo=tz)
        if start >= end:
            break
        out.append((f"{year:04d}-{month:02d}", start))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


async def _cohorts(
    conn: aiosqlite.Connection, cur: str, end: datetime, tz: ZoneInfo, one_currency: bool = False
) -> list[Cohort]:
    """Customers by the local month of their first order before `end`, with their revenue up
    to `end`, less the orders since `end`. With one currency: a month's whole UTC days from
    customer_first_days (migration 0023) and its partial edge days off customer_money_first;
    with several: one index range of customer_money a month, each customer's revenue in the
    main currency looked up."""
    first = (
        await _rows(
            conn,
            "SELECT MIN(first_at) AS first FROM customer_money WHERE first_at < ?",
            (to_db(end),),
        )
    )[0]["first"]
    if first is None:
        return []
    months = _month_starts(from_db(first), end, tz)
    stops = [start for _, start in months[1:]] + [end]
    spans = [(label, start, stop) for (label, start), stop in zip(months, stops, strict=True)]
    found: dict[str, list[float]] = {}
    for label, customers, revenue in await _month_rows(conn, cur, spans, one_currency):
        counts = found.setdefault(label, [0, 0.0])
        counts[0] += customers
        counts[1] += revenue or 0
    found = {label: counts for label, counts in found.items() if counts[0] > 0}
    late = await _revenue_since(conn, cur, end)
    if late:
        ids = list(late)
        for chunk in range(0, len(ids), 900):
            part = ids[chunk : chunk + 900]
            for r in await _rows(
                conn,
                "SELECT customer_id, first_at FROM customer_money WHERE first_at < ? AND "
                f"customer_id IN ({','.join('?' * len(part))})",
                [to_db(end), *part],
            ):
                label = from_db(r["first_at"]).astimezone(tz).strftime("%Y-%m")
                found[label][1] -= late[r["customer_id"]]
    return [Cohort(m, int(n), round(rev)) for m, (n, rev) in sorted(found.items())]


async def _month_rows(
    conn: aiosqlite.Connection,
    cur: str,
    months: list[tuple[str, datetime, datetime]],
    one_currency: bool,
) -> list[tuple[str, int, float]]:
    """(label, customers, revenue) parts of each month [start, stop): summed by the caller."""
    params: dict[str, object] = {"cur": cur}
    raw, days = [], []
    for n, (label, start, stop) in enumerate(months):
        params[f"m{n}"] = label
        if not one_currency:
            raw.append((n, start, stop))
            continue
        first, last = _whole_days(Window(start, stop))
        raw += [(n, start, first), (n, last, stop)] if first < last else [(n, start, stop)]
        if first < last:
            days.append(f"(:m{n}, '{first.date().isoformat()}', '{last.date().isoformat()}')")
    ranges = []
    for k, (n, lo, hi) in enumerate(part for part in raw if part[1] < part[2]):
        params.update({f"lo{k}": to_db(lo), f"hi{k}": to_db(hi)})
        ranges.append(f"(:m{n}, :lo{k}, :hi{k})")
    rows = []
    if ranges:
        rows += await _rows(
            conn,
            f"""
            WITH m(label, lo, hi) AS (VALUES {", ".join(ranges)})
            SELECT m.label, COUNT(*) AS customers,
                   SUM({_customer_revenue(one_currency)}) AS revenue
            FROM m JOIN customer_money c ON c.first_at >= m.lo AND c.first_at < m.hi
            GROUP BY m.label
            """,
            params,
        )
    if days:
        rows += await _rows(
            conn,
            f"""
            WITH m(label, lo, hi) AS (VALUES {", ".join(days)})
            SELECT m.label, SUM(f.customers) AS customers, SUM(f.revenue) AS revenue
            FROM m JOIN customer_first_days f ON f.day >= m.lo AND f.day < m.hi
            GROUP BY m.label
            """,
            params,
        )
    return [(r["label"], r["customers"], r["revenue"]) for r in rows]


async def _customers_before(conn: aiosqlite.Connection, end: datetime) -> int:
    """Customers whose first order is before `end`: the whole UTC days before it from
    customer_first_days, the rest of its day off customer_money_first."""
    midnight = end.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    row = (
        await _rows(
            conn,
            "SELECT (SELECT TOTAL(customers) FROM customer_first_days WHERE day < :day) + "
            "(SELECT COUNT(*) FROM customer_money WHERE first_at >= :midnight AND first_at < :end)"
            " AS n",
            {"day": midnight.date().isoformat(), "midnight": to_db(midnight), "end": to_db(end)},
        )
    )[0]
    return int(row["n"])


# The customers of orders before now, with their revenue in the main currency, and those of
# them with two orders or more: counted customer by customer.
_EVERY_BY_CUSTOMER_SQL = f"""
    SELECT COUNT(*) AS n, TOTAL(revenue) AS revenue,
           COUNT(*) FILTER (WHERE orders >= 2) AS repeat,
           TOTAL(revenue) FILTER (WHERE orders >= 2) AS repeat_revenue
    FROM (SELECT c.orders, {_CUSTOMER_REVENUE} AS revenue FROM customer_money c
          WHERE c.last_at < :now)
"""


# The same in one currency: the totals of every customer (migration 0027) less the few whose
# latest order is dated after now (off orders' purchased_at index).
_EVERY_ONE_CURRENCY_SQL = """
    SELECT t.customers - f.n AS n, t.revenue - f.revenue AS revenue,
           t.repeat - f.repeat AS repeat, t.repeat_revenue - f.repeat_revenue AS repeat_revenue
    FROM money_totals t, (
        SELECT COUNT(*) AS n, TOTAL(c.revenue) AS revenue,
               COUNT(*) FILTER (WHERE c.orders >= 2) AS repeat,
               TOTAL(c.revenue) FILTER (WHERE c.orders >= 2) AS repeat_revenue
        FROM customer_money c
        WHERE c.customer_id IN (SELECT customer_id FROM orders WHERE purchased_at >= :now)
    ) f
"""


async def _segments(
    conn: aiosqlite.Connection,
    cur: str,
    now: datetime,
    winback_days: int | None,
    one_currency: bool = False,
) -> list[Segment]:
    """Customers by segment as of now, with their revenue, counted in SQL over customer_money
    by the rules of bot/winback/rules.py in whole microseconds (last_us: migration 0020); a
    customer with an order dated after now is worked out from their orders before now, as the
    rules read them.

    With age = now − last purchase and lim = max(floor, 2 × usual gap), lapsed is age > lim
    and at risk 2 × age > lim; each splits into two plain comparisons (age > floor and
    age > 2 × gap; age > floor / 2 and age > gap, floor being whole days). So only the customers
    at risk or lapsed are classified one by one, and repeat and new are the totals less them.
    """
    days = winback_days or winback.DEFAULT_DAYS
    now_us = (now - _EPOCH) // _MICROSECOND
    floor_us = timedelta(days=days) // _MICROSECOND
    params = {
        "cur": cur,
        "now": to_db(now),
        "now_us": now_us,
        "lapsed_before": now_us - floor_us,
        "risk_before": now_us - floor_us // 2,
    }
    revenue = _customer_revenue(one_currency)
    risk = (
        await _rows(
            conn,
            f"""
            SELECT COUNT(*) FILTER (WHERE lapsed) AS lapsed,
                   TOTAL(revenue) FILTER (WHERE lapsed) AS lapsed_revenue,
                   COUNT(*) AS risk, TOTAL(revenue) AS risk_revenue,
                   COUNT(*) FILTER (WHERE orders >= 2) AS repeat,
                   TOTAL(revenue) FILTER (WHERE orders >= 2) AS repeat_revenue
            FROM (SELECT c.last_us < :lapsed_before
                         AND (c.gap_us IS NULL OR c.last_us + 2 * c.gap_us < :now_us) AS lapsed,
                         c.orders, {revenue} AS revenue
                  FROM customer_money c
                  WHERE c.last_us < :risk_before
                    AND (c.gap_us IS NULL OR c.last_us + c.gap_us < :now_us))
            """,
            params,
        )
    )[0]
    every_sql = _EVERY_ONE_CURRENCY_SQL if one_currency else _EVERY_BY_CUSTOMER_SQL
    every = (await _rows(conn, every_sql, params))[0]
    found = {
        "lapsed": [risk["lapsed"], risk["lapsed_revenue"]],
        "at_risk": [risk["risk"] - risk["lapsed"], risk["risk_revenue"] - risk["lapsed_revenue"]],
        "repeat": [
            every["repeat"] - risk["repeat"],
            every["repeat_revenue"] - risk["repeat_revenue"],
        ],
        "new": [
            every["n"] - every["repeat"] - (risk["risk"] - risk["repeat"]),
            every["revenue"]
            - every["repeat_revenue"]
            - (risk["risk_revenue"] - risk["repeat_revenue"]),
        ],
    }
    counts = {name: found[name] for name in winback.SEGMENTS}
    later = await _rows(
        conn,
        """
        SELECT o.customer_id, o.purchased_at,
               SUM(CASE WHEN oi.price_cents IS NOT NULL AND COALESCE(oi.currency, :cur) = :cur
                        THEN oi.price_cents * oi.quantity END) AS revenue
        FROM orders o JOIN order_items oi ON oi.order_id = o.id
        WHERE o.purchased_at < :now AND o.customer_id IN
              (SELECT customer_id FROM orders WHERE purchased_at >= :now)
        GROUP BY o.id
        """,
        params,
    )
    per: dict[int, tuple[list[datetime], list[float]]] = defaultdict(lambda: ([], []))
    for r in later:
        times, money = per[r["customer_id"]]
        times.append(from_db(r["purchased_at"]))
        money.append(r["revenue"] or 0)
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
    bought: BuyerCounts | None = None,
) -> MoneyReport:
    """`bought`: the periods' buyers when the caller has read them already (bot.reports.buyers)."""
    span = periods(now, days)
    currency, others, total = await _currency(conn)
    cur = currency or ""
    later = await _revenue_total_since(conn, cur, span.current.end)
    known = (
        ((bought.current, bought.current_had_before), (bought.previous, bought.previous_had_before))
        if bought is not None
        else (None, None)
    )
    current, exact = await _figures(conn, cur, span.current, total, later, known[0])
    previous, _ = await _figures(conn, cur, span.previous, total, later + exact, known[1])
    return MoneyReport(
        periods=span,
        currency=currency,
        other_currencies=others,
        current=current,
        previous=previous,
        cohorts=await _cohorts(conn, cur, span.current.end, tz, not others),
        segments=await _segments(conn, cur, now, winback_days, not others),
    )
