"""A signed Shopify webhook into the real process (`python -m bot run`), as Shopify sends it.

A bad signature is refused in plain words and writes nothing; a signed `orders/create` is
answered 2xx; a SIGKILL right after that answer loses nothing; Shopify's retry of the same
delivery (same X-Shopify-Webhook-Id) is not recorded twice; the customer links by the receipt
link and the phone the order carries; the admin's `/report customers` shows the revenue.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.emulator import BotAPIEmulator, FakeUser
from bot.integrations.signatures import hmac_base64
from tests.bot_process import BotProcess
from tests.factories import asks_for_contact

pytestmark = pytest.mark.slow

ADMIN = 1
SECRET = "shpss_blackbox"
WAIT = 60.0  # generous: a loaded CI machine runs the real process slowly
NBSP = "\u00a0"


def has_text(user: FakeUser, text: str, after: int = 0) -> Callable[[], bool]:
    return lambda: any(text in t for t in user.texts()[after:])


def rows(db: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:  # WAL: reads beside the running bot
        return conn.execute(sql, params).fetchall()


def order_body() -> bytes:
    """An orders/create body in Shopify's shape (the fields we read, plus some we do not)."""
    return json.dumps(
        {
            "id": 5512345678901,
            "admin_graphql_api_id": "gid://shopify/Order/5512345678901",
            "name": "#1001",
            "order_number": 1001,
            "email": "anna@example.com",
            "created_at": (datetime.now(tz=UTC) - timedelta(hours=2)).isoformat(),
            "currency": "RUB",
            "financial_status": "paid",
            "total_price": "1250.00",
            "billing_address": {"name": "Анна Смирнова", "phone": "+7 999 123-45-67"},
            "customer": {"id": 7001, "email": "anna@example.com", "phone": None},
            "line_items": [
                {
                    "id": 1,
                    "sku": "TEA-1",
                    "name": "Чай улун",
                    "quantity": 2,
                    "price": "500.00",
                    "gift_card": False,
                },
                {
                    "id": 2,
                    "sku": "CUP-1",
                    "name": "Чашка",
                    "quantity": 1,
                    "price": "250.00",
                    "gift_card": False,
                },
            ],
        },
        ensure_ascii=False,
    ).encode()


async def post(
    bot: BotProcess, raw: bytes, *, signature: str, webhook_id: str
) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"http://127.0.0.1:{bot.port}/api/v1/integrations/shopify",
            data=raw,
            headers={
                "Content-Type": "application/json",
                "X-Shopify-Hmac-Sha256": signature,
                "X-Shopify-Topic": "orders/create",
                "X-Shopify-Webhook-Id": webhook_id,
                "X-Shopify-Shop-Domain": "tea-shop.myshopify.com",
            },
        ) as response,
    ):
        return response.status, await response.json()


def written(db: Path) -> tuple[int, int, int]:
    return (
        rows(db, "SELECT COUNT(*) FROM customers")[0][0],
        rows(db, "SELECT COUNT(*) FROM orders")[0][0],
        rows(db, "SELECT COUNT(*) FROM order_items")[0][0],
    )


async def test_a_signed_shopify_webhook_through_the_real_process(
    tg: BotAPIEmulator, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    db = tmp_path / "bot.sqlite3"
    env = {
        "BOT_TOKEN": tg.token,
        "TELEGRAM_API_URL": tg.base_url,
        "DATABASE_PATH": str(db),
        "ADMIN_IDS": str(ADMIN),
        "PSEUDONYM_SECRET": "blackbox",
        "SHOPIFY_WEBHOOK_SECRET": SECRET,
        "SCHEDULER_TICK_SECONDS": "0.3",
        "SEND_HOURS": "0-24",
        "REPORT_CRON": "",
    }
    bot = BotProcess(env, tmp_path / "bot.log")
    request.addfinalizer(bot.close)
    await bot.start()
    olga = tg.user(ADMIN, "Olga")
    olga.send("/start")
    await tg.wait_for(has_text(olga, "администратор"), timeout=WAIT)
    raw = order_body()

    # Signed with another secret: refused in plain words, nothing written.
    status, answer = await post(
        bot, raw, signature=hmac_base64("not the secret", raw), webhook_id="wh-0"
    )
    assert status == 401
    assert answer == {"error": "the X-Shopify-Hmac-Sha256 signature does not match"}
    assert written(db) == (0, 0, 0)

    status, answer = await post(bot, raw, signature=hmac_base64(SECRET, raw), webhook_id="wh-1")
    assert 200 <= status < 300, answer
    link = answer["customer_link"]
    # A crash the moment the answer is out: the order was committed before it was answered.
    bot.kill()
    assert written(db) == (1, 1, 2)
    bot = BotProcess(env, tmp_path / "bot.log")
    request.addfinalizer(bot.close)
    await bot.start()
    assert written(db) == (1, 1, 2)

    # Shopify did not see the answer (the crash) and retries the same delivery.
    status, again = await post(bot, raw, signature=hmac_base64(SECRET, raw), webhook_id="wh-1")
    assert status == 200, again
    assert again["customer_link"] == link
    assert written(db) == (1, 1, 2)
    assert rows(db, "SELECT order_id FROM orders") == [("#1001",)]

    # Anna opens the link from her receipt; the order carries her phone, so she shares it.
    anna = tg.user(3001, "Анна")
    anna.send("/start " + link.split("?start=")[1])
    await tg.wait_for(lambda: bool(anna.bot_messages()) and asks_for_contact(anna.last), WAIT)
    anna.share_contact("79991234567")  # Telegram sends the digits without a plus
    await tg.wait_for(
        lambda: rows(db, "SELECT telegram_id FROM customers") == [(anna.id,)], timeout=WAIT
    )

    seen = len(olga.texts())
    olga.send("/report customers 30d")
    await tg.wait_for(has_text(olga, "Выручка:", after=seen), timeout=WAIT)
    report = "\n".join(olga.texts()[seen:])
    for line in (f"Выручка: 1{NBSP}250,00 ₽", "Заказы: 1", f"Средний чек: 1{NBSP}250,00 ₽"):
        assert line in report, report

    assert await bot.terminate() == 0, bot.log()
    assert SECRET not in bot.log()
