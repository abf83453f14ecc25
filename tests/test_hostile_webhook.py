"""Webhook mode: only Telegram, which knows the secret, can hand the bot an update.

The bot's webhook URL is reachable by anyone who finds it; without the check, a forged POST
could be «a message from the admin». Telegram sends the secret given to setWebhook in
X-Telegram-Bot-Api-Secret-Token; everything else gets 401 and is not handled.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import BotApp
from bot.emulator import BotAPIEmulator
from bot.survey import service as survey_service
from tests.bot_process import free_port
from tests.conftest import ADMIN_ID
from tests.db_snapshot import diff, snapshot

SECRET = "s3cret-Token_from-env"
HEADER = "X-Telegram-Bot-Api-Secret-Token"


def forged_admin_command(text: str, update_id: int = 900_000_001) -> dict[str, Any]:
    """An update that claims to be the admin opening a survey wave."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": 77,
            "date": int(time.time()),
            "chat": {"id": ADMIN_ID, "type": "private", "first_name": "Olga"},
            "from": {"id": ADMIN_ID, "is_bot": False, "first_name": "Olga"},
            "text": text,
            "entities": [{"offset": 0, "length": len(text.split()[0]), "type": "bot_command"}],
        },
    }


async def post(url: str, body: Any, headers: dict[str, str] | None = None) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=body, headers=headers or {}) as response,
    ):
        await response.read()
        return response.status


@pytest.fixture
def webhook_url() -> str:
    return f"http://127.0.0.1:{free_port()}/tg/webhook"


async def start_webhook_app(start_app: Callable[..., Any], url: str, secret: str | None) -> BotApp:
    port = int(url.split(":")[2].split("/")[0])
    return await start_app(webhook_url=url, webhook_secret=secret, http_port=port)


async def waves(app: BotApp) -> int:
    async with app.db.read() as conn, conn.execute("SELECT COUNT(*) FROM waves") as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def test_updates_from_telegram_are_handled(
    start_app: Callable[..., Any], tg: BotAPIEmulator, webhook_url: str
) -> None:
    await start_webhook_app(start_app, webhook_url, SECRET)
    assert tg.webhook == {"url": webhook_url, "secret_token": SECRET}
    person = tg.user(6001, "Anna")
    person.send("/help")
    await tg.settle()
    assert "бот программы клиентоцентричности" in person.last["text"]
    assert tg.calls_of("getUpdates") == []  # webhook mode does not poll


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {HEADER: ""},
        {HEADER: "wrong"},
        {HEADER: SECRET[:-1]},
        {HEADER: SECRET + "x"},
        {HEADER: SECRET.upper()},
        {HEADER: f"{SECRET},{SECRET}"},
        {"X-Telegram-Bot-Api-Secret": SECRET},  # the right value under another name
    ],
    ids=["none", "empty", "wrong", "prefix", "longer", "case", "twice", "other-header"],
)
async def test_a_forged_update_is_refused_with_401_and_changes_nothing(
    start_app: Callable[..., Any],
    tg: BotAPIEmulator,
    webhook_url: str,
    db_path: Path,
    headers: dict[str, str],
) -> None:
    app = await start_webhook_app(start_app, webhook_url, SECRET)
    before = snapshot(db_path)
    sent_before = len(tg.calls)

    status = await post(webhook_url, forged_admin_command("/survey_start Подделка"), headers)

    assert status == 401
    assert await waves(app) == 0
    assert diff(before, snapshot(db_path)) == {}
    assert tg.calls[sent_before:] == []  # not a word to anyone


async def test_the_right_secret_is_accepted(
    start_app: Callable[..., Any], tg: BotAPIEmulator, webhook_url: str
) -> None:
    app = await start_webhook_app(start_app, webhook_url, SECRET)
    tg.user(ADMIN_ID, "Olga")
    # Someone to ask: a wave with no employees is refused (tests/test_admin_help_and_refusals.py).
    payload, _ = await survey_service.create_invite(app.db, "Продажи", 1, app.clock.now())
    await survey_service.join(app.db, payload, 4242, "ru", app.clock.now(), reminder_days=3)
    status = await post(webhook_url, forged_admin_command("/survey_start Волна"), {HEADER: SECRET})
    assert status == 200
    assert await waves(app) == 1


async def test_without_webhook_secret_a_random_one_still_guards_the_url(
    start_app: Callable[..., Any], tg: BotAPIEmulator, webhook_url: str, db_path: Path
) -> None:
    app = await start_webhook_app(start_app, webhook_url, None)
    assert tg.webhook is not None
    registered = tg.webhook["secret_token"]
    assert registered
    assert len(registered) >= 32
    assert registered not in repr(app)

    before = snapshot(db_path)
    assert await post(webhook_url, forged_admin_command("/survey_start X")) == 401
    assert diff(before, snapshot(db_path)) == {}

    person = tg.user(6002, "Boris")  # Telegram itself knows the secret and gets through
    person.send("/help")
    await tg.settle()
    assert "бот программы клиентоцентричности" in person.last["text"]


async def test_a_malformed_body_with_the_right_secret_breaks_nothing(
    start_app: Callable[..., Any], tg: BotAPIEmulator, webhook_url: str, db_path: Path
) -> None:
    await start_webhook_app(start_app, webhook_url, SECRET)
    before = snapshot(db_path)
    for body in ({"update_id": "x"}, {"message": {"text": "no ids"}}, ["not", "an", "object"]):
        status = await post(webhook_url, body, {HEADER: SECRET})
        assert status != 200
    assert diff(before, snapshot(db_path)) == {}

    person = tg.user(6003, "Vera")
    person.send("/help")
    await tg.settle()
    assert "бот программы клиентоцентричности" in person.last["text"]
