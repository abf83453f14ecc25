"""Each order's previous order of its customer (migration 0018), and the report's buyers and
retention counted from it: the triggers keep prev_at equal to LAG() over the orders through
any inserts (late ones included), moves in time, changes of customer and deletes; and the
counts equal those of the sets of buyers, the way they were counted before."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.reports.periods import periods
from storage.migrations import load_migrations
from storage.timestamps import to_db
from tests.buyers_helpers import CUSTOMERS, apply, buyer_sets, counted, schema

T0 = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
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


def _kept(conn: sqlite3.Connection) -> list[tuple[int, str | None]]:
    return list(conn.execute("SELECT id, prev_at FROM orders ORDER BY id"))


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
    schema(conn, T0)
    for n, op in enumerate(ops):
        apply(conn, op, n)
        assert _kept(conn) == list(conn.execute(_LAG))
    conn.commit()
    now = T0 + timedelta(hours=hours)
    assert counted(conn, periods(now, days)) == buyer_sets(conn, periods(now, days))


def test_the_migration_links_the_orders_already_there() -> None:
    conn = sqlite3.connect(":memory:")
    schema(conn, T0, below=18)
    for n, (customer, day) in enumerate([(1, 3), (1, 1), (2, 2), (1, 3), (2, 0)]):
        apply(conn, ("insert", customer, T0 + timedelta(days=day)), n)
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
