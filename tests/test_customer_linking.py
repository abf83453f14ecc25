"""Customers link Telegram by the receipt link or by sharing their phone; /stop and /start.

Everything goes through the emulator: people send commands and contacts, the real aiogram bot
answers over HTTP, and the database is checked afterwards.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.app import BotApp
from bot.clock import FakeClock
from bot.customers import purchases
from bot.customers.schema import PurchaseIn
from bot.emulator import BotAPIEmulator
from storage.timestamps import to_db
from tests.conftest import START
from tests.ingest_helpers import counts, outbox, purchase, rows


async def buy(app: BotApp, order_id: str = "A-1", customer: str = "cust-1", **kwargs: Any) -> str:
    """Record a purchase the way the API does; returns the customer's /start payload."""
    body = PurchaseIn.model_validate(purchase(order_id, customer, **kwargs), strict=False)
    recorded = await purchases.record(
        app.db, body, purchases.Timing.from_settings(app.settings), app.clock.now()
    )
    return recorded.link_payload


async def customer_row(app: BotApp, external_id: str = "cust-1") -> dict[str, Any]:
    [row] = await rows(app.db, "SELECT * FROM customers WHERE external_id = ?", external_id)
    return row


def keyboard(message: dict[str, Any]) -> dict[str, Any] | None:
    return message.get("_keyboard")


def asks_for_phone(message: dict[str, Any]) -> bool:
    markup = keyboard(message) or {}
    buttons = [b for row in markup.get("keyboard", []) for b in row]
    return any(b.get("request_contact") for b in buttons)


# --- the receipt link -------------------------------------------------------------------------
async def test_link_from_receipt_links_and_thanks_by_name(app: BotApp, tg: BotAPIEmulator) -> None:
    payload = await buy(app, name="Анна <b>VIP</b>")
    user = tg.user(7001, "Anna")

    user.send(f"/start {payload}")
    await tg.settle()
    # The order has a phone: the link alone shows and links nothing (tests/test_promises_*).
    assert asks_for_phone(user.last)
    assert "Анна" not in user.last["text"]
    user.share_contact("79991234567")
    await tg.settle()

    assert "Спасибо, Анна <b>VIP</b>!" in user.last["text"]  # shown as text, not markup
    assert "&lt;b&gt;" in user.last["_raw_text"]
    assert "/stop" in user.last["text"]
    customer = await customer_row(app)
    assert customer["telegram_id"] == 7001
    assert customer["language"] == "ru"
    assert customer["linked_at"] == to_db(START)
    assert customer["subscribed"] == 1


async def test_english_speaker_is_answered_and_stored_in_english(
    app: BotApp, tg: BotAPIEmulator
) -> None:
    payload = await buy(app, name=None, phone=None)
    user = tg.user(7002, "John", language_code="en-GB")

    user.send(f"/start {payload}")
    await tg.settle()

    assert user.last["text"].startswith("🏪 Our shop\n\nThank you! Your purchases are now linked")
    assert (await customer_row(app))["language"] == "en"


async def test_unknown_link_gets_a_friendly_answer_and_changes_nothing(
    app: BotApp, tg: BotAPIEmulator
) -> None:
    await buy(app)
    before = await counts(app.db)
    user = tg.user(7003, "Olga")

    user.send("/start c_" + "A" * 24)
    await tg.settle()

    assert "ссылка не работает" in user.last["text"]
    assert asks_for_phone(user.last)
    assert await counts(app.db) == before
    assert (await customer_row(app))["telegram_id"] is None


async def test_link_used_by_someone_else_is_refused(app: BotApp, tg: BotAPIEmulator) -> None:
    payload = await buy(app, phone=None)
    owner, other = tg.user(7004, "Owner"), tg.user(7005, "Other")
    owner.send(f"/start {payload}")
    await tg.settle()

    other.send(f"/start {payload}")
    await tg.settle()

    assert "уже используется другим аккаунтом" in other.last["text"]
    assert (await customer_row(app))["telegram_id"] == 7004


async def test_opening_the_link_again_says_already_linked(app: BotApp, tg: BotAPIEmulator) -> None:
    payload = await buy(app, phone=None)
    user = tg.user(7006, "Anna")
    user.send(f"/start {payload}")
    await tg.settle()

    user.send(f"/start {payload}")
    await tg.settle()

    assert "уже привязан" in user.last["text"]
    assert (await customer_row(app))["telegram_id"] == 7006


async def test_a_newer_customer_link_moves_the_account(app: BotApp, tg: BotAPIEmulator) -> None:
    first = await buy(app, "A-1", "old-id", phone=None)
    second = await buy(app, "A-2", "new-id", phone=None)
    user = tg.user(7007, "Anna")
    user.send(f"/start {first}")
    user.send(f"/start {second}")
    await tg.settle()

    assert (await customer_row(app, "old-id"))["telegram_id"] is None
    assert (await customer_row(app, "new-id"))["telegram_id"] == 7007


async def test_messages_that_waited_for_the_link_arrive_once_linked(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock
) -> None:
    payload = await buy(app, items=[{"sku": "TEA", "name": "Чай улун", "quantity": 1}], phone=None)
    clock.advance(days=8)
    await app.outbox.tick()  # due, but nobody to send it to: it waits
    [request] = await outbox(app.db, "review_request")
    assert request["status"] == "pending"
    user = tg.user(7008, "Anna")

    user.send(f"/start {payload}")
    await tg.settle()
    await app.outbox.tick()

    assert "Чай улун" in user.last["text"]
    [request] = await outbox(app.db, "review_request")
    assert request["status"] == "sent"


# --- sharing the phone ----------------------------------------------------------------------------
async def test_stranger_start_offers_the_phone_button(app: BotApp, tg: BotAPIEmulator) -> None:
    user = tg.user(7010, "Anna")

    user.send("/start")
    await tg.settle()

    assert "бот программы клиентоцентричности" in user.last["text"]
    assert "Поделитесь номером телефона" in user.last["text"]
    assert asks_for_phone(user.last)


async def test_own_contact_links_by_phone(app: BotApp, tg: BotAPIEmulator) -> None:
    await buy(app, phone="8 (999) 123-45-67")
    user = tg.user(7011, "Anna")

    user.share_contact("79991234567")  # Telegram's own form: no '+'
    await tg.settle()

    assert "Ваши покупки теперь привязаны" in user.last["text"]
    assert keyboard(user.last) == {"remove_keyboard": True}
    assert (await customer_row(app))["telegram_id"] == 7011


async def test_phone_linking_prefers_the_latest_buyer(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock
) -> None:
    await buy(app, "A-1", "old-id", at=START - timedelta(days=10))
    await buy(app, "A-2", "new-id", at=START)
    user = tg.user(7012, "Anna")

    user.share_contact("+79991234567")
    await tg.settle()

    assert (await customer_row(app, "new-id"))["telegram_id"] == 7012
    assert (await customer_row(app, "old-id"))["telegram_id"] is None


async def test_someone_elses_contact_is_refused(app: BotApp, tg: BotAPIEmulator) -> None:
    await buy(app)
    before = await counts(app.db)
    user = tg.user(7013, "Mallory")

    user.share_contact("+79991234567", user_id=7999, first_name="Anna")
    await tg.settle()

    assert "поделитесь своим номером" in user.last["text"]
    assert asks_for_phone(user.last)
    assert await counts(app.db) == before
    assert (await customer_row(app))["telegram_id"] is None


async def test_contact_card_without_a_telegram_user_is_refused(
    app: BotApp, tg: BotAPIEmulator
) -> None:
    await buy(app)
    user = tg.user(7014, "Mallory")
    message = tg._user_message(
        user, {"contact": {"phone_number": "+79991234567", "first_name": "Anna"}}
    )
    tg._push_update({"message": message})
    await tg.settle()

    assert "поделитесь своим номером" in user.last["text"]
    assert (await customer_row(app))["telegram_id"] is None


async def test_unknown_phone_gets_a_friendly_answer(app: BotApp, tg: BotAPIEmulator) -> None:
    await buy(app)
    before = await counts(app.db)
    user = tg.user(7015, "Ivan")

    user.share_contact("+79161234567")
    await tg.settle()

    assert "не нашли покупок с этим номером" in user.last["text"]
    assert keyboard(user.last) == {"remove_keyboard": True}
    assert await counts(app.db) == before


async def test_unreadable_phone_asks_again(app: BotApp, tg: BotAPIEmulator) -> None:
    user = tg.user(7016, "Ivan")

    user.share_contact("12")
    await tg.settle()

    assert "Не удалось распознать" in user.last["text"]
    assert asks_for_phone(user.last)


async def test_phone_of_a_customer_linked_elsewhere_is_not_taken(
    app: BotApp, tg: BotAPIEmulator
) -> None:
    await buy(app)
    tg.user(7017, "Owner").share_contact("+79991234567")  # proved the phone: stays theirs
    await tg.settle()
    user = tg.user(7018, "New phone owner")

    user.share_contact("+79991234567")
    await tg.settle()

    assert "уже привязаны к другому аккаунту" in user.last["text"]
    assert (await customer_row(app))["telegram_id"] == 7017


async def test_link_command(app: BotApp, tg: BotAPIEmulator) -> None:
    await buy(app)
    user = tg.user(7019, "Anna")

    user.send("/link")
    await tg.settle()
    assert asks_for_phone(user.last)

    user.share_contact("+79991234567")
    user.send("/link")
    await tg.settle()
    assert "уже привязан" in user.last["text"]
    assert not asks_for_phone(user.last)


# --- /stop and /start -----------------------------------------------------------------------------
async def test_stop_cancels_everything_pending_at_once(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock
) -> None:
    payload = await buy(
        app, items=[{"sku": "TEA", "name": "Чай", "quantity": 1, "restock_days": 30}], phone=None
    )
    user = tg.user(7020, "Anna")
    user.send(f"/start {payload}")
    await tg.settle()

    user.send("/stop")
    await tg.settle()

    assert "больше мы не будем вам писать" in user.last["text"]
    customer = await customer_row(app)
    assert customer["subscribed"] == 0
    statuses = {(r["kind"], r["status"], r["last_error"]) for r in await outbox(app.db)}
    assert statuses == {
        ("review_request", "cancelled", "the customer sent /stop"),
        ("restock", "cancelled", "the customer sent /stop"),
    }
    [review] = await rows(app.db, "SELECT status FROM reviews")
    assert review["status"] == "cancelled"

    # Nothing goes out when the time comes.
    clock.advance(days=40)
    await app.outbox.tick()
    assert len(user.texts()) == 2


async def test_stop_twice_says_already_off(app: BotApp, tg: BotAPIEmulator) -> None:
    payload = await buy(app, phone=None)
    user = tg.user(7021, "Anna")
    user.send(f"/start {payload}")
    user.send("/stop")
    user.send("/stop")
    await tg.settle()

    assert "уже отключены" in user.last["text"]


async def test_start_subscribes_again_for_future_purchases(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock
) -> None:
    payload = await buy(app, "A-1", phone=None)
    user = tg.user(7022, "Anna")
    user.send(f"/start {payload}")
    user.send("/stop")
    await tg.settle()

    user.send("/start")
    await tg.settle()

    assert "С возвращением" in user.last["text"]
    assert (await customer_row(app))["subscribed"] == 1
    # What /stop cancelled stays cancelled; a new purchase schedules as usual.
    assert {r["status"] for r in await outbox(app.db)} == {"cancelled"}
    clock.advance(days=1)
    await buy(app, "A-2", at=clock.now(), phone=None)
    assert [r["status"] for r in await outbox(app.db, "review_request")] == [
        "cancelled",
        "pending",
    ]


async def test_plain_start_from_a_subscribed_customer(app: BotApp, tg: BotAPIEmulator) -> None:
    payload = await buy(app, phone=None)
    user = tg.user(7023, "Anna")
    user.send(f"/start {payload}")
    user.send("/start")
    await tg.settle()

    assert user.last["text"].startswith("🏪 Наш магазин\n\nСообщения включены")
    assert not asks_for_phone(user.last)


async def test_stop_from_a_stranger_is_not_ours(app: BotApp, tg: BotAPIEmulator) -> None:
    await buy(app)
    before = await counts(app.db)
    user = tg.user(7024, "Ivan")

    user.send("/stop")
    await tg.settle()

    assert user.texts()  # someone answered (the fallback explains the bot)
    assert "больше мы не будем" not in user.last["text"]
    assert await counts(app.db) == before
    assert (await customer_row(app))["subscribed"] == 1


async def test_plain_text_from_a_stranger_reaches_the_fallback(
    app: BotApp, tg: BotAPIEmulator
) -> None:
    user = tg.user(7025, "Ivan")

    user.send("hello")
    await tg.settle()

    assert "бот программы клиентоцентричности" in user.last["text"]
    assert keyboard(user.last) is None


async def test_employee_start_is_left_to_the_survey(app: BotApp, tg: BotAPIEmulator) -> None:
    async with app.db.write() as conn:
        await conn.execute(
            "INSERT INTO departments (id, name, created_at) VALUES (1, 'Sales', ?)",
            (to_db(START),),
        )
        await conn.execute(
            "INSERT INTO employees (telegram_id, department_id, joined_at) VALUES (7026, 1, ?)",
            (to_db(START),),
        )
    user = tg.user(7026, "Employee")

    user.send("/start")
    user.send("/start j_notaninvitationtoken1")
    await tg.settle()

    assert not any(asks_for_phone(m) for m in user.bot_messages())
    assert (await counts(app.db))["customers"] == 0
