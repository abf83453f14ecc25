"""Someone else holds the database's write lock (an admin's sqlite3 shell with a transaction
open): handlers wait for it, or, past the busy timeout, say «try again»; nothing is half-written.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot.app import BotApp
from bot.emulator import BotAPIEmulator
from bot.survey import service as survey_service
from storage.outbox import SURVEY_INVITE
from tests.db_snapshot import diff, snapshot
from tests.faults.survey_setup import ADMIN_ID, open_wave_with_employees
from tests.survey_helpers import admin, db_count

BUSY = "Бот сейчас занят, попробуйте ещё раз через минуту."


@contextmanager
def write_lock_held(path: Path) -> Iterator[sqlite3.Connection]:
    """What `sqlite3 bot.sqlite3` then `BEGIN IMMEDIATE;` does: hold the write lock."""
    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield conn
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def delivered(tg: BotAPIEmulator, update_id: int) -> Callable[[], bool]:
    """The bot has fetched this update (its handler is running)."""
    return lambda: any(
        update_id in [u["update_id"] for u in (call.result or [])]
        for call in tg.calls_of("getUpdates")
    )


def last_update_id(tg: BotAPIEmulator) -> int:
    return int(tg._updates[-1]["update_id"])


async def employee_in_wave(app: BotApp, tg: BotAPIEmulator, telegram_id: int = 5001) -> Any:
    person = tg.user(telegram_id, "Anna")
    await open_wave_with_employees(app.db, [telegram_id], app.clock.now())
    await app.outbox.tick()
    await tg.wait_for(lambda: bool(person.bot_messages()))
    return person


async def test_a_press_waits_out_a_short_lock_and_is_saved(app: BotApp, tg: BotAPIEmulator) -> None:
    anna = await employee_in_wave(app, tg)
    with write_lock_held(app.settings.database_path):
        anna.click("4")
        await tg.wait_for(delivered(tg, last_update_id(tg)))
        # Give the bot every chance to answer (wrongly) while the lock is held.
        await asyncio.sleep(0.3)
        assert anna.callback_answers() == []
        assert await db_count(app, "SELECT COUNT(*) FROM survey_answers") == 0
    await tg.settle()
    assert anna.callback_answers()[-1]["text"] == "Сохранено: 4"
    assert "Вопрос 2 из 6" in anna.last["text"]
    assert await db_count(app, "SELECT COUNT(*) FROM survey_answers WHERE score = 4") == 1


def short_busy_timeout(app: BotApp) -> None:
    # 150 ms stands for the real 10 s: the behaviour past the timeout is the same.
    app.db.busy_timeout_ms = 150


async def test_past_the_busy_timeout_people_hear_try_again_and_nothing_is_written(
    start_fast_app: Callable[..., Any], tg: BotAPIEmulator
) -> None:
    app = await start_fast_app(configure=short_busy_timeout)
    anna = await employee_in_wave(app, tg)
    boss = admin(tg)
    before = snapshot(app.settings.database_path)

    with write_lock_held(app.settings.database_path):
        anna.click("4")
        anna.send("/survey")
        boss.send("/survey_close")
        boss.send("/invite Склад")
        await tg.settle()
        assert diff(before, snapshot(app.settings.database_path)) == {}

    answer = anna.callback_answers()[-1]
    assert (answer["text"], answer["show_alert"]) == (BUSY, True)
    assert anna.last["text"] == BUSY
    assert boss.texts() == [BUSY, BUSY]
    assert diff(before, snapshot(app.settings.database_path)) == {}

    # The lock is gone: the same actions go through.
    anna.click("4")
    await tg.settle()
    assert anna.callback_answers()[-1]["text"] == "Сохранено: 4"
    assert any("Вопрос 2 из 6" in text for text in anna.texts())  # the question, edited
    boss.send("/survey_close")
    await tg.settle()
    assert "закрыт" in boss.last["text"]


async def test_opening_a_wave_under_a_lock_is_all_or_nothing(
    start_fast_app: Callable[..., Any], tg: BotAPIEmulator
) -> None:
    """A wave writes the wave, an invitation and two queued messages per employee, together."""
    app = await start_fast_app(configure=short_busy_timeout)
    await join_employees(app, [5101, 5102, 5103])
    boss = admin(tg)
    with write_lock_held(app.settings.database_path):
        boss.send("/survey_start Волна")
        await tg.settle()
    assert boss.last["text"] == BUSY
    assert await db_count(app, "SELECT COUNT(*) FROM waves") == 0
    assert await db_count(app, "SELECT COUNT(*) FROM wave_invitations") == 0
    assert await db_count(app, "SELECT COUNT(*) FROM outbox") == 0

    boss.send("/survey_start Волна")
    await tg.settle()
    assert await db_count(app, "SELECT COUNT(*) FROM waves") == 1
    assert await db_count(app, "SELECT COUNT(*) FROM wave_invitations") == 3
    assert await db_count(app, "SELECT COUNT(*) FROM outbox WHERE kind = ?", SURVEY_INVITE) == 3


async def test_an_outbox_tick_under_a_lock_claims_nothing_and_the_next_sends_once(
    start_fast_app: Callable[..., Any], tg: BotAPIEmulator
) -> None:
    app = await start_fast_app(configure=short_busy_timeout)
    people = [tg.user(t, "E") for t in (5201, 5202)]
    await join_employees(app, [p.id for p in people])
    await survey_service.start_wave(app.db, "W", ADMIN_ID, app.clock.now(), reminder_days=3)

    with write_lock_held(app.settings.database_path), contextlib.suppress(sqlite3.OperationalError):
        # The job fails this round (APScheduler logs it and runs it again next tick).
        await app.outbox.tick()
    assert await db_count(app, "SELECT COUNT(*) FROM outbox WHERE status <> 'pending'") == 0

    await app.outbox.tick()
    for person in people:
        assert len(person.bot_messages()) == 1
    sent = await db_count(
        app, "SELECT COUNT(*) FROM outbox WHERE kind = ? AND status = 'sent'", SURVEY_INVITE
    )
    assert sent == 2


async def join_employees(app: BotApp, telegram_ids: list[int]) -> None:
    now = app.clock.now()
    payload, _ = await survey_service.create_invite(app.db, "Продажи", ADMIN_ID, now)
    for telegram_id in telegram_ids:
        await survey_service.join(app.db, payload, telegram_id, "ru", now, reminder_days=3)
