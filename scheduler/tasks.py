"""Ending a job's run when the app stops: let it finish for a grace time, then cut it."""

from __future__ import annotations

import asyncio
import contextlib
import logging

log = logging.getLogger(__name__)


async def finish_or_cancel(task: asyncio.Task[object] | None, timeout: float, what: str) -> None:
    """Wait up to `timeout` for `task`, then cancel it; never raises (the app is stopping).

    The caller has already told the job to stop starting new work: what is on the wire gets
    the grace time to be recorded, and whatever is cut is left for the next start.
    """
    if task is None or task.done() or task is asyncio.current_task():
        return
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout)
    except (TimeoutError, asyncio.CancelledError):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    except Exception:
        log.exception("%s failed while stopping", what)
