"""The customer loop through the wire: complaint → answer → reply → «Решено» → «Нет» → «Да».

Two admins, one customer, the fake clock; what everybody sees is what the emulator's chats hold,
and the report's loop section and cases.csv are checked figure by figure. Also: a free-text
question, reminders inside and outside the send window, a restart at every step, a customer
who blocked the bot, /stop in the middle, two admins answering the same case, «Купить снова».
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from bot.app import BotApp
from bot.clock import FakeClock
from bot.emulator import BotAPIEmulator, FakeUser
from tests.factories import TEA, Item, buy, link, one, press, press_data, product

SHOP = "Чайная лавка"
ADMINS = "1,2"


def buttons(message: dict[str, Any]) -> list[list[str]]:
    markup = message.get("reply_markup") or {}
    return [[b["text"] for b in row] for row in markup.get("inline_keyboard", [])]


def reply_to(tg: BotAPIEmulator, user: FakeUser, message: dict[str, Any], text: str) -> None:
    """The user answers a message of the bot with Telegram's «Reply»."""
    user.send(text, reply_to=message)


async def start(start_app: Callable[..., Any], **overrides: Any) -> BotApp:
    values: dict[str, Any] = {
        "admin_ids": ADMINS,
        "shop_name": SHOP,
        "support_hours": "пн–пт 9:00–18:00",
        "alert_response_hours": 24,
    }
    values.update(overrides)
    return await start_app(**values)


async def report(tg: BotAPIEmulator, admin: FakeUser, args: str = "customers 30d") -> str:
    """What /report answers (its text messages and chart captions), joined."""
    seen = len(admin.texts())
    admin.send(f"/report {args}")
    await tg.settle()
    return "\n".join(admin.texts()[seen:])


async def tick(tg: BotAPIEmulator, app: BotApp) -> None:
    await tg.settle()
    await app.outbox.tick()
    await tg.settle()


async def complain(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock, anna: FakeUser
) -> dict[str, Any]:
    """Anna bought, linked, got the request a week later, gave 2⭐, skipped NPS… and commented."""
    recorded = await buy(app, "A-1", "cust-1", TEA)
    await link(tg, recorded, anna)
    clock.advance(days=7)
    await app.outbox.tick()
    request = anna.last
    assert SHOP in request["text"]
    await press(tg, anna, "2⭐")
    assert "Что пошло не так?" not in anna.last["text"]  # NPS first, then effort, then words
    await press(tg, anna, "3")
    await press(tg, anna, "4")  # effort: 4 of 5
    assert "Что пошло не так?" in anna.last["text"]
    anna.send("Чай пришёл холодным")
    await tick(tg, app)
    thanks = anna.last["text"]
    assert SHOP in thanks
    assert "ответим" in thanks
    return request


# --- the whole loop ----------------------------------------------------------------------------
async def test_the_whole_loop_with_two_admins_and_the_report(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock
) -> None:
    app = await start(start_app)
    olga, pavel = tg.user(1, "Olga", username="olga_cx"), tg.user(2, "Pavel")
    anna = tg.user(7001, "Анна")
    await complain(app, tg, clock, anna)
    opened_at = clock.now()

    for admin in (olga, pavel):
        alert = next(m for m in admin.bot_messages() if "Негативный отзыв" in m["text"])
        assert buttons(alert) == [["Ответить клиенту", "Решено"]]

    # Olga answers from the alert an hour later: the next message she writes goes to Anna.
    clock.advance(hours=1)
    await press(tg, olga, "Ответить клиенту")
    assert "одним сообщением" in olga.last["text"]
    olga.send("Простите! Завтра привезём новый чай.")
    await tick(tg, app)
    assert "Отправлено клиенту" in olga.last["text"]
    answer = anna.last["text"]
    assert answer.startswith(f"🏪 {SHOP}")
    assert "Простите! Завтра привезём новый чай." in answer
    # Pavel sees who answered and when.
    assert "Olga (@olga_cx) ответил(а) клиенту, 19.01.2026 13:00" in pavel.last["text"]

    # Anna replies; both admins get it under the same case.
    clock.advance(hours=1)
    anna.send("Спасибо, жду")
    await tick(tg, app)
    assert "Спасибо, мы передали ваше сообщение." in anna.last["text"]
    for admin in (olga, pavel):
        assert "Клиент пишет" in admin.last["text"]
        assert "«Спасибо, жду»" in admin.last["text"]
    case_id = await one(app, "SELECT id FROM cases")
    assert f"Обращение №{case_id}" in pavel.last["text"]

    # Pavel answers with Telegram's «Reply» to Anna's message.
    clock.advance(hours=1)
    reply_to(tg, pavel, pavel.last, "Курьер уже выехал.")
    await tick(tg, app)
    assert "Курьер уже выехал." in anna.last["text"]

    # Olga: «Решено» → Anna is asked; every admin message of the case loses its buttons.
    clock.advance(hours=1)
    await press(tg, olga, "Решено")
    await tick(tg, app)
    assert "Вопрос решён?" in anna.last["text"]
    assert buttons(anna.last) == [["Да", "Нет"]]
    for admin in (olga, pavel):
        assert all(buttons(m) == [] for m in admin.bot_messages()), admin.first_name

    # «Нет» reopens it and alerts both admins again, with the buttons.
    clock.advance(hours=1)
    await press(tg, anna, "Нет")
    await tick(tg, app)
    for admin in (olga, pavel):
        assert "Клиент ответил: вопрос не решён" in admin.last["text"]
        assert buttons(admin.last) == [["Ответить клиенту", "Решено"]]

    clock.advance(hours=1)
    await press(tg, pavel, "Ответить клиенту")
    pavel.send("Привезли, проверьте, пожалуйста.")
    await tick(tg, app)
    assert "Привезли, проверьте, пожалуйста." in anna.last["text"]
    clock.advance(hours=1)
    await press(tg, pavel, "Решено")
    await tick(tg, app)
    clock.advance(hours=1)
    await press(tg, anna, "Да")
    await tick(tg, app)
    assert "Рады, что всё решилось" in anna.last["text"]
    for admin in (olga, pavel):
        assert "Клиент подтвердил: вопрос решён" in admin.last["text"]
    assert await one(app, "SELECT status || ':' || closed_how FROM cases") == "closed:confirmed"

    # A reply to the closed case is refused and never reaches Anna.
    seen = len(anna.texts())
    reply_to(tg, olga, olga.bot_messages()[-1], "Ещё кое-что")
    await tick(tg, app)
    assert "закрыто" in olga.last["text"]
    assert len(anna.texts()) == seen

    # The report's loop section, every figure (nothing the period before: each change is new).
    clock.advance(hours=1)
    text = await report(tg, olga)
    assert "Обращения клиентов" in text
    assert "Открыто обращений: 1 (▲ +1)" in text
    assert "Время до первого ответа (медиана): 1,0 ч" in text
    assert "Время до решения (медиана): 8,0 ч" in text
    assert "Отвечено в срок (24 ч): 100%" in text
    assert "Подтверждено клиентом: 1 (▲ +1)" in text
    assert "Открыто повторно: 1 (▲ +1)" in text
    assert "Вернувшиеся клиенты: 0" in text
    assert "CES (усилие, 1–5): 4,00" in text
    assert "легко (4–5): 100%" in text

    # Anna buys again within 60 days after the resolved complaint: a recovered customer.
    clock.advance(days=10)
    await buy(app, "A-2", "cust-1", TEA)
    assert "Вернувшиеся клиенты: 1 (▲ +1)" in await report(tg, olga)

    # cases.csv has the case with its times and counts.
    seen_docs = len(olga.documents())
    olga.send("/export")
    await tg.settle()
    files = {f.filename: f.content for f in olga.documents()[seen_docs:]}
    (row,) = csv.DictReader(io.StringIO(files["cases.csv"].decode("utf-8-sig")))
    assert row["case_id"] == str(case_id)
    assert row["customer_id"] == "cust-1"
    assert row["topic"] == "complaint"
    assert row["status"] == "closed"
    assert row["closed_how"] == "confirmed"
    assert row["reopened"] == "1"
    assert row["opened_at"] == (opened_at + timedelta(hours=3)).strftime("%Y-%m-%d %H:%M:%S")
    assert row["messages"] == "4"  # Olga, Anna, Pavel, Pavel
    assert row["recovered"] == "purchase"
    assert "ces" in files["reviews.csv"].decode("utf-8-sig").splitlines()[0].split(",")[-1]


# --- a question, restarts, reminders ----------------------------------------------------------
async def test_a_free_text_question_survives_a_restart_at_every_step(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock
) -> None:
    app = await start(start_app)
    olga = tg.user(1, "Olga")
    anna = tg.user(7001, "Анна")
    recorded = await buy(app, "A-1", "cust-1", TEA)
    await link(tg, recorded, anna)

    anna.send("Здравствуйте, у меня вопрос по заказу")
    await tg.settle()
    received = anna.last["text"]
    assert received.startswith(f"🏪 {SHOP}")
    assert "ответим здесь" in received
    assert "Мы отвечаем: пн–пт 9:00–18:00." in received
    await app.stop()
    app = await start(start_app)  # the alert was queued before the stop: it goes now
    assert "Вопрос клиента" in olga.last["text"]
    assert "«Здравствуйте, у меня вопрос по заказу»" in olga.last["text"]

    await press(tg, olga, "Ответить клиенту")
    await app.stop()
    app = await start(start_app)  # «Ответить клиенту» is remembered across the restart
    olga.send("Заказ приедет в четверг.")
    await tg.settle()
    await app.stop()
    app = await start(start_app)
    assert "Заказ приедет в четверг." in anna.last["text"]

    await press(tg, olga, "Решено")
    await app.stop()
    app = await start(start_app)
    assert "Вопрос решён?" in anna.last["text"]
    await app.stop()
    clock.advance(days=3, seconds=1)
    app = await start(start_app)  # three days of silence: resolved by the shop
    assert await one(app, "SELECT status || ':' || closed_how FROM cases") == "closed:timeout"
    await press(tg, anna, "Да")
    assert await one(app, "SELECT closed_how FROM cases") == "timeout"


async def test_reminders_are_due_and_overdue_in_send_window_hours(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock
) -> None:
    # SEND_HOURS 9-21 and a 6-hour target; the question comes at 19:00 Moscow (16:00 UTC).
    app = await start(start_app, send_hours="9-21", alert_response_hours=6)
    olga = tg.user(1, "Olga")
    anna = tg.user(7001, "Анна")
    recorded = await buy(app, "A-1", "cust-1", TEA)
    await link(tg, recorded, anna)
    clock.advance(hours=7)
    anna.send("Где мой заказ?")
    await tick(tg, app)
    # 2 hours tonight, 4 tomorrow from 09:00: due at 13:00, overdue at 19:00 tomorrow.
    clock.advance(hours=17, seconds=-1)  # 11:59:59 next day
    await tick(tg, app)
    assert "Пора ответить" not in olga.last["text"]
    clock.advance(hours=1, seconds=1)
    await tick(tg, app)
    assert "Пора ответить: срок наступил" in olga.last["text"]
    assert buttons(olga.last) == [["Ответить клиенту", "Решено"]]
    clock.advance(hours=6)
    await tick(tg, app)
    assert "Ответа всё ещё нет: срок прошёл" in olga.last["text"]
    # Answered after the target: not within it in the report.
    await press(tg, olga, "Ответить клиенту")
    olga.send("Уже едет.")
    await tick(tg, app)
    assert "Отвечено в срок (6 ч): 0%" in await report(tg, olga, "customers 7d")


async def test_an_answer_in_time_cancels_the_reminders(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock
) -> None:
    app = await start(start_app)
    olga = tg.user(1, "Olga")
    anna = tg.user(7001, "Анна")
    recorded = await buy(app, "A-1", "cust-1", TEA)
    await link(tg, recorded, anna)
    anna.send("Вопрос")
    await tick(tg, app)
    await press(tg, olga, "Ответить клиенту")
    olga.send("Ответ")
    await tick(tg, app)
    seen = len(olga.texts())
    clock.advance(days=5)
    await tick(tg, app)
    assert not any("срок" in t for t in olga.texts()[seen:])


# --- customers who left -----------------------------------------------------------------------
async def test_a_customer_who_blocked_the_bot_gets_nothing_and_the_admin_is_told(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock
) -> None:
    app = await start(start_app)
    olga = tg.user(1, "Olga")
    anna = tg.user(7001, "Анна")
    recorded = await buy(app, "A-1", "cust-1", TEA)
    await link(tg, recorded, anna)
    anna.send("Вопрос")
    await tick(tg, app)
    anna.block()
    await press(tg, olga, "Ответить клиенту")
    olga.send("Ответ раз")
    await tick(tg, app)  # the send gets 403: Anna is marked unreachable
    seen = len(anna.texts())
    await press(tg, olga, "Ответить клиенту")
    olga.send("Ответ два")
    await tick(tg, app)
    assert "клиент недоступен" in olga.last["text"]
    assert len(anna.texts()) == seen


async def test_stop_in_the_middle_cancels_the_relay(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock
) -> None:
    # Answers to customers keep to SEND_HOURS: written at 22:00, the answer waits for 09:00,
    # and the customer says /stop in between.
    app = await start(start_app, send_hours="9-21")
    olga = tg.user(1, "Olga")
    anna = tg.user(7001, "Анна")
    recorded = await buy(app, "A-1", "cust-1", TEA)
    await link(tg, recorded, anna)
    clock.advance(hours=10)  # 22:00 in Moscow
    anna.send("Вопрос")
    await tick(tg, app)
    assert "Вопрос клиента" in olga.last["text"]  # admins hear of it at any hour
    await press(tg, olga, "Ответить клиенту")
    olga.send("Ответ")
    await tick(tg, app)
    assert await one(app, "SELECT status FROM outbox WHERE kind = 'case_to_customer'") == "pending"
    anna.send("/stop")
    await tg.settle()
    clock.advance(hours=12)
    await tick(tg, app)
    assert not any("Чтобы ответить, просто напишите" in t for t in anna.texts())
    status = await one(app, "SELECT status FROM outbox WHERE kind = 'case_to_customer'")
    assert status == "cancelled"
    # Writing again after /stop is still heard (a customer may always reach the shop), and
    # the answer is refused for delivery while the customer is unsubscribed.
    anna.send("Ещё вопрос")
    await tick(tg, app)
    assert "«Ещё вопрос»" in olga.last["text"]


async def test_two_admins_answering_the_same_case_both_reach_the_customer_in_order(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock
) -> None:
    app = await start(start_app)
    olga, pavel = tg.user(1, "Olga"), tg.user(2, "Pavel")
    anna = tg.user(7001, "Анна")
    recorded = await buy(app, "A-1", "cust-1", TEA)
    await link(tg, recorded, anna)
    anna.send("Вопрос")
    await tick(tg, app)
    await press(tg, olga, "Ответить клиенту")
    await press(tg, pavel, "Ответить клиенту")
    olga.send("Ответ Ольги")
    pavel.send("Ответ Павла")
    await tick(tg, app)
    answers = [t for t in anna.texts() if "Ответ " in t]
    assert ["Ответ Ольги" in answers[0], "Ответ Павла" in answers[1]] == [True, True]
    assert "Olga ответил(а) клиенту" in pavel.last["text"] or any(
        "Olga ответил(а) клиенту" in t for t in pavel.texts()
    )
    assert any("Pavel ответил(а) клиенту" in t for t in olga.texts())
    first = await one(app, "SELECT first_answered_by FROM cases")
    assert first == 1


# --- «Купить снова» ------------------------------------------------------------------------------
async def test_buy_again_without_a_link_opens_a_case_and_counts_in_the_report(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock
) -> None:
    app = await start(start_app)
    olga = tg.user(1, "Olga")
    anna = tg.user(7001, "Анна")
    filters = Item("FLT-1", "Фильтр для воды", 1, restock_days=10)
    recorded = await buy(app, "A-1", "cust-1", filters)
    await link(tg, recorded, anna)
    clock.advance(days=7)
    await tick(tg, app)
    reminder = next(m for m in anna.bot_messages() if "🛒" in m["text"])
    assert "Купить снова" in buttons(reminder)[0]
    (buy_button,) = reminder["reply_markup"]["inline_keyboard"][0]
    await press(tg, anna, "Купить снова", message=reminder)
    await tick(tg, app)
    # The answer is added to the reminder in place; the review request due in the same tick
    # may have come after it, so the reminder is looked up, not taken as the last message.
    (answered,) = [t for t in anna.texts() if "🛒" in t]
    assert "Магазин свяжется с вами" in answered
    alert = olga.last["text"]
    assert "Клиент хочет купить снова" in alert
    assert "Товар: Фильтр для воды" in alert
    assert "Предыдущий заказ: A-1" in alert
    # Pressed twice (an old copy of the button): still one case, no second alert.
    alerts = len(olga.texts())
    await press_data(tg, anna, buy_button["callback_data"])
    await tick(tg, app)
    assert len(olga.texts()) == alerts
    assert await one(app, "SELECT COUNT(*) FROM cases WHERE topic = 'buy_again'") == 1
    clock.advance(minutes=1)  # the report's period ends before now
    text = await report(tg, olga)
    assert "Напоминания о пополнении: отправлено 1 (▲ +1) · купили снова 0 — 0%" in text
    assert "Хотят купить снова: 1 — 100%" in text
    assert "Открыто обращений: 1 (▲ +1)" in text


async def test_buy_again_with_a_link_is_the_shops_url(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock
) -> None:
    app = await start(start_app)
    anna = tg.user(7001, "Анна")
    await product(app, "FLT-1", "Фильтр", restock_days=10, url="https://shop.example/flt-1")
    filters = Item("FLT-1", "Фильтр для воды", 1, restock_days=10)
    recorded = await buy(app, "A-1", "cust-1", filters)
    await link(tg, recorded, anna)
    clock.advance(days=7)
    await tick(tg, app)
    reminder = next(m for m in anna.bot_messages() if "🛒" in m["text"])
    (buy_button,) = reminder["reply_markup"]["inline_keyboard"][0]
    assert buy_button == {"text": "Купить снова", "url": "https://shop.example/flt-1"}
