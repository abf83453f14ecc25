"""The customer-centricity maturity survey: six questions, scoring and maturity levels.

Pure functions only; texts are gettext msgids (English), translated when rendered.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_DOWN, Decimal

from bot.texts import N_

QUESTION_COUNT = 6
SCORE_MIN = 1
SCORE_MAX = 5
TOTAL_MIN = QUESTION_COUNT * SCORE_MIN  # 6
TOTAL_MAX = QUESTION_COUNT * SCORE_MAX  # 30

QUESTIONS = (
    N_("Do we think of the customer when making decisions? When we launch a product, change "
       "prices or processes, do we take the customer's view into account?"),
    N_("Does everyone understand whom they work for? Do back-office employees know how their "
       "work affects the end customer?"),
    N_("Do we collect feedback from customers, not once a year but systematically?"),
    N_("Do we use it to change, or do we just file it in reports?"),
    N_("Is it convenient for the customer to deal with us? Have you checked it? Measured it?"),
    N_("Do employees support each other? Do departments help, or do they \"kick\" tasks down "
       "the chain?"),
)  # fmt: skip

# Short names of the six questions, for tables, chart axes and buttons.
QUESTION_SHORT = (
    N_("Customer in decisions"),
    N_("Internal service"),
    N_("Collecting feedback"),
    N_("Using feedback"),
    N_("Customer journey"),
    N_("One team"),
)

SCALE_HINT = N_("1 — very poor, 5 — all excellent")

# What to work on when a question is the weakest (issue: reports).
DEVELOPMENT_STEPS = (
    N_("Think about the customer when making decisions: bring the customer's view into every "
       "launch, price and process change."),
    N_("Build internal service as an ecosystem: every team knows its internal customers and how "
       "its work reaches the end customer."),
    N_("Collect feedback systematically: after every purchase and contact, not once a year."),
    N_("Use feedback, not just collect it: every piece of feedback gets an owner, a decision "
       "and an answer to the customer."),
    N_("Measure and optimise the customer journey: map it, measure effort at each step and "
       "remove the friction."),
    N_("Grow a one-team culture: shared goals across departments instead of passing tasks "
       "down the chain."),
)  # fmt: skip


@dataclass(frozen=True)
class Level:
    key: str
    low: int
    high: int
    title: str
    description: str


LEVELS = (
    Level("initial", 6, 12, N_("Initial level"),
          N_("Customer focus is absent or merely formal; the culture, processes and management "
             "need a systematic transformation.")),
    Level("transitional", 13, 20, N_("Transitional level"),
          N_("Customer-centricity is partly in place but not built into the corporate DNA; the "
             "approach is unsystematic and teams are highly fragmented.")),
    Level("forming", 21, 25, N_("Forming level"),
          N_("The key principles are being put into practice and the company is moving the "
             "right way; internal synergy and process stability need strengthening.")),
    Level("mature", 26, 30, N_("Mature level"),
          N_("Customer-centricity is built into the culture, management practices and structure "
             "of the company; the next step is scaling the best practices.")),
)  # fmt: skip


def is_valid_question(question: int) -> bool:
    return isinstance(question, int) and 1 <= question <= QUESTION_COUNT


def is_valid_score(score: int) -> bool:
    return isinstance(score, int) and SCORE_MIN <= score <= SCORE_MAX


def total_score(scores: Sequence[int]) -> int:
    """The total of one respondent's six answers (6–30)."""
    if len(scores) != QUESTION_COUNT:
        raise ValueError(f"expected {QUESTION_COUNT} answers, got {len(scores)}")
    if not all(is_valid_score(s) for s in scores):
        raise ValueError(f"every score must be {SCORE_MIN}..{SCORE_MAX}: {list(scores)}")
    return sum(scores)


def band_value(value: float) -> int:
    """The integer a score is banded by.

    The issue gives two rules that disagree on exact halves: "rounded half up" and "a mean like
    20.5 falls in the transitional level". We round to the nearest integer and settle exact
    halves downwards, which keeps the stated example (20.5 → 20, transitional) and agrees with
    rounding everywhere else (20.51 → 21). A company is never promoted on a tie.
    """
    return int(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_DOWN))


def level_for(value: float) -> Level:
    """The maturity level of a total (integer) or of a company's mean total."""
    if not TOTAL_MIN <= value <= TOTAL_MAX:
        raise ValueError(f"a total is {TOTAL_MIN}..{TOTAL_MAX}, got {value}")
    banded = band_value(value)
    for level in LEVELS:
        if level.low <= banded <= level.high:
            return level
    raise AssertionError(f"no band for {banded}")  # the bands cover 6..30 without gaps


def mean(values: Iterable[float]) -> float | None:
    items = list(values)
    return sum(items) / len(items) if items else None
