"""Photos, files and voice messages in a case, through the wire.

A customer's photo of what arrived broken is the most common complaint there is: it reaches the
admins as a photo with its caption and the case's buttons, and the shop can answer with a photo
too. What cannot be passed on (a sticker, a video note) gets a clear answer and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot.app import BotApp
from bot.clock import FakeClock
from bot.emulator import BotAPIEmulator
from storage.cases import forget_texts
from tests.factories import TEA, buy, link, one, press

SHOP = "Чайная лавка"


async def start(start_app: Callable[..., Any]) -> BotApp:
    return await start_app(admin_ids="1", shop_name=SHOP, support_hours="пн–пт 9:00–18:00")


async def tick(tg: BotAPIEmulator, app: BotApp) -> None:
    await tg.settle()
    await app.outbox.tick()
    await tg.settle()


def photo_id(message: dict[str, Any]) -> str:
    return message["photo"][-1]["file_id"]


async def linked(app: BotApp, tg: BotAPIEmulator) -> Any:
    anna = tg.user(7001, "Анна")
    await link(tg, await buy(app, "A-1", "cust-1", TEA), anna)
    return anna


async def test_a_customers_photo_reaches_the_admin_and_the_shop_answers_with_one(
    start_app: Callable[..., Any], tg: BotAPIEmulator
) -> None:
    app = await start(start_app)
    olga = tg.user(1, "Olga")
    anna = await linked(app, tg)

    sent = anna.send_media("photo", caption="Вот в каком виде пришла коробка")
    await tick(tg, app)
    assert anna.last["text"].startswith(f"🏪 {SHOP}")  # the shop got it
    assert "ответим здесь" in anna.last["text"]
    alert = olga.last
    assert photo_id(alert) == photo_id(sent)  # the same file, sent again by its file_id
    assert "Вопрос клиента" in alert["caption"]
    assert "📷 фото" in alert["caption"]
    assert "«Вот в каком виде пришла коробка»" in alert["caption"]
    assert [b["text"] for b in alert["reply_markup"]["inline_keyboard"][0]] == [
        "Ответить клиенту",
        "Решено",
    ]

    await press(tg, olga, "Ответить клиенту", message=alert)
    answer = olga.send_media("photo", caption="Вот замена, уже в пути")
    await tick(tg, app)
    assert "Отправлено клиенту" in olga.last["text"]
    reply = anna.last
    assert photo_id(reply) == photo_id(answer)
    assert reply["caption"].startswith(f"🏪 {SHOP}")
    assert "Вот замена, уже в пути" in reply["caption"]
    assert await one(app, "SELECT status FROM cases") == "answered"
    stored = await one(
        app, "SELECT group_concat(media_kind, ',') FROM case_messages WHERE media_kind IS NOT NULL"
    )
    assert stored == "photo,photo"


@pytest.mark.parametrize("kind", ["video", "document", "voice", "audio", "animation"])
async def test_every_kind_of_file_goes_both_ways(
    start_app: Callable[..., Any], tg: BotAPIEmulator, kind: str
) -> None:
    app = await start(start_app)
    olga = tg.user(1, "Olga")
    anna = await linked(app, tg)
    anna.send_media(kind)  # no caption: a voice message has none
    await tick(tg, app)
    assert kind in olga.last
    assert olga.last["reply_markup"]["inline_keyboard"][0][0]["text"] == "Ответить клиенту"

    await press(tg, olga, "Ответить клиенту", message=olga.last)
    olga.send_media(kind)
    await tick(tg, app)
    assert kind in anna.last
    assert anna.last["caption"].startswith(f"🏪 {SHOP}")


async def test_a_long_caption_is_cut_to_fit_telegrams_caption_limit(
    start_app: Callable[..., Any], tg: BotAPIEmulator
) -> None:
    app = await start(start_app)
    olga = tg.user(1, "Olga")
    anna = await linked(app, tg)
    anna.send_media("photo", caption="Очень длинно. " * 73)  # 1022 characters, as Telegram allows
    await tick(tg, app)
    caption = olga.last["caption"]  # the emulator refuses a caption over 1024 characters
    assert "…»" in caption
    await press(tg, olga, "Ответить клиенту", message=olga.last)
    olga.send_media("photo", caption="Ответ. " * 146)
    await tick(tg, app)
    assert anna.last["caption"].startswith(f"🏪 {SHOP}")
    assert not [c for c in tg.calls if c.status != 200], [c.error for c in tg.calls]


async def test_an_admins_sticker_is_refused_and_the_answer_still_waits(
    start_app: Callable[..., Any], tg: BotAPIEmulator
) -> None:
    app = await start(start_app)
    olga = tg.user(1, "Olga")
    anna = await linked(app, tg)
    anna.send("Где мой заказ?")
    await tick(tg, app)
    await press(tg, olga, "Ответить клиенту", message=olga.last)
    before = len(anna.bot_messages())
    olga.send_media("sticker")
    await tick(tg, app)
    assert "Такое сообщение клиенту не отправить" in olga.last["text"]
    assert len(anna.bot_messages()) == before
    assert await one(app, "SELECT COUNT(*) FROM case_messages") == 1
    olga.send("Завтра привезём")  # «Ответить клиенту» still holds for the next message
    await tick(tg, app)
    assert "Завтра привезём" in anna.last["text"]


@pytest.mark.parametrize("kind", ["sticker", "video_note"])
async def test_a_customers_sticker_gets_a_clear_answer_and_opens_nothing(
    start_app: Callable[..., Any], tg: BotAPIEmulator, kind: str
) -> None:
    app = await start(start_app)
    olga = tg.user(1, "Olga")
    anna = await linked(app, tg)
    seen = len(olga.bot_messages())
    anna.send_media(kind)
    await tick(tg, app)
    assert anna.last["text"].startswith(f"🏪 {SHOP}")
    assert "не можем передать магазину" in anna.last["text"]
    assert await one(app, "SELECT COUNT(*) FROM cases") == 0
    assert len(olga.bot_messages()) == seen


async def test_forget_clears_a_cases_file_ids_with_its_texts(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock
) -> None:
    app = await start(start_app)
    olga = tg.user(1, "Olga")
    anna = await linked(app, tg)
    anna.send("Вопрос")
    await tick(tg, app)
    await press(tg, olga, "Ответить клиенту", message=olga.last)
    async with app.db.write() as conn:
        # The photo is saved with the case first, then the customer is forgotten before it goes.
        await conn.execute(
            "UPDATE case_messages SET media_kind = 'photo', media_file_id = 'photo-x' "
            "WHERE id = (SELECT MIN(id) FROM case_messages)"
        )
        assert await forget_texts(conn, await one(app, "SELECT id FROM customers")) == 1
    assert await one(app, "SELECT COUNT(*) FROM case_messages WHERE media_file_id IS NOT NULL") == 0


async def rated(app: BotApp, tg: BotAPIEmulator, clock: FakeClock, stars: str) -> Any:
    """Anna bought, linked, a week later rates, answers NPS and effort: the comment is asked."""
    anna = await linked(app, tg)
    clock.advance(days=7)
    await app.outbox.tick()
    await press(tg, anna, stars)
    await press(tg, anna, "3")
    await press(tg, anna, "4")
    return anna


async def test_a_photo_as_a_complaints_comment_reaches_the_shop_in_its_case(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock
) -> None:
    app = await start(start_app)
    olga = tg.user(1, "Olga")
    anna = await rated(app, tg, clock, "2⭐")
    assert "Что пошло не так?" in anna.last["text"]
    sent = anna.send_media("photo", caption="Вот брак")
    await tick(tg, app)
    assert await one(app, "SELECT comment FROM reviews") == "Вот брак"
    assert "ответим" in anna.last["text"]  # the complaint's thank-you
    (case_photo,) = [m for m in olga.bot_messages() if "photo" in m]
    assert photo_id(case_photo) == photo_id(sent)
    assert "Обращение №1" in case_photo["caption"]
    comment_alert = next(i for i, t in enumerate(olga.texts()) if "Вот брак" in t)
    assert comment_alert < olga.bot_messages().index(case_photo)  # the words first


async def test_a_photo_without_words_is_passed_on_and_the_comment_still_waits(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock
) -> None:
    app = await start(start_app)
    olga = tg.user(1, "Olga")
    anna = await rated(app, tg, clock, "1⭐")
    anna.send_media("photo")
    await tick(tg, app)
    assert "мы передали это магазину" in anna.last["text"]
    assert any("photo" in m for m in olga.bot_messages())
    assert await one(app, "SELECT comment FROM reviews") is None
    anna.send("Коробка была мятая")
    await tick(tg, app)
    assert await one(app, "SELECT comment FROM reviews") == "Коробка была мятая"


async def test_a_photo_on_a_good_review_asks_for_words(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock
) -> None:
    app = await start(start_app)
    anna = await rated(app, tg, clock, "5⭐")
    anna.send_media("photo")
    await tick(tg, app)
    assert "комментарий текстом" in anna.last["text"]
    assert await one(app, "SELECT COUNT(*) FROM cases") == 0
