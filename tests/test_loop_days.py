"""Migration 0016's loop aggregates: the triggers keep case_days, case_time_days and
case_recovery equal to the same aggregates computed from the raw rows, through any sequence of
writes to cases, reviews and orders (the report reads them instead of a year of cases)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.cases.timing import RECOVERY_WINDOW
from storage import cases as q
from storage.migrations import load_migrations
from storage.timestamps import to_db

T0 = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
CUSTOMERS = (1, 2, 3)

# The aggregates as the migration fills them for an existing database: the reference.
REBUILT_DAYS = """
SELECT substr(opened_at, 1, 10), COUNT(*),
    SUM(first_answered_at IS NOT NULL AND first_answered_at <= due_at),
    SUM(closed_how IS 'confirmed'), SUM(reopened > 0)
FROM cases GROUP BY 1 ORDER BY 1
"""
STORED_DAYS = (
    "SELECT day, opened, in_target, confirmed, reopened FROM case_days "
    "WHERE opened OR in_target OR confirmed OR reopened ORDER BY day"
)
REBUILT_TIMES = f"""
SELECT 'answer', substr(opened_at, 1, 10), {q._bucket_sql("first_answered_at")}, COUNT(*)
FROM cases WHERE first_answered_at IS NOT NULL GROUP BY 1, 2, 3
UNION ALL
SELECT 'close', substr(opened_at, 1, 10), {q._bucket_sql("closed_at")}, COUNT(*)
FROM cases WHERE closed_at IS NOT NULL GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
"""
STORED_TIMES = "SELECT kind, day, bucket, n FROM case_time_days WHERE n != 0 ORDER BY 1, 2, 3"
REBUILT_RECOVERY = """
SELECT c.id, c.customer_id, c.opened_at, EXISTS (
    SELECT 1 FROM reviews r WHERE r.customer_id = c.customer_id AND r.rating >= 4
    AND r.rated_at > c.resolved_at
    AND r.rated_at <= strftime('%Y-%m-%dT%H:%M:%S', c.resolved_at, '+60 days')
                      || substr(c.resolved_at, 20)
) OR EXISTS (
    SELECT 1 FROM orders o WHERE o.customer_id = c.customer_id AND o.purchased_at > c.resolved_at
    AND o.purchased_at <= strftime('%Y-%m-%dT%H:%M:%S', c.resolved_at, '+60 days')
                          || substr(c.resolved_at, 20)
)
FROM cases c WHERE c.topic = 'complaint' AND c.status = 'closed' AND c.resolved_at IS NOT NULL
ORDER BY c.id
"""
STORED_RECOVERY = (
    "SELECT case_id, customer_id, opened_at, recovered FROM case_recovery ORDER BY case_id"
)


def _schema(conn: sqlite3.Connection, *, below: int | None = None) -> None:
    for migration in load_migrations():
        if below is None or migration.version < below:
            conn.executescript(migration.sql)
    for cid in CUSTOMERS:
        conn.execute(
            "INSERT INTO customers (id, external_id, link_token, created_at) VALUES (?, ?, ?, ?)",
            (cid, f"c-{cid}", f"t-{cid}", to_db(T0)),
        )


def _at(ms: int) -> str:
    return to_db(T0 + timedelta(milliseconds=ms))


DAY_MS = 24 * 3600 * 1000
moment = st.integers(0, 5 * DAY_MS)  # a few days, so days and buckets are shared
duration = st.none() | st.sampled_from([0, 999, 1000, 10_800_000]) | st.integers(0, 4 * DAY_MS)
pick = st.integers(0, 30)
customer = st.sampled_from(CUSTOMERS)
operation = st.one_of(
    st.tuples(st.just("open"), customer, st.sampled_from(("complaint", "question")), moment),
    st.tuples(st.just("answer"), pick, duration),
    st.tuples(st.just("resolve"), pick, st.none() | moment),
    st.tuples(st.just("close"), pick, duration, st.sampled_from((None, "confirmed", "timeout"))),
    st.tuples(st.just("status"), pick, st.sampled_from(("open", "answered", "closed"))),
    st.tuples(st.just("reopen"), pick),
    st.tuples(st.just("move"), pick, moment, customer),
    st.tuples(st.just("delete_case"), pick),
    st.tuples(st.just("rate"), customer, st.integers(1, 5), st.integers(0, 70 * DAY_MS)),
    st.tuples(st.just("rerate"), pick, st.none() | st.integers(1, 5), customer),
    st.tuples(st.just("delete_review"), pick),
    st.tuples(st.just("buy"), customer, st.integers(0, 70 * DAY_MS)),
    st.tuples(st.just("rebuy"), pick, st.integers(0, 70 * DAY_MS), customer),
    st.tuples(st.just("delete_order"), pick),
)


def _ids(conn: sqlite3.Connection, table: str) -> list[int]:
    return [r[0] for r in conn.execute(f"SELECT id FROM {table} ORDER BY id")]


def _apply(conn: sqlite3.Connection, op: tuple) -> None:  # type: ignore[type-arg]
    kind, *args = op
    if kind == "open":
        cid, topic, at = args
        conn.execute(
            "INSERT INTO cases (customer_id, topic, subject, status, opened_at, due_at) "
            "VALUES (?, ?, 's-' || (SELECT COALESCE(MAX(id), 0) + 1 FROM cases), 'open', ?, ?)",
            (cid, topic, _at(at), _at(at + DAY_MS // 3)),
        )
        return
    if kind == "rate":
        cid, stars, at = args
        conn.execute(
            "INSERT INTO reviews (customer_id, created_at, status, rating, rated_at) "
            "VALUES (?, ?, 'answered', ?, ?)",
            (cid, _at(0), stars, _at(at)),
        )
        return
    if kind == "buy":
        cid, at = args
        conn.execute(
            "INSERT INTO orders (order_id, customer_id, purchased_at, created_at) "
            "VALUES ('O-' || (SELECT COALESCE(MAX(id), 0) + 1 FROM orders), ?, ?, ?)",
            (cid, _at(at), _at(0)),
        )
        return
    table = {"rerate": "reviews", "delete_review": "reviews", "rebuy": "orders"}.get(
        kind, "orders" if kind == "delete_order" else "cases"
    )
    ids = _ids(conn, table)
    if not ids:
        return
    row = ids[args[0] % len(ids)]
    after = "strftime('%Y-%m-%dT%H:%M:%S', opened_at, ?) || substr(opened_at, 20)"
    if kind == "answer":
        value = None if args[1] is None else f"+{args[1] / 1000:.3f} seconds"
        conn.execute(f"UPDATE cases SET first_answered_at = {after} WHERE id = ?", (value, row))
    elif kind == "resolve":
        value = None if args[1] is None else _at(args[1])
        conn.execute("UPDATE cases SET resolved_at = ? WHERE id = ?", (value, row))
    elif kind == "close":
        value = None if args[1] is None else f"+{args[1] / 1000:.3f} seconds"
        conn.execute(
            f"UPDATE cases SET closed_at = {after}, closed_how = ?, status = 'closed' WHERE id = ?",
            (value, args[2], row),
        )
    elif kind == "status":
        conn.execute("UPDATE cases SET status = ? WHERE id = ?", (args[1], row))
    elif kind == "reopen":
        conn.execute("UPDATE cases SET reopened = reopened + 1 WHERE id = ?", (row,))
    elif kind == "move":
        conn.execute(
            "UPDATE cases SET opened_at = ?, customer_id = ? WHERE id = ?",
            (_at(args[1]), args[2], row),
        )
    elif kind == "delete_case":
        conn.execute("DELETE FROM cases WHERE id = ?", (row,))
    elif kind == "rerate":
        conn.execute(
            "UPDATE reviews SET rating = ?, customer_id = ? WHERE id = ?", (args[1], args[2], row)
        )
    elif kind == "delete_review":
        conn.execute("DELETE FROM reviews WHERE id = ?", (row,))
    elif kind == "rebuy":
        conn.execute(
            "UPDATE orders SET purchased_at = ?, customer_id = ? WHERE id = ?",
            (_at(args[1]), args[2], row),
        )
    elif kind == "delete_order":
        conn.execute("DELETE FROM orders WHERE id = ?", (row,))


def _assert_equal(conn: sqlite3.Connection) -> None:
    assert list(conn.execute(STORED_DAYS)) == list(conn.execute(REBUILT_DAYS))
    assert list(conn.execute(STORED_TIMES)) == list(conn.execute(REBUILT_TIMES))
    assert list(conn.execute(STORED_RECOVERY)) == list(conn.execute(REBUILT_RECOVERY))


@settings(max_examples=200, deadline=None)
@given(st.lists(operation, max_size=40))
def test_the_triggers_keep_the_loop_aggregates_equal_to_the_raw_ones(ops: list) -> None:  # type: ignore[type-arg]
    conn = sqlite3.connect(":memory:")
    _schema(conn)
    for op in ops:
        _apply(conn, op)
    _assert_equal(conn)


@settings(max_examples=30, deadline=None)
@given(st.lists(operation, max_size=30))
def test_the_migration_fills_the_aggregates_of_existing_cases(ops: list) -> None:  # type: ignore[type-arg]
    conn = sqlite3.connect(":memory:")
    _schema(conn, below=16)
    for op in ops:
        _apply(conn, op)
    conn.executescript(next(m for m in load_migrations() if m.version == 16).sql)
    _assert_equal(conn)


def test_the_kept_recovery_window_is_the_one_the_cases_use() -> None:
    assert q.RECOVERY_KEPT == RECOVERY_WINDOW


def test_the_median_walks_the_duration_index(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "db.sqlite3")
    _schema(conn)
    for column, index in (
        ("first_answered_at", "cases_answer_time"),
        ("closed_at", "cases_close_time"),
    ):
        ms = q._ms_sql(column)
        plan = " ".join(
            str(r[-1])
            for r in conn.execute(
                f"EXPLAIN QUERY PLAN SELECT {ms} FROM cases WHERE {q._bucket_sql(column)} = ? "
                f"AND {q._fine_sql(column)} = ? "
                f"AND {column} IS NOT NULL AND opened_at >= ? AND opened_at < ? "
                f"ORDER BY {ms} LIMIT 1 OFFSET ?",
                (51, 150, "a", "b", 3),
            )
        )
        # The window's range of the finer part (migrations 0026, 0030), not every year's.
        assert f"{index} (<expr>=? AND <expr>=? AND opened_at>? AND opened_at<?)" in plan, plan


# Each way a complaint's customer stops or starts counting as recovered, written out: random
# histories reach them rarely.
_CLOSED_COMPLAINT = [
    ("open", 1, "complaint", 0),
    ("resolve", 0, DAY_MS),
    ("close", 0, 2 * DAY_MS, "timeout"),
]
_WITHIN = 30 * DAY_MS
_OUTSIDE = 62 * DAY_MS


@pytest.mark.parametrize(
    "ops",
    [
        [*_CLOSED_COMPLAINT, ("buy", 1, _WITHIN), ("delete_order", 0)],
        [*_CLOSED_COMPLAINT, ("buy", 1, _WITHIN), ("rebuy", 0, _OUTSIDE, 1)],
        [*_CLOSED_COMPLAINT, ("buy", 1, _WITHIN), ("rebuy", 0, _WITHIN, 2)],
        [("buy", 1, _WITHIN), *_CLOSED_COMPLAINT],
        [*_CLOSED_COMPLAINT, ("buy", 2, _OUTSIDE), ("rebuy", 0, _WITHIN, 1)],
        [*_CLOSED_COMPLAINT, ("rate", 1, 5, _WITHIN), ("rerate", 0, 2, 1)],
        [*_CLOSED_COMPLAINT, ("rate", 1, 5, _WITHIN), ("rerate", 0, 5, 3)],
        [*_CLOSED_COMPLAINT, ("rate", 1, 5, _WITHIN), ("delete_review", 0)],
        [*_CLOSED_COMPLAINT, ("rate", 1, 2, _WITHIN), ("rerate", 0, 4, 1)],
        [*_CLOSED_COMPLAINT, ("buy", 1, _WITHIN), ("status", 0, "open")],
        [*_CLOSED_COMPLAINT, ("buy", 1, _WITHIN), ("resolve", 0, 50 * DAY_MS)],
        [*_CLOSED_COMPLAINT, ("buy", 1, _WITHIN), ("move", 0, DAY_MS, 2)],
        [*_CLOSED_COMPLAINT, ("buy", 1, _WITHIN), ("delete_case", 0)],
    ],
)
def test_each_change_of_a_return_moves_the_recovery(ops: list) -> None:  # type: ignore[type-arg]
    conn = sqlite3.connect(":memory:")
    _schema(conn)
    for op in ops:
        _apply(conn, op)
        _assert_equal(conn)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10**11), min_size=1, max_size=20))
def test_a_buckets_finer_parts_hold_its_durations_in_order(durations: list[int]) -> None:
    """Each duration's finer part (migration 0030) is one of its bucket's, and within a bucket
    the parts follow the durations: the walk that counts them part by part misses none."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE d (ms INTEGER)")
    conn.executemany("INSERT INTO d VALUES (?)", [(ms,) for ms in durations])
    expressions = (q._bucket_sql("x"), q._fine_sql("x"))
    # The expressions read a duration off two timestamps; here it is given in ms directly.
    bucket, fine = (e.replace(q._ms_sql("x"), "ms") for e in expressions)
    rows = sorted(conn.execute(f"SELECT {bucket}, ms, {fine} FROM d"))
    for b, _, f in rows:
        assert f in q._fines(b)
    for (b1, _, f1), (b2, _, f2) in pairwise(rows):
        if b1 == b2:
            assert q._fines(b1).index(f1) <= q._fines(b1).index(f2)
