"""Monthly rituals on a crontab (check-ins, the voice of the customer), decided from stored slots.

Each outbox tick asks `next_slot`: the newest cron time after the last one handled and not after
now. Handling it (queuing the month's messages) and storing it as the last slot happen in one
transaction, so a restart neither repeats a ritual nor skips one; several missed slots (the bot
was down for months) give one ritual, not a burst.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger


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
