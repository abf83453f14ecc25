"""The report as plain data: every figure of /report, read from one database snapshot.

Rendering (text, charts) happens elsewhere and never touches the database; the benchmark times
exactly this function.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import aiosqlite

from bot.reports.buyers import buyer_counts
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
) -> Report:
    survey = await survey_report(conn, min_group) if request.survey else None
    # Read once for the customer and the money sections (bot/reports/buyers.py).
    bought = await buyer_counts(conn, periods(now, request.days)) if request.customers else None
    customers = (
        await customer_report(
            conn, now, request.days, negative_max=negative_max, tz=tz, bought=bought
        )
        if request.customers
        else None
    )
    plans = (
        await plans_report(
            conn,
            survey,
            today=now.astimezone(tz).date(),
            min_group=min_group,
            comment_min_group=comment_min_group,
        )
        if request.survey
        else None
    )
    money = (
        await money_report(conn, now, request.days, tz=tz, winback_days=winback_days, bought=bought)
        if request.customers
        else None
    )
    loop = (
        await loop_report(conn, now, request.days, target_hours=target_hours)
        if request.customers
        else None
    )
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
    async with db.read() as conn:
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
        )
