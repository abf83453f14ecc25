"""Customer figures as pure functions of counts, so every one of them can be checked by hand.

The SQL in `bot.reports.customers` only counts; the formulas live here:

- response rate = answered requests ÷ requests sent (requests sent in the period, answered by now)
- mean rating   = sum of ratings ÷ number of ratings (1–5)
- CSAT          = ratings of 4 or 5 ÷ all ratings
- NPS           = % promoters (9–10) − % detractors (0–6); passives (7–8) count in the total only
- conversion    = restock reminders followed by a repurchase ÷ restock reminders sent
- retention     = customers who bought in the previous period and again in this one
                  ÷ customers who bought in the previous period; churn = 1 − retention
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

NPS_MIN = 0
NPS_MAX = 10
PROMOTER_MIN = 9
DETRACTOR_MAX = 6
SATISFIED_MIN = 4  # CSAT counts ratings of 4 and 5


def ratio(part: int, whole: int) -> float | None:
    """part ÷ whole, or None when there is nothing to divide by (shown as «—», never as 0%)."""
    if part < 0 or whole < 0 or part > whole:
        raise ValueError(f"expected 0 <= part <= whole, got {part} of {whole}")
    return part / whole if whole else None


def change(current: float | None, previous: float | None) -> float | None:
    """The change against the previous value; None when either side has no data."""
    if current is None or previous is None:
        return None
    return current - previous


def nps_category(score: int) -> str:
    """promoter (9–10), passive (7–8) or detractor (0–6)."""
    if not NPS_MIN <= score <= NPS_MAX:
        raise ValueError(f"an NPS answer is {NPS_MIN}..{NPS_MAX}, got {score}")
    if score >= PROMOTER_MIN:
        return "promoter"
    if score <= DETRACTOR_MAX:
        return "detractor"
    return "passive"


@dataclass(frozen=True)
class NpsCounts:
    promoters: int = 0
    passives: int = 0
    detractors: int = 0

    @classmethod
    def of(cls, scores: Iterable[int]) -> NpsCounts:
        counts = {"promoter": 0, "passive": 0, "detractor": 0}
        for score in scores:
            counts[nps_category(score)] += 1
        return cls(counts["promoter"], counts["passive"], counts["detractor"])

    @property
    def total(self) -> int:
        return self.promoters + self.passives + self.detractors

    @property
    def score(self) -> float | None:
        """NPS from −100 to +100; None without answers."""
        if not self.total:
            return None
        return (self.promoters - self.detractors) * 100 / self.total


@dataclass(frozen=True)
class RatingCounts:
    """Ratings (1–5) given in a period."""

    count: int = 0
    total: int = 0  # the sum of the ratings
    satisfied: int = 0  # 4 or 5
    negative: int = 0  # at most NEGATIVE_RATING_MAX
    resolved: int = 0  # negative ones whose alert an admin has resolved

    @classmethod
    def of(cls, ratings: Iterable[int], *, negative_max: int) -> RatingCounts:
        items = list(ratings)
        if any(not 1 <= r <= 5 for r in items):
            raise ValueError(f"a rating is 1..5: {items}")
        return cls(
            count=len(items),
            total=sum(items),
            satisfied=sum(1 for r in items if r >= SATISFIED_MIN),
            negative=sum(1 for r in items if r <= negative_max),
        )

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None

    @property
    def csat(self) -> float | None:
        """Share (0..1) of ratings of 4 or 5."""
        return ratio(self.satisfied, self.count)


@dataclass(frozen=True)
class RetentionCounts:
    base: int = 0  # customers who bought in the previous period
    retained: int = 0  # of them, those who bought again in this one

    @property
    def retention(self) -> float | None:
        return ratio(self.retained, self.base)

    @property
    def churn(self) -> float | None:
        retention = self.retention
        return None if retention is None else 1 - retention


def retention_counts(
    previous: AbstractSet[object], current: AbstractSet[object]
) -> RetentionCounts:
    """Retention from the sets of customers who bought in two consecutive periods."""
    return RetentionCounts(base=len(previous), retained=len(previous & current))
