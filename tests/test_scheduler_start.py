"""The scheduler's runs at start happen even when the event loop is busy at that moment."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from bot import app as app_module
from bot.app import build_app
from bot.clock import FakeClock
from tests.app_start import first_tick


async def test_the_tick_at_start_runs_even_if_the_loop_was_blocked(
    make_settings: Callable[..., Any], clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # APScheduler's default grace is one second: a start-up tick that began later than that
    # (a loaded machine) was skipped, and with it the recovery of rows a crash left `sending`.
    async def busy_loop(*args: object) -> None:
        time.sleep(1.6)  # noqa: ASYNC251 - the busy loop right after scheduler.start() is the case

    monkeypatch.setattr(app_module, "register_commands", busy_loop)
    app = build_app(make_settings(report_cron="0 9 * * 1"), clock=clock, handle_as_tasks=False)
    await app.start(polling=False)
    try:
        await first_tick(app)
        assert app.outbox.completed_ticks >= 1
        assert app.digest is not None
        assert app.digest.completed_runs >= 1
    finally:
        await app.stop()
