"""What the steps tables by UTC day share (migrations 0029 buyer_steps, 0031 recovery_steps):
the period lengths they are kept for and how a day is numbered in them."""

from __future__ import annotations

from datetime import UTC, datetime

# The period lengths the steps are kept for: the report's (bot.reports.periods.PERIOD_DAYS; a
# test holds them equal, and the migrations' triggers equal to them).
STEP_SPANS = frozenset({7, 30, 90, 365})
# CAST(julianday('YYYY-MM-DD') AS INTEGER), the migrations' day number, of date.fromordinal(1).
_JULIAN_OFFSET = 1721424


def utc_midnight(moment: datetime) -> datetime:
    """The UTC midnight at or before `moment`."""
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def day_number(midnight: datetime) -> int:
    """The steps tables' number of the UTC day of `midnight` (a UTC time)."""
    return midnight.date().toordinal() + _JULIAN_OFFSET
