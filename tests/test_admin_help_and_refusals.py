"""An admin's /help lists the admin commands; /survey_start refuses, with the reason, a wave that
would ask nobody or reuse a title — and writes nothing then."""

from __future__ import annotations

from bot.app import BotApp
from bot.emulator import BotAPIEmulator
from tests.conftest import ADMIN_ID
from tests.survey_helpers import admin, db_count, invite_link, join, start_wave


async def test_an_admins_help_lists_the_admin_commands(app: BotApp, tg: BotAPIEmulator) -> None:
    boss = tg.user(ADMIN_ID, "Ольга", language_code="ru")
    boss.send("/help")
    await tg.settle()
    text = boss.last["text"]
    assert "Команды администратора" in text
    for command in ("/report", "/survey_start", "/export", "/dashboard", "/invite", "/target"):
        assert command in text
    guest = tg.user(77, "Гость", language_code="ru")
    guest.send("/help")
    await tg.settle()
    assert "Команды администратора" not in guest.last["text"]
    assert "/export" not in guest.last["text"]


async def test_a_wave_with_nobody_to_ask_is_refused(app: BotApp, tg: BotAPIEmulator) -> None:
    admin(tg).send("/survey_start Весна")
    await tg.settle()
    assert "Опрашивать некого" in admin(tg).last["text"]
    assert "/invite" in admin(tg).last["text"]
    assert await db_count(app, "SELECT COUNT(*) FROM waves") == 0


async def test_a_title_used_before_is_refused(app: BotApp, tg: BotAPIEmulator) -> None:
    await join(tg, tg.user(1001, "Anna"), await invite_link(tg, "Продажи"))
    await start_wave(tg, app, "Весна 2026")
    admin(tg).send("/survey_close")
    await tg.settle()
    admin(tg).send("/survey_start  весна 2026 ")
    await tg.settle()
    assert "с таким названием уже был" in admin(tg).last["text"]
    # The suggestion is the typed title numbered, and free.
    assert "например /survey_start весна 2026 (2)" in admin(tg).last["text"]
    assert await db_count(app, "SELECT COUNT(*) FROM waves") == 1
    admin(tg).send("/survey_start Весна 2026 (2)")
    await tg.settle()
    assert "открыт" in admin(tg).last["text"]
    assert await db_count(app, "SELECT COUNT(*) FROM waves") == 2
    admin(tg).send("/survey_close")
    await tg.settle()
    admin(tg).send("/survey_start Весна 2026")
    await tg.settle()
    assert "например /survey_start Весна 2026 (3)" in admin(tg).last["text"]
