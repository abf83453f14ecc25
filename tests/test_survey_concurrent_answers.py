"""Answers pressed at the same moment are written together (group commit) and lose nothing.

The property: a crowd of presses handled concurrently (so batched into shared transactions)
gives every presser the same answer, and leaves the same rows, as the same presses handled
one after another. Then the production dispatcher (every update a task) through the wire.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import build_app
from bot.clock import FakeClock
from bot.emulator import BotAPIEmulator
from bot.pseudonym import Pseudonymizer
from bot.survey import service as survey_service
from bot.survey.service import Answered, Refusal, record_answer
from storage import Database
from storage import survey as q
from tests.app_start import first_tick

NOW = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
PSEUDONYMS = Pseudonymizer(b"test-pseudonym-secret")
INVITED = (11, 12, 13)  # employees asked in both waves (13 in another department)
LATE = 14  # registered after the open wave started: not invited to it
STRANGER = 99
CLOSED_WAVE, OPEN_WAVE, NO_WAVE = 1, 2, 3


async def _seed(path: Path) -> None:
    db = Database(path)
    await db.open(process_lock=False)
    try:
        async with db.write() as conn:
            sales = await q.get_or_create_department(conn, "Sales", NOW)
            stock = await q.get_or_create_department(conn, "Stock", NOW)
            for telegram_id in INVITED:
                department = stock if telegram_id == 13 else sales
                await q.upsert_employee(conn, telegram_id, department.id, "ru", NOW)
        await survey_service.start_wave(db, "First", 1, NOW, reminder_days=3)
        await survey_service.close_wave(db, NOW)
        await survey_service.start_wave(db, "Second", 1, NOW, reminder_days=3)
        async with db.write() as conn:
            await q.upsert_employee(conn, LATE, sales.id, "ru", NOW)
    finally:
        await db.close()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One seeded database for every example (copying a file beats migrating a new one)."""
    path = tmp_path_factory.mktemp("survey-template") / "seeded.sqlite3"
    asyncio.run(_seed(path))
    return path


Press = tuple[int, int, int, int, bool]  # telegram id, wave, question, score, change

presses = st.tuples(
    st.sampled_from([*INVITED, *INVITED, LATE, STRANGER]),
    st.sampled_from([OPEN_WAVE, OPEN_WAVE, OPEN_WAVE, CLOSED_WAVE, NO_WAVE]),
    st.integers(min_value=0, max_value=7),
    st.integers(min_value=0, max_value=6),
    st.booleans(),
)


async def _answer_all(
    path: Path, crowd: list[Press], *, together: bool
) -> tuple[list[Answered | Refusal], list[tuple[Any, ...]], int]:
    db = Database(path)
    await db.open(process_lock=False)
    try:
        calls = [
            record_answer(
                db,
                PSEUDONYMS,
                telegram_id=telegram_id,
                wave_id=wave,
                question=question,
                score=score,
                change=change,
                now=NOW + timedelta(seconds=i),
            )
            for i, (telegram_id, wave, question, score, change) in enumerate(crowd)
        ]
        # Together: every call queues before the first write ends. Else: each waits its turn.
        results = list(await asyncio.gather(*calls)) if together else [await call for call in calls]
        async with db.read() as conn:
            rows = await conn.execute_fetchall(
                "SELECT wave_id, respondent, department_id, question, score, answered_at "
                "FROM survey_answers ORDER BY wave_id, respondent, question"
            )
        batches = db.group_commit(survey_service._apply_presses).batches
    finally:
        await db.close()
    return results, [tuple(r) for r in rows], batches


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(crowd=st.lists(presses, min_size=1, max_size=30))
def test_answers_together_equal_answers_one_by_one(
    crowd: list[Press], tmp_path: Path, template: Path
) -> None:
    # tmp_path is shared by every example: each gets its own folder (no WAL left over).
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    one_by_one, together = folder / "one_by_one.sqlite3", folder / "together.sqlite3"
    shutil.copy(template, one_by_one)
    shutil.copy(template, together)

    expected, expected_rows, _ = asyncio.run(_answer_all(one_by_one, crowd, together=False))
    results, rows, batches = asyncio.run(_answer_all(together, crowd, together=True))

    assert results == expected
    assert rows == expected_rows
    # The first press is written alone; all the others were queued by then: one more batch.
    assert batches <= 2


def test_a_crowd_of_first_answers_in_one_batch(tmp_path: Path, template: Path) -> None:
    """Six people answer question 1 and two press twice: five stored, the doubles refused."""
    path = tmp_path / "crowd.sqlite3"
    shutil.copy(template, path)
    crowd: list[Press] = [
        (11, OPEN_WAVE, 1, 4, False),
        (12, OPEN_WAVE, 1, 5, False),
        (11, OPEN_WAVE, 1, 1, False),  # Anna's double press: the first answer stands
        (13, OPEN_WAVE, 1, 2, False),
        (12, OPEN_WAVE, 1, 5, True),  # a «change» to the same score: nothing to write
        (LATE, OPEN_WAVE, 1, 3, False),  # not invited to this wave
        (STRANGER, OPEN_WAVE, 1, 3, False),
        (13, OPEN_WAVE, 2, 3, False),  # question 2 right after question 1, same batch
    ]
    results, rows, _ = asyncio.run(_answer_all(path, crowd, together=True))

    assert [r if isinstance(r, Refusal) else r.question for r in results] == [
        1,
        1,
        Refusal.ALREADY,
        1,
        1,
        Refusal.STALE,
        Refusal.NOT_EMPLOYEE,
        2,
    ]
    assert [(r[1], r[3], r[4]) for r in rows] == sorted(
        [
            (PSEUDONYMS(11, OPEN_WAVE), 1, 4),
            (PSEUDONYMS(12, OPEN_WAVE), 1, 5),
            (PSEUDONYMS(13, OPEN_WAVE), 1, 2),
            (PSEUDONYMS(13, OPEN_WAVE), 2, 3),
        ]
    )
    last = results[-1]
    assert isinstance(last, Answered)
    assert last.progress.answers == {1: 2, 2: 3}


# --- through the wire, with the production dispatcher (every update is a task) ---------------
async def test_many_people_pressing_at_once_through_the_wire(
    tg: BotAPIEmulator, make_settings: Callable[..., Any], clock: FakeClock, db_path: Path
) -> None:
    people = list(range(2001, 2021))
    db = Database(db_path)
    await db.open(process_lock=False)
    async with db.write() as conn:
        department = await q.get_or_create_department(conn, "Sales", clock.now())
        for telegram_id in people:
            await q.upsert_employee(conn, telegram_id, department.id, "ru", clock.now())
    await survey_service.start_wave(db, "Wave", 1, clock.now(), reminder_days=3)
    await db.close()

    settings = make_settings(send_rate=1000)  # question 1 to everyone without the rate cap
    users = [tg.user(telegram_id, f"Person {telegram_id}") for telegram_id in people]
    app = build_app(settings, clock=clock, handle_as_tasks=True, polling_timeout=1)
    await app.start()
    try:
        await first_tick(app)  # everyone gets question 1
        for user in users:
            user.click("3")
        for user in users[:6]:
            user.click("5")  # six of them press twice before the message changes

        def everyone_answered() -> bool:
            return all(len(u.callback_answers()) == (2 if u in users[:6] else 1) for u in users)

        await tg.wait_for(everyone_answered, timeout=10)
        await tg.wait_for(lambda: all("Вопрос 2 из 6" in u.last["text"] for u in users))
        async with app.db.read() as conn:
            rows = await conn.execute_fetchall("SELECT question, score FROM survey_answers")
        assert sorted(tuple(r) for r in rows) == [(1, 3)] * len(people)
        for user in users[:6]:
            assert user.callback_answers()[-1]["text"] == "Ваш ответ на этот вопрос уже сохранён."
        group = app.db.group_commit(survey_service._apply_presses)
        assert group.items == len(people) + 6
        assert group.batches < group.items  # presses shared transactions
    finally:
        await app.stop()
