"""Monthly rituals on a crontab (check-ins, the voice of the customer), decided from stored slots.

Each outbox tick asks `next_slot`: the newest cron time after the last one handled and not after
now. Handling it (queuing the month's messages) and storing it as the last slot happen in one
transaction, so a restart neither repeats a ritual nor skips one; several missed slots (the bot
was down for months) give one ritual, not a burst.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from storage import plans as store

if TYPE_CHECKING:
    import aiosqlite


def parse_cron(cron: str, tz: ZoneInfo) -> CronTrigger | None:
    """The trigger of a crontab line; None when the ritual is disabled (empty)."""
    return CronTrigger.from_crontab(cron, timezone=tz) if cron.strip() else None


def next_slot(trigger: CronTrigger | None, last: datetime, now: datetime) -> datetime | None:
    """The newest fire time in (last, now], or None when none has come since `last`."""
    if trigger is None:
        return None
    found = None
    moment = trigger.get_next_fire_time(None, last + timedelta(microseconds=1))
    while moment is not None and moment <= now:
        found = moment
        moment = trigger.get_next_fire_time(None, moment + timedelta(microseconds=1))
    return found


async def take_slot(
    conn: aiosqlite.Connection, ritual: str, cron: str, tz: ZoneInfo, now: datetime
) -> datetime | None:
    """The ritual's slot that is due now, stored as handled in the caller's transaction; None
    when it is disabled or not due. The first tick ever starts the ritual from now, not from a
    past month."""
    trigger = parse_cron(cron, tz)
    if trigger is None:
        return None
    last = await store.last_slot(conn, ritual)
    if last is None:
        await store.set_last_slot(conn, ritual, now)
        return None
    slot = next_slot(trigger, last, now)
    if slot is not None:
        await store.set_last_slot(conn, ritual, slot)
    return slot
