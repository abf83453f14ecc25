"""The money section's per-day totals (money_days, migrations 0015 and 0025) are folded lazily
from the days written since (money_dirty). On random histories of writes — orders inserted, moved
in time (across midnight or not) and to another customer, deleted; items inserted priced and
unpriced, in several currencies, none or the empty text, repriced, their currency, quantity and
SKU changed, moved to another order, deleted; messages an order may count for (restock reminders,
review requests, win-backs, and others) sent or not, moved in time and to another customer,
deleted — with folds at random moments in between:
(a) after a fold, every day not marked dirty has exactly the rows the reference query over that
    day's range gives (attributed revenue included) for each currency its priced items name,
    and its row '' what it gives for the main currency '' and for any currency the day does not
    name;
(b) the period figures of random windows (edges mid-day, covering dirty and folded days, main
    currencies present or absent on a day) equal those of the reference query over the orders
    (tests/money_reference.py), before and after a fold.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.reports import money
from bot.reports.buyers import buyer_counts
from bot.reports.money_days import fold_money_days
from bot.reports.periods import Window, periods
from storage import Database
from storage.migrations import load_migrations
from storage.timestamps import to_db
from tests.money_reference import old_figures, old_money_figures

NOW = datetime(2026, 3, 1, 0, 30, 0, 250_000, tzinfo=UTC)
CUSTOMERS = 3
DAY = timedelta(days=1)

# Moments on a few days, right at midnight and a microsecond either side, and anywhere in the
# three weeks before NOW and the two days after: the orders change days and the windows cut days.
_MIDNIGHTS = [NOW.replace(hour=0, minute=0, second=0, microsecond=0) - d * DAY for d in
              (0, 1, 2, 3, 7, 8, 14)]  # fmt: skip
moment = st.one_of(
    st.tuples(st.sampled_from(_MIDNIGHTS), st.sampled_from([-1, 0, 1])).map(
        lambda m: m[0] + timedelta(microseconds=m[1])
    ),
    st.integers(-20 * 86_400_000_000, 2 * 86_400_000_000).map(
        lambda us: NOW + timedelta(microseconds=us)
    ),
)
price = st.one_of(st.none(), st.integers(0, 5_000))
currency = st.sampled_from(["RUB", "RUB", "USD", None, None, ""])
quantity = st.sampled_from([1, 2, 0.5, 1.5, 2.5])
pick = st.integers(0, 1_000)  # an existing order or item, modulo how many there are
kind = st.sampled_from(["restock", "restock", "review_request", "winback", "survey_invite"])
status = st.sampled_from(["sent", "sent", "pending", "failed"])
sku = st.sampled_from(["A", "B"])
write = st.one_of(
    st.tuples(st.just("order"), st.integers(1, CUSTOMERS), moment),
    st.tuples(st.just("item"), pick, price, currency, quantity),
    st.tuples(st.just("price"), pick, price, currency),
    st.tuples(st.just("quantity"), pick, quantity),
    st.tuples(st.just("move_item"), pick, pick),
    st.tuples(st.just("delete_item"), pick),
    st.tuples(st.just("move_order"), pick, moment),
    st.tuples(st.just("order_customer"), pick, st.integers(1, CUSTOMERS)),
    st.tuples(st.just("delete_order"), pick),
    # A fold as the report runs one: at some moment, for at most some days.
    st.tuples(st.just("fold"), moment, st.sampled_from([None, 1, 3])),
    # Messages an order may count for (migration 0025): sent or not, moved, deleted; an item's
    # SKU changed (a restock reminder counts for an order holding the reminded item's SKU).
    st.tuples(st.just("message"), kind, st.integers(1, CUSTOMERS), moment, pick, status),
    st.tuples(st.just("message_status"), pick, status),
    st.tuples(st.just("message_move"), pick, moment, st.integers(1, CUSTOMERS)),
    st.tuples(st.just("delete_message"), pick),
    st.tuples(st.just("sku"), pick, sku),
)


async def _ids(conn: Any, table: str) -> list[int]:
    return [r["id"] for r in await money._rows(conn, f"SELECT id FROM {table} ORDER BY id")]


async def apply(conn: Any, step: tuple, n: int) -> None:
    kind, *args = step
    orders, items = await _ids(conn, "orders"), await _ids(conn, "order_items")
    if kind == "order":
        customer, at = args
        await conn.execute(
            "INSERT INTO orders (order_id, customer_id, purchased_at, created_at) "
            "VALUES (?, ?, ?, ?)",
            (f"O{n}", customer, to_db(at), to_db(at)),
        )
    elif kind == "item" and orders:
        order, cents, cur, qty = args
        await conn.execute(
            "INSERT INTO order_items (order_id, sku, name, quantity, price_cents, currency) "
            "VALUES (?, ?, 'S', ?, ?, ?)",
            (orders[order % len(orders)], "AB"[n % 2], qty, cents, cur),
        )
    elif kind == "price" and items:
        item, cents, cur = args
        await conn.execute(
            "UPDATE order_items SET price_cents = ?, currency = ? WHERE id = ?",
            (cents, cur, items[item % len(items)]),
        )
    elif kind == "quantity" and items:
        item, qty = args
        await conn.execute(
            "UPDATE order_items SET quantity = ? WHERE id = ?", (qty, items[item % len(items)])
        )
    elif kind == "move_item" and items:
        item, order = args
        await conn.execute(
            "UPDATE order_items SET order_id = ? WHERE id = ?",
            (orders[order % len(orders)], items[item % len(items)]),
        )
    elif kind == "delete_item" and items:
        await conn.execute("DELETE FROM order_items WHERE id = ?", (items[args[0] % len(items)],))
    elif kind == "move_order" and orders:
        order, at = args
        await conn.execute(
            "UPDATE orders SET purchased_at = ? WHERE id = ?",
            (to_db(at), orders[order % len(orders)]),
        )
    elif kind == "order_customer" and orders:
        order, customer = args
        await conn.execute(
            "UPDATE orders SET customer_id = ? WHERE id = ?",
            (customer, orders[order % len(orders)]),
        )
    elif kind == "delete_order" and orders:
        order = orders[args[0] % len(orders)]
        await conn.execute("DELETE FROM order_items WHERE order_id = ?", (order,))
        await conn.execute("DELETE FROM orders WHERE id = ?", (order,))
    elif kind == "fold":
        at, max_days = args
        await fold_money_days(conn, at, max_days)
    elif kind == "message":
        what, customer, at, item, state = args
        ref = items[item % len(items)] if items else None
        await conn.execute(
            "INSERT INTO outbox (kind, customer_id, ref_id, due_at, status, sent_at, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (what, customer, ref, to_db(at), state, to_db(at) if state == "sent" else None,
             to_db(at)),
        )  # fmt: skip
    elif kind in ("message_status", "message_move", "delete_message"):
        messages = await _ids(conn, "outbox")
        if not messages:
            return
        message = messages[args[0] % len(messages)]
        if kind == "message_status":
            await conn.execute(
                "UPDATE outbox SET status = ?, sent_at = COALESCE(sent_at, due_at) WHERE id = ?",
                (args[1], message),
            )
        elif kind == "message_move":
            await conn.execute(
                "UPDATE outbox SET sent_at = ?, customer_id = ? WHERE id = ?",
                (to_db(args[1]), args[2], message),
            )
        else:
            await conn.execute("DELETE FROM outbox WHERE id = ?", (message,))
    elif kind == "sku" and items:
        await conn.execute(
            "UPDATE order_items SET sku = ? WHERE id = ?", (args[1], items[args[0] % len(items)])
        )


# --- (a) a clean day's rows against the reference over its range -----------------------------
def _midnight(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


async def _day_figures(conn: Any, day: str, cur: str) -> tuple:
    figures, exact = await old_figures(
        conn, cur, Window(_midnight(day), _midnight(day) + DAY), 0, 0
    )
    return (
        figures.orders,
        figures.priced_orders,
        figures.revenue,
        exact,
        figures.restock_revenue,
        figures.review_revenue,
        figures.winback_revenue,
    )


async def expected_rows(conn: Any, day: str) -> dict[str, tuple]:
    """The rows the day should have: the reference for '' and each named currency, and the
    orders without items."""
    named = {
        r["currency"]
        for r in await money._rows(
            conn,
            "SELECT oi.currency FROM orders o JOIN order_items oi ON oi.order_id = o.id "
            "WHERE substr(o.purchased_at, 1, 10) = ? AND oi.price_cents IS NOT NULL "
            "AND oi.currency IS NOT NULL",
            (day,),
        )
    }
    bare = (
        await money._rows(
            conn,
            "SELECT COUNT(*) AS n FROM orders o WHERE substr(o.purchased_at, 1, 10) = ? "
            "AND NOT EXISTS (SELECT 1 FROM order_items WHERE order_id = o.id)",
            (day,),
        )
    )[0]["n"]
    return {cur: (*await _day_figures(conn, day, cur), bare) for cur in {"", *named}}


async def check_clean_days(conn: Any) -> None:
    dirty = {r["day"] for r in await money._rows(conn, "SELECT day FROM money_dirty")}
    kept: dict[str, dict[str, tuple]] = defaultdict(dict)
    for r in await money._rows(conn, "SELECT * FROM money_days"):
        kept[r["day"]][r["cur"]] = (
            r["orders"], r["priced"], r["revenue"], r["exact"],
            r["restock"], r["review"], r["winback"], r["bare"],
        )  # fmt: skip
    with_orders = {
        r["day"]
        for r in await money._rows(conn, "SELECT substr(purchased_at, 1, 10) AS day FROM orders")
    }
    for day in sorted((with_orders | set(kept)) - dirty):
        rows = kept.get(day, {})
        assert rows == (await expected_rows(conn, day) if day in with_orders else {}), day
        if not rows:
            continue
        # The row '' is what any currency the day does not name gives.
        for absent in {"EUR", "RUB", "USD"} - set(rows):
            assert (*await _day_figures(conn, day, absent), rows[""][7]) == rows[""], (day, absent)
        # A day whose priced items name the empty text stays dirty.
        odd = await money._rows(
            conn,
            "SELECT 1 FROM orders o JOIN order_items oi ON oi.order_id = o.id "
            "WHERE substr(o.purchased_at, 1, 10) = ? AND oi.price_cents IS NOT NULL "
            "AND oi.currency = ''",
            (day,),
        )
        assert not odd, day


# --- (b) the figures against the reference -----------------------------------------------------
async def check_figures(conn: Any, now: datetime, days: int) -> None:
    report = await money.money_report(conn, now, days, tz=ZoneInfo("UTC"), winback_days=None)
    currency, _, total = await money._currency(conn)
    cur = currency or ""
    later = sum((await money._revenue_since(conn, cur, now)).values())
    assert later == await money._revenue_total_since(conn, cur, now)
    assert (report.current, report.previous) == await old_money_figures(
        conn, cur, now, days, total, later
    )
    # The report hands this section the buyers it read for the customer section: the same.
    bought = await buyer_counts(conn, periods(now, days))
    shared = await money.money_report(
        conn, now, days, tz=ZoneInfo("UTC"), winback_days=None, bought=bought
    )
    assert shared == report
    # Whatever the main currency: one named every day, some days, never, or none.
    span = periods(now, days)
    for other in {"RUB", "USD", "EUR", ""}:
        for window in (span.current, span.previous):
            assert await money._figures(conn, other, window, 0, 0) == await old_figures(
                conn, other, window, 0, 0
            ), (other, window)


async def reset(db: Database) -> None:
    async with db.write() as conn:
        for table in ("outbox", "order_items", "orders", "customer_revenue", "customer_money",
                      "customers", "money_days", "money_dirty"):  # fmt: skip
            await conn.execute(f"DELETE FROM {table}")
        for c in range(1, CUSTOMERS + 1):
            await conn.execute(
                "INSERT INTO customers (id, external_id, link_token, created_at) "
                "VALUES (?, ?, ?, ?)",
                (c, f"C{c}", f"t{c}", to_db(NOW)),
            )


# A history to start from (orders with items, so that most writes find something to change; and
# often a message to the customer up to 16 days before the order, so that it may count for it),
# then the writes and folds.
before = st.one_of(st.none(), st.tuples(kind, st.integers(0, 16 * 86_400), status))
history = st.lists(
    st.tuples(
        st.integers(1, CUSTOMERS),
        moment,
        st.lists(st.tuples(price, currency, quantity), max_size=3),
        before,
    ),
    min_size=1,
    max_size=10,
).map(
    lambda orders: [
        step
        for customer, at, items, message in orders
        for step in [("order", customer, at)]
        + [("item", -1, cents, cur, qty) for cents, cur, qty in items]
        + (
            []
            if message is None
            else [
                (
                    "message",
                    message[0],
                    customer,
                    at - timedelta(seconds=message[1]),
                    -1,
                    message[2],
                )
            ]
        )
    ]
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=200)
@given(
    start=history,
    steps=st.lists(write, max_size=25),
    shift_us=st.one_of(st.just(0), st.integers(-86_400_000_000, 86_400_000_000)),
    days=st.sampled_from([1, 2, 3, 7]),
)
# A restock reminder about item X sent at the very moment of a later order holding X's SKU (it
# counts), a review request exactly 14 days before an order (it counts); then X's SKU changes
# after the fold, and the reminded order no longer counts.
@example(
    start=[
        ("order", 1, NOW - 6 * DAY),
        ("item", -1, 100, "RUB", 1),  # X, SKU B (by its step's parity)
        ("message", "restock", 1, NOW - 5 * DAY, -1, "sent"),
        ("order", 2, NOW - 10 * DAY),
        ("order", 1, NOW - 5 * DAY),
        ("item", -1, 250, "RUB", 1),  # SKU B
        ("message", "review_request", 3, NOW - 19 * DAY, -1, "sent"),
        ("order", 3, NOW - 5 * DAY),
        ("item", -1, 300, "RUB", 1),
    ],
    steps=[("sku", 0, "A")],
    shift_us=0,
    days=7,
)
async def test_folded_days_and_figures_equal_the_reference(
    db: Database, start: list[tuple], steps: list[tuple], shift_us: int, days: int
) -> None:
    await reset(db)
    now = NOW + timedelta(microseconds=shift_us)
    for n, step in enumerate([*start, ("fold", NOW, None), *steps]):
        async with db.write() as conn:
            await apply(conn, step, n)
            if step[0] == "fold":
                await check_clean_days(conn)
    async with db.read() as conn:
        await check_clean_days(conn)
        await check_figures(conn, now, days)
    async with db.write() as conn:
        await fold_money_days(conn, now, None)
        await check_clean_days(conn)
    async with db.read() as conn:
        await check_figures(conn, now, days)


async def test_a_fold_leaves_the_current_day_and_the_newest_first(db: Database) -> None:
    await reset(db)
    async with db.write() as conn:
        for n, back in enumerate((0, 1, 2, 3)):
            at = NOW - back * DAY
            await apply(conn, ("order", 1, at), n)
            await apply(conn, ("item", n, 100, "RUB", 1), n)
        assert await fold_money_days(conn, NOW, 2) == 2
        dirty = [r["day"] for r in await money._rows(conn, "SELECT day FROM money_dirty")]
        assert dirty == ["2026-02-26", "2026-03-01"]
        assert await fold_money_days(conn, NOW, None) == 1
        assert await fold_money_days(conn, NOW, None) == 0
        dirty = [r["day"] for r in await money._rows(conn, "SELECT day FROM money_dirty")]
        assert dirty == ["2026-03-01"]


async def test_the_migration_marks_what_is_there_and_gives_the_same_figures(
    tmp_path: Path,
) -> None:
    """An existing database (at 0014) upgrades in place: every day with orders is dirty, the
    figures are the reference's before the first fold and after it."""
    path = tmp_path / "old.sqlite3"
    raw = sqlite3.connect(path)
    for migration in load_migrations():
        if migration.version < 15:
            raw.executescript(migration.sql)
    raw.execute("PRAGMA user_version = 14")
    raw.execute("INSERT INTO customers (id, external_id, link_token, created_at) "
                "VALUES (1, 'C1', 't1', '2026-01-01T00:00:00.000000Z'), "
                "(2, 'C2', 't2', '2026-01-01T00:00:00.000000Z')")  # fmt: skip
    history = [
        (1, "2026-02-20T23:59:59.999999Z", [(1001, "RUB", 0.5), (3, None, 1.5)]),
        (1, "2026-02-20T23:59:59.999999Z", [(None, None, 1)]),
        (1, "2026-02-21T00:00:00.000000Z", [(5, "USD", 1), (7, None, 0.5), (2, "RUB", 2)]),
        (2, "2026-02-21T00:00:00.000000Z", []),
        (2, "2026-02-23T10:00:00.000000Z", [(9, None, 2.5)]),
        (2, "2026-02-28T10:00:00.000000Z", [(11, "RUB", 1.5)]),
    ]
    for n, (customer, at, items) in enumerate(history, start=1):
        raw.execute(
            "INSERT INTO orders (id, order_id, customer_id, purchased_at, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (n, f"O{n}", customer, at, at),
        )
        for cents, cur, qty in items:
            raw.execute(
                "INSERT INTO order_items (order_id, sku, name, quantity, price_cents, currency) "
                "VALUES (?, 'A', 'S', ?, ?, ?)",
                (n, qty, cents, cur),
            )
    raw.commit()
    raw.close()
    db = Database(path)
    await db.open(process_lock=False)
    try:
        async with db.read() as conn:
            dirty = [r["day"] for r in await money._rows(conn, "SELECT day FROM money_dirty")]
            assert dirty == ["2026-02-20", "2026-02-21", "2026-02-23", "2026-02-28"]
            for days in (1, 3, 7):
                await check_figures(conn, NOW, days)
        async with db.write() as conn:
            assert await fold_money_days(conn, NOW) == 4
            await check_clean_days(conn)
        async with db.read() as conn:
            assert [r["cur"] for r in await money._rows(
                conn, "SELECT cur FROM money_days WHERE day = '2026-02-21' ORDER BY cur"
            )] == ["", "RUB", "USD"]  # fmt: skip
            for days in (1, 3, 7):
                await check_figures(conn, NOW, days)
    finally:
        await db.close()
