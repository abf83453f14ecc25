"""customer_money's last_us and second_at (migration 0020), currency_revenue (0021) and
customer_first_days (0023), money_totals (0027), and the buyers counted from them.

On random histories of writes (tests/test_money_fold.py's: orders inserted, moved in time and to
another customer, deleted; items inserted, moved and deleted, so some orders have none):
(a) currency_revenue is customer_revenue grouped by currency, customer_first_days customer_money
    grouped by the day of first_at (a day left without customers has no revenue either),
    money_totals customer_money summed (all and with two orders or more); every
    customer's last_us is their latest order in whole microseconds, second_at their earliest
    order strictly later than the first, and gap_us the median of the positive gaps between
    their orders in whole microseconds (a time at .999999 of a second included: SQLite's
    strftime('%s') rounds it up), as counted from the orders;
(b) for random windows in which every order has items, the buyers and repeat buyers counted by
    order (orders.prev_at and second_at) equal the reference's, by customer
    (tests/money_reference.py); where one has none, the report's figures still do (the section
    then counts by customer).
"""

from __future__ import annotations

import itertools
import sqlite3
import statistics
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.reports import money
from bot.reports.periods import Window
from storage import Database
from storage.migrations import load_migrations
from storage.timestamps import from_db, to_db
from tests import test_money_aggregates as aggregates
from tests.money_reference import old_figures
from tests.test_money_fold import NOW, apply, history, moment, reset, write

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def _us(text: str) -> int:
    return (from_db(text) - _EPOCH) // timedelta(microseconds=1)


async def expected_times(conn: Any) -> dict[int, tuple[int, str | None, float | None]]:
    """(last_us, second_at, gap_us) of every customer with orders, from the orders: the gap is
    the median of the positive gaps between their orders in whole microseconds."""
    times: dict[int, list[str]] = {}
    for r in await money._rows(conn, "SELECT customer_id, purchased_at FROM orders"):
        times.setdefault(r["customer_id"], []).append(r["purchased_at"])
    out = {}
    for customer, moments in times.items():
        later = [t for t in moments if t > min(moments)]
        us = sorted(_us(t) for t in moments)
        gaps = [b - a for a, b in itertools.pairwise(us) if b > a]
        out[customer] = (
            _us(max(moments)),
            min(later) if later else None,
            float(statistics.median(gaps)) if gaps else None,
        )
    return out


async def kept_times(conn: Any) -> dict[int, tuple[int, str | None, float | None]]:
    return {
        r["customer_id"]: (r["last_us"], r["second_at"], r["gap_us"])
        for r in await money._rows(
            conn, "SELECT customer_id, last_us, second_at, gap_us FROM customer_money"
        )
    }


async def currency_totals(conn: Any) -> tuple[dict, dict]:
    """currency_revenue as kept, and as grouped from customer_revenue."""
    kept = await money._rows(
        conn, "SELECT currency, revenue, customers FROM currency_revenue WHERE customers > 0"
    )
    grouped = await money._rows(
        conn,
        "SELECT currency, SUM(revenue) AS revenue, COUNT(*) AS customers FROM customer_revenue "
        "GROUP BY currency",
    )
    return (
        {r["currency"]: (r["revenue"], r["customers"]) for r in kept},
        {r["currency"]: (r["revenue"], r["customers"]) for r in grouped},
    )


async def first_days(conn: Any) -> tuple[dict, dict]:
    """customer_first_days as kept (rows with customers), and customer_money grouped by day."""
    kept = await money._rows(
        conn, "SELECT day, customers, revenue FROM customer_first_days WHERE customers != 0"
    )
    grouped = await money._rows(
        conn,
        "SELECT substr(first_at, 1, 10) AS day, COUNT(*) AS customers, TOTAL(revenue) AS revenue "
        "FROM customer_money GROUP BY 1",
    )
    return (
        {r["day"]: (r["customers"], r["revenue"]) for r in kept},
        {r["day"]: (r["customers"], r["revenue"]) for r in grouped},
    )


async def money_totals(conn: Any) -> tuple:
    [row] = await money._rows(
        conn, "SELECT customers, revenue, repeat, repeat_revenue FROM money_totals"
    )
    return tuple(row)


async def summed_money(conn: Any) -> tuple:
    [row] = await money._rows(
        conn,
        "SELECT COUNT(*), TOTAL(revenue), COUNT(*) FILTER (WHERE orders >= 2), "
        "TOTAL(revenue) FILTER (WHERE orders >= 2) FROM customer_money",
    )
    return tuple(row)


async def has_order_without_items(conn: Any, window: Window) -> bool:
    rows = await money._rows(
        conn,
        "SELECT 1 FROM orders o WHERE o.purchased_at >= ? AND o.purchased_at < ? "
        "AND NOT EXISTS (SELECT 1 FROM order_items oi WHERE oi.order_id = o.id)",
        (to_db(window.start), to_db(window.end)),
    )
    return bool(rows)


windows = st.lists(st.tuples(moment, moment), min_size=1, max_size=4)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=200)
@given(start=history, steps=st.lists(write, max_size=25), edges=windows)
# Two orders of one customer at one moment, then a later one: the second moment is the third
# order's, and the customer is a repeat buyer only of a window that holds it.
@example(
    start=[
        ("order", 1, NOW - timedelta(days=3)),
        ("item", -1, 100, "RUB", 1),
        ("order", 1, NOW - timedelta(days=3)),
        ("item", -1, 100, "RUB", 1),
        ("order", 1, NOW - timedelta(days=1)),
        ("item", -1, 100, "RUB", 1),
    ],
    steps=[],
    edges=[(NOW - timedelta(days=4), NOW - timedelta(days=2)), (NOW - timedelta(days=4), NOW)],
)
async def test_the_kept_times_and_the_buyers_by_order_equal_the_orders(
    db: Database, start: list[tuple], steps: list[tuple], edges: list[tuple[datetime, datetime]]
) -> None:
    await reset(db)
    for n, step in enumerate([*start, *steps]):
        async with db.write() as conn:
            await apply(conn, step, n)
    async with db.read() as conn:
        assert await kept_times(conn) == await expected_times(conn)
        kept, grouped = await currency_totals(conn)
        assert kept == grouped
        kept, grouped = await first_days(conn)
        assert kept == grouped
        assert await money_totals(conn) == await summed_money(conn)
        empty = await money._rows(
            conn, "SELECT revenue FROM customer_first_days WHERE customers = 0 AND revenue != 0"
        )
        assert not empty
        for a, b in edges:
            window = Window(min(a, b), max(a, b) + timedelta(microseconds=1))
            reference, _ = await old_figures(conn, "RUB", window, 0, 0)
            expected = (reference.buyers, reference.repeat_buyers)
            if not await has_order_without_items(conn, window):
                assert await money._buyers_by_order(conn, window, None) == expected, window
            figures, _ = await money._figures(conn, "RUB", window, 0, 0)
            assert (figures.buyers, figures.repeat_buyers) == expected, window


async def test_the_migration_fills_the_times_of_what_is_there(tmp_path: Path) -> None:
    """A database at 0019 with orders upgrades in place (migrations 0020 to 0023), and the
    triggers keep the times, the currency totals and the first days after."""
    path = tmp_path / "old.sqlite3"
    raw = sqlite3.connect(path)
    for migration in load_migrations():
        if migration.version < 20:
            raw.executescript(migration.sql)
    raw.execute("PRAGMA user_version = 19")
    raw.execute(
        "INSERT INTO customers (id, external_id, link_token, created_at) "
        "VALUES (1, 'C1', 't1', '2026-01-01T00:00:00.000000Z'), "
        "(2, 'C2', 't2', '2026-01-01T00:00:00.000000Z')"
    )
    for n, (customer, at) in enumerate(
        [
            (1, "2026-02-20T10:00:00.000001Z"),
            (1, "2026-02-20T10:00:00.000001Z"),
            (1, "2026-02-22T08:30:00.250000Z"),
            (2, "2026-02-21T00:00:00.000000Z"),
        ],
        start=1,
    ):
        raw.execute(
            "INSERT INTO orders (id, order_id, customer_id, purchased_at, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (n, f"O{n}", customer, at, at),
        )
        raw.execute(
            "INSERT INTO order_items (order_id, sku, name, quantity, price_cents, currency) "
            "VALUES (?, 'A', 'S', 1, 75, 'RUB')",
            (n,),
        )
    raw.commit()
    raw.close()
    db = Database(path)
    await db.open(process_lock=False)
    try:
        async with db.read() as conn:
            kept = await kept_times(conn)
            assert kept == await expected_times(conn)
            assert kept[1][1] == "2026-02-22T08:30:00.250000Z"
            assert kept[2][:2] == (1771632000000000, None)
            assert await currency_totals(conn) == ({"RUB": (300.0, 2)}, {"RUB": (300.0, 2)})
            days = {"2026-02-20": (1, 225.0), "2026-02-21": (1, 75.0)}
            assert await first_days(conn) == (days, days)
        async with db.write() as conn:
            await apply(conn, ("order", 2, NOW), 10)
            await apply(conn, ("delete_order", 2), 11)  # the third order
        async with db.read() as conn:
            kept = await kept_times(conn)
            assert kept == await expected_times(conn)
            kept_days, grouped = await first_days(conn)
            assert kept_days == grouped
            assert kept[1][1] is None
            assert kept[2][1] is not None
    finally:
        await db.close()


# --- cohorts at the edges of local months ----------------------------------------------------
_ZONES = [ZoneInfo("Europe/Moscow"), ZoneInfo("Asia/Kathmandu"), ZoneInfo("America/St_Johns")]


def _month_edges(tz: ZoneInfo) -> list[int]:
    """Minutes from aggregates.NOW to the last four local month starts in `tz`."""
    local = aggregates.NOW.astimezone(tz)
    year, month, edges = local.year, local.month, []
    for _ in range(4):
        start = datetime(year, month, 1, tzinfo=tz)
        edges.append(int((start - aggregates.NOW) / timedelta(minutes=1)))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return edges


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=100)
@given(data=st.data(), tz=st.sampled_from(_ZONES))
async def test_cohorts_at_the_edges_of_local_months(
    db: Database, data: st.DataObject, tz: ZoneInfo
) -> None:
    """First orders within a day of a local month's start — the partial UTC days the cohorts
    count off customer_money — fall in the month the raw grouping gives."""
    near_edge = st.builds(
        lambda edge, offset: edge + offset,
        st.sampled_from(_month_edges(tz)),
        st.integers(-26 * 60, 26 * 60),
    )
    orders = data.draw(
        st.lists(
            st.tuples(st.integers(1, aggregates.CUSTOMERS), near_edge,
                      st.lists(aggregates.item, min_size=1, max_size=2)),
            max_size=12,
        )
    )  # fmt: skip
    await aggregates.write(db, orders, None)
    async with db.read() as conn:
        main, others, _ = await money._currency(conn)
        cur = main or ""
        for end in (aggregates.NOW, aggregates.NOW - timedelta(days=30)):
            got = await money._cohorts(conn, cur, end, tz, one_currency=not others)
            assert got == await aggregates.raw_cohorts(conn, cur, end, tz), end
            assert await money._customers_before(conn, end) == sum(c.customers for c in got)


@pytest.mark.parametrize("winback_days", [30, 90])
async def test_segments_at_their_edges_to_the_microsecond(db: Database, winback_days: int) -> None:
    """Customers whose last purchase is exactly half the limit, or the limit, before now, and a
    microsecond either side; by the floor (one order) and by their own gap (two orders)."""
    floor = timedelta(days=winback_days)
    gap = 2 * floor / 3  # the second customer of each age: limit 4/3 of the floor
    edges = (floor / 2, floor, gap, 2 * gap, 2 * floor)
    ages = [a + d for a in edges for d in (-_US, timedelta(0), _US)]
    await reset(db)
    async with db.write() as conn:
        await conn.execute("DELETE FROM customers")
        n = 0
        for c, age in enumerate(ages, start=1):
            for customer, own in ((2 * c, None), (2 * c + 1, gap)):
                await conn.execute(
                    "INSERT INTO customers (id, external_id, link_token, created_at) "
                    "VALUES (?, ?, ?, ?)",
                    (customer, f"C{customer}", f"t{customer}", to_db(NOW)),
                )
                last = NOW - age
                for at in [last] if own is None else [last - own, last]:
                    await apply(conn, ("order", customer, at), n)
                    await apply(conn, ("item", -1, 100, "RUB", 1), n)
                    n += 1
    async with db.read() as conn:
        got = await money._segments(conn, "RUB", NOW, winback_days, one_currency=True)
        assert got == await aggregates.raw_segments(conn, "RUB", NOW, winback_days)
        assert {s.name: s.customers for s in got} != {s.name: 0 for s in got}
