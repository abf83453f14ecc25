"""The scheduled report: every admin gets it once per REPORT_CRON time, across restarts and faults.

Now (the fake clock) is Monday 12 Jan 2026 12:00 in Moscow. The schedule used here is Tuesday
10:00, so nothing is due at start; moving the clock past Tuesday 10:00 makes it due.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.triggers.interval import IntervalTrigger

from bot.app import BotApp
from bot.clock import FakeClock
from bot.emulator import BotAPIEmulator
from scheduler.digest import CATCH_UP, DIGEST_JOB_ID, DigestJob, latest_slot
from tests.conftest import ADMIN_ID, START
from tests.report_factories import Facts
from tests.test_metrics import MOSCOW

CRON = "0 10 * * tue"
SECOND_ADMIN = 2
TUESDAY_10 = datetime(2026, 1, 13, 7, 0, tzinfo=UTC)  # 10:00 in Moscow


def digest_of(app: BotApp) -> DigestJob:
    job = app.scheduler.get_job(DIGEST_JOB_ID)
    assert job is not None
    assert app.digest is not None
    assert job.func == app.digest.run  # the scheduler runs the job the app stops
    return app.digest


async def rows(app: BotApp) -> list[tuple[Any, ...]]:
    async with (
        app.db.read() as conn,
        conn.execute(
            "SELECT admin_id, status, attempts FROM report_digests ORDER BY slot, admin_id"
        ) as cur,
    ):
        return [tuple(r) for r in await cur.fetchall()]


def reports_seen(tg: BotAPIEmulator, chat_id: int) -> int:
    return sum(1 for text in tg.user(chat_id).texts() if "Отчёт по расписанию" in text)


async def start_with_admins(start_app: Callable[..., Any], tg: BotAPIEmulator) -> BotApp:
    for admin in (ADMIN_ID, SECOND_ADMIN):
        tg.user(admin, f"Admin {admin}")
    return await start_app(report_cron=CRON, admin_ids=f"{ADMIN_ID},{SECOND_ADMIN}")


def test_latest_slot() -> None:
    assert latest_slot("", MOSCOW, TUESDAY_10) is None
    assert latest_slot(CRON, MOSCOW, TUESDAY_10 - timedelta(seconds=1)) is None
    assert latest_slot(CRON, MOSCOW, TUESDAY_10) == TUESDAY_10
    assert latest_slot(CRON, MOSCOW, TUESDAY_10 + timedelta(hours=5)) == TUESDAY_10
    assert latest_slot(CRON, MOSCOW, TUESDAY_10 + CATCH_UP + timedelta(seconds=1)) is None
    hourly = latest_slot("0 * * * *", MOSCOW, TUESDAY_10 + timedelta(minutes=150))
    assert hourly == TUESDAY_10 + timedelta(hours=2)


async def test_registered_only_when_scheduled(start_app: Callable[..., Any], app: BotApp) -> None:
    assert app.scheduler.get_job(DIGEST_JOB_ID) is None  # REPORT_CRON="" in the tests: off
    await app.stop()
    scheduled = await start_app(report_cron=CRON)
    job = scheduled.scheduler.get_job(DIGEST_JOB_ID)
    assert job is not None
    assert isinstance(job.trigger, IntervalTrigger)


async def test_every_admin_gets_it_once(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock
) -> None:
    app = await start_with_admins(start_app, tg)
    facts = Facts(app.db, START)
    sales = await facts.department("Sales")
    wave = await facts.wave("2026", closed=False)
    await facts.respondents(wave, sales, [[4] * 6] * 3)
    digest = digest_of(app)

    assert await digest.run() == 0  # Monday: not yet
    clock.set(TUESDAY_10 + timedelta(minutes=1))
    assert await digest.run() == 2
    assert await digest.run() == 0  # the same slot again: nothing new
    for admin in (ADMIN_ID, SECOND_ADMIN):
        assert reports_seen(tg, admin) == 1
        texts = "\n".join(tg.user(admin).texts())
        assert "Индекс компании: 24,00 из 30" in texts
        assert "Клиенты за последние 30 дней" in texts
    assert len(tg.calls_of("sendPhoto")) == 2 * 2  # survey and departments, to each admin
    assert await rows(app) == [(ADMIN_ID, "sent", 1), (SECOND_ADMIN, "sent", 1)]

    clock.advance(days=7)  # next Tuesday: a new slot
    assert await digest.run() == 2
    assert reports_seen(tg, ADMIN_ID) == 2


async def test_a_restart_sends_what_was_missed_and_nothing_twice(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock
) -> None:
    app = await start_with_admins(start_app, tg)
    clock.set(TUESDAY_10 + timedelta(minutes=1))
    tg.fail("sendMessage", 1, status=502, chat_id=SECOND_ADMIN)
    assert await digest_of(app).run() == 1
    assert await rows(app) == [(ADMIN_ID, "sent", 1), (SECOND_ADMIN, "pending", 1)]

    await app.stop()  # the bot goes down; two hours pass
    clock.advance(hours=2)
    again = await start_with_admins(start_app, tg)
    await digest_of(again).run()
    assert reports_seen(tg, ADMIN_ID) == 1
    assert reports_seen(tg, SECOND_ADMIN) == 1
    assert await rows(again) == [(ADMIN_ID, "sent", 1), (SECOND_ADMIN, "sent", 2)]


async def test_down_through_the_slot(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock
) -> None:
    app = await start_with_admins(start_app, tg)
    await app.stop()
    clock.set(TUESDAY_10 + timedelta(hours=3))  # the bot was down at 10:00
    again = await start_with_admins(start_app, tg)
    assert await digest_of(again).run() == 0  # its first run, at start, sent it
    assert reports_seen(tg, ADMIN_ID) == 1
    assert reports_seen(tg, SECOND_ADMIN) == 1


async def test_a_stale_slot_expires(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock
) -> None:
    app = await start_with_admins(start_app, tg)
    clock.set(TUESDAY_10 + timedelta(minutes=1))
    tg.fail("sendMessage", 100, status=500)  # Telegram is down for the day
    digest = digest_of(app)
    assert await digest.run() == 0
    tg.faults.clear()
    clock.set(TUESDAY_10 + CATCH_UP + timedelta(minutes=1))
    assert await digest.run() == 0  # a day late is no news: not sent
    assert [status for _, status, _ in await rows(app)] == ["expired", "expired"]
    assert reports_seen(tg, ADMIN_ID) == 0


async def test_an_admin_who_blocked_the_bot(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock
) -> None:
    app = await start_with_admins(start_app, tg)
    tg.user(SECOND_ADMIN).block()
    clock.set(TUESDAY_10 + timedelta(minutes=1))
    digest = digest_of(app)
    assert await digest.run() == 1
    assert await digest.run() == 0  # not tried again and again
    assert await rows(app) == [(ADMIN_ID, "sent", 1), (SECOND_ADMIN, "unreachable", 1)]


async def test_an_admin_who_never_opened_the_bot(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock
) -> None:
    tg.user(ADMIN_ID, "Olga")
    app = await start_app(report_cron=CRON, admin_ids=f"{ADMIN_ID},{SECOND_ADMIN}")
    clock.set(TUESDAY_10 + timedelta(minutes=1))
    assert await digest_of(app).run() == 1
    assert await rows(app) == [(ADMIN_ID, "sent", 1), (SECOND_ADMIN, "failed", 1)]


async def test_nothing_is_sent_once_the_app_stops(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock, db_path: Path
) -> None:
    app = await start_with_admins(start_app, tg)
    digest = digest_of(app)
    clock.set(TUESDAY_10 + timedelta(minutes=1))
    await app.stop()
    assert await digest.run() == 0  # a run the scheduler had already started, say
    assert reports_seen(tg, ADMIN_ID) == 0
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        assert conn.execute("SELECT COUNT(*) FROM report_digests").fetchone() == (0,)


async def test_a_stop_waits_for_the_run_under_way_and_loses_nothing(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock, db_path: Path
) -> None:
    app = await start_with_admins(start_app, tg)
    clock.set(TUESDAY_10 + timedelta(minutes=1))
    tg.fail("sendMessage", 1, status=200, delay=0.5, chat_id=ADMIN_ID)  # a slow Telegram
    run = asyncio.create_task(digest_of(app).run())
    await tg.wait_for(lambda: digest_rows(db_path) != [], timeout=15)  # the run is under way

    await app.stop()

    # The stop waited for the run: nothing of it is left going to call Telegram on a closed
    # session (which would open a new HTTP session and leak it) or write to a closed database.
    assert run.done()
    assert app.bot.session._session is None or app.bot.session._session.closed
    statuses = dict(digest_rows(db_path))
    assert set(statuses.values()) <= {"sent", "pending"}
    assert all(reports_seen(tg, admin) == 1 for admin, st in statuses.items() if st == "sent")

    again = await start_with_admins(start_app, tg)  # whatever was pending goes out now
    assert dict(digest_rows(db_path)) == {ADMIN_ID: "sent", SECOND_ADMIN: "sent"}
    assert reports_seen(tg, SECOND_ADMIN) == 1
    assert reports_seen(tg, ADMIN_ID) >= 1  # twice if the stop cut its digest half-way
    assert await digest_of(again).run() == 0


def digest_rows(db_path: Path) -> list[tuple[int, str]]:
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        return conn.execute(
            "SELECT admin_id, status FROM report_digests ORDER BY admin_id"
        ).fetchall()


async def test_a_stop_in_the_middle_leaves_the_digest_pending(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock
) -> None:
    app = await start_with_admins(start_app, tg)
    digest = digest_of(app)
    clock.set(TUESDAY_10 + timedelta(minutes=1))
    facts = Facts(app.db, START)
    wave = await facts.wave("2026", closed=False)
    await facts.respondents(wave, await facts.department("Sales"), [[4] * 6] * 3)

    def stop_after_first_text(call: Any) -> None:
        if call.method == "sendMessage" and "Отчёт по расписанию" in call.params.get("text", ""):
            digest.stopping = True  # what the scheduler's shutdown does

    tg.on_call.append(stop_after_first_text)
    assert await digest.run() == 0
    tg.on_call.remove(stop_after_first_text)
    assert tg.calls_of("sendPhoto") == []  # nothing more went out after the stop
    assert await rows(app) == [(ADMIN_ID, "pending", 0), (SECOND_ADMIN, "pending", 0)]

    digest.stopping = False  # as after a restart
    assert await digest.run() == 2
    assert [status for _, status, _ in await rows(app)] == ["sent", "sent"]
