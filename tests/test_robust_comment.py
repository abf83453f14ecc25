"""Non-text at the review's comment step: a photo's caption is the comment; a voice message or a
photo without a caption gets «please write it as text», and the review still waits for it.
"""

from __future__ import annotations

from typing import Any

from bot.app import BotApp
from bot.clock import FakeClock
from bot.emulator import BotAPIEmulator, FakeUser
from tests.conftest import ADMIN_ID
from tests.robust_helpers import buy, link, order, photo, voice

WELCOME = "Это бот программы клиентоцентричности"


async def one(app: BotApp, sql: str, *params: Any) -> Any:
    async with app.db.read() as conn, conn.execute(sql, params) as cur:
        row = await cur.fetchone()
    return None if row is None else row[0]


async def at_comment_step(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock, user_id: int, stars: str = "2⭐"
) -> FakeUser:
    tg.user(ADMIN_ID, "Olga")
    user = tg.user(user_id, "Анна")
    body = order(f"C-{user_id}", f"cust-{user_id}", at=clock.now().isoformat())
    await link(tg, user, await buy(app.http_port, body))
    clock.advance(days=app.settings.review_delay_days, seconds=1)
    await app.outbox.tick()
    user.click(stars)
    await tg.settle()
    user.click("3")
    await tg.settle()
    await app.outbox.tick()
    return user


async def test_a_photo_caption_is_taken_as_the_comment(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock
) -> None:
    anna = await at_comment_step(app, tg, clock, 6201)
    photo(tg, anna, "вот фото брака")
    await tg.settle()
    await app.outbox.tick()
    comment = await one(app, "SELECT comment FROM reviews WHERE customer_id IS NOT NULL")
    assert comment == "вот фото брака"
    assert "Спасибо" in anna.last["text"]
    boss = tg.user(ADMIN_ID, "Olga")
    assert any("вот фото брака" in t for t in boss.texts())  # the admins' follow-up has it


async def test_a_voice_message_is_asked_to_be_text_and_the_review_still_waits(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock
) -> None:
    anna = await at_comment_step(app, tg, clock, 6202, stars="4⭐")
    voice(tg, anna)
    await tg.settle()
    assert WELCOME not in anna.last["text"]
    assert "текст" in anna.last["text"].lower()
    assert await one(app, "SELECT comment FROM reviews") is None

    photo(tg, anna, None)  # a photo without a caption: the same
    await tg.settle()
    assert "текст" in anna.last["text"].lower()

    anna.send("Всё хорошо")  # then text works as ever
    await tg.settle()
    assert await one(app, "SELECT comment FROM reviews") == "Всё хорошо"
