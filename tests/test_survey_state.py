"""The survey's live state (migration 0019): the triggers keep each wave's count of complete
respondents equal to counting them from the answers, and the answers' version changes with
every write; and refresh, which skips the answers when nothing changed since it last found
nothing to release, makes exactly the releases it makes when it reads them every time."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.disclosure import service
from storage import disclosure as store
from storage.inline import InlineConnection, run_inline
from storage.migrations import load_migrations

NOW = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
STAMP = "2026-01-12T09:00:00.000000Z"

operation = st.one_of(
    # A respondent's six answers at once (so that releases happen), or one answer at a time.
    st.tuples(
        st.just("complete"),
        st.integers(0, 5),
        st.integers(1, 2),
        st.lists(st.integers(1, 5), min_size=6, max_size=6),
    ),
    st.tuples(st.just("refresh"), st.integers(2, 3)),
    st.tuples(
        st.just("answer"),
        st.integers(0, 7),  # respondent
        st.integers(1, 2),  # department
        st.integers(1, 6),  # question
        st.integers(1, 5),  # score
    ),
    st.tuples(st.just("delete"), st.integers(0, 7), st.integers(1, 6)),
    st.tuples(st.just("refresh"), st.integers(2, 4)),
    st.tuples(st.just("close"), st.integers(2, 4)),
)


def _database() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    for migration in load_migrations():
        conn.executescript(migration.sql)
    for i, name in enumerate(["Продажи", "Склад"], start=1):
        conn.execute(
            "INSERT INTO departments (id, name, created_at) VALUES (?, ?, ?)", (i, name, STAMP)
        )
    conn.execute(
        "INSERT INTO waves (id, title, opened_by, opened_at) VALUES (1, 'W', 1, ?)", (STAMP,)
    )
    return conn


def _write(conn: sqlite3.Connection, op: tuple) -> None:  # type: ignore[type-arg]
    if op[0] == "answer":
        _, respondent, department, question, score = op
        # As storage.survey.write_answers does: a first answer, or a changed one.
        conn.execute(
            "INSERT INTO survey_answers (wave_id, respondent, department_id, question, score, "
            "answered_at) VALUES (1, ?, ?, ?, ?, ?) ON CONFLICT (wave_id, respondent, question) "
            "DO UPDATE SET score = excluded.score, answered_at = excluded.answered_at",
            (f"r{respondent}", department, question, score, STAMP),
        )
    else:
        _, respondent, question = op
        conn.execute(
            "DELETE FROM survey_answers WHERE wave_id = 1 AND respondent = ? AND question = ?",
            (f"r{respondent}", question),
        )


def _state(conn: sqlite3.Connection) -> tuple[int, int]:
    row = conn.execute(
        "SELECT version, respondents FROM survey_wave_state WHERE wave_id = 1"
    ).fetchone()
    return (row[0], row[1]) if row else (0, 0)


def _disclosed(conn: sqlite3.Connection) -> list[list[tuple]]:  # type: ignore[type-arg]
    return [
        list(conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2, 3"))
        for table in ("disclosure_releases", "disclosure_members", "disclosure_settled")
    ]


def _totals(conn: sqlite3.Connection) -> list[tuple]:  # type: ignore[type-arg]
    totals = run_inline(store.released_totals(InlineConnection(conn), 1, service.SCORES))
    return sorted(totals, key=lambda t: t[0] or 0)


def _summed(conn: sqlite3.Connection) -> list[tuple]:  # type: ignore[type-arg]
    """The members' scores summed from their rows, up to the latest release (as before)."""
    [(latest,)] = conn.execute("SELECT IFNULL(MAX(epoch), 0) FROM disclosure_releases")
    sums = run_inline(store.member_sums(InlineConnection(conn), 1, service.SCORES, latest))
    return sorted(sums, key=lambda t: t[0] or 0)


@contextmanager
def _never_checked(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    async def nothing(*_: object) -> None:
        return None

    with monkeypatch.context() as patch:
        patch.setattr(store, "checked", nothing)
        yield


def _refresh(conn: sqlite3.Connection, *, closed: bool, min_group: int) -> bool:
    conn.execute("BEGIN IMMEDIATE")
    made = run_inline(
        service.refresh(InlineConnection(conn), 1, closed=closed, min_group=min_group, now=NOW)
    )
    conn.execute("COMMIT")
    return made


# Two respondents are not enough for a group of three; a third one is: the recorded "nothing to
# release" must not hold once the answers have changed.
THIRD_ONE_RELEASES = [
    ("complete", 0, 1, [3] * 6),
    ("complete", 1, 1, [4] * 6),
    ("refresh", 3),
    ("complete", 2, 1, [5] * 6),
    ("refresh", 3),
]


@settings(max_examples=150, deadline=None)
@example(THIRD_ONE_RELEASES)
@given(st.lists(operation, max_size=40))
def test_the_state_follows_the_answers_and_skipping_changes_no_release(ops: list) -> None:  # type: ignore[type-arg]
    kept, reference = _database(), _database()
    closed = False
    monkeypatch = pytest.MonkeyPatch()
    for op in ops:
        if op[0] in ("refresh", "close"):
            closed = closed or op[0] == "close"
            made = _refresh(kept, closed=closed, min_group=op[1])
            with _never_checked(monkeypatch):
                assert _refresh(reference, closed=closed, min_group=op[1]) == made
            assert _disclosed(kept) == _disclosed(reference)
            assert _totals(kept) == _summed(kept)
            continue
        if closed:
            continue  # a closed wave takes no answers
        if op[0] == "complete":
            _, respondent, department, scores = op
            writes = [("answer", respondent, department, q, v) for q, v in enumerate(scores, 1)]
        else:
            writes = [op]
        for write in writes:
            before, changes = _state(kept)[0], kept.total_changes
            _write(kept, write)
            _write(reference, write)
            version, respondents = _state(kept)
            [(raw,)] = kept.execute(store.COMPLETE_COUNT_SQL, (1, 6))
            assert respondents == raw
            # Every answer written or deleted moves the version on; nothing else does.
            assert version == before + (kept.total_changes > changes)


def test_the_migration_counts_the_answers_already_there() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    for migration in load_migrations():
        if migration.version < 19:
            conn.executescript(migration.sql)
    conn.execute(
        "INSERT INTO departments (id, name, created_at) VALUES (1, 'Продажи', ?)", (STAMP,)
    )
    conn.execute(
        "INSERT INTO waves (id, title, opened_by, opened_at) VALUES (1, 'W', 1, ?)", (STAMP,)
    )
    for respondent, questions in (("a", 6), ("b", 6), ("c", 3)):
        for q in range(1, questions + 1):
            _write(conn, ("answer", respondent, 1, q, 3))
    conn.execute(
        "INSERT INTO disclosure_releases (wave_id, channel, epoch, structure, released_at) "
        "VALUES (1, 'scores', 1, '{}', ?)",
        (STAMP,),
    )
    for respondent, department, scores in (("a", 1, "[1,2,3,4,5,1]"), ("b", None, "[5,5,5,5,5,5]")):
        conn.execute(
            "INSERT INTO disclosure_members (wave_id, channel, respondent, department_id, epoch, "
            "payload) VALUES (1, 'scores', ?, ?, 1, ?)",
            (respondent, department, scores),
        )
    [migration] = [m for m in load_migrations() if m.version == 19]
    conn.executescript(migration.sql)
    assert _state(conn)[1] == 2
    assert _totals(conn) == _summed(conn) == [(None, 1, (5,) * 6), (1, 1, (1, 2, 3, 4, 5, 1))]
    _write(conn, ("answer", "c", 1, 4, 3))
    _write(conn, ("answer", "c", 1, 5, 3))
    _write(conn, ("answer", "c", 1, 6, 3))
    assert _state(conn)[1] == 3
