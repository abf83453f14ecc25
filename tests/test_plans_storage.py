"""Action plans over a real database: migration 0009, statuses with their history, check-in
rights, comments without a trace of who wrote them, suggestions, pulse picks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.plans import service
from bot.plans.model import DuePreset, Move, Status
from storage import plans as store
from storage.db import Database
from storage.plans import PlanDraft

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ADMIN = 1
OWNER = 500


@pytest.fixture
async def db(tmp_path: Path):
    database = Database(tmp_path / "bot.sqlite3")
    await database.open(process_lock=False)
    async with database.write() as conn:
        await conn.execute(
            "INSERT INTO departments (id, name, created_at) VALUES (1, 'Продажи', 'x')"
        )
        await conn.execute(
            "INSERT INTO waves (id, title, opened_by, opened_at) VALUES (1, 'Волна', 1, 'x')"
        )
    yield database
    await database.close()


async def _initiative(db: Database, preset: DuePreset = DuePreset.MONTH) -> int:
    draft = PlanDraft(ADMIN, "due", 4, "Разбор жалоб", OWNER, "Ольга", None, "admin", None)
    async with db.write() as conn:
        await store.save_draft(conn, draft, NOW)
        made = await service.create_from_draft(
            conn,
            await store.get_draft(conn, ADMIN),
            preset,
            today=NOW.date(),
            base_wave_id=1,
            admin_name="Админ",
            now=NOW,
        )
        assert await store.get_draft(conn, ADMIN) is None  # the conversation is over
    assert made is not None
    return made.id


async def test_a_plan_moves_through_its_statuses_and_keeps_who_and_when(db: Database) -> None:
    initiative_id = await _initiative(db)
    later = NOW + timedelta(days=30)
    async with db.write() as conn:
        started = await service.change_status(
            conn, initiative_id, Status.IN_PROGRESS, by_chat_id=OWNER, by_name="Ольга",
            is_admin=False, now=later,
        )  # fmt: skip
        same = await service.change_status(
            conn, initiative_id, Status.IN_PROGRESS, by_chat_id=OWNER, by_name="Ольга",
            is_admin=False, now=later,
        )  # fmt: skip
        note = await service.add_note(
            conn, initiative_id, "  обзвонили 40 клиентов ", by_chat_id=OWNER, by_name="Ольга",
            now=later,
        )  # fmt: skip
        done = await service.change_status(
            conn, initiative_id, Status.DONE, by_chat_id=OWNER, by_name="Ольга",
            is_admin=False, now=later,
        )  # fmt: skip
        undo = await service.change_status(
            conn, initiative_id, Status.IN_PROGRESS, by_chat_id=OWNER, by_name="Ольга",
            is_admin=False, now=later,
        )  # fmt: skip
        events = await store.events_of(conn, initiative_id)
    assert (started.move, same.move, done.move, undo.move) == (
        Move.CHANGED, Move.UNCHANGED, Move.CHANGED, Move.REFUSED,
    )  # fmt: skip
    assert note == "обзвонили 40 клиентов"
    assert done.initiative is not None
    assert done.initiative.status == "done"
    assert done.initiative.done_at == later
    assert [(e.previous, e.status, e.by_chat_id) for e in events] == [
        (None, "planned", ADMIN),
        ("planned", "in_progress", OWNER),
        ("in_progress", "in_progress", OWNER),
        ("in_progress", "in_progress", OWNER),
        ("in_progress", "done", OWNER),
    ]
    assert events[3].note == "обзвонили 40 клиентов"
    assert events[1].at == later


async def test_only_the_owner_or_an_admin_changes_a_status(db: Database) -> None:
    initiative_id = await _initiative(db)
    async with db.write() as conn:
        stranger = await service.change_status(
            conn, initiative_id, Status.DONE, by_chat_id=777, by_name=None, is_admin=False,
            now=NOW,
        )  # fmt: skip
        missing = await service.change_status(
            conn, 999, Status.DONE, by_chat_id=OWNER, by_name=None, is_admin=False, now=NOW
        )
        admin = await service.change_status(
            conn, initiative_id, Status.DROPPED, by_chat_id=ADMIN, by_name=None, is_admin=True,
            now=NOW,
        )  # fmt: skip
        status = (await store.get_initiative(conn, initiative_id)).status
    assert stranger.not_allowed
    assert stranger.move == Move.REFUSED
    assert missing.initiative is None
    assert admin.move == Move.CHANGED
    assert status == "dropped"


async def test_due_presets_are_stored_and_an_incomplete_draft_makes_nothing(db: Database) -> None:
    wave_due = await _initiative(db, DuePreset.NEXT_WAVE)
    quarter = await _initiative(db, DuePreset.QUARTER)
    async with db.write() as conn:
        a = await store.get_initiative(conn, wave_due)
        b = await store.get_initiative(conn, quarter)
        half = PlanDraft(ADMIN, "owner", 2, "Без владельца", None, None, None, "admin", None)
        nothing = await service.create_from_draft(
            conn, half, DuePreset.MONTH, today=NOW.date(), base_wave_id=None, admin_name=None,
            now=NOW,
        )  # fmt: skip
    assert a.due_next_wave
    assert a.due_day is None
    assert b.due_day == date(2026, 6, 2)
    assert nothing is None


async def test_a_comment_is_stored_without_its_author_once_per_wave(db: Database) -> None:
    async with db.write() as conn:
        first = await service.record_comment(
            conn, 1, "r_abc", "Долго согласуем скидки", department_id=1, day=NOW.date()
        )
        again = await service.record_comment(
            conn, 1, "r_abc", "второй раз", department_id=1, day=NOW.date()
        )
        skipped = await service.record_comment(
            conn, 1, "r_def", None, department_id=None, day=NOW.date()
        )
        comments = await store.comments_of_wave(conn, 1)
        async with conn.execute("SELECT * FROM survey_comments") as cur:
            columns = [d[0] for d in cur.description]
    assert (first, again, skipped) == (True, False, True)
    assert [(c.body, c.department, c.day) for c in comments] == [
        ("Долго согласуем скидки", "Продажи", NOW.date())
    ]
    # No respondent, pseudonym or time column: only the day.
    assert columns == ["id", "wave_id", "department_id", "body", "created_day"]
    assert comments[0].id > 1000  # random, not the order of arrival


async def test_a_suggestion_becomes_an_initiative_once(db: Database) -> None:
    async with db.write() as conn:
        suggestion = await store.insert_suggestion(
            conn, None, "Перезванивать за час", signed_chat_id=None, signed_name=None,
            day=NOW.date(),
        )  # fmt: skip
        draft = PlanDraft(
            ADMIN, "due", 3, service.title_from("Перезванивать\n за час"), OWNER, "Ольга", None,
            "suggestion", suggestion,
        )  # fmt: skip
        made = await service.create_from_draft(
            conn, draft, DuePreset.MONTH, today=NOW.date(), base_wave_id=None, admin_name=None,
            now=NOW,
        )  # fmt: skip
        counts = await store.suggestion_counts(conn)
        stored = await store.get_suggestion(conn, suggestion)
    assert made is not None
    assert made.title == "Перезванивать за час"
    assert stored.initiative_id == made.id
    assert stored.signed_chat_id is None
    assert counts == (1, 1)


async def test_ritual_slots_pending_inputs_targets_and_pulse_picks(db: Database) -> None:
    async with db.write() as conn:
        assert await store.last_slot(conn, "checkin") is None
        await store.set_last_slot(conn, "checkin", NOW)
        await store.set_last_slot(conn, "checkin", NOW + timedelta(days=1))
        await store.set_pending(conn, OWNER, "checkin_note", 5, NOW)
        await store.set_pending(conn, OWNER, "suggestion", 7, NOW, signed=True)
        pending = await store.get_pending(conn, OWNER)
        await store.insert_department_target(conn, 1, 20, ADMIN, 1, NOW)
        await store.insert_department_target(conn, 1, 23, ADMIN, 1, NOW)
        round_id = await store.insert_pulse(conn, ADMIN, NOW)
        await store.add_pick(conn, round_id, "r1", None, 1)
        assert await store.set_pulse_score(conn, round_id, "r1", 1, 4)
        await store.close_pulse(conn, round_id, NOW)
        last = await store.last_slot(conn, "checkin")
        targets = await store.department_targets(conn)
        scores = await store.pulse_scores(conn, round_id)
        assert await store.open_pulse(conn) is None
    assert last == NOW + timedelta(days=1)
    assert (pending.kind, pending.ref_id, pending.signed) == ("suggestion", 7, True)
    assert targets == {1: (23, 1)}
    assert scores == [("r1", None, 1, 4)]
