"""Admins without editing files: /claim for the first one, /admins add|remove with a
confirmation and a record of who did it; the changes apply at once, with no restart."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import pytest

from bot.app import BotApp
from bot.clock import FakeClock
from bot.emulator import BotAPIEmulator
from tests.conftest import ADMIN_ID
from tests.factories import press
from tests.test_reviews import asked


async def _log(app: BotApp) -> list[tuple[int, str, int]]:
    async with (
        app.db.read() as conn,
        conn.execute("SELECT actor_id, action, target_id FROM admin_log ORDER BY id") as cur,
    ):
        return [(r[0], r[1], r[2]) for r in await cur.fetchall()]


async def test_the_first_admin_claims_the_bot_with_the_printed_code(
    start_app: Callable[..., Any], tg: BotAPIEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.app"):
        app = await start_app(admin_ids="")
    found = re.search(r"send /claim (\S+) to the bot", caplog.text)
    assert found, caplog.text
    code = found.group(1)
    olga = tg.user(500, "Ольга", language_code="ru")
    olga.send("/report")
    await tg.settle()
    assert "Отчёт" not in olga.last["text"]  # not an admin yet
    olga.send("/claim wrong-code")
    await tg.settle()
    assert "не подходит" in olga.last["text"]
    olga.send(f"/claim {code}")
    await tg.settle()
    assert "первый администратор" in olga.last["text"]
    olga.send("/report")
    await tg.settle()
    assert "Отчёт" in olga.texts()[-2] or "Отчёт" in olga.last["text"]
    thief = tg.user(501, "Вор", language_code="ru")
    thief.send(f"/claim {code}")
    await tg.settle()
    assert "уже есть администраторы" in thief.last["text"]
    assert await _log(app) == [(500, "claimed", 500)]
    # Stored: the next start needs no code, and Olga is still an admin.
    await app.stop()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bot.app"):
        app = await start_app(admin_ids="")
    assert "/claim" not in caplog.text
    assert app.roster is not None
    assert app.roster.is_admin(500)


async def test_admins_add_and_remove_with_a_confirmation(app: BotApp, tg: BotAPIEmulator) -> None:
    boss = tg.user(ADMIN_ID, "Ольга", language_code="ru")
    pavel = tg.user(600, "Павел", language_code="ru")
    boss.send("/admins add 600")
    await tg.settle()
    assert "Сделать 600 администратором?" in boss.last["text"]
    assert app.roster is not None
    assert not app.roster.is_admin(600)  # nothing until confirmed
    boss.click("Подтвердить")
    await tg.settle()
    assert "600 теперь администратор" in boss.last["text"]
    pavel.send("/admins")
    await tg.settle()
    assert "600" in pavel.last["text"]  # Pavel can use admin commands now
    pavel.send(f"/admins remove {ADMIN_ID}")
    await tg.settle()
    pavel.click("Подтвердить")
    await tg.settle()
    assert "ADMIN_IDS" in pavel.last["text"]  # set in the environment: not removable here
    boss.send("/admins remove 600")
    await tg.settle()
    boss.click("Подтвердить")
    await tg.settle()
    assert "600 больше не администратор" in boss.last["text"]
    pavel.send("/admins")
    await tg.settle()
    assert "Администраторы" not in pavel.last["text"]
    assert await _log(app) == [(ADMIN_ID, "added", 600), (ADMIN_ID, "removed", 600)]


async def test_a_forged_confirmation_from_a_non_admin_changes_nothing(
    app: BotApp, tg: BotAPIEmulator
) -> None:
    stranger = tg.user(700, "Гость", language_code="ru")
    stranger.send("/start")
    await tg.settle()
    stranger.press_data("ad1:add:700")
    await tg.settle()
    assert app.roster is not None
    assert not app.roster.is_admin(700)
    assert await _log(app) == []


async def test_an_admin_added_in_the_bot_gets_alerts_and_the_dashboard_and_settings_stay_put(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock
) -> None:
    """The roster (the admins table) is the source of truth: Settings keeps ADMIN_IDS as read
    at start, and yet everything that asks who the admins are sees Pavel at once: a complaint's
    alert, the dashboard's sign-in link; once removed, what was queued for him is not sent."""
    boss = tg.user(ADMIN_ID, "Ольга", language_code="ru")
    pavel = tg.user(600, "Павел", language_code="ru")
    pavel.send("/start")
    await tg.settle()
    boss.send("/admins add 600")
    await tg.settle()
    boss.click("Подтвердить")
    await tg.settle()
    assert app.settings.admin_ids == frozenset({ADMIN_ID})  # never written to
    assert app.roster is not None
    assert app.roster.ids == frozenset({ADMIN_ID, 600})

    anna = tg.user(7040, "Анна")
    await asked(app, tg, clock, anna)
    await press(tg, anna, "1⭐")
    await app.outbox.tick()
    await tg.settle()
    assert "Негативный отзыв: 1 из 5" in pavel.last["text"]
    pavel.send("/dashboard")
    await tg.settle()
    assert "/dashboard/login?token=" in pavel.last["text"]

    boss.send("/admins remove 600")
    await tg.settle()
    boss.click("Подтвердить")
    await tg.settle()
    assert not app.roster.is_admin(600)
    seen = len(pavel.texts())
    anna.send("Чай так и не пришёл")  # the customer writes: every admin is told
    await tg.settle()
    await app.outbox.tick()
    await tg.settle()
    assert len(pavel.texts()) == seen
    assert "Чай так и не пришёл" in boss.last["text"]


def admin_menu(tg: BotAPIEmulator, chat_id: int) -> list[str] | None:
    """The commands Telegram shows in this chat's own menu (None: the default ones)."""
    for key, commands in tg.commands.items():
        if f'"chat_id": {chat_id}' in key:
            return [c["command"] for c in commands]
    return None


async def test_an_added_admin_gets_the_menus_at_once_and_a_removed_one_loses_them(
    start_app: Callable[..., Any], tg: BotAPIEmulator
) -> None:
    """Before, the admin commands and the dashboard's menu button came at the next restart."""
    await start_app(dashboard_url="https://shop.example/dashboard")
    boss = tg.user(ADMIN_ID, "Ольга", language_code="ru")
    pavel = tg.user(600, "Павел", language_code="ru")
    pavel.send("/start")
    await tg.settle()
    assert admin_menu(tg, 600) is None
    boss.send("/admins add 600")
    await tg.settle()
    boss.click("Подтвердить")
    await tg.settle()
    menu = admin_menu(tg, 600)
    assert menu is not None
    assert "report" in menu
    assert "admins" in menu
    assert tg.menu_buttons["600"]["type"] == "web_app"
    boss.send("/admins remove 600")
    await tg.settle()
    boss.click("Подтвердить")
    await tg.settle()
    assert admin_menu(tg, 600) is None
    assert tg.menu_buttons["600"]["type"] == "default"


async def test_the_first_admin_gets_the_menus_when_claiming(
    start_app: Callable[..., Any], tg: BotAPIEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.app"):
        await start_app(admin_ids="")
    found = re.search(r"send /claim (\S+) to the bot", caplog.text)
    assert found, caplog.text
    olga = tg.user(500, "Ольга", language_code="ru")
    olga.send(f"/claim {found.group(1)}")
    await tg.settle()
    menu = admin_menu(tg, 500)
    assert menu is not None
    assert "report" in menu
