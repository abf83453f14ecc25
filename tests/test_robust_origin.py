"""Only what a person typed runs, and survey and review buttons work only in their private chat.

An admin forwarding a message «/survey_close» closed the wave. A question or a review request
forwarded into a group, buttons and all, must not take answers there nor make the bot post in
the group.
"""

from __future__ import annotations

from typing import Any

from bot.app import BotApp
from bot.clock import FakeClock
from bot.emulator import BotAPIEmulator
from tests.conftest import ADMIN_ID
from tests.robust_helpers import (
    GROUP_ID,
    buy,
    calls_to_chat,
    forwarded,
    group_copy,
    link,
    order,
    press_copy,
)


async def one(app: BotApp, sql: str, *params: Any) -> Any:
    async with app.db.read() as conn, conn.execute(sql, params) as cur:
        row = await cur.fetchone()
    return None if row is None else row[0]


async def open_wave_with(app: BotApp, tg: BotAPIEmulator, user_id: int) -> Any:
    boss = tg.user(ADMIN_ID, "Olga")
    boss.send("/invite Продажи")
    await tg.settle()
    payload = boss.last["text"].split("?start=", 1)[1].split()[0]
    employee = tg.user(user_id, "Иван")
    employee.send(f"/start {payload}")
    await tg.settle()
    boss.send("/survey_start Волна")
    await tg.settle()
    await app.outbox.tick()
    return employee


# --- forwarded commands ---------------------------------------------------------------------
async def test_a_forwarded_survey_close_does_not_close_the_wave(
    app: BotApp, tg: BotAPIEmulator
) -> None:
    await open_wave_with(app, tg, 6101)
    boss = tg.user(ADMIN_ID, "Olga")
    someone = tg.user(6102, "Кто-то")
    forwarded(tg, boss, "/survey_close", origin=someone)
    await tg.settle()
    assert await one(app, "SELECT COUNT(*) FROM waves WHERE closed_at IS NULL") == 1
    assert "пересланн" in boss.last["text"].lower()  # the bot says why nothing happened

    boss.send("/survey_close")  # typed: it works
    await tg.settle()
    assert await one(app, "SELECT COUNT(*) FROM waves WHERE closed_at IS NULL") == 0


async def test_a_forwarded_forget_changes_nothing(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock
) -> None:
    anna = tg.user(6103, "Анна")
    body = order("F-1", "cust-f", at=clock.now().isoformat(), phone="+79990000001")
    await link(tg, anna, await buy(app.http_port, body), phone="+79990000001")
    forwarded(tg, anna, "/forget", origin=tg.user(6104, "Шутник"))
    await tg.settle()
    assert "reply_markup" not in anna.last  # no «delete my data?» confirmation offered
    assert "пересланн" in anna.last["text"].lower()
    assert await one(app, "SELECT telegram_id FROM customers WHERE external_id = 'cust-f'") == 6103


# --- buttons on copies in a group ------------------------------------------------------------
async def test_a_survey_question_pressed_in_a_group_takes_no_answer_and_posts_nothing(
    app: BotApp, tg: BotAPIEmulator
) -> None:
    employee = await open_wave_with(app, tg, 6105)
    question = employee.bot_messages()[-1]
    assert question.get("reply_markup"), "no question to copy"
    copy = group_copy(question)
    press_copy(tg, employee, copy, "4")
    await tg.settle()
    assert await one(app, "SELECT COUNT(*) FROM survey_answers") == 0
    assert calls_to_chat(tg, GROUP_ID) == []
    (answer,) = [c for c in tg.calls_of("answerCallbackQuery") if c.params.get("text")][-1:]
    assert "личн" in answer.params["text"].lower()  # «in your private chat with the bot»

    employee.click("4")  # in the private chat: counts
    await tg.settle()
    assert await one(app, "SELECT COUNT(*) FROM survey_answers") == 1


async def test_a_review_request_pressed_in_a_group_takes_no_rating_and_posts_nothing(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock
) -> None:
    tg.user(ADMIN_ID, "Olga")
    anna = tg.user(6106, "Анна")
    body = order("G-1", "cust-g", at=clock.now().isoformat())
    await link(tg, anna, await buy(app.http_port, body))
    clock.advance(days=app.settings.review_delay_days, seconds=1)
    await app.outbox.tick()
    request = anna.bot_messages()[-1]
    copy = group_copy(request)
    press_copy(tg, anna, copy, "1⭐")
    await tg.settle()
    await app.outbox.tick()
    assert await one(app, "SELECT COUNT(*) FROM reviews WHERE rating IS NOT NULL") == 0
    assert await one(app, "SELECT COUNT(*) FROM alerts") == 0
    assert calls_to_chat(tg, GROUP_ID) == []
    # A stranger in the group pressing it is refused the same way.
    press_copy(tg, tg.user(6107, "Чужой"), copy, "5⭐")
    await tg.settle()
    assert await one(app, "SELECT COUNT(*) FROM reviews WHERE rating IS NOT NULL") == 0
    assert calls_to_chat(tg, GROUP_ID) == []
