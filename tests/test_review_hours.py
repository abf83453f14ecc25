"""The hourly review aggregates: the triggers keep them equal to the raw aggregates through any
sequence of writes, and any buckets summed from them equal the raw counts."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiosqlite
from hypothesis import given
from hypothesis import strategies as st

from bot.reports import rollup
from storage.migrations import load_migrations
from storage.timestamps import to_db

T0 = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
# Mostly six hours, so hours are shared; some over four days, so whole days are summed too.
minutes = st.one_of(
    st.integers(min_value=0, max_value=6 * 60), st.integers(min_value=0, max_value=4 * 1440)
)


def _schema(conn: sqlite3.Connection) -> None:
    for migration in load_migrations():
        conn.executescript(migration.sql)
    conn.execute(
        "INSERT INTO customers (id, external_id, link_token, created_at) VALUES (1, 'c', 't', ?)",
        (to_db(T0),),
    )


def _midnight(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _at(minute: int, second: int = 0) -> str:
    return to_db(T0 + timedelta(minutes=minute, seconds=second))


operation = st.one_of(
    st.tuples(st.just("review"), minutes, st.booleans()),
    st.tuples(st.just("rate"), st.integers(0, 30), st.integers(1, 5), minutes),
    st.tuples(st.just("nps"), st.integers(0, 30), st.integers(0, 10), minutes),
    st.tuples(st.just("alert"), st.integers(0, 30), st.booleans()),
    st.tuples(st.just("resolve"), st.integers(0, 30), st.booleans()),
    st.tuples(st.just("delete_alert"), st.integers(0, 30)),
    st.tuples(st.just("delete"), st.integers(0, 30)),
)


def _apply(conn: sqlite3.Connection, op: tuple) -> None:  # type: ignore[type-arg]
    kind, *args = op
    if kind == "review":
        minute, requested = args
        conn.execute(
            "INSERT INTO reviews (customer_id, created_at, requested_at) VALUES (1, ?, ?)",
            (_at(minute), _at(minute) if requested else None),
        )
        return
    ids = [r[0] for r in conn.execute("SELECT id FROM reviews ORDER BY id")]
    if not ids:
        return
    review = ids[args[0] % len(ids)]
    if kind == "rate":
        conn.execute(
            "UPDATE reviews SET rating = ?, rated_at = ? WHERE id = ?",
            (args[1], _at(args[2], 7), review),
        )
    elif kind == "nps":
        conn.execute(
            "UPDATE reviews SET nps = ?, nps_at = ? WHERE id = ?",
            (args[1], _at(args[2], 9), review),
        )
    elif kind == "alert":
        conn.execute(
            "INSERT OR IGNORE INTO alerts (review_id, created_at, resolved_by, resolved_at) "
            "VALUES (?, ?, ?, ?)",
            (review, _at(0), 1 if args[1] else None, _at(1) if args[1] else None),
        )
    elif kind == "resolve":
        conn.execute(
            "UPDATE alerts SET resolved_at = ?, resolved_by = ? WHERE review_id = ?",
            (_at(2) if args[1] else None, 1 if args[1] else None, review),
        )
    elif kind == "delete_alert":
        conn.execute("DELETE FROM alerts WHERE review_id = ?", (review,))
    elif kind == "delete":
        conn.execute("DELETE FROM alerts WHERE review_id = ?", (review,))
        conn.execute("DELETE FROM reviews WHERE id = ?", (review,))


async def _compare(path: Path) -> tuple[list, list]:  # type: ignore[type-arg]
    async with aiosqlite.connect(path) as conn:
        return await rollup.stored_hours(conn), await rollup.rebuilt_hours(conn)


@given(st.lists(operation, max_size=40))
def test_the_triggers_keep_the_hours_equal_to_the_raw_aggregates(ops: list) -> None:  # type: ignore[type-arg]
    conn = sqlite3.connect(":memory:")
    _schema(conn)
    for op in ops:
        _apply(conn, op)
    rebuilt = [r for r in conn.execute(rollup.REBUILT_SQL) if any(r[1:])]
    stored = [r for r in conn.execute(rollup._STORED) if any(r[1:])]
    assert stored == rebuilt
    assert _days(conn) == _hours_by_day(conn)


_COLUMNS = (
    "requested, answered, r1, r2, r3, r4, r5, s1, s2, s3, s4, s5, promoters, passives, detractors"
)


def _days(conn: sqlite3.Connection) -> list[tuple]:  # type: ignore[type-arg]
    """review_days as kept (migration 0028), without the days that sum to nothing."""
    rows = conn.execute(f"SELECT day, {_COLUMNS} FROM review_days ORDER BY day")
    return [r for r in rows if any(r[1:])]


def _hours_by_day(conn: sqlite3.Connection) -> list[tuple]:  # type: ignore[type-arg]
    sums = ", ".join(f"SUM({c.strip()})" for c in _COLUMNS.split(","))
    rows = conn.execute(
        f"SELECT substr(hour, 1, 10), {sums} FROM review_hours GROUP BY 1 ORDER BY 1"
    )
    return [r for r in rows if any(r[1:])]


def test_the_migration_backfills_existing_reviews(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "db.sqlite3")
    for migration in load_migrations():
        if migration.version < 10:
            conn.executescript(migration.sql)
    conn.execute(
        "INSERT INTO customers (id, external_id, link_token, created_at) VALUES (1, 'c', 't', 'x')"
    )
    for i in range(20):
        conn.execute(
            "INSERT INTO reviews (customer_id, created_at, requested_at, rating, rated_at, nps, "
            "nps_at) VALUES (1, ?, ?, ?, ?, ?, ?)",
            (_at(i * 17), _at(i * 17), 1 + i % 5, _at(i * 17 + 5), i % 11, _at(i * 17 + 6)),
        )
    conn.execute("INSERT INTO alerts (review_id, created_at, resolved_at, resolved_by) "
                 "VALUES (1, 'x', 'y', 1)")  # fmt: skip
    conn.executescript(next(m for m in load_migrations() if m.version == 10).sql)
    conn.commit()
    conn.close()
    stored, rebuilt = asyncio.run(_compare(tmp_path / "db.sqlite3"))
    assert stored == rebuilt
    assert sum(r[1] for r in stored) == 20


def _raw_sums(conn: sqlite3.Connection, a: datetime, b: datetime) -> rollup.Sums:
    sums = rollup.Sums()
    lo, hi = to_db(a), to_db(b)
    for requested_at, rating, rated_at, nps, nps_at, rid in conn.execute(
        "SELECT requested_at, rating, rated_at, nps, nps_at, id FROM reviews"
    ):
        if requested_at and lo <= requested_at < hi:
            sums.requested += 1
            sums.answered += rating is not None or nps is not None
        if rated_at and rating and lo <= rated_at < hi:
            sums.ratings[rating - 1] += 1
            resolved = conn.execute(
                "SELECT 1 FROM alerts WHERE review_id = ? AND resolved_at IS NOT NULL", (rid,)
            ).fetchone()
            sums.resolved[rating - 1] += resolved is not None
        if nps_at and nps is not None and lo <= nps_at < hi:
            sums.promoters += nps >= 9
            sums.passives += 7 <= nps <= 8
            sums.detractors += nps <= 6
    return sums


@given(
    st.lists(operation, max_size=30),
    st.lists(
        st.one_of(
            st.integers(min_value=-30, max_value=7 * 60 * 60),
            st.integers(min_value=-30, max_value=5 * 86_400),
        ),
        min_size=2,
        max_size=6,
        unique=True,
    ),
)
def test_buckets_from_the_hours_equal_the_raw_counts(ops: list, seconds: list[int]) -> None:  # type: ignore[type-arg]
    conn = sqlite3.connect(":memory:")
    _schema(conn)
    for op in ops:
        _apply(conn, op)
    conn.commit()
    edges = sorted(T0 + timedelta(seconds=s) for s in seconds)
    # Every other edge on a whole hour, as local Mondays are, and every third on a midnight.
    edges = sorted(
        {
            _midnight(e) if i % 3 == 2 else rollup.floor_hour(e) if i % 2 else e
            for i, e in enumerate(edges)
        }
    )
    if len(edges) < 2:
        return
    expected = [_raw_sums(conn, a, b) for a, b in itertools.pairwise(edges)]

    async def read(path: Path) -> list[rollup.Sums]:
        async with aiosqlite.connect(path) as aconn:
            aconn.row_factory = aiosqlite.Row
            return await rollup.bucket_sums(aconn, edges)

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "copy.sqlite3"
        with sqlite3.connect(path) as copy:
            conn.backup(copy)
        assert asyncio.run(read(path)) == expected


@given(
    st.lists(operation, max_size=30),
    st.sampled_from([7, 30]),
    st.integers(min_value=0, max_value=6 * 3600),
    st.sampled_from(["Europe/Moscow", "Asia/Kolkata", "UTC"]),
)
def test_the_customer_report_from_the_hours_equals_the_raw_one(
    ops: list,  # type: ignore[type-arg]
    days: int,
    offset: int,
    zone: str,
) -> None:
    from zoneinfo import ZoneInfo

    from bot.reports.customers import customer_report

    conn = sqlite3.connect(":memory:")
    _schema(conn)
    for op in ops:
        _apply(conn, op)
    conn.commit()
    now = T0 + timedelta(seconds=offset, microseconds=123)

    async def both(path: Path) -> tuple[object, object]:
        async with aiosqlite.connect(path) as aconn:
            aconn.row_factory = aiosqlite.Row
            args = {"negative_max": 2, "tz": ZoneInfo(zone)}
            fast = await customer_report(aconn, now, days, **args)
            raw = await customer_report(aconn, now, days, **args, from_hours=False)
            return fast, raw

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "copy.sqlite3"
        with sqlite3.connect(path) as copy:
            conn.backup(copy)
        fast, raw = asyncio.run(both(path))
    assert fast == raw
