"""The customer loop in the report: cases, how fast the shop answers and resolves, CES, buy-again.

What each figure counts (a cohort: the cases opened in the period, followed until now, so the
shares never exceed 100% and a period's figures only grow as its cases move on):
- opened: cases opened in the period (complaints, questions, buy-again intents);
- time to first answer: from opening to the shop's first answer, median in hours;
- time to resolution: from opening to closing («Да», or three days of silence), median in hours;
- answered within the target: answered by the due time (ALERT_RESPONSE_HOURS in the send
  window) ÷ opened;
- confirmed: closed with the customer's «Да»; reopened: cases a «Нет» reopened at least once;
- recovered customers: customers of complaints in the cohort who later rated 4–5 or bought again
  within 60 days after the complaint was resolved.
CES (effort, 1–5): the answers given in the period, their mean and the share of 4–5.
Buy-again: restock reminders sent in the period that got a «Купить снова» intent ÷ reminders sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.reports.metrics import ratio
from bot.reports.numbers import NO_DATA, delta, delta_pp, fmt, pct
from bot.reports.periods import Periods, Window, periods
from storage import cases as q
from storage.timestamps import to_db

if TYPE_CHECKING:
    from datetime import datetime

    import aiosqlite

    from bot.i18n import Translator

EASY_MIN = 4  # CES answers of 4 and 5 count as easy
HOUR = 3600.0


@dataclass(frozen=True)
class Effort:
    count: int = 0
    total: int = 0
    easy: int = 0

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None

    @property
    def easy_share(self) -> float | None:
        return ratio(self.easy, self.count)


@dataclass(frozen=True)
class LoopFigures:
    opened: int = 0
    median_first_answer: float | None = None  # hours; None: nothing answered
    median_resolution: float | None = None  # hours; None: nothing closed
    in_target: int = 0
    confirmed: int = 0
    reopened: int = 0
    recovered: int = 0
    effort: Effort = field(default_factory=Effort)
    buy_again: int = 0  # restock reminders of the period with a «Купить снова» intent

    @property
    def in_target_share(self) -> float | None:
        return ratio(self.in_target, self.opened)


@dataclass(frozen=True)
class LoopReport:
    periods: Periods
    target_hours: float
    current: LoopFigures
    previous: LoopFigures


async def _effort(conn: aiosqlite.Connection, window: Window) -> Effort:
    async with conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(ces), 0), COALESCE(SUM(ces >= ?), 0) FROM reviews "
        "WHERE ces_at >= ? AND ces_at < ? AND ces IS NOT NULL",
        (EASY_MIN, to_db(window.start), to_db(window.end)),
    ) as cur:
        row = await cur.fetchone()
    assert row is not None
    return Effort(int(row[0]), int(row[1]), int(row[2]))


async def _figures(conn: aiosqlite.Connection, window: Window) -> LoopFigures:
    # Counted by SQLite: a year of a big shop's cases is numbers, not objects
    # (tests/test_loop_counts.py holds it equal to counting the cases one by one).
    counts = await q.loop_counts(conn, window.start, window.end)
    return LoopFigures(
        opened=counts.opened,
        median_first_answer=counts.median_first_answer,
        median_resolution=counts.median_resolution,
        in_target=counts.in_target,
        confirmed=counts.confirmed,
        reopened=counts.reopened,
        recovered=counts.recovered,
        effort=await _effort(conn, window),
        buy_again=await q.buy_again_between(conn, window.start, window.end),
    )


async def loop_report(
    conn: aiosqlite.Connection, now: datetime, days: int, *, target_hours: float
) -> LoopReport:
    span = periods(now, days)
    return LoopReport(
        span, target_hours, await _figures(conn, span.current), await _figures(conn, span.previous)
    )


# --- text ------------------------------------------------------------------------------------
def _hours(tr: Translator, value: float | None) -> str:
    return tr(NO_DATA) if value is None else tr("{hours} h", hours=fmt(value, 1, tr))


def loop_section(tr: Translator, report: LoopReport) -> str:
    cur, prev = report.current, report.previous

    def count(current: int, previous: int) -> str:
        return f"{current}{delta(current, previous, 0, tr)}"

    target = f"{report.target_hours:g}"
    return "\n".join(
        [
            "<b>🔁 " + tr("Customer cases") + "</b>",
            tr("Cases opened: {n}", n=count(cur.opened, prev.opened)),
            tr("Time to first answer (median): {hours}", hours=_hours(tr, cur.median_first_answer))
            + delta(cur.median_first_answer, prev.median_first_answer, 1, tr),
            tr("Time to resolution (median): {hours}", hours=_hours(tr, cur.median_resolution))
            + delta(cur.median_resolution, prev.median_resolution, 1, tr),
            tr(
                "Answered within the target ({hours} h): {share}",
                hours=target,
                share=pct(cur.in_target_share, tr),
            )
            + delta_pp(tr, cur.in_target_share, prev.in_target_share),
            tr("Confirmed by the customer: {n}", n=count(cur.confirmed, prev.confirmed)),
            tr("Reopened: {n}", n=count(cur.reopened, prev.reopened)),
            tr("Recovered customers: {n}", n=count(cur.recovered, prev.recovered)),
        ]
    )


def ces_line(tr: Translator, report: LoopReport) -> str:
    """CES in the customers' section: the mean and the share of 4–5, with their changes."""
    cur, prev = report.current.effort, report.previous.effort
    return (
        tr("CES (effort, 1–5): {mean}", mean=fmt(cur.mean, tr=tr))
        + delta(cur.mean, prev.mean, tr=tr)
        + " · "
        + tr("easy (4–5): {share}", share=pct(cur.easy_share, tr))
        + delta_pp(tr, cur.easy_share, prev.easy_share)
        + " · "
        + tr("answers: {n}", n=cur.count)
    )


def buy_again_line(tr: Translator, report: LoopReport, sent: int, sent_before: int) -> str:
    """The restock reminders' second conversion: «Купить снова» intents, as its own line."""
    cur, prev = report.current, report.previous
    # Intents are counted on reminders sent in the period, so never more than were sent.
    share = ratio(min(cur.buy_again, sent), sent)
    share_before = ratio(min(prev.buy_again, sent_before), sent_before)
    return tr("Want to buy again: {n} — {rate}", n=cur.buy_again, rate=pct(share, tr)) + delta_pp(
        tr, share, share_before
    )
