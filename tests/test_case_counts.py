"""Cases by status (migration 0017): the triggers keep case_counts equal to counting the cases
through any sequence of opening, moving and deleting cases, and the migration fills it for the
cases a database already has."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime

import aiosqlite
from hypothesis import given, settings
from hypothesis import strategies as st

from storage import cases as q
from storage.migrations import load_migrations
from storage.timestamps import to_db

NOW = to_db(datetime(2026, 1, 12, 9, 0, tzinfo=UTC))
STATUSES = ("open", "answered", "resolved", "closed")

operation = st.one_of(
    st.tuples(st.just("open"), st.sampled_from(STATUSES)),
    st.tuples(st.just("move"), st.integers(0, 40), st.sampled_from(STATUSES)),
    st.tuples(st.just("delete"), st.integers(0, 40)),
)


def _schema(conn: sqlite3.Connection, *, below: int | None = None) -> None:
    for migration in load_migrations():
        if below is None or migration.version < below:
            conn.executescript(migration.sql)
    conn.execute(
        "INSERT INTO customers (id, external_id, link_token, created_at) VALUES (1, 'c', 't', ?)",
        (NOW,),
    )


def _open(conn: sqlite3.Connection, n: int, status: str) -> None:
    # A subject of its own: at most one active case per customer and subject.
    conn.execute(
        "INSERT INTO cases (customer_id, topic, subject, status, opened_at, due_at) "
        "VALUES (1, 'question', ?, ?, ?, ?)",
        (f"question:{n}", status, NOW, NOW),
    )


def _raw(conn: sqlite3.Connection) -> dict[str, int]:
    return dict(conn.execute(q.COUNT_BY_STATUS_SQL).fetchall())


def _kept(conn: sqlite3.Connection) -> dict[str, int]:
    return dict(conn.execute("SELECT status, cases FROM case_counts WHERE cases > 0").fetchall())


@settings(max_examples=60, deadline=None)
@given(st.lists(operation, max_size=40))
def test_the_counts_equal_counting_the_cases_after_any_writes(ops: list[tuple]) -> None:
    conn = sqlite3.connect(":memory:")
    _schema(conn)
    opened = 0
    for op in ops:
        ids = [row[0] for row in conn.execute("SELECT id FROM cases ORDER BY id")]
        if op[0] == "open":
            _open(conn, opened, op[1])
            opened += 1
        elif op[0] == "move" and ids:
            conn.execute("UPDATE cases SET status = ? WHERE id = ?", (op[2], ids[op[1] % len(ids)]))
        elif op[0] == "delete" and ids:
            conn.execute("DELETE FROM cases WHERE id = ?", (ids[op[1] % len(ids)],))
        assert _kept(conn) == _raw(conn)


def test_the_migration_counts_the_cases_already_there() -> None:
    conn = sqlite3.connect(":memory:")
    _schema(conn, below=17)
    for n, status in enumerate(["open", "open", "answered", "closed", "closed", "closed"]):
        _open(conn, n, status)
    [migration] = [m for m in load_migrations() if m.version == 17]
    conn.executescript(migration.sql)
    assert _kept(conn) == {"open": 2, "answered": 1, "closed": 3} == _raw(conn)


def test_count_by_status_reads_the_counts(tmp_path) -> None:
    path = tmp_path / "c.sqlite3"
    conn = sqlite3.connect(path)
    _schema(conn)
    for n, status in enumerate(["open", "resolved", "resolved"]):
        _open(conn, n, status)
    conn.execute("UPDATE cases SET status = 'closed' WHERE status = 'resolved'")
    conn.commit()
    conn.close()

    async def read() -> dict[str, int]:
        async with aiosqlite.connect(path) as db:
            return await q.count_by_status(db)

    # A status nobody is in any more is not listed, as GROUP BY would not list it.
    assert asyncio.run(read()) == {"open": 1, "closed": 2}
