"""The scheduled report (REPORT_CRON, default Monday 10:00 in TIMEZONE) to every admin.

The job runs every minute on real time and asks the injected clock whether a REPORT_CRON time
(«slot») has come — like the outbox, so tests and the demo move time instead of waiting for it.
For the newest slot it first writes one `report_digests` row per admin, then sends and marks
each row. So a restart at any moment loses nothing: a slot missed while the bot was down is sent
when it comes back (within CATCH_UP), an admin who already got it does not get it again, and a
failed send is tried again on the next run.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from apscheduler.triggers.cron import CronTrigger

from bot.admins.service import current_admins
from bot.i18n import Translator
from bot.reports.assemble import build_report
from bot.reports.delivery import Interrupted, RenderedReport, render, send_rendered
from bot.reports.periods import ReportRequest
from scheduler.tasks import finish_or_cancel
from storage.timestamps import to_db

if TYPE_CHECKING:
    from aiogram import Bot

    from bot.clock import Clock
    from bot.i18n import I18n
    from bot.settings import Settings
    from storage import Database

log = logging.getLogger(__name__)

DIGEST_JOB_ID = "report-digest"
CHECK_SECONDS = 60
# A slot is sent up to a day late (the bot was down, Telegram failed); after that, or once a
# newer slot has come, it expires: an old digest is no news.
CATCH_UP = timedelta(hours=24)
DIGEST_INTRO = "🗓 {title}"


def latest_slot(cron: str, tz: object, now: datetime) -> datetime | None:
    """The newest REPORT_CRON time at or before `now`, if it is within CATCH_UP."""
    if not cron:
        return None
    trigger = CronTrigger.from_crontab(cron, timezone=tz)
    found = None
    moment = trigger.get_next_fire_time(None, now - CATCH_UP)
    while moment is not None and moment <= now:
        found = moment
        moment = trigger.get_next_fire_time(None, moment + timedelta(microseconds=1))
    return found


class DigestJob:
    def __init__(
        self, *, db: Database, bot: Bot, settings: Settings, clock: Clock, i18n: I18n
    ) -> None:
        self.db = db
        self.bot = bot
        self.settings = settings
        self.clock = clock
        self.i18n = i18n
        self._lock = asyncio.Lock()
        self._current: asyncio.Task[object] | None = None
        self.stopping = False
        self.completed_runs = 0  # since start: lets the tests wait out the run at start

    async def aclose(self, timeout: float) -> None:
        """No more runs, and wait for one under way, cutting it after `timeout`.

        The app closes the bot session and the database next: a run left going would fail on
        them, or (a bot call opens a new session) leave a session open.
        """
        self.stopping = True
        # A run cut after the grace time leaves its admins' rows pending: sent after the restart.
        await finish_or_cancel(self._current, timeout, "digest run")

    async def run(self) -> int:
        """Send the due digest to every admin who has not got it; returns how many got it."""
        async with self._lock:
            if self.stopping:
                return 0
            self._current = asyncio.current_task()
            try:
                return await self._run()
            finally:
                self._current = None
                self.completed_runs += 1

    async def _run(self) -> int:
        now = self.clock.now()
        slot = latest_slot(self.settings.report_cron, self.settings.tz, now)
        pending = await self._plan(slot, now)
        if not pending:
            return 0
        tr = Translator(self.i18n, self.settings.default_language)
        report = await build_report(self.db, self.settings, ReportRequest(), now)
        intro = "<b>" + DIGEST_INTRO.format(title=tr("Scheduled report")) + "</b>"
        rendered = await render(tr, report, intro=intro)
        sent = 0
        for slot_text, admin_id in pending:
            if self.stopping:
                break  # the rest stay pending: sent after the restart
            sent += await self._deliver(slot_text, admin_id, rendered)
        return sent

    async def _plan(self, slot: datetime | None, now: datetime) -> list[tuple[str, int]]:
        """Rows for the new slot, expiry of stale ones; the (slot, admin) pairs still to send."""
        async with self.db.write() as conn:
            await conn.execute(
                "UPDATE report_digests SET status = 'expired' WHERE status = 'pending' "
                "AND (slot < ? OR slot < ?)",
                (to_db(slot) if slot else to_db(now), to_db(now - CATCH_UP)),
            )
            admins = await current_admins(conn, self.settings.admin_ids)
            if slot is not None:
                await conn.executemany(
                    "INSERT INTO report_digests (slot, admin_id, created_at) VALUES (?, ?, ?) "
                    "ON CONFLICT DO NOTHING",
                    [(to_db(slot), admin, to_db(now)) for admin in sorted(admins)],
                )
            async with conn.execute(
                "SELECT slot, admin_id FROM report_digests WHERE status = 'pending' "
                "ORDER BY slot, admin_id"
            ) as cur:
                rows = [(r["slot"], r["admin_id"]) for r in await cur.fetchall()]
        return [(s, a) for s, a in rows if a in admins]

    async def _deliver(self, slot: str, admin_id: int, rendered: RenderedReport) -> int:
        status, error = "sent", None
        try:
            await send_rendered(self.bot, admin_id, rendered, lambda: self.stopping)
        except Interrupted:
            return 0  # still pending: sent again, whole, after the restart
        except TelegramForbiddenError as exc:
            status, error = "unreachable", exc.message
        except (TelegramRetryAfter, TelegramNetworkError, TelegramServerError) as exc:
            status, error = "pending", str(exc)  # tried again on the next run
        except TelegramBadRequest as exc:
            # Typically «chat not found»: this admin has never opened the bot.
            status, error = "failed", exc.message
        if status != "sent":
            log.warning("digest for admin %s not sent (%s): %s", admin_id, status, error)
        async with self.db.write() as conn:
            await conn.execute(
                "UPDATE report_digests SET status = ?, attempts = attempts + 1, last_error = ?, "
                "sent_at = CASE WHEN ? = 'sent' THEN ? END WHERE slot = ? AND admin_id = ?",
                (status, error, status, to_db(self.clock.now()), slot, admin_id),
            )
        return 1 if status == "sent" else 0
