"""The report as plain data: every figure of /report, read from one database snapshot.

Rendering (text, charts) happens elsewhere and never touches the database; the benchmark times
exactly this function.

Given a second connection on the same snapshot (`Database.snapshot()`), the report is read in
two halves at once: SQLite runs each statement with the GIL released, so on two cores a
year-long report takes about 0.6 of its time on one connection (bench/dashboard.py). The halves
are of about equal cost at every period: the survey, the plans, the loop and the customer
section on one; the buyers and the money section, the dearest, on the other.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import aiosqlite

from bot.reports.buyers import BuyerCounts, buyer_counts
from bot.reports.customers import CustomerReport, customer_report
from bot.reports.loop import LoopReport, loop_report
from bot.reports.money import MoneyReport, money_report
from bot.reports.money_days import fold_money_days
from bot.reports.periods import ReportRequest, periods
from bot.reports.plans import PlansReport, plans_report
from bot.reports.survey import SurveyReport, release_survey, survey_report
from bot.settings import Settings
from storage import Database


@dataclass(frozen=True)
class Report:
    generated_at: datetime
    request: ReportRequest
    tz: ZoneInfo
    survey: SurveyReport | None  # None: not asked for, or no wave yet
    customers: CustomerReport | None  # None: not asked for
    plans: PlansReport | None = None  # the action plan, comments, suggestions, the pulse
    money: MoneyReport | None = None  # with the customers: revenue, LTV, win-back (issue 14)
    loop: LoopReport | None = None  # cases, CES, buy-again: with the customers


async def assemble_report(
    conn: aiosqlite.Connection,
    request: ReportRequest,
    *,
    now: datetime,
    min_group: int,
    negative_max: int,
    tz: ZoneInfo,
    comment_min_group: int = 5,
    winback_days: int | None = None,
    target_hours: float = 24,
    side: aiosqlite.Connection | None = None,
) -> Report:
    """Every section asked for, from `conn`, and from `side` too when given (a second
    connection on the same snapshot: the two halves are then read at once)."""
    span = periods(now, request.days)
    # Read once for the customer and the money sections (bot/reports/buyers.py), on the money
    # half: the customer section comes last on the other, long after these are in.
    bought: asyncio.Future[BuyerCounts] = asyncio.get_running_loop().create_future()
    survey: SurveyReport | None = None
    plans: PlansReport | None = None
    customers: CustomerReport | None = None
    money: MoneyReport | None = None
    loop: LoopReport | None = None

    async def money_half(c: aiosqlite.Connection) -> None:
        nonlocal money
        if not request.customers:
            return
        bought.set_result(await buyer_counts(c, span))
        money = await money_report(
            c, now, request.days, tz=tz, winback_days=winback_days, bought=bought.result()
        )

    async def people_half(c: aiosqlite.Connection) -> None:
        nonlocal survey, plans, loop, customers
        if request.survey:
            survey = await survey_report(c, min_group)
            plans = await plans_report(
                c,
                survey,
                today=now.astimezone(tz).date(),
                min_group=min_group,
                comment_min_group=comment_min_group,
            )
        if request.customers:
            loop = await loop_report(c, now, request.days, target_hours=target_hours)
            customers = await customer_report(
                c, now, request.days, negative_max=negative_max, tz=tz, bought=await bought
            )

    if side is None:
        await money_half(conn)
        await people_half(conn)
    else:
        # A TaskGroup: when one half fails, the other is cancelled, not left waiting for the
        # buyers for ever. The caller sees the error itself, as from one connection.
        try:
            async with asyncio.TaskGroup() as halves:
                halves.create_task(people_half(conn))
                halves.create_task(money_half(side))
        except BaseExceptionGroup as failed:
            first = failed.exceptions[0]  # the group is only the halves' wrapping
            raise first from first.__cause__
    return Report(now, request, tz, survey, customers, plans, money, loop)


async def build_report(
    db: Database, settings: Settings, request: ReportRequest, now: datetime
) -> Report:
    """The report from one read snapshot, so its figures agree with each other.

    Survey figures are released first (bot.disclosure: a short write), and the money section's
    days written since the last report are folded (bot.reports.money_days), then read with the
    rest.
    """
    if request.survey or request.customers:
        async with db.write() as conn:
            if request.survey:
                await release_survey(conn, min_group=settings.survey_min_group, now=now)
            if request.customers:
                await fold_money_days(conn, now)
    async with db.snapshot() as (conn, side):
        return await assemble_report(
            conn,
            request,
            now=now,
            min_group=settings.survey_min_group,
            negative_max=settings.negative_rating_max,
            tz=settings.tz,
            comment_min_group=settings.survey_comment_min_group,
            winback_days=settings.winback_days,
            target_hours=settings.alert_response_hours,
            side=side,
        )
