"""Restock reminders through the wire: timing, a repurchase cancels, snooze, opt-out, /stop.

TEA lasts 30 days and RESTOCK_LEAD_DAYS is 3, so its reminder is due 27 days after purchase.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.app import BotApp
from bot.callbacks import RestockAction, RestockCb
from bot.clock import FakeClock
from bot.emulator import BotAPIEmulator, FakeUser
from storage.outbox import RESTOCK
from storage.timestamps import from_db
from tests.factories import TEA, buy, link, one, press, press_data, product, queue, rows, snapshot

INACTIVE = "Эта кнопка больше не действует."
SNOOZE = "Напомнить через неделю"
STOP = "Больше не напоминать"


def restock_message(user: FakeUser) -> dict[str, Any]:
    """The restock reminder as the customer sees it now (edited in place by the buttons); a
    review request due in the same tick may have arrived after it."""
    return next(m for m in reversed(user.bot_messages()) if "🛒" in m.get("text", ""))


def restock_messages(user: FakeUser) -> list[dict[str, Any]]:
    return [m for m in user.bot_messages() if "Пора пополнить запас?" in m.get("text", "")]


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for row in message.get("reply_markup", {}).get("inline_keyboard", []) for b in row]


async def reminded(app: BotApp, tg: BotAPIEmulator, clock: FakeClock, user: FakeUser) -> Any:
    recorded = await buy(app, "A-1", f"cust-{user.id}", TEA)
    await link(tg, recorded, user)
    clock.advance(days=27)
    await app.outbox.tick()
    assert len(restock_messages(user)) == 1
    return recorded


async def test_due_reminder_arrives_and_not_before(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock
) -> None:
    anna = tg.user(8001, "Анна")
    recorded = await buy(app, "A-1", "cust-1", TEA)
    await link(tg, recorded, anna)
    clock.advance(days=27, seconds=-1)
    await app.outbox.tick()
    assert restock_messages(anna) == []

    clock.advance(seconds=1)
    await app.outbox.tick()
    (message,) = restock_messages(anna)
    assert message["text"] == (
        "🏪 Наш магазин\n\n🛒 12 января 2026 вы покупали Чай улун. Пора пополнить запас?"
    )
    # No reorder_url for the product: «Buy again» asks the shop to call back (test_cases_loop).
    assert [b["text"] for b in buttons(message)] == ["Купить снова", SNOOZE, STOP]


async def test_buy_again_button_opens_the_products_url(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock
) -> None:
    await product(app, "TEA-1", "Чай улун", restock_days=30, url="https://shop.example/tea-1")
    anna = tg.user(8002, "Анна")
    await reminded(app, tg, clock, anna)
    first = buttons(restock_messages(anna)[0])[0]
    assert first == {"text": "Купить снова", "url": "https://shop.example/tea-1"}


async def test_english_customer_gets_english(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock
) -> None:
    john = tg.user(8003, "John", language_code="en")
    recorded = await buy(app, "A-1", "cust-en", TEA)
    await link(tg, recorded, john)
    clock.advance(days=27)
    await app.outbox.tick()
    assert restock_message(john)["text"] == (
        "🏪 Our shop\n\n🛒 On 12 January 2026 you bought Чай улун. Time to restock?"
    )
    assert [b["text"] for b in buttons(restock_message(john))] == [
        "Buy again",
        "Remind me in a week",
        "Don't remind me again",
    ]


async def test_a_repurchase_cancels_the_reminder(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock
) -> None:
    anna = tg.user(8004, "Анна")
    first = await buy(app, "A-1", "cust-4", TEA)
    await link(tg, first, anna)
    clock.advance(days=20)
    await buy(app, "A-2", "cust-4", TEA)
    clock.advance(days=7)  # the first purchase's reminder would be due now
    await app.outbox.tick()
    assert restock_messages(anna) == []
    clock.advance(days=20)  # the second one's is
    await app.outbox.tick()
    (message,) = restock_messages(anna)
    assert "1 февраля 2026" in message["text"]


async def test_a_reminder_for_a_product_bought_again_is_not_sent_even_if_queued(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock
) -> None:
    """Rendering checks the purchases at send time, whoever queued the row."""
    anna = tg.user(8005, "Анна")
    first = await buy(app, "A-1", "cust-5", TEA)
    await link(tg, first, anna)
    clock.advance(days=1)
    await buy(app, "A-2", "cust-5", TEA)
    item_id = await one(app, "SELECT MIN(id) FROM order_items")
    row_id = await queue(app, RESTOCK, customer_id=first.customer_id, ref_id=item_id)
    await app.outbox.tick()
    (row,) = await rows(app, "id = ?", row_id)
    assert (row["status"], row["last_error"]) == ("cancelled", "bought again since")
    assert restock_messages(anna) == []


async def test_snooze_brings_it_back_in_a_week_once(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock
) -> None:
    anna = tg.user(8006, "Анна")
    await reminded(app, tg, clock, anna)
    answer = await press(tg, anna, SNOOZE)
    assert answer["text"] == "Напомню через неделю."
    assert "⏰ Напомню 15 февраля 2026." in restock_message(anna)["text"]
    assert [b["text"] for b in buttons(restock_message(anna))] == ["Купить снова", STOP]

    (queued,) = await rows(app, "kind = ? AND status = 'pending'", RESTOCK)
    assert from_db(queued["due_at"]) == clock.now() + timedelta(days=7)

    # A second press (e.g. from another device) keeps the first date.
    item_id = queued["ref_id"]
    before = await snapshot(app)
    data = RestockCb(item=item_id, action=RestockAction.SNOOZE).pack()
    answer = await press_data(tg, anna, data)
    assert answer["text"] == "Напоминание уже запланировано. Спасибо!"
    assert await snapshot(app) == before

    clock.advance(days=7)
    await app.outbox.tick()
    # Reminders sent (not shown: press_data answers on the chat's last message, which may be
    # the review request of the same tick, and the answer edits that message in place).
    sent = [
        c
        for c in tg.calls_of("sendMessage")
        if str(c.params.get("chat_id")) == str(anna.id)
        and "Пора пополнить запас?" in str(c.params.get("text"))
    ]
    assert len(sent) == 2


async def test_dont_remind_again_stops_this_product(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock
) -> None:
    anna = tg.user(8007, "Анна")
    recorded = await reminded(app, tg, clock, anna)
    await press(tg, anna, SNOOZE)
    assert [b["text"] for b in buttons(restock_message(anna))] == ["Купить снова", STOP]
    answer = await press(tg, anna, STOP)
    assert answer["text"] == "Готово: напоминаний об этом товаре больше не будет."
    assert "🔕 Готово: больше не напомню о товаре Чай улун." in restock_message(anna)["text"]
    optout = await one(app, "SELECT sku FROM restock_optouts WHERE customer_id = ?",
                       recorded.customer_id)  # fmt: skip
    assert optout == "TEA-1"
    # The snoozed reminder is cancelled, and a new purchase of the product queues none.
    assert await rows(app, "kind = ? AND status = 'pending'", RESTOCK) == []
    await buy(app, "A-2", f"cust-{anna.id}", TEA)
    assert await rows(app, "kind = ? AND status = 'pending'", RESTOCK) == []
    clock.advance(days=60)
    await app.outbox.tick()
    assert len(restock_messages(anna)) == 1

    before = await snapshot(app)
    item_id = await one(app, "SELECT MIN(id) FROM order_items")
    answer = await press_data(tg, anna, RestockCb(item=item_id, action=RestockAction.STOP).pack())
    assert answer["text"] == "Напоминаний об этом товаре больше не будет."
    answer = await press_data(tg, anna, RestockCb(item=item_id, action=RestockAction.SNOOZE).pack())
    assert answer["text"] == "Напоминаний об этом товаре больше не будет."
    assert await snapshot(app) == before


async def test_forged_restock_presses_change_nothing(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock
) -> None:
    anna = tg.user(8008, "Анна")
    await reminded(app, tg, clock, anna)
    bob = tg.user(8009, "Боб")
    bobs = await buy(app, "B-1", "cust-bob", TEA)  # Bob's item: never reminded to anyone
    await link(tg, bobs, bob)
    annas_item = await one(app, "SELECT MIN(id) FROM order_items")
    bobs_item = await one(app, "SELECT MAX(id) FROM order_items")
    before = await snapshot(app)
    for user, data in [
        (bob, RestockCb(item=annas_item, action=RestockAction.SNOOZE).pack()),  # not his
        (bob, RestockCb(item=annas_item, action=RestockAction.STOP).pack()),
        (bob, RestockCb(item=bobs_item, action=RestockAction.STOP).pack()),  # never reminded
        (anna, RestockCb(item=999999, action=RestockAction.SNOOZE).pack()),
        (anna, "rk1:1:explode"),
        (anna, "rk1:x:stop"),
    ]:
        answer = await press_data(tg, user, data)
        assert answer["text"] == INACTIVE, data
    assert await snapshot(app) == before


async def test_stop_silences_the_customer(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock
) -> None:
    anna = tg.user(8010, "Анна")
    recorded = await buy(app, "A-1", "cust-10", TEA)
    await link(tg, recorded, anna)
    anna.send("/stop")
    await tg.settle()
    seen = len(anna.texts())
    # Even a row queued after /stop (a late CSV import, say) is not sent.
    await queue(app, RESTOCK, customer_id=recorded.customer_id, ref_id=1, due_in=timedelta(days=1))
    clock.advance(days=40)
    await app.outbox.tick()
    assert len(anna.texts()) == seen
    statuses = {r["status"] for r in await rows(app, "customer_id = ?", recorded.customer_id)}
    assert statuses == {"cancelled"}
