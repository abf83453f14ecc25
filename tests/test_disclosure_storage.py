"""Releases over a real database: stored, reused, and never changed by a step under the minimum."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.disclosure import COMMENTS, Respondent, service
from storage import Database
from storage import disclosure as store

NOW = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
STAMP = "2026-01-12T09:00:00.000000Z"


async def _setup(path: Path) -> Database:
    db = Database(path)
    await db.open()
    async with db.write() as conn:
        for i, name in enumerate(["Продажи", "Склад"], start=1):
            await conn.execute(
                "INSERT INTO departments (id, name, created_at) VALUES (?, ?, ?)",
                (i, name, STAMP),
            )
        await conn.execute(
            "INSERT INTO waves (id, title, opened_by, opened_at) VALUES (1, 'W', 1, ?)", (STAMP,)
        )
    return db


async def _answer(db: Database, respondent: str, department: int, scores: list[int]) -> None:
    async with db.write() as conn:
        for question, score in enumerate(scores, start=1):
            await conn.execute(
                "INSERT INTO survey_answers (wave_id, respondent, department_id, question, "
                "score, answered_at) VALUES (1, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE "
                "SET score = excluded.score",
                (respondent, department, question, score, STAMP),
            )


async def _view(db: Database, *, closed: bool = False) -> service.WaveView:
    async with db.write() as conn:
        await service.refresh(conn, 1, closed=closed, min_group=3, now=NOW)
    async with db.read() as conn:
        return await service.released(conn, 1, min_group=3)


async def test_nothing_under_the_minimum_then_steps_of_the_minimum(tmp_path: Path) -> None:
    db = await _setup(tmp_path / "bot.sqlite3")
    try:
        await _answer(db, "a", 1, [1, 2, 3, 4, 5, 1])
        await _answer(db, "b", 1, [2, 2, 2, 2, 2, 2])
        await _answer(db, "c", 1, [1, 2, 3])  # partial: never counted
        view = await _view(db)
        assert view.release is None
        assert view.respondents == 2
        await _answer(db, "c", 1, [1, 2, 3, 3, 3, 3])
        view = await _view(db)
        assert view.release is not None
        assert view.release.company.sums == (4, 6, 8, 9, 10, 6)
        assert view.department_shown(1) == "Продажи"
        # A fourth respondent and a changed answer: the figures stay as they were.
        await _answer(db, "d", 2, [5, 5, 5, 5, 5, 5])
        await _answer(db, "a", 1, [5, 5, 5, 5, 5, 5])
        view = await _view(db)
        assert view.respondents == 4
        assert view.counted == 3
        assert view.release.company.sums == (4, 6, 8, 9, 10, 6)
        # Closing does not release a step of one person either.
        view = await _view(db, closed=True)
        assert view.counted == 3
        async with db.read() as conn:
            assert await store.is_settled(conn, 1, service.SCORES)
    finally:
        await db.close()


async def test_fingerprint_is_stored_and_replaced(tmp_path: Path) -> None:
    db = await _setup(tmp_path / "bot.sqlite3")
    try:
        async with db.write() as conn:
            assert await store.key_fingerprint(conn) is None
            await store.set_key_fingerprint(conn, "v1:aa", NOW)
            await store.set_key_fingerprint(conn, "v1:bb", NOW + timedelta(days=1))
            assert await store.key_fingerprint(conn) == "v1:bb"
            assert await store.per_wave_from(conn) == 1  # no wave existed at the migration
    finally:
        await db.close()


async def test_comments_release_on_their_own_channel_and_threshold(tmp_path: Path) -> None:
    db = await _setup(tmp_path / "bot.sqlite3")
    try:
        commenters = [Respondent(f"c{i}", 1, ()) for i in range(5)]
        for upto, expect in ((4, 0), (5, 5)):
            async with db.write() as conn:
                await service.refresh(
                    conn, 1, closed=False, min_group=5, now=NOW, channel=COMMENTS,
                    live=commenters[:upto],
                )  # fmt: skip
            async with db.read() as conn:
                view = await service.released(
                    conn, 1, min_group=5, respondents=upto, channel=COMMENTS, with_members=True
                )
            assert len(view.members) == expect
        # The survey's own figures are untouched by the comments channel.
        async with db.read() as conn:
            assert (await service.released(conn, 1, min_group=3)).release is None
    finally:
        await db.close()
