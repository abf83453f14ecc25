"""Response targets counted in customers' hours: ALERT_RESPONSE_HOURS of the send window.

With SEND_HOURS 9-21 a day has 12 such hours, so a 24-hour target set at 20:00 on Monday falls
due at 20:00 on Wednesday: the night does not count against the shop. Pure functions over
aware datetimes; the window is in local hours of the shop's time zone.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, tzinfo

# How long «Вопрос решён?» waits for the customer before the case closes as resolved by the shop.
CONFIRM_WAIT = timedelta(days=3)
# How long after a resolved complaint a 4–5 rating or a purchase counts as a recovered customer.
RECOVERY_WINDOW = timedelta(days=60)


def add_window_hours(
    start: datetime, hours: float, window: tuple[int, int], tz: tzinfo
) -> datetime:
    """The moment `hours` of window time after `start` (a start outside the window waits)."""
    first, last = window
    if (first, last) == (0, 24):
        return start + timedelta(hours=hours)
    left = timedelta(hours=hours)
    local = start.astimezone(tz)
    day = local.date()
    while True:
        # Aware bounds of this day's window; each day built from the wall clock, so a DST
        # change shifts the window with the clock, as the sender's window does.
        opens = datetime.combine(day, time(first), tz)
        closes = (
            datetime.combine(day + timedelta(days=1), time(0), tz)
            if last == 24
            else datetime.combine(day, time(last), tz)
        )
        begin = max(local, opens)
        if begin < closes:
            available = closes - begin
            if left <= available:
                return (begin + left).astimezone(start.tzinfo)
            left -= available
        day += timedelta(days=1)
        local = datetime.combine(day, time(0), tz)
