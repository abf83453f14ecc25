"""bot.reports.assemble: the report read in two halves at once, on two connections of one
snapshot, is the report read on one connection, for every period and part; a failing half
gives its own error, and the other half is stopped rather than left waiting."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiosqlite
import pytest

from bot.app import BotApp
from bot.clock import FakeClock
from bot.demo import API_TOKEN, Demo
from bot.emulator import BotAPIEmulator
from bot.reports import assemble
from bot.reports.assemble import assemble_report, build_report
from bot.reports.periods import PERIOD_DAYS, ReportRequest


@pytest.fixture
async def demo_app(start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock) -> BotApp:
    def fast(app: BotApp) -> None:
        app.outbox.sender.pacer.per_chat_interval = 0.0  # the demo's clock runs fast

    app = await start_app(configure=fast, send_rate=1000, api_token=API_TOKEN)
    await Demo(tg, app, clock, days=21, customers=8).run()
    return app


def _kwargs(app: BotApp, clock: FakeClock) -> dict[str, Any]:
    s = app.settings
    return {
        "now": clock.now(),
        "min_group": s.survey_min_group,
        "negative_max": s.negative_rating_max,
        "tz": s.tz,
        "comment_min_group": s.survey_comment_min_group,
        "winback_days": s.winback_days,
        "target_hours": s.alert_response_hours,
    }


REQUESTS = [
    ReportRequest(survey=survey, customers=customers, days=days)
    for days in PERIOD_DAYS
    for survey, customers in ((True, True), (True, False), (False, True))
]


async def test_two_halves_give_the_report_of_one_connection(
    demo_app: BotApp, clock: FakeClock
) -> None:
    # The first one releases the survey's figures and folds the money days (writes).
    await build_report(demo_app.db, demo_app.settings, ReportRequest(), clock.now())
    built = await build_report(demo_app.db, demo_app.settings, ReportRequest(), clock.now())
    for part in (built.survey, built.plans, built.customers, built.money, built.loop):
        assert part is not None
    for request in REQUESTS:
        async with demo_app.db.snapshot() as (conn, side):
            halves = await assemble_report(conn, request, side=side, **_kwargs(demo_app, clock))
        async with demo_app.db.read() as conn:
            one = await assemble_report(conn, request, **_kwargs(demo_app, clock))
        assert halves == one, request
        if request == ReportRequest():
            assert built == one


async def test_a_failing_half_gives_its_own_error_and_stops_the_other(
    demo_app: BotApp, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    started, stopped = asyncio.Event(), asyncio.Event()

    async def broken_money(*args: Any, **kwargs: Any) -> None:
        await started.wait()  # the other half is in the middle of its loop section
        raise aiosqlite.OperationalError("disk I/O error")

    async def slow_loop(*args: Any, **kwargs: Any) -> None:
        started.set()
        try:
            await asyncio.sleep(60)
        finally:
            stopped.set()

    monkeypatch.setattr(assemble, "money_report", broken_money)
    monkeypatch.setattr(assemble, "loop_report", slow_loop)
    async with asyncio.timeout(10):
        with pytest.raises(aiosqlite.OperationalError, match="disk I/O error"):
            await build_report(demo_app.db, demo_app.settings, ReportRequest(), clock.now())
    assert stopped.is_set()
    # Both readers are back, with no transaction left open on either.
    async with asyncio.timeout(5), demo_app.db.snapshot() as (first, second):
        for conn in (first, second):
            async with conn.execute("SELECT COUNT(*) FROM waves") as cur:
                assert (await cur.fetchone())[0] >= 1
