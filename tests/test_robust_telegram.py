"""Telegram misbehaving while the bot runs: best-effort calls stay best effort for every error,
a polling task that dies is restarted (and logged), and /healthz tells a dead bot from a live one.

The production app against the Bot API emulator; non-JSON answers (an nginx error page) come
from a small front end before the emulator (tests/robust_helpers.py: FrontEnd).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest
from aiogram.utils.backoff import BackoffConfig

from bot.app import BotApp
from bot.emulator import BotAPIEmulator
from tests.conftest import ADMIN_ID
from tests.robust_helpers import FrontEnd, health

FAST = BackoffConfig(min_delay=0.05, max_delay=0.2, factor=1.5, jitter=0.01)
WENT_WRONG = "что-то пошло не так"


async def answered(
    tg: BotAPIEmulator, user_id: int, text: str = "/start", timeout: float = 15
) -> list[str]:
    user = tg.user(user_id, "Анна")
    before = len(user.texts())
    user.send(text)
    await tg.wait_for(lambda: len(user.texts()) > before, timeout=timeout)
    return user.texts()[before:]


# --- best effort means every error ------------------------------------------------------------
async def test_a_non_json_500_from_set_my_commands_does_not_stop_the_start(
    tg: BotAPIEmulator, start_app: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    async with FrontEnd(tg.base_url) as front:
        front.break_method("setMyCommands")
        app = await start_app(telegram_api_url=front.base_url, polling_backoff=FAST)
        await wait_health(app, 200)
        texts = await answered(tg, 5001)
        assert texts
        assert WENT_WRONG not in texts[0]
        assert "command menu not registered" in caplog.text


@pytest.mark.parametrize("kind", ["json-500", "html-500"])
async def test_report_and_export_answer_though_send_chat_action_fails(
    kind: str, tg: BotAPIEmulator, start_app: Callable[..., Any]
) -> None:
    """«typing…» is decoration: its failure must not turn /report into an apology."""
    async with FrontEnd(tg.base_url) as front:
        if kind == "html-500":
            front.break_method("sendChatAction")
        else:
            tg.fail("sendChatAction", 1000, status=500)
        await start_app(telegram_api_url=front.base_url)
        boss = tg.user(ADMIN_ID, "Olga")
        boss.send("/report")
        await tg.settle()
        assert not any(WENT_WRONG in t for t in boss.texts()), boss.texts()
        assert any("Отчёт" in t or "отчёт" in t for t in boss.texts()), boss.texts()
        boss.send("/export")
        await tg.settle()
        assert not any(WENT_WRONG in t for t in boss.texts()), boss.texts()
        assert len(boss.documents()) >= 3


# --- polling that dies ---------------------------------------------------------------------------
async def test_polling_that_dies_on_get_me_is_logged_and_restarted(
    tg: BotAPIEmulator, start_app: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    """aiogram's polling begins with getMe; a failing one ended polling with nothing logged."""
    caplog.set_level(logging.INFO)
    tg.fail("getMe", 3, status=500)
    await start_app(polling_backoff=FAST)
    texts = await answered(tg, 5002)
    assert texts
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("getMe" in r.getMessage() or "polling" in r.getMessage().lower() for r in errors), [
        r.getMessage() for r in errors
    ]


async def test_health_is_503_while_polling_is_not_running_and_200_once_it_is(
    tg: BotAPIEmulator, start_app: Callable[..., Any]
) -> None:
    fault = tg.fail("getMe", 1_000_000, status=502)
    app: BotApp = await start_app(polling_backoff=FAST)
    _status, body = await wait_health(app, 503)
    assert "polling" in str(body).lower() or "telegram" in str(body).lower(), body
    fault.count = 0  # Telegram is back
    await wait_health(app, 200)
    assert await answered(tg, 5003)


async def test_health_is_503_while_get_updates_fails(
    tg: BotAPIEmulator, start_app: Callable[..., Any]
) -> None:
    app: BotApp = await start_app(polling_backoff=FAST)
    await wait_health(app, 200)
    fault = tg.fail("getUpdates", 1_000_000, status=502)
    _status, body = await wait_health(app, 503)
    assert "telegram" in str(body).lower(), body
    fault.count = 0
    await wait_health(app, 200)


async def wait_health(app: BotApp, status: int, timeout: float = 20) -> tuple[int, Any]:
    async with asyncio.timeout(timeout):
        while True:
            got = await health(app.http_port)
            if got[0] == status:
                return got
            await asyncio.sleep(0.05)
