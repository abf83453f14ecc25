"""Shared fixtures: a Bot API emulator on 127.0.0.1, the production app wired to it, a fake clock.

The app under test is built by the same factory as production (`bot.app.build_app`); only its
Bot API server, database file and clock differ. The dispatcher runs updates one at a time
(handle_as_tasks=False) so `tg.settle()` means "every handler has finished".
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from bot.app import BotApp, build_app
from bot.clock import FakeClock
from bot.emulator import BotAPIEmulator
from bot.settings import Settings
from storage import Database
from tests.app_start import first_tick

# Property tests must not fail because a machine is slow (CI's timing is not ours): no per-example
# deadline, no "too slow" health check. On CI the examples are derived from each test, not drawn
# at random, so a red run repeats exactly; locally every run explores new ones.
hypothesis_settings.register_profile(
    "project", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
hypothesis_settings.register_profile(
    "ci", parent=hypothesis_settings.get_profile("project"), derandomize=True, database=None
)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "project")

ADMIN_ID = 1
TOKEN = "123456:TEST-token"

# Monday 12 January 2026, 09:00 UTC = 12:00 in Moscow: inside the default send window.
START = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)


@pytest.fixture
async def tg() -> AsyncIterator[BotAPIEmulator]:
    async with BotAPIEmulator(TOKEN) as emulator:
        yield emulator


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "bot.sqlite3"


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated database on its own, for storage tests without the app."""
    database = Database(tmp_path / "bot.sqlite3")
    await database.open(process_lock=False)
    yield database
    await database.close()


@pytest.fixture
def make_settings(tg: BotAPIEmulator, db_path: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "bot_token": TOKEN,
            "telegram_api_url": tg.base_url,
            "database_path": db_path,
            "admin_ids": str(ADMIN_ID),
            "http_host": "127.0.0.1",
            "http_port": 0,
            "scheduler_tick_seconds": 3600,
            "pseudonym_secret": "test-pseudonym-secret",
            "send_hours": "0-24",
            "api_token": "test-api-token",
            "webhook_url": None,
            "report_cron": "",
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
async def start_app(
    make_settings: Callable[..., Settings], clock: FakeClock, request: pytest.FixtureRequest
) -> AsyncIterator[Callable[..., Any]]:
    """Start apps (all stopped at the end); start again after `app.stop()` to restart.

    The pacer's one second per chat (bot/pacing.py) runs on real time while the tests' clock is
    fake, so a test whose person gets ten messages would wait ten seconds for nothing: it is off
    unless the test is marked `paced` (the pacing and sender tests, which check it).
    """
    started: list[BotApp] = []
    paced = request.node.get_closest_marker("paced") is not None

    async def start(
        settings: Settings | None = None,
        *,
        configure: Callable[[BotApp], None] | None = None,
        polling_backoff: Any = None,
        **overrides: Any,
    ) -> BotApp:
        extra = {"polling_backoff": polling_backoff} if polling_backoff is not None else {}
        application = build_app(
            settings or make_settings(**overrides),
            clock=clock,
            handle_as_tasks=False,
            polling_timeout=1,
            **extra,
        )
        if not paced:
            # A millisecond, not zero: one chat's messages still go one after another, in order.
            application.outbox.sender.pacer.per_chat_interval = 0.001
        if configure is not None:
            configure(application)  # between build and start, e.g. to swap a part
        try:
            await application.start()
        finally:
            # Stopped at the end even if start failed half-way (its HTTP session is open).
            started.append(application)
        await first_tick(application)
        return application

    yield start
    for application in reversed(started):
        await application.stop()


@pytest.fixture
async def app(start_app: Callable[..., Any]) -> BotApp:
    return await start_app()
