"""case_recovery.prev_opened (migration 0022): through any sequence of writes to cases, reviews
and orders (tests/test_loop_days.py's), every recovered complaint holds the opening time of its
customer's previous recovered complaint, by (opened_at, case_id), as LAG() gives it; and the
recovered customers of any window counted from it equal COUNT(DISTINCT customer_id)."""

from __future__ import annotations

import sqlite3

from hypothesis import example, given, settings
from hypothesis import strategies as st

from storage.migrations import load_migrations
from tests.test_loop_days import CUSTOMERS, DAY_MS, _apply, _at, _schema, operation

STORED = "SELECT case_id, prev_opened FROM case_recovery WHERE recovered = 1 ORDER BY case_id"
LAGGED = """
SELECT case_id, LAG(opened_at) OVER (PARTITION BY customer_id ORDER BY opened_at, case_id)
FROM case_recovery WHERE recovered = 1 ORDER BY case_id
"""
DISTINCT = (
    "SELECT COUNT(DISTINCT customer_id) FROM case_recovery "
    "WHERE recovered = 1 AND opened_at >= ? AND opened_at < ?"
)
FIRSTS = (
    "SELECT COUNT(*) FROM case_recovery WHERE recovered = 1 AND opened_at >= ? "
    "AND opened_at < ? AND (prev_opened IS NULL OR prev_opened < ?)"
)
# Closed complaints with a resolution and the customer's returns, often enough that a customer
# has several recovered complaints, some opened at one moment; among the generic writes that
# move, reopen and delete them and change the returns.
closed_complaint = st.tuples(
    st.just("closed_complaint"),
    st.sampled_from(CUSTOMERS),
    st.sampled_from([0, DAY_MS, DAY_MS]) | st.integers(0, 5 * DAY_MS),
    st.integers(0, DAY_MS),
)
comeback = st.tuples(st.just("buy"), st.sampled_from(CUSTOMERS), st.integers(0, 8 * DAY_MS))
forget = st.tuples(st.just("delete_case"), st.integers(0, 30))
step = st.one_of(closed_complaint, comeback, comeback, forget, operation)
window = st.tuples(st.integers(0, 5 * DAY_MS), st.integers(0, 5 * DAY_MS))


def _write(conn: sqlite3.Connection, op: tuple) -> None:  # type: ignore[type-arg]
    if op[0] != "closed_complaint":
        _apply(conn, op)
        return
    _, cid, opened, resolved_after = op
    conn.execute(
        "INSERT INTO cases (customer_id, topic, subject, status, opened_at, due_at, resolved_at, "
        "closed_at) VALUES (?, 'complaint', 's-' || (SELECT COALESCE(MAX(id), 0) + 1 FROM cases), "
        "'closed', ?, ?, ?, ?)",
        (cid, _at(opened), _at(opened + DAY_MS), _at(opened + resolved_after),
         _at(opened + resolved_after)),
    )  # fmt: skip


def _assert_linked(conn: sqlite3.Connection, windows: list[tuple[int, int]]) -> None:
    assert list(conn.execute(STORED)) == list(conn.execute(LAGGED))
    for a, b in windows:
        lo, hi = _at(min(a, b)), _at(max(a, b) + 1)
        assert (
            conn.execute(FIRSTS, (lo, hi, lo)).fetchone()
            == conn.execute(DISTINCT, (lo, hi)).fetchone()
        )


@settings(max_examples=200, deadline=None)
@given(st.lists(step, max_size=40), st.lists(window, min_size=1, max_size=4))
# Two recovered complaints of one customer, the earlier one deleted: the later one is then first.
@example(
    [
        ("closed_complaint", 1, 0, 1000),
        ("closed_complaint", 1, DAY_MS, 1000),
        ("buy", 1, 3 * DAY_MS),
        ("delete_case", 0),
    ],
    [(DAY_MS, 2 * DAY_MS)],
)
def test_each_recovered_complaint_knows_the_previous_one(ops: list, windows: list) -> None:  # type: ignore[type-arg]
    conn = sqlite3.connect(":memory:")
    _schema(conn)
    for op in ops:
        _write(conn, op)
        _assert_linked(conn, windows)


@settings(max_examples=30, deadline=None)
@given(st.lists(step, max_size=30), st.lists(window, min_size=1, max_size=4))
def test_the_migration_links_the_complaints_there_are(ops: list, windows: list) -> None:  # type: ignore[type-arg]
    conn = sqlite3.connect(":memory:")
    _schema(conn, below=22)
    for op in ops:
        _write(conn, op)
    for migration in load_migrations():
        if migration.version >= 22:
            conn.executescript(migration.sql)
    _assert_linked(conn, windows)
