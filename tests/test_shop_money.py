"""Money, win-back and events out, through the wire: signed webhooks in, /report, a receiver."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.app import BotApp
from bot.clock import FakeClock
from bot.emulator import BotAPIEmulator, FakeUser
from bot.events.signing import SIGNATURE_HEADER, verify
from bot.integrations.signatures import hmac_base64
from storage.outbox import EVENT_OUT, WINBACK
from tests.conftest import ADMIN_ID
from tests.factories import TEA, Item, asks_for_contact, buy, link, press, product
from tests.ingest_helpers import API_TOKEN, Api
from tests.ingest_helpers import rows as query

SHOPIFY_PHONE = "+7 999 123-45-67"  # as a shop types it

SECRET = "shpss_money"
NBSP = "\u00a0"


def shopify_order(name: str, at: str, lines: list[tuple[str, int, str]]) -> bytes:
    return json.dumps(
        {
            "id": abs(hash(name)),
            "name": name,
            "email": "anna@example.com",
            "created_at": at,
            "currency": "RUB",
            "billing_address": {"name": "Анна Смирнова", "phone": SHOPIFY_PHONE},
            "line_items": [
                {"sku": sku, "name": sku, "quantity": qty, "price": price, "gift_card": False}
                for sku, qty, price in lines
            ],
        }
    ).encode()


async def post_shopify(app: BotApp, raw: bytes) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session:
        status, answer, _ = await Api(app, session).call(
            "POST",
            "/api/v1/integrations/shopify",
            raw=raw,
            token=None,
            headers={
                "X-Shopify-Hmac-Sha256": hmac_base64(SECRET, raw),
                "X-Shopify-Topic": "orders/create",
            },
        )
    assert status == 201, answer
    return answer


async def report(tg: BotAPIEmulator) -> str:
    boss = tg.user(ADMIN_ID, "Ольга")
    seen = len(boss.bot_messages())
    boss.send("/report customers")
    await tg.settle()
    return "\n".join(m.get("text", "") for m in boss.bot_messages()[seen:])


async def test_signed_shopify_orders_show_revenue_ltv_and_restock_revenue_exactly(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock
) -> None:
    app = await start_app(shopify_webhook_secret=SECRET, api_token=API_TOKEN)
    await product(app, "TEA-1", "Чай улун", restock_days=30)
    anna = tg.user(8101, "Анна")
    first = await post_shopify(
        app, shopify_order("#1001", clock.now().isoformat(), [("TEA-1", 2, "500.00")])
    )
    anna.send("/start " + first["customer_link"].split("start=")[1])
    await tg.settle()
    # The order carries the customer's phone, so the bot asks Anna to confirm it is her.
    assert asks_for_contact(anna.last)
    anna.share_contact("79991234567")  # Telegram sends the digits without a plus
    await tg.settle()
    clock.advance(days=7)
    await app.outbox.tick()  # the review request
    clock.advance(days=20)  # TEA lasts 30 days, RESTOCK_LEAD_DAYS is 3
    await app.outbox.tick()
    [restock] = await query(app.db, "SELECT status FROM outbox WHERE kind = 'restock'")
    assert restock == {"status": "sent"}
    clock.advance(days=2)
    await post_shopify(
        app,
        shopify_order(
            "#1002", clock.now().isoformat(), [("TEA-1", 1, "500.00"), ("CUP", 1, "250.00")]
        ),
    )
    clock.advance(hours=1)

    text = await report(tg)

    assert f"Выручка: 1{NBSP}750,00 ₽" in text
    assert "Заказы: 2" in text
    assert "Средний чек: 875,00 ₽" in text
    assert "Доля повторных покупок: 100% (1 из 1 покупателей уже покупали раньше)" in text
    assert f"LTV (накопленный): 1{NBSP}750,00 ₽ на клиента (1 клиентов с их первого заказа)" in text
    assert "Выручка после напоминаний о пополнении (14 дней): 750,00 ₽" in text
    assert (
        "Выручка после просьб об отзыве (14 дней): 0,00 ₽" in text
    )  # asked on day 7, bought on day 29


async def test_winback_goes_out_once_and_its_conversion_counts(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock
) -> None:
    app = await start_app(winback_days=30, winback_text="Промокод BACK10 — скидка 10%")
    anna = tg.user(8102, "Анна")
    await link(tg, await buy(app, "A-1", "cust-w", TEA), anna)
    clock.advance(days=7)
    await app.outbox.tick()  # the review request
    clock.advance(days=24)  # 31 days after the purchase
    await app.outbox.tick()  # the sweep queues the win-back message
    await app.outbox.tick()  # and it goes out
    winbacks = [m for m in anna.bot_messages() if "BACK10" in m.get("text", "")]
    assert len(winbacks) == 1
    assert winbacks[0]["text"].startswith("Мы соскучились!")
    clock.advance(days=10)
    await app.outbox.tick()
    await app.outbox.tick()
    assert (
        len([m for m in anna.bot_messages() if "BACK10" in m.get("text", "")]) == 1
    )  # once per 30 days
    assert len(await query(app.db, f"SELECT id FROM outbox WHERE kind = '{WINBACK}'")) == 1
    await buy(app, "A-2", "cust-w", TEA)  # 10 days after the message: its conversion
    clock.advance(hours=1)

    text = await report(tg)

    assert "Письма «возвращайтесь»: отправлено 1 (▲ +1) · купили снова 1" in text


async def test_winback_waits_for_twice_the_usual_interval(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock
) -> None:
    app = await start_app(winback_days=10)
    anna = tg.user(8103, "Анна")
    recorded = await buy(app, "A-1", "cust-i", TEA)
    await link(tg, recorded, anna)
    clock.advance(days=20)
    await buy(app, "A-2", "cust-i", TEA)  # buys every 20 days: lapsed only after 40
    clock.advance(days=39)
    await app.outbox.tick()
    assert await query(app.db, f"SELECT id FROM outbox WHERE kind = '{WINBACK}'") == []
    clock.advance(days=2)
    await app.outbox.tick()
    assert len(await query(app.db, f"SELECT id FROM outbox WHERE kind = '{WINBACK}'")) == 1


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[tuple[dict[str, str], bytes]], list[int]]]:
    """A shop's CRM on 127.0.0.1: records each request; answers with the statuses queued."""
    seen: list[tuple[dict[str, str], bytes]] = []
    statuses: list[int] = []

    async def hook(request: web.Request) -> web.Response:
        seen.append((dict(request.headers), await request.read()))
        return web.Response(status=statuses.pop(0) if statuses else 200)

    server = web.Application()
    server.router.add_post("/hook", hook)
    runner = web.AppRunner(server)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}/hook", seen, statuses
    await runner.cleanup()


async def test_events_arrive_signed_retried_and_once(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock, receiver: Any
) -> None:
    url, seen, statuses = receiver
    app = await start_app(webhook_out_url=url, webhook_out_secret="out-secret")
    anna = tg.user(8104, "Анна")
    await link(tg, await buy(app, "A-1", "cust-e", TEA), anna)
    clock.advance(days=7)
    await app.outbox.tick()
    statuses.extend([500])  # the CRM is down for the first try
    # Negative: an alert, and two events (the bad rating, and the complaint's case opened).
    await press(tg, anna, "1⭐")
    await app.outbox.tick()
    assert len(seen) == 2
    rows = await query(
        app.db,
        f"SELECT status, attempts, last_error FROM outbox WHERE kind = '{EVENT_OUT}' "
        "AND status = 'pending'",
    )
    assert [r["last_error"] for r in rows] == ["HTTP 500 from the receiver"]
    clock.advance(seconds=10)  # the first retry
    await app.outbox.tick()
    await press(tg, anna, "3")
    await press(tg, anna, "4")  # the effort question (CES) came after NPS
    await press(tg, anna, "Пропустить")  # no comment: completes the review, the third event
    await app.outbox.tick()
    await app.outbox.tick()

    bodies = [json.loads(raw) for _, raw in seen]
    ids = [b["id"] for b in bodies]
    [retried] = [i for i in set(ids) if ids.count(i) == 2]  # the retry is the same event
    assert ids.index(retried) < 2
    assert sorted({b["type"] for b in bodies}) == [
        "case.opened",
        "review.completed",
        "review.negative",
    ]
    assert len(bodies) == 4
    [completed] = [b for b in bodies if b["type"] == "review.completed"]
    assert bodies[-1] == completed
    assert completed["data"] == {
        "review_id": completed["data"]["review_id"],
        "customer_id": "cust-e",
        "orders": ["A-1"],
        "rating": 1,
        "nps": 3,
        "ces": 4,
        "comment": None,
    }
    for headers, raw in seen:
        assert headers["X-Feedback-Event-Id"] == json.loads(raw)["id"]
        timestamp = int(headers[SIGNATURE_HEADER].split(",")[0].removeprefix("t="))
        assert verify("out-secret", raw, headers[SIGNATURE_HEADER], now=timestamp)
        assert not verify("out-secret", raw + b" ", headers[SIGNATURE_HEADER], now=timestamp)
    sent = await query(app.db, f"SELECT status FROM outbox WHERE kind = '{EVENT_OUT}'")
    assert [r["status"] for r in sent] == ["sent", "sent", "sent"]
    clock.advance(days=1)
    await app.outbox.tick()
    assert len(seen) == 4  # nothing is sent twice


async def test_no_events_are_stored_without_a_url(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock
) -> None:
    anna = tg.user(8105, "Анна")
    await link(tg, await buy(app, "A-1", "cust-n", TEA), anna)
    clock.advance(days=7)
    await app.outbox.tick()
    await press(tg, anna, "1⭐")
    assert await query(app.db, "SELECT id FROM events_out") == []


def _user_texts(user: FakeUser) -> list[str]:
    return [m.get("text", "") for m in user.bot_messages()]


async def test_case_events_follow_the_case_and_the_buy_again_intent(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock, receiver: Any
) -> None:
    url, seen, _ = receiver
    app = await start_app(webhook_out_url=url, webhook_out_secret="out-secret")
    olga = tg.user(ADMIN_ID, "Olga")
    anna = tg.user(8106, "Анна")
    filters = Item("FLT-1", "Фильтр для воды", 1, restock_days=10)
    await link(tg, await buy(app, "A-1", "cust-c", filters), anna)
    anna.send("Здравствуйте, у меня вопрос по заказу")  # a question: a case opens
    await tg.settle()
    await app.outbox.tick()
    await press(tg, olga, "Ответить клиенту")
    olga.send("Заказ приедет в четверг.")
    await tg.settle()
    await app.outbox.tick()
    await press(tg, olga, "Решено")
    await app.outbox.tick()
    clock.advance(days=7)  # the restock reminder (10 days, 3 ahead)
    await app.outbox.tick()
    await tg.settle()
    reminder = next(m for m in anna.bot_messages() if "🛒" in m.get("text", ""))
    await press(tg, anna, "Купить снова", message=reminder)
    await app.outbox.tick()

    bodies = [json.loads(raw) for _, raw in seen]
    assert [b["type"] for b in bodies] == [
        "case.opened",
        "case.answered",
        "case.resolved",
        "buy_again.intent",
    ]
    assert {b["data"]["customer_id"] for b in bodies} == {"cust-c"}
    assert [b["data"]["status"] for b in bodies[:3]] == ["open", "answered", "resolved"]
    assert bodies[3]["data"]["topic"] == "buy_again"
    assert bodies[3]["data"]["sku"] == "FLT-1"
    assert bodies[3]["data"]["order_id"] == "A-1"
    for headers, raw in seen:
        timestamp = int(headers[SIGNATURE_HEADER].split(",")[0].removeprefix("t="))
        assert verify("out-secret", raw, headers[SIGNATURE_HEADER], now=timestamp)
