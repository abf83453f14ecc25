"""APScheduler set-up: a few jobs that read the database, never one job per message."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler

if TYPE_CHECKING:
    from bot.clock import Clock
    from bot.settings import Settings
    from scheduler.digest import DigestJob
    from scheduler.outbox import OutboxDispatcher

OUTBOX_JOB_ID = "outbox-dispatch"


def setup_scheduler(
    *, settings: Settings, outbox: OutboxDispatcher, clock: Clock
) -> tuple[AsyncIOScheduler, DigestJob | None]:
    """The scheduler with its jobs, and the digest job when REPORT_CRON is set (to stop it)."""
    scheduler = AsyncIOScheduler(timezone=settings.tz)
    # Jobs get only plain callables of long-lived objects built by the factory; nothing is
    # pickled, and the rows they work on live in SQLite, so a restart loses nothing.
    scheduler.add_job(
        outbox.tick,
        "interval",
        seconds=settings.scheduler_tick_seconds,
        id=OUTBOX_JOB_ID,
        replace_existing=True,
        max_instances=1,
        coalesce=True,
        # A run that starts late (a busy event loop) still runs: the default grace of one
        # second would skip it, and the tick at start is the one that recovers a crash.
        misfire_grace_time=None,
        # APScheduler runs on real time; the injected clock only decides what is due.
        next_run_time=datetime.now(tz=UTC),
    )
    if not settings.report_cron:
        return scheduler, None
    # Imported here: the digest brings the report and matplotlib, which commands that
    # only need the outbox (import-purchases) should not pay for at start-up.
    from scheduler.digest import CHECK_SECONDS, DIGEST_JOB_ID, DigestJob

    # The digest sends through the outbox's bot and reads its database, like the outbox.
    digest = DigestJob(
        db=outbox.db,
        bot=outbox.sender.bot,
        settings=settings,
        clock=clock,
        i18n=outbox.context.i18n,
    )
    scheduler.add_job(
        digest.run,
        "interval",
        seconds=CHECK_SECONDS,
        id=DIGEST_JOB_ID,
        replace_existing=True,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
        next_run_time=datetime.now(tz=UTC),
    )
    return scheduler, digest
