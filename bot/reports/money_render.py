"""The money section of the report: revenue, orders, LTV, attributed revenue, segments."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.i18n import Translator
from bot.reports.money import MoneyFigures, MoneyReport
from bot.reports.numbers import NO_CHANGE, delta, delta_pp, pct
from bot.texts import N_

SYMBOLS = {"RUB": "₽", "USD": "$", "EUR": "€"}
SEGMENT_NAMES = {
    "new": N_("new"),
    "repeat": N_("repeat"),
    "at_risk": N_("at risk"),
    "lapsed": N_("lapsed"),
}


def date_text(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%d.%m.%Y")


def money(tr: Translator, cents: int | None, currency: str | None) -> str:
    """`12 345,67 ₽` in Russian, `12,345.67 RUB` in English; «—» for nothing."""
    if cents is None:
        return "—"
    sign = "−" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    if tr.locale == "ru":
        text = f"{whole:,}".replace(",", "\u00a0") + f",{part:02d}"
        unit = SYMBOLS.get(currency or "", currency or "")
    else:
        text = f"{whole:,}.{part:02d}"
        unit = currency or ""
    return f"{sign}{text} {unit}".rstrip()


def _money_delta(
    tr: Translator, current: int | None, previous: int | None, currency: str | None
) -> str:
    if current is None or previous is None:
        return ""
    diff = current - previous
    if diff == 0:
        return f" ({tr(NO_CHANGE)})"
    arrow = "▲ +" if diff > 0 else "▼ "
    return f" ({arrow}{money(tr, diff, currency)})"


def money_section(tr: Translator, report: MoneyReport, tz: ZoneInfo) -> str:
    span = report.periods
    cur, prev = report.current, report.previous
    c = report.currency

    def m(value: int | None) -> str:
        return money(tr, value, c)

    lines = [
        "<b>💰 " + tr("Money, last {days} days", days=span.days) + "</b>",
        tr(
            "{start} – {end}; changes against the previous {days} days.",
            start=date_text(span.current.start, tz),
            end=date_text(span.current.end, tz),
            days=span.days,
        ),
        "",
        tr("Revenue: {revenue}", revenue=m(cur.revenue))
        + _money_delta(tr, cur.revenue, prev.revenue, c),
        tr("Orders: {n}", n=cur.orders) + delta(cur.orders, prev.orders, 0, tr),
        tr("Average order: {aov}", aov=m(cur.average_order))
        + _money_delta(tr, cur.average_order, prev.average_order, c),
        tr(
            "Repeat purchase rate: {rate} ({repeat} of {buyers} buyers had bought before)",
            rate=pct(cur.repeat_rate, tr),
            repeat=cur.repeat_buyers,
            buyers=cur.buyers,
        )
        + delta_pp(tr, cur.repeat_rate, prev.repeat_rate),
        tr(
            "Historical LTV: {ltv} per customer ({n} customers since their first order)",
            ltv=m(cur.ltv),
            n=cur.customers,
        )
        + _money_delta(tr, cur.ltv, prev.ltv, c),
        tr("Revenue after restock reminders (14 days): {r}", r=m(cur.restock_revenue))
        + _money_delta(tr, cur.restock_revenue, prev.restock_revenue, c),
        tr("Revenue after review requests (14 days): {r}", r=m(cur.review_revenue))
        + _money_delta(tr, cur.review_revenue, prev.review_revenue, c),
        tr("Revenue after win-back messages (30 days): {r}", r=m(cur.winback_revenue))
        + _money_delta(tr, cur.winback_revenue, prev.winback_revenue, c),
        tr(
            "Win-back messages: sent {sent} · bought again {converted}",
            sent=str(cur.winback_sent) + delta(cur.winback_sent, prev.winback_sent, 0, tr),
            converted=cur.winback_converted,
        ),
    ]
    if report.other_currencies:
        lines.append(
            tr(
                "Only {currency} is counted; items in {others} are left out.",
                currency=c or "—",
                others=", ".join(report.other_currencies),
            )
        )
    if report.segments:
        lines.append("")
        lines.append(
            tr("Segments: ")
            + " · ".join(
                tr(
                    "{name} {n} ({revenue})",
                    name=tr(SEGMENT_NAMES[s.name]),
                    n=s.customers,
                    revenue=m(s.revenue),
                )
                for s in report.segments
            )
        )
    cohorts = report.cohorts[-6:]
    if cohorts:
        lines.append(
            tr("LTV by month of the first purchase: ")
            + " · ".join(_cohort(k.month, m(k.ltv), k.customers) for k in cohorts)
        )
    return "\n".join(lines)


def _cohort(month: str, ltv: str, customers: int) -> str:
    return f"{month}: {ltv} ×{customers}"


__all__ = ["MoneyFigures", "money", "money_section"]
