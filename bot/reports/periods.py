"""Report periods: what `/report ...` asks for, the time windows it covers, and calendar weeks.

A period is rolling and ends now: «30d» is [now − 30 days, now), compared with the 30 days
before it. Weeks for the charts are calendar weeks (Monday 00:00) in the bot's TIMEZONE.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

PERIOD_DAYS = (7, 30, 90, 365)
DEFAULT_PERIOD_DAYS = 30
MIN_CHART_WEEKS = 12

_PERIOD_RE = re.compile(r"^(\d{1,3})[dд]$")
_SURVEY_WORDS = frozenset({"survey", "опрос"})
_CUSTOMER_WORDS = frozenset({"customers", "клиенты"})


@dataclass(frozen=True)
class ReportRequest:
    survey: bool = True
    customers: bool = True
    days: int = DEFAULT_PERIOD_DAYS


def parse_report_args(args: str | None) -> ReportRequest | None:
    """`/report`, `/report survey`, `/report customers [7d|30d|90d|365d]`; None for anything else.

    A bare period (`/report 7d`) is the whole report with that period for customers.
    """
    words = (args or "").lower().split()
    survey = customers = True
    days: int | None = None
    if words and (words[0] in _SURVEY_WORDS or words[0] in _CUSTOMER_WORDS):
        survey = words[0] in _SURVEY_WORDS
        customers = not survey
        words = words[1:]
    if words:
        match = _PERIOD_RE.match(words[0])
        if len(words) > 1 or match is None or not customers:
            return None
        days = int(match.group(1))
        if days not in PERIOD_DAYS:
            return None
    return ReportRequest(survey=survey, customers=customers, days=days or DEFAULT_PERIOD_DAYS)


@dataclass(frozen=True)
class Window:
    """[start, end): every timestamp t with start <= t < end."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Periods:
    """The period asked for, the one before it (for changes) and the one before that (for the
    previous period's retention)."""

    days: int
    current: Window
    previous: Window
    before_previous: Window


def periods(now: datetime, days: int) -> Periods:
    length = timedelta(days=days)
    t3 = now
    t2, t1, t0 = t3 - length, t3 - 2 * length, t3 - 3 * length
    return Periods(days, Window(t2, t3), Window(t1, t2), Window(t0, t1))


def week_starts(now: datetime, tz: ZoneInfo, weeks: int) -> list[datetime]:
    """The local Mondays 00:00 of the last `weeks` weeks (the current one last), as aware times.

    Built from local calendar dates, so a week is right across daylight-saving changes.
    """
    local = now.astimezone(tz)
    monday = (local - timedelta(days=local.weekday())).date()
    starts = []
    for back in range(weeks - 1, -1, -1):
        day = monday - timedelta(weeks=back)
        starts.append(datetime(day.year, day.month, day.day, tzinfo=tz))
    return starts


def chart_weeks(days: int) -> int:
    """How many weeks the NPS/CSAT chart covers: the period, but never fewer than 12 weeks."""
    return max(MIN_CHART_WEEKS, -(-days // 7))
