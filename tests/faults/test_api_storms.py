"""The Bot API in a bad mood for a while: 500s, 429s, timeouts. The bot keeps polling with a
growing pause, loses no update, and sends everything that fell due once Telegram is back.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from bot.app import BotApp
from bot.emulator import BotAPIEmulator
from bot.emulator.server import Call
from storage.outbox import SURVEY_INVITE
from storage.timestamps import to_db
from tests.faults.conftest import FAST_BACKOFF
from tests.faults.survey_setup import open_wave_with_employees
from tests.survey_helpers import db_count

EMPLOYEES = [3001, 3002, 3003, 3004, 3005, 3006, 3007, 3008]


def failed(calls: list[Call]) -> list[Call]:
    return [c for c in calls if c.status != 200]


def shown_answers(tg: BotAPIEmulator) -> list[str]:
    """Texts of the callback answers Telegram accepted (so the person saw them)."""
    return [c.params.get("text", "") for c in tg.calls_of("answerCallbackQuery") if c.status == 200]


def storm_over(tg: BotAPIEmulator) -> Callable[[], bool]:
    return lambda: all(fault.count == 0 for fault in tg.faults)


async def send_all_due(app: BotApp, horizon: timedelta = timedelta(hours=2)) -> None:
    """Tick as the scheduler would for a while, the clock passing every retry time set."""
    until = app.clock.now() + horizon
    while app.clock.now() < until:
        await app.outbox.tick()
        app.clock.advance(minutes=15)
    left = await db_count(
        app,
        "SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sending') AND due_at <= ?",
        to_db(until),
    )
    assert left == 0, "messages that fell due were not sent"


async def test_polling_rides_out_500s_and_429s_and_loses_no_update(
    start_fast_app: Callable[..., Any], tg: BotAPIEmulator
) -> None:
    app = await start_fast_app()
    tg.fail("getUpdates", 3, status=500)
    tg.fail("getUpdates", 2, status=429, retry_after=1)
    tg.fail("getUpdates", 1, status=502)
    people = [tg.user(4000 + i, f"P{i}") for i in range(5)]
    for person in people:
        person.send("привет")  # queued at Telegram while the bot cannot fetch

    await tg.wait_for(storm_over(tg))
    await tg.settle()

    for person in people:
        assert len(person.bot_messages()) == 1, "every queued update is answered once"
        assert "бот программы клиентоцентричности" in person.last["text"]
    polls = tg.calls_of("getUpdates")
    errors = failed(polls)
    assert [c.status for c in errors] == [500, 500, 500, 429, 429, 502]
    # Backing off, not hammering: each retry waited at least the backoff's first step.
    starts = [c.at for c in polls[polls.index(errors[0]) : polls.index(errors[-1]) + 2]]
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= FAST_BACKOFF.min_delay * 0.8
    assert app._telegram_task is not None
    assert not app._telegram_task.done()


@pytest.mark.slow  # aiogram's request timeouts are whole seconds: the stall has to outlast 2 s
async def test_polling_survives_a_getupdates_timeout(
    start_fast_app: Callable[..., Any], tg: BotAPIEmulator
) -> None:
    def short_timeouts(application: BotApp) -> None:
        # getUpdates' request timeout is the session timeout plus the long poll (1 s here),
        # floored to whole seconds: 2 s. A Telegram that stalls 2.5 s is then a timeout, while
        # an ordinary empty long poll (1 s) is not.
        application.bot.session.timeout = 1
        tg.fail("getUpdates", 1, status=500, delay=2.5)  # the very first poll hangs

    app = await start_fast_app(configure=short_timeouts)
    person = tg.user(4100, "Stalled")
    person.send("/help")
    await tg.wait_for(lambda: len(person.bot_messages()) == 1, timeout=15)
    assert "бот программы клиентоцентричности" in person.last["text"]

    # The bot gave up on the stalled poll and polled again before Telegram ever answered it.
    await tg.wait_for(lambda: bool(failed(tg.calls_of("getUpdates"))), timeout=15)
    (stalled,) = failed(tg.calls_of("getUpdates"))
    later = [c for c in tg.calls_of("getUpdates") if c.status == 200 and c.at > stalled.at]
    assert min(c.at for c in later) < stalled.at + 2.5
    await tg.settle()
    assert len(person.bot_messages()) == 1
    assert not app._telegram_task.done()  # type: ignore[union-attr]


async def test_everything_due_is_delivered_after_telegram_comes_back(
    start_fast_app: Callable[..., Any], tg: BotAPIEmulator
) -> None:
    app = await start_fast_app()
    await tg.settle()
    employees = [tg.user(t, f"E{t}") for t in EMPLOYEES]

    # Telegram refuses messages: the first questions of a new wave go out into the storm.
    tg.fail("sendMessage", 6, status=500)
    await open_wave_with_employees(app.db, EMPLOYEES, app.clock.now())
    await app.outbox.tick()
    sent_in_storm = await db_count(
        app, "SELECT COUNT(*) FROM outbox WHERE kind = ? AND status = 'sent'", SURVEY_INVITE
    )
    assert sent_in_storm == len(EMPLOYEES) - 6  # the refused ones wait for their retry time
    assert await db_count(app, "SELECT COUNT(*) FROM outbox WHERE status = 'failed'") == 0

    # Then polling fails too, and people write meanwhile.
    polling_storm = [
        tg.fail("getUpdates", 4, status=503),
        tg.fail("getUpdates", 2, status=429, retry_after=1),
    ]
    await tg.wait_for(lambda: polling_storm[0].count < 4)  # the long poll under way has ended
    writers = [tg.user(4200 + i, f"W{i}") for i in range(3)]
    for person in writers:
        person.send("/start")

    await tg.wait_for(storm_over(tg))
    await tg.settle()
    for person in writers:
        assert len(person.bot_messages()) == 1
    await send_all_due(app)

    for person in employees:
        questions = [t for t in person.texts() if "Вопрос 1 из 6" in t]
        assert len(questions) == 1, f"{person.id} got {len(questions)} first questions"
    invites = await db_count(
        app, "SELECT COUNT(*) FROM outbox WHERE kind = ? AND status = 'sent'", SURVEY_INVITE
    )
    assert invites == len(EMPLOYEES)
    assert not app._telegram_task.done()  # type: ignore[union-attr]

    # And the bot is fully back: a press is recorded and answered.
    employees[0].click("4")
    await tg.settle()
    assert "Вопрос 2 из 6" in employees[0].last["text"]


async def test_a_lost_edit_is_repaired_by_the_next_press(
    start_fast_app: Callable[..., Any], tg: BotAPIEmulator
) -> None:
    """Telegram took the answer but refused the edit (or the bot died in between): the message
    still shows the answered question. Pressing it again moves it on, instead of a dead end."""
    app = await start_fast_app()
    anna = tg.user(3101, "Anna")
    await open_wave_with_employees(app.db, [anna.id], app.clock.now())
    await app.outbox.tick()
    tg.fail("editMessageText", 1, status=500)
    anna.click("4")
    await tg.settle()
    assert shown_answers(tg) == ["Сохранено: 4"]
    assert "Вопрос 1 из 6" in anna.last["text"]  # the edit was lost

    anna.click("5")  # the same question, pressed again
    await tg.settle()
    assert shown_answers(tg)[-1] == "Ваш ответ на этот вопрос уже сохранён."
    assert "Вопрос 2 из 6" in anna.last["text"]
    assert await db_count(app, "SELECT COUNT(*) FROM survey_answers WHERE score = 4") == 1
    assert await db_count(app, "SELECT COUNT(*) FROM survey_answers") == 1
