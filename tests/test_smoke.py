"""The app starts against the emulator, answers strangers, and stops cleanly."""

from __future__ import annotations

import aiohttp

from bot.app import BotApp
from bot.emulator import BotAPIEmulator


async def test_stranger_gets_an_explanation(app: BotApp, tg: BotAPIEmulator) -> None:
    user = tg.user(5001, "Anna")
    user.send("hello")
    await tg.settle()
    assert "бот программы клиентоцентричности" in user.last["text"]


async def test_english_user_gets_english(app: BotApp, tg: BotAPIEmulator) -> None:
    user = tg.user(5002, "John", language_code="en")
    user.send("/start")
    await tg.settle()
    assert "customer-centricity bot" in user.last["text"]


async def test_healthz(app: BotApp) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{app.http_port}/healthz") as response,
    ):
        assert response.status == 200


async def test_commands_registered_with_admin_scope(app: BotApp, tg: BotAPIEmulator) -> None:
    scopes = {key.split("|")[0] for key in tg.commands}
    assert any('"chat_id": 1' in scope for scope in scopes)
    assert any('"default"' in scope for scope in scopes)
