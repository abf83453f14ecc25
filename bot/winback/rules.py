"""Win-back rules (pure): when a customer counts as lapsed, and the customers' segments.

A customer's usual interval is the median gap between their purchases. They are lapsed when
their last purchase is older than the larger of WINBACK_DAYS and twice that interval (a shop
whose customers buy every 60 days does not chase one after 30). One win-back message at most
every WINBACK_DAYS; a purchase within 30 days of it is its conversion.

Segments (for the report), with T the customer's threshold:
- new: one purchase, the last one at most T/2 ago;
- repeat: two or more purchases, the last one at most T/2 ago;
- at risk: the last purchase between T/2 and T ago;
- lapsed: the last purchase more than T ago.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from statistics import median

CONVERSION_WINDOW = timedelta(days=30)
SEGMENTS = ("new", "repeat", "at_risk", "lapsed")
# Segments are shown even when WINBACK_DAYS is empty (no messages): then this is T's floor.
DEFAULT_DAYS = 90


def usual_interval(purchases: list[datetime]) -> timedelta | None:
    """The median gap between purchases (None for fewer than two)."""
    ordered = sorted(purchases)
    gaps = [b - a for a, b in itertools.pairwise(ordered) if b > a]
    if not gaps:
        return None
    return timedelta(seconds=median(g.total_seconds() for g in gaps))


def threshold(winback_days: int, interval: timedelta | None) -> timedelta:
    floor = timedelta(days=winback_days)
    return max(floor, 2 * interval) if interval is not None else floor


def is_lapsed(last_purchase: datetime, limit: timedelta, now: datetime) -> bool:
    return now - last_purchase > limit


def may_send(last_sent: datetime | None, winback_days: int, now: datetime) -> bool:
    """At most one win-back message per WINBACK_DAYS."""
    return last_sent is None or now - last_sent >= timedelta(days=winback_days)


def segment(orders: int, last_purchase: datetime, limit: timedelta, now: datetime) -> str:
    age = now - last_purchase
    if age > limit:
        return "lapsed"
    if age > limit / 2:
        return "at_risk"
    return "repeat" if orders >= 2 else "new"


def converted(sent_at: datetime, purchased_at: datetime) -> bool:
    return sent_at <= purchased_at <= sent_at + CONVERSION_WINDOW
