"""The monthly voice of the customer through the fake Bot API: the first Monday's digest with
real comments stripped of personal details, a suggestion, and the suggestion in the plan."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.app import BotApp
from bot.emulator import BotAPIEmulator
from tests.plans_helpers import plan, report, select, team, tick
from tests.report_factories import Facts
from tests.survey_helpers import admin

JAN_20 = datetime(2026, 1, 20, 12, 0, tzinfo=UTC)
FEB_2 = datetime(2026, 2, 2, 7, 0, tzinfo=UTC)  # the first Monday of February, 10:00 in Moscow

REVIEWS = [
    # (name, order id, rating, nps, comment)
    ("Анна Кузнецова", "A-1001", 1, 2,
     "Меня зовут Анна, заказ A-1001 привезли без крышки! Звоните +7 (916) 555-12-34."),
    ("Игорь Смирнов", "ZK-77812", 5, 10,
     "Курьер приехал вовремя, Игорь всё объяснил. Мой e-mail igor.smirnov@example.ru"),
    ("Ольга Попова", "B-2002", 2, 5,
     "Оператор не перезвонил, пишу второй раз: 8 903 111 22 33, заказ B-2002"),
    ("Павел Волков", "C-3003", 4, 8, "Хороший фильтр, но упаковка помялась в доставке"),
    ("Мария Лебедева", "D-4004", 5, 9, "Всё отлично, Мария довольна, спасибо магазину!"),
]  # fmt: skip


async def test_the_digest_carries_real_comments_without_personal_details_and_a_suggestion(
    tg: BotAPIEmulator, start_app: Any, clock: Any
) -> None:
    app: BotApp = await start_app()
    people = await team(tg, {"Продажи": (2001, 2002, 2003)})
    facts = Facts(app.db, JAN_20)
    for name, order_id, rating, nps, comment in REVIEWS:
        customer = await facts.customer(name=name, phone="+79160000000")
        review = await facts.review(
            customer, requested_at=JAN_20 - timedelta(days=1), rating=rating, rated_at=JAN_20,
            nps=nps, comment=comment,
        )  # fmt: skip
        await facts.order(customer, JAN_20 - timedelta(days=8), order_id=order_id, review_id=review)
        if rating <= 2:
            await facts.alert(review, resolved=rating == 2)
    # A review with its comment is complete (else the reviews' sweep would close it as
    # «no comment» a day after the NPS answer).
    async with app.db.write() as conn:
        await conn.execute("UPDATE reviews SET completed_at = commented_at")

    clock.set(FEB_2 - timedelta(minutes=1))
    await tick(tg, app)
    assert not any("Голос клиента" in t for t in people[2001].texts())
    clock.set(FEB_2)
    await tick(tg, app)
    digest = people[2001].last["text"]
    assert "Голос клиента: январь 2026" in digest
    assert "NPS: 0" in digest  # 2 promoters, 1 passive, 2 detractors of 5
    assert "CSAT: 60 % из 5 оценок" in digest
    assert "Жалобы: 2, отвечено 1" in digest
    assert "упаковка помялась" in digest
    for name, order_id, *_rest in REVIEWS:
        for word in name.split():
            assert word[:-1] not in digest, word
        assert order_id not in digest
    assert "@" not in digest
    assert not re.search(r"\d{3}\D{0,2}\d{2}\D?\d{2}", digest.split("Что писали клиенты:")[1])
    assert "[имя]" in digest
    assert "[телефон]" in digest
    assert all("Голос клиента" in p.last["text"] for p in people.values())

    # An anonymous suggestion reaches the admins without a trace of who wrote it.
    people[2001].click("💡 Предложить улучшение")
    await tg.settle()
    people[2001].click("🕶 Анонимно")
    await tg.settle()
    people[2001].send("Перезванивать клиенту в течение часа после жалобы")
    await tg.settle()
    await tick(tg, app, 1)
    boss = admin(tg)
    assert "анонимно" in boss.last["text"]
    assert "Перезванивать клиенту" in boss.last["text"]
    stored = await select(app, "SELECT signed_chat_id, signed_name FROM voc_suggestions")
    assert stored == [{"signed_chat_id": None, "signed_name": None}]

    # A signed one names its author.
    people[2002].click("💡 Предложить улучшение")
    await tg.settle()
    people[2002].click("✍ С моим именем")
    await tg.settle()
    people[2002].send("Добавить в чек номер поддержки")
    await tg.settle()
    await tick(tg, app, 1)
    assert "от E2002" in boss.last["text"]

    # The admin turns the anonymous one into an initiative.
    message = next(
        m for m in reversed(boss.bot_messages()) if "Перезванивать" in (m.get("text") or "")
    )
    boss.click("➕ В план", message=message)
    await tg.settle()
    assert "Перезванивать клиенту" in boss.last["text"]
    await plan(tg, app, question=4, title=None, owner=None, due="Через месяц")
    made = await select(app, "SELECT title, source, owner_chat_id FROM initiatives")
    assert made == [
        {"title": "Перезванивать клиенту в течение часа после жалобы", "source": "suggestion",
         "owner_chat_id": 1},
    ]  # fmt: skip
    text = await report(tg, "")
    assert "Предложения сотрудников (голос клиента): 2, из них в плане: 1." in text


async def test_an_empty_voc_cron_sends_nothing(
    tg: BotAPIEmulator, start_app: Any, clock: Any
) -> None:
    app: BotApp = await start_app(voc_cron="")
    people = await team(tg, {"Продажи": (2001,)})
    clock.set(FEB_2)
    await tick(tg, app)
    assert not any("Голос клиента" in t for t in people[2001].texts())
    assert await select(app, "SELECT COUNT(*) AS n FROM voc_issues") == [{"n": 0}]
