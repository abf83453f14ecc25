"""The review conversation through the wire: request, stars, NPS, comment, alerts, expiry.

Customers buy through the purchases feature, link by their receipt link, and time moves on the
fake clock; what they see is what the emulator's chats hold.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.app import BotApp
from bot.callbacks import (
    AlertResolveCb,
    CaseAction,
    CaseCb,
    ReviewNpsCb,
    ReviewRatingCb,
    ReviewSkipCb,
)
from bot.clock import FakeClock
from bot.customers.messages import MAX_ITEMS_SHOWN
from bot.emulator import BotAPIEmulator, FakeUser
from bot.emulator.spec import visible_text
from bot.i18n import Translator, build_i18n
from bot.reviews.messages import request_message
from bot.reviews.service import COMMENT_MAX_LEN, clean_comment, expires_at
from storage.outbox import NEGATIVE_ALERT, REVIEW_REMINDER, REVIEW_REQUEST
from storage.reviews import ItemLine
from storage.timestamps import from_db
from tests.factories import CUPS, TEA, Item, buy, link, one, press, press_data, rows, snapshot

STARS = ["1⭐", "2⭐", "3⭐", "4⭐", "5⭐"]
INACTIVE = "Эта кнопка больше не действует."


def buttons(message: dict[str, Any]) -> list[list[str]]:
    return [[b["text"] for b in row] for row in message.get("reply_markup", {})["inline_keyboard"]]


async def asked(app: BotApp, tg: BotAPIEmulator, clock: FakeClock, user: FakeUser, *items: Item):
    """A customer who bought, linked, and got the review request a week later."""
    recorded = await buy(app, "A-1", f"cust-{user.id}", *(items or (TEA, CUPS)))
    await link(tg, recorded, user)
    clock.advance(days=7)
    await app.outbox.tick()
    assert recorded.review_id is not None
    return recorded


async def settle_outbox(tg: BotAPIEmulator, app: BotApp) -> None:
    await tg.settle()
    await app.outbox.tick()


# --- the request ---------------------------------------------------------------------------------
async def test_request_arrives_seven_days_after_the_purchase_and_not_before(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock
) -> None:
    anna = tg.user(7001, "Анна")
    recorded = await buy(app, "A-1", "cust-1", TEA, CUPS)
    await link(tg, recorded, anna)
    seen = len(anna.texts())

    clock.advance(days=7, seconds=-1)
    await app.outbox.tick()
    assert len(anna.texts()) == seen

    clock.advance(seconds=1)
    await app.outbox.tick()
    request = anna.last
    assert "Как вам покупка: Чай улун ×2, Чашки <фарфор> & блюдца?" in request["text"]
    # The shop's names are escaped for HTML, not sent as markup.
    assert "Чашки &lt;фарфор&gt; &amp; блюдца" in request["_raw_text"]
    assert buttons(request) == [STARS]

    review = await one(app, "SELECT status FROM reviews WHERE id = ?", recorded.review_id)
    assert review == "requested"
    (reminder,) = await rows(app, "kind = ?", REVIEW_REMINDER)
    assert reminder["status"] == "pending"
    assert from_db(reminder["due_at"]) == clock.now() + timedelta(days=3)


async def test_one_request_names_every_order_it_covers(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock
) -> None:
    anna = tg.user(7002, "Анна")
    first = await buy(app, "A-1", "cust-2", TEA)
    clock.advance(days=2)
    second = await buy(app, "A-2", "cust-2", CUPS)
    assert second.review_id == first.review_id
    # She links when both orders' REVIEW_DELAY_DAYS has passed: one request names both. (An
    # order not due yet when the request goes gets a later one: tests/test_promises_customers.)
    clock.advance(days=7)
    await link(tg, first, anna)
    await app.outbox.tick()
    assert "Как вам покупка: Чай улун ×2, Чашки <фарфор> & блюдца?" in anna.last["text"]
    assert len(await rows(app, "kind = ?", REVIEW_REQUEST)) == 1


async def test_long_item_lists_are_shortened(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock
) -> None:
    anna = tg.user(7003, "Анна")
    items = [Item(f"SKU-{n}", f"Товар {n}") for n in range(8)]
    await asked(app, tg, clock, anna, *items)
    assert "Товар 0, Товар 1, Товар 2, Товар 3, Товар 4 и ещё 3?" in anna.last["text"]


# --- the answers ---------------------------------------------------------------------------------
async def test_happy_review_in_english_with_a_bonus(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock
) -> None:
    app = await start_app(review_bonus_text="Promo code <THANKS10> for 10% off")
    john = tg.user(7010, "John", language_code="en")
    recorded = await asked(app, tg, clock, john, Item("TEA-1", "Oolong tea", 2))
    assert "How do you like your purchase: Oolong tea ×2?" in john.last["text"]

    answer = await press(tg, john, "5⭐")
    assert answer["text"] == "Saved, thank you!"
    assert "How likely are you to recommend us to friends?" in john.last["text"]
    assert buttons(john.last) == [["0", "1", "2", "3", "4", "5"], ["6", "7", "8", "9", "10"]]

    await press(tg, john, "9")
    assert "How easy was it to place the order and get it?" in john.last["text"]
    assert "1 — very hard … 5 — very easy." in john.last["text"]
    assert buttons(john.last) == [["1", "2", "3", "4", "5"], ["Skip"]]

    await press(tg, john, "4")
    assert "What did you like? Write a couple of words or press «Skip»." in john.last["text"]
    assert "Your rating: ⭐⭐⭐⭐⭐" in john.last["text"]
    assert "Effort: 4 of 5" in john.last["text"]

    await press(tg, john, "Skip")
    await app.outbox.tick()
    texts = john.texts()
    assert "Thank you for your review!" in texts[-2]
    assert texts[-1] == (
        "🏪 Our shop\n\n🎁 A thank-you for your review: Promo code <THANKS10> for 10% off"
    )

    review = await one(
        app,
        "SELECT json_array(status, rating, nps, ces, comment, completed_at IS NOT NULL) "
        "FROM reviews WHERE id = ?",
        recorded.review_id,
    )
    assert review == '["answered",5,9,4,null,1]'
    assert await one(app, "SELECT COUNT(*) FROM alerts") == 0


async def test_comment_is_stored_and_thanked(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock
) -> None:
    app = await start_app(review_bonus_text="Промокод СПАСИБО")
    anna = tg.user(7011, "Анна")
    recorded = await asked(app, tg, clock, anna)
    await press(tg, anna, "4⭐")
    await press(tg, anna, "8")
    anna.send("  Всё отлично, <b>спасибо</b>!  ")
    await settle_outbox(tg, app)

    assert (
        anna.texts()[-2] == "🏪 Наш магазин\n\nСпасибо за отзыв! Он помогает нам становиться лучше."
    )
    assert anna.texts()[-1] == "🏪 Наш магазин\n\n🎁 Спасибо за отзыв — это вам: Промокод СПАСИБО"
    # The comment came during the effort question: no «Skip» is left on the review message.
    assert all("reply_markup" not in m for m in anna.bot_messages())
    assert await one(app, "SELECT comment FROM reviews WHERE id = ?", recorded.review_id) == (
        "Всё отлично, <b>спасибо</b>!"
    )
    # Only that one message was a comment: the next one is a question to the shop (a case).
    anna.send("а ещё вопрос")
    await tg.settle()
    assert "мы получили ваше сообщение и ответим здесь" in anna.last["text"]


async def test_rating_of_one_alerts_every_admin_who_resolve_it_once(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock
) -> None:
    app = await start_app(admin_ids="1,2")
    olga = tg.user(1, "Olga", username="olga_cx")
    pavel = tg.user(2, "Pavel")
    anna = tg.user(7020, "Анна")
    recorded = await asked(app, tg, clock, anna)

    await press(tg, anna, "1⭐")
    await app.outbox.tick()
    assert "Нам жаль" in anna.last["text"]
    for admin in (olga, pavel):
        alert = admin.last["text"]
        assert "Негативный отзыв: 1 из 5" in alert
        assert "Клиент: Анна Смирнова (+79991234567, ID в магазине cust-7020)" in alert
        assert "Заказы: A-1" in alert
        assert "Товары: Чай улун ×2, Чашки <фарфор> & блюдца" in alert
        assert buttons(admin.last) == [["Ответить клиенту", "Решено"]]

    # The comment comes later; the admins get it too.
    await press(tg, anna, "3")
    anna.send("Чай пришёл <мятый>")
    await settle_outbox(tg, app)
    for admin in (olga, pavel):
        assert "Комментарий к негативному отзыву (1 из 5)" in admin.last["text"]
        assert "Комментарий: Чай пришёл <мятый>" in admin.last["text"]

    answer = await press(tg, olga, "Решено")
    assert answer["text"] == "Отмечено как решённое: клиента спросили, решён ли вопрос."
    alert = next(m for m in olga.bot_messages() if "Комментарий к негативному" in m["text"])
    assert "✅ Решено: Olga (@olga_cx)" in alert["text"]
    # Every message of the resolved case, in every admin's chat, has lost its buttons.
    for admin in (olga, pavel):
        assert all("reply_markup" not in m for m in admin.bot_messages())
    resolved = await one(app, "SELECT json_array(resolved_by, resolved_by_name) FROM alerts")
    assert resolved == '[1,"Olga (@olga_cx)"]'

    # Pavel's press from an old copy of the button: the first press stands.
    await app.outbox.tick()
    before = await snapshot(app)
    case_id = await one(app, "SELECT id FROM cases")
    answer = await press_data(tg, pavel, CaseCb(case=case_id, action=CaseAction.RESOLVE).pack())
    assert answer["text"].startswith("Уже отмечено решённым: Olga (@olga_cx)")
    assert await snapshot(app) == before
    assert recorded.review_id is not None


async def test_alerts_ignore_send_hours(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock
) -> None:
    app = await start_app(send_hours="0-24")
    olga = tg.user(1, "Olga")
    anna = tg.user(7021, "Анна")
    await asked(app, tg, clock, anna)
    await app.stop()
    # 23:30 in Moscow: customers' messages wait for the morning, an alert does not.
    clock.set(clock.now().replace(hour=20, minute=30))
    app = await start_app(send_hours="9-21")
    await press(tg, anna, "2⭐")
    await app.outbox.tick()
    assert "Негативный отзыв: 2 из 5" in olga.last["text"]


async def test_rating_above_the_threshold_alerts_nobody(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock
) -> None:
    anna = tg.user(7022, "Анна")
    await asked(app, tg, clock, anna)
    await press(tg, anna, "3⭐")
    await app.outbox.tick()
    assert await rows(app, "kind = ?", NEGATIVE_ALERT) == []
    assert "Нам жаль" not in anna.last["text"]


# --- refusals ------------------------------------------------------------------------------------
async def test_second_press_changes_nothing(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock
) -> None:
    anna = tg.user(7030, "Анна")
    recorded = await asked(app, tg, clock, anna)
    request = anna.last
    await press(tg, anna, "4⭐")
    await press(tg, anna, "7")
    before = await snapshot(app)

    rating_again = ReviewRatingCb(review=recorded.review_id, rating=1).pack()
    answer = await press_data(tg, anna, rating_again)
    assert answer["text"] == "Ваш ответ уже сохранён. Спасибо!"
    nps_again = ReviewNpsCb(review=recorded.review_id, score=0).pack()
    answer = await press_data(tg, anna, nps_again)
    assert answer["text"] == "Ваш ответ уже сохранён. Спасибо!"
    assert await snapshot(app) == before
    assert request["message_id"] == anna.last["message_id"]  # the same message, edited


@pytest.mark.parametrize(
    "data",
    [
        "rv1:{review}:0",  # no such rating
        "rv1:{review}:6",
        "rv1:{review}:-1",
        "rv1:999999:5",  # no such review
        "rv1:{review}",  # malformed
        "rv1:abc:5",
        "rn1:{review}:5",  # NPS before the stars
        "rs1:{review}",  # «Skip» before anything
        "rn1:{review}:11",
    ],
)
async def test_forged_presses_are_refused_and_change_nothing(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock, data: str
) -> None:
    anna = tg.user(7031, "Анна")
    recorded = await asked(app, tg, clock, anna)
    before = await snapshot(app)
    answer = await press_data(tg, anna, data.format(review=recorded.review_id))
    assert answer["text"] == INACTIVE
    assert await snapshot(app) == before


async def test_someone_elses_review_is_refused(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock
) -> None:
    anna = tg.user(7032, "Анна")
    recorded = await asked(app, tg, clock, anna)
    bob = tg.user(7033, "Боб")
    bobs = await buy(app, "B-1", "cust-bob", TEA)
    await link(tg, bobs, bob)
    stranger = tg.user(7034, "Незнакомец")
    stranger.send("привет")
    await tg.settle()
    before = await snapshot(app)
    for user in (bob, stranger):
        data = ReviewRatingCb(review=recorded.review_id, rating=1).pack()
        answer = await press_data(tg, user, data)
        assert answer["text"] == INACTIVE
    assert await snapshot(app) == before


async def test_a_review_not_asked_yet_cannot_be_answered(app: BotApp, tg: BotAPIEmulator) -> None:
    anna = tg.user(7035, "Анна")
    recorded = await buy(app, "A-1", "cust-7035", TEA)
    await link(tg, recorded, anna)
    before = await snapshot(app)
    data = ReviewRatingCb(review=recorded.review_id, rating=5).pack()
    answer = await press_data(tg, anna, data)
    assert answer["text"] == INACTIVE
    assert await snapshot(app) == before


async def test_non_admin_cannot_resolve_an_alert(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock
) -> None:
    olga = tg.user(1, "Olga")
    anna = tg.user(7036, "Анна")
    await asked(app, tg, clock, anna)
    await press(tg, anna, "1⭐")
    await app.outbox.tick()
    alert_id = await one(app, "SELECT id FROM alerts")
    before = await snapshot(app)
    answer = await press_data(tg, anna, AlertResolveCb(alert=alert_id).pack())
    assert answer["text"] == "Эта кнопка — только для администраторов бота."
    assert await snapshot(app) == before
    # An admin pressing an alert that does not exist changes nothing either.
    answer = await press_data(tg, olga, AlertResolveCb(alert=alert_id + 100).pack())
    assert answer["text"] == INACTIVE
    assert await snapshot(app) == before


# --- the reminder and expiry ---------------------------------------------------------------------
async def test_one_reminder_when_unanswered_then_the_request_expires(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock
) -> None:
    anna = tg.user(7040, "Анна")
    recorded = await asked(app, tg, clock, anna)
    seen = len(anna.texts())

    clock.advance(days=3)
    await app.outbox.tick()
    assert len(anna.texts()) == seen + 1
    assert "⏰ Нам очень важно ваше мнение." in anna.last["text"]
    assert buttons(anna.last) == [STARS]

    clock.advance(days=3)
    await app.outbox.tick()  # the sweep expires it; nothing more is sent
    assert len(anna.texts()) == seen + 1
    assert await one(app, "SELECT status FROM reviews WHERE id = ?", recorded.review_id) == (
        "expired"
    )
    # A late rating is still kept (and thanked); nothing more is asked or reminded.
    answer = await press(tg, anna, "5⭐")
    assert answer["text"] == "Сохранено, спасибо!"
    assert anna.last["text"].endswith("Спасибо! Ваша оценка сохранена.")
    assert "reply_markup" not in anna.last
    assert await one(app, "SELECT rating FROM reviews WHERE id = ?", recorded.review_id) == 5
    clock.advance(days=10)
    await app.outbox.tick()
    assert len(anna.texts()) == seen + 1


async def test_a_late_press_expires_the_request_even_before_the_sweep(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock
) -> None:
    anna = tg.user(7041, "Анна")
    recorded = await asked(app, tg, clock, anna)
    clock.advance(days=6)
    answer = await press(tg, anna, "2⭐")
    assert answer["text"] == "Сохранено, спасибо!"
    status = await one(
        app, "SELECT status || '/' || IFNULL(rating, '-') FROM reviews WHERE id = ?",
        recorded.review_id,
    )  # fmt: skip
    assert status == "answered/2"
    # A late low rating is a complaint like any other: the admins hear of it.
    assert await one(app, "SELECT topic FROM cases") == "complaint"


async def test_no_reminder_once_rated(app: BotApp, tg: BotAPIEmulator, clock: FakeClock) -> None:
    anna = tg.user(7042, "Анна")
    await asked(app, tg, clock, anna)
    await press(tg, anna, "4⭐")
    seen = len(anna.texts())
    clock.advance(days=10)
    await app.outbox.tick()
    assert len(anna.texts()) == seen
    (reminder,) = await rows(app, "kind = ?", REVIEW_REMINDER)
    assert reminder["status"] == "cancelled"


async def test_a_rating_on_the_reminder_counts(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock
) -> None:
    anna = tg.user(7043, "Анна")
    recorded = await asked(app, tg, clock, anna)
    clock.advance(days=3)
    await app.outbox.tick()
    await press(tg, anna, "5⭐")  # on the newest message: the reminder
    assert await one(app, "SELECT rating FROM reviews WHERE id = ?", recorded.review_id) == 5


async def test_unanswered_comment_completes_after_a_day_with_the_bonus(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock
) -> None:
    app = await start_app(review_bonus_text="Промокод СПАСИБО")
    anna = tg.user(7044, "Анна")
    recorded = await asked(app, tg, clock, anna)
    await press(tg, anna, "5⭐")
    await press(tg, anna, "10")
    clock.advance(hours=23)
    await app.outbox.tick()
    assert (
        await one(app, "SELECT completed_at FROM reviews WHERE id = ?", recorded.review_id) is None
    )
    clock.advance(hours=1)
    await app.outbox.tick()
    assert anna.last["text"] == "🏪 Наш магазин\n\n🎁 Спасибо за отзыв — это вам: Промокод СПАСИБО"
    # A text after that is not taken as the comment, and «Skip» now changes nothing.
    before = await snapshot(app)
    answer = await press_data(tg, anna, ReviewSkipCb(review=recorded.review_id).pack())
    assert answer["text"] == "Ваш ответ уже сохранён. Спасибо!"
    assert await snapshot(app) == before


async def test_request_of_a_customer_who_never_links_expires(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock
) -> None:
    recorded = await buy(app, "A-1", "cust-never", TEA)
    clock.advance(days=7)
    await app.outbox.tick()
    (request,) = await rows(app, "kind = ?", REVIEW_REQUEST)
    assert request["status"] == "pending"
    clock.advance(days=23)
    await app.outbox.tick()
    (request,) = await rows(app, "kind = ?", REVIEW_REQUEST)
    assert request["status"] == "expired"
    assert await one(app, "SELECT status FROM reviews WHERE id = ?", recorded.review_id) == (
        "expired"
    )


# --- pure rules ----------------------------------------------------------------------------------
def test_expiry_is_one_reminder_interval_after_the_reminder() -> None:
    from datetime import UTC, datetime

    asked_at = datetime(2026, 1, 19, 9, 0, tzinfo=UTC)
    assert expires_at(asked_at, 3) == datetime(2026, 1, 25, 9, 0, tzinfo=UTC)


def test_comment_is_trimmed_and_capped() -> None:
    assert clean_comment("  ок  ") == "ок"
    assert clean_comment("   ") is None
    assert clean_comment(None) is None
    long = clean_comment("а" * (COMMENT_MAX_LEN + 50))
    assert long is not None
    assert len(long) == COMMENT_MAX_LEN
    assert long.endswith("…")


def test_callback_data_fits_telegrams_64_bytes() -> None:
    from bot.callbacks import RestockAction, RestockCb

    big = 2**63 - 1  # the largest SQLite rowid
    packed = [
        ReviewRatingCb(review=big, rating=5).pack(),
        ReviewNpsCb(review=big, score=10).pack(),
        ReviewSkipCb(review=big).pack(),
        RestockCb(item=big, action=RestockAction.SNOOZE).pack(),
        AlertResolveCb(alert=big).pack(),
    ]
    assert max(len(data.encode()) for data in packed) <= 64


@cache
def translator(locale: str) -> Translator:
    return Translator(build_i18n(), locale)


names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=300).filter(
    lambda s: s.strip()
)


@given(
    items=st.lists(st.tuples(names, st.integers(1, 10**6)), min_size=1, max_size=40),
    locale=st.sampled_from(["ru", "en"]),
)
@settings(max_examples=100, deadline=None)
def test_any_shop_names_make_a_valid_short_request(
    items: list[tuple[str, int]], locale: str
) -> None:
    """Whatever the shop calls its products, the request is valid HTML and fits a message."""
    tr = translator(locale)
    text, markup = request_message(tr, 1, [ItemLine(name, qty) for name, qty in items])
    visible = visible_text(text, "HTML")  # raises on markup a name smuggled in
    assert len(visible) < 1200
    assert len(markup.inline_keyboard[0]) == 5
    shown = min(len(items), MAX_ITEMS_SHOWN)
    for name, _ in items[:shown]:
        first_word = " ".join(name.split())[:20]
        assert first_word in visible
