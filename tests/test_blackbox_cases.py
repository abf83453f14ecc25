"""The customer loop end to end with the real process and the real clock: `python -m bot run`.

A 2⭐ review alerts the admin, who answers from the alert; the customer hears it under the
shop's name and replies; «Решено» → «Нет» reopens; a SIGKILL in the middle loses nothing; the
admin answers again with Telegram's «Reply» and resolves; «Да» closes it. The report's loop
section and cases.csv show it.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.emulator import BotAPIEmulator, FakeUser
from tests.bot_process import BotProcess

pytestmark = pytest.mark.slow

ADMIN = 1
API_TOKEN = "blackbox-api-token"
SHOP = "Чайная лавка"
WAIT = 60.0  # generous: a loaded CI machine runs the real process slowly


def has_text(user: FakeUser, text: str, after: int = 0) -> Callable[[], bool]:
    return lambda: any(text in t for t in user.texts()[after:])


def rows(db: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:  # WAL: reads beside the running bot
        return conn.execute(sql, params).fetchall()


async def test_the_loop_through_the_real_process(
    tg: BotAPIEmulator, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    db = tmp_path / "bot.sqlite3"
    env = {
        "BOT_TOKEN": tg.token,
        "TELEGRAM_API_URL": tg.base_url,
        "DATABASE_PATH": str(db),
        "ADMIN_IDS": str(ADMIN),
        "API_TOKEN": API_TOKEN,
        "PSEUDONYM_SECRET": "blackbox",
        "SCHEDULER_TICK_SECONDS": "0.3",
        "SEND_HOURS": "0-24",
        "REPORT_CRON": "",
        "SHOP_NAME": SHOP,
    }
    bot = BotProcess(env, tmp_path / "bot.log")
    request.addfinalizer(bot.close)
    await bot.start()
    olga = tg.user(ADMIN, "Olga")
    olga.send("/start")
    await tg.wait_for(has_text(olga, "администратор"), timeout=WAIT)

    body = {
        "order_id": "A-1",
        "customer": {"id": "A", "name": "Анна"},
        "purchased_at": (datetime.now(tz=UTC) - timedelta(days=8)).isoformat(),
        "items": [{"sku": "TEA-1", "name": "Чай улун", "quantity": 1}],
    }
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"http://127.0.0.1:{bot.port}/api/v1/purchases",
            json=body,
            headers={"Authorization": f"Bearer {API_TOKEN}"},
        ) as response,
    ):
        assert response.status == 201, await response.text()
        link = (await response.json())["customer_link"]

    anna = tg.user(3001, "Анна")
    anna.send("/start " + link.split("?start=")[1])
    await tg.wait_for(has_text(anna, "Как вам покупка: Чай улун?"), timeout=WAIT)
    assert SHOP in anna.last["text"]
    anna.click("2⭐")
    await tg.wait_for(has_text(anna, "порекомендуете"), timeout=WAIT)
    anna.click("3")
    await tg.wait_for(has_text(anna, "Насколько легко"), timeout=WAIT)
    anna.click("Пропустить")
    await tg.wait_for(has_text(anna, "Что пошло не так?"), timeout=WAIT)
    anna.send("Чай пришёл холодным")
    await tg.wait_for(has_text(anna, "ответим вам здесь"), timeout=WAIT)
    await tg.wait_for(has_text(olga, "Комментарий: Чай пришёл холодным"), timeout=WAIT)

    olga.click("Ответить клиенту")
    await tg.wait_for(has_text(olga, "одним сообщением"), timeout=WAIT)
    # A crash right after «Ответить клиенту»: the next message still answers the case.
    bot.kill()
    bot = BotProcess(env, tmp_path / "bot.log")
    request.addfinalizer(bot.close)
    await bot.start()
    olga.send("Простите! Завтра привезём новый.")
    await tg.wait_for(has_text(anna, "Простите! Завтра привезём новый."), timeout=WAIT)
    assert anna.last["text"].startswith(f"🏪 {SHOP}")

    seen = len(olga.texts())
    anna.send("Хорошо, жду")
    await tg.wait_for(has_text(olga, "«Хорошо, жду»", after=seen), timeout=WAIT)
    olga.click("Решено")
    await tg.wait_for(has_text(anna, "Вопрос решён?"), timeout=WAIT)
    seen = len(olga.texts())
    anna.click("Нет")
    await tg.wait_for(has_text(olga, "вопрос не решён", after=seen), timeout=WAIT)
    reopened = olga.bot_messages()[-1]
    olga.send("Курьер уже у вас.", reply_to=reopened)
    await tg.wait_for(has_text(anna, "Курьер уже у вас."), timeout=WAIT)
    seen = len(anna.texts())
    olga.click("Решено")
    await tg.wait_for(has_text(anna, "Вопрос решён?", after=seen), timeout=WAIT)
    anna.click("Да")
    await tg.wait_for(has_text(anna, "Рады, что всё решилось"), timeout=WAIT)
    assert rows(db, "SELECT status, closed_how, reopened FROM cases") == [
        ("closed", "confirmed", 1)
    ]

    seen = len(olga.texts())
    olga.send("/report customers 30d")
    await tg.wait_for(has_text(olga, "Обращения клиентов", after=seen), timeout=WAIT)
    report = "\n".join(olga.texts()[seen:])
    for line in (
        "Открыто обращений: 1 (▲ +1)",
        "Отвечено в срок (24 ч): 100%",
        "Подтверждено клиентом: 1 (▲ +1)",
        "Открыто повторно: 1 (▲ +1)",
        "Вернувшиеся клиенты: 0 (без изменений)",
        "Время до первого ответа (медиана): 0,0 ч",
    ):
        assert line in report, line

    documents = len(olga.documents())
    olga.send("/export")
    await tg.wait_for(
        lambda: any(f.filename == "cases.csv" for f in olga.documents()[documents:]), timeout=WAIT
    )
    files = {f.filename: f.content for f in olga.documents()[documents:]}
    (case,) = csv.DictReader(io.StringIO(files["cases.csv"].decode("utf-8-sig")))
    assert (case["customer_id"], case["topic"], case["status"]) == ("A", "complaint", "closed")
    assert (case["closed_how"], case["reopened"], case["messages"]) == ("confirmed", "1", "3")

    assert await bot.terminate() == 0, bot.log()
