"""Each order's previous order of its customer (migration 0018), and the report's buyers and
retention counted from it: the triggers keep prev_at equal to LAG() over the orders through
any inserts (late ones included), moves in time, changes of customer and deletes; and the
counts equal those of the sets of buyers, the way they were counted before."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiosqlite
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.reports.buyers import BuyerCounts, buyer_counts
from bot.reports.metrics import retention_counts
from bot.reports.periods import periods
from storage.migrations import load_migrations
from storage.timestamps import to_db

T0 = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
CUSTOMERS = (1, 2, 3)
# Whole days apart, and often the very same moment, so ties and period edges are both hit.
moments = st.integers(min_value=0, max_value=20).map(lambda d: T0 + timedelta(days=d // 2))

operation = st.one_of(
    st.tuples(st.just("insert"), st.sampled_from(CUSTOMERS), moments),
    st.tuples(st.just("move"), st.integers(0, 30), moments),
    st.tuples(st.just("reassign"), st.integers(0, 30), st.sampled_from(CUSTOMERS)),
    st.tuples(st.just("delete"), st.integers(0, 30)),
)

_LAG = (
    "SELECT id, LAG(purchased_at) OVER (PARTITION BY customer_id ORDER BY purchased_at, id) "
    "FROM orders ORDER BY id"
)


def _schema(conn: sqlite3.Connection, *, below: int | None = None) -> None:
    for migration in load_migrations():
        if below is None or migration.version < below:
            conn.executescript(migration.sql)
    for c in CUSTOMERS:
        conn.execute(
            "INSERT INTO customers (id, external_id, link_token, created_at) VALUES (?, ?, ?, ?)",
            (c, f"c{c}", f"t{c}", to_db(T0)),
        )


def _apply(conn: sqlite3.Connection, op: tuple, n: int) -> None:  # type: ignore[type-arg]
    ids = [row[0] for row in conn.execute("SELECT id FROM orders ORDER BY id")]
    if op[0] == "insert":
        conn.execute(
            "INSERT INTO orders (order_id, customer_id, purchased_at, created_at) "
            "VALUES (?, ?, ?, ?)",
            (f"o{n}", op[1], to_db(op[2]), to_db(T0)),
        )
    elif op[0] == "move" and ids:
        conn.execute(
            "UPDATE orders SET purchased_at = ? WHERE id = ?", (to_db(op[2]), ids[op[1] % len(ids)])
        )
    elif op[0] == "reassign" and ids:
        conn.execute(
            "UPDATE orders SET customer_id = ? WHERE id = ?", (op[2], ids[op[1] % len(ids)])
        )
    elif op[0] == "delete" and ids:
        conn.execute("DELETE FROM orders WHERE id = ?", (ids[op[1] % len(ids)],))


def _kept(conn: sqlite3.Connection) -> list[tuple[int, str | None]]:
    return list(conn.execute("SELECT id, prev_at FROM orders ORDER BY id"))


def _sets(conn: sqlite3.Connection, now: datetime, days: int) -> BuyerCounts:
    span = periods(now, days)

    def bought(window) -> set[int]:  # type: ignore[no-untyped-def]
        return {
            row[0]
            for row in conn.execute(
                "SELECT customer_id FROM orders WHERE purchased_at >= ? AND purchased_at < ?",
                (to_db(window.start), to_db(window.end)),
            )
        }

    def had_bought(window) -> set[int]:  # type: ignore[no-untyped-def]
        return {
            row[0]
            for row in conn.execute(
                "SELECT customer_id FROM orders WHERE purchased_at < ?", (to_db(window.start),)
            )
        }

    before, previous, current = (
        bought(w) for w in (span.before_previous, span.previous, span.current)
    )
    return BuyerCounts(
        before=len(before),
        previous=len(previous),
        previous_retained=retention_counts(before, previous).retained,
        current=len(current),
        current_retained=retention_counts(previous, current).retained,
        previous_had_before=len(previous & had_bought(span.previous)),
        current_had_before=len(current & had_bought(span.current)),
    )


def _counted(conn: sqlite3.Connection, now: datetime, days: int) -> BuyerCounts:
    async def read(path: Path) -> BuyerCounts:
        async with aiosqlite.connect(path) as aconn:
            return await buyer_counts(aconn, periods(now, days))

    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "copy.sqlite3"
        with sqlite3.connect(path) as copy:
            conn.backup(copy)
        return asyncio.run(read(path))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(operation, max_size=30),
    st.integers(min_value=0, max_value=12 * 24),
    st.sampled_from([1, 3, 7]),
)
# Two orders at the very start of the period: the second one's previous is in the period (at
# its first moment), so its customer had not bought before it.
@example([("insert", 1, T0 + timedelta(days=1))] * 2, 48, 1)
def test_prev_at_follows_every_write_and_the_counts_equal_the_sets(
    ops: list,  # type: ignore[type-arg]
    hours: int,
    days: int,
) -> None:
    conn = sqlite3.connect(":memory:")
    _schema(conn)
    for n, op in enumerate(ops):
        _apply(conn, op, n)
        assert _kept(conn) == list(conn.execute(_LAG))
    conn.commit()
    now = T0 + timedelta(hours=hours)
    assert _counted(conn, now, days) == _sets(conn, now, days)


def test_the_migration_links_the_orders_already_there() -> None:
    conn = sqlite3.connect(":memory:")
    _schema(conn, below=18)
    for n, (customer, day) in enumerate([(1, 3), (1, 1), (2, 2), (1, 3), (2, 0)]):
        _apply(conn, ("insert", customer, T0 + timedelta(days=day)), n)
    [migration] = [m for m in load_migrations() if m.version == 18]
    conn.executescript(migration.sql)
    assert _kept(conn) == list(conn.execute(_LAG))
    # Customer 1: day 1, day 3, day 3 again (the second of the two is linked to the first).
    assert [p for _, p in _kept(conn)][:4] == [
        to_db(T0 + timedelta(days=1)),
        None,
        to_db(T0),
        to_db(T0 + timedelta(days=3)),
    ]
