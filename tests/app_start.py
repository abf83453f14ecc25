"""Waiting out what an app does by itself at start, so tests never race it."""

from __future__ import annotations

import asyncio

from bot.app import BotApp


async def first_tick(application: BotApp) -> None:
    """Wait for the runs the scheduler makes at start: the outbox tick (the one that recovers
    a crash) and, with REPORT_CRON set, the digest.

    A test that queues rows and then ticks by hand would otherwise race them on a slow
    machine: the scheduled tick could claim the rows first.
    """

    def started_runs_done() -> bool:
        digest = application.digest
        return application.outbox.completed_ticks > 0 and (
            digest is None or digest.completed_runs > 0
        )

    async with asyncio.timeout(30):
        while not started_runs_done():
            await asyncio.sleep(0.005)
