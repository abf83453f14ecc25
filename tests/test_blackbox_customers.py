"""Customers end to end with the real process and the real clock: `python -m bot run`.

Purchases posted 8 days in the past bring review requests within a few ticks to linked
customers; a rating of 1 alerts the admin; a due restock reminder arrives, and one whose SKU was
bought again does not; `/stop` silences a customer; bad API calls change nothing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.customers.messages import STAR
from bot.emulator import BotAPIEmulator, FakeUser
from tests.bot_process import BotProcess

pytestmark = pytest.mark.slow

ADMIN = 1
API_TOKEN = "blackbox-api-token"
WAIT = 30.0


def has_text(user: FakeUser, text: str) -> Callable[[], bool]:
    return lambda: any(text in t for t in user.texts())


def purchase(order: str, customer: str, days_ago: float, sku: str, name: str) -> dict[str, Any]:
    moment = datetime.now(tz=UTC) - timedelta(days=days_ago)
    return {
        "order_id": order,
        "customer": {"id": customer, "name": f"Клиент {customer}"},
        "purchased_at": moment.isoformat(),
        "items": [{"sku": sku, "name": name, "quantity": 1, "restock_days": 10}],
    }


def rows(db: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:  # WAL: reads beside the running bot
        return conn.execute(sql, params).fetchall()


async def test_customers_end_to_end(
    tg: BotAPIEmulator, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    db = tmp_path / "bot.sqlite3"
    bot = BotProcess(
        {
            "BOT_TOKEN": tg.token,
            "TELEGRAM_API_URL": tg.base_url,
            "DATABASE_PATH": str(db),
            "ADMIN_IDS": str(ADMIN),
            "API_TOKEN": API_TOKEN,
            "PSEUDONYM_SECRET": "blackbox",
            "SCHEDULER_TICK_SECONDS": "0.3",
            "SEND_HOURS": "0-24",
            "SEND_RATE": "20",
            "REPORT_CRON": "",
        },
        tmp_path / "bot.log",
    )
    request.addfinalizer(bot.close)
    await bot.start()
    admin = tg.user(ADMIN, "Olga")
    admin.send("/start")  # the admin has a chat with the bot, as in real life
    api = f"http://127.0.0.1:{bot.port}/api/v1/purchases"
    auth = {"Authorization": f"Bearer {API_TOKEN}"}

    async with aiohttp.ClientSession() as http:
        # Bad calls first: each answered clearly, nothing written.
        async with http.post(api, json=purchase("X-1", "X", 8, "S", "S")) as response:
            assert response.status == 401
        async with http.post(api, json={"order_id": 5}, headers=auth) as response:
            assert response.status == 422
            fields = {e["field"] for e in await response.json()}
            assert {"order_id", "customer", "purchased_at", "items"} <= fields
        async with http.post(
            api, data="{not json", headers={**auth, "Content-Type": "application/json"}
        ) as response:
            assert response.status == 400
        assert rows(db, "SELECT COUNT(*) FROM orders")[0][0] == 0
        assert rows(db, "SELECT COUNT(*) FROM outbox")[0][0] == 0

        links: dict[str, str] = {}
        for body in (
            purchase("A-1", "A", 8, "FLT-1", "Фильтр для воды"),
            purchase("B-1", "B", 8, "CRT-1", "Картридж"),
            purchase("B-2", "B", 2, "CRT-1", "Картридж"),  # bought again: the old reminder goes
            purchase("C-1", "C", 5, "FLT-1", "Фильтр для воды"),
        ):
            async with http.post(api, json=body, headers=auth) as response:
                assert response.status == 201, await response.text()
                links[body["customer"]["id"]] = (await response.json())["customer_link"]
            async with http.post(api, json=body, headers=auth) as response:
                assert response.status == 200, "the same order again changes nothing"
    assert rows(db, "SELECT COUNT(*) FROM orders")[0][0] == 4

    anna, boris, clara = tg.user(3001, "Anna"), tg.user(3002, "Boris"), tg.user(3003, "Clara")
    clara.send("/start " + links["C"].split("?start=")[1])
    await tg.wait_for(lambda: len(clara.texts()) > 0, timeout=WAIT)
    clara.send("/stop")
    await tg.wait_for(lambda: len(clara.texts()) > 1, timeout=WAIT)

    for user, key in ((anna, "A"), (boris, "B")):
        user.send("/start " + links[key].split("?start=")[1])

    # Due a day ago: the review request comes within a few ticks of linking.
    await tg.wait_for(has_text(anna, "Как вам покупка: Фильтр для воды?"), timeout=WAIT)
    await tg.wait_for(has_text(boris, "Как вам покупка"), timeout=WAIT)
    await tg.wait_for(has_text(anna, "Пора пополнить запас?"), timeout=WAIT)

    anna.click(f"1{STAR}")
    await tg.wait_for(has_text(admin, "Негативный отзыв: 1 из 5"), timeout=WAIT)
    alert = next(t for t in admin.texts() if "Негативный отзыв" in t)
    assert "Клиент A" in alert
    assert "A-1" in alert

    # Boris bought the cartridge again two days ago: his old reminder was cancelled, the new
    # one is due in five days. Clara said /stop: her queued messages are cancelled.
    statuses = dict(
        rows(
            db,
            "SELECT o.order_id, x.status FROM outbox x JOIN order_items i ON i.id = x.ref_id "
            "JOIN orders o ON o.id = i.order_id WHERE x.kind = 'restock'",
        )
    )
    assert statuses["B-1"] == "cancelled"
    assert statuses["B-2"] == "pending"
    assert statuses["C-1"] == "cancelled"
    assert not any("Пора пополнить" in t for t in boris.texts())
    assert not any("Как вам покупка" in t for t in clara.texts())
    assert rows(db, "SELECT subscribed FROM customers WHERE external_id = 'C'")[0][0] == 0

    assert await bot.terminate() == 0, bot.log()
    assert API_TOKEN not in bot.log()
    assert tg.token not in bot.log()
