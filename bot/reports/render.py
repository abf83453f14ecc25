"""Report text in the reader's language (HTML parse mode: every name from people is escaped).

`render_report` gives the sections; `pack_messages` fits them into Telegram messages.
"""

from __future__ import annotations

import re
from datetime import datetime
from html import escape, unescape
from zoneinfo import ZoneInfo

from bot.i18n import Translator
from bot.reports import numbers
from bot.reports.assemble import Report
from bot.reports.customers import CustomerFigures, CustomerReport
from bot.reports.loop import LoopReport, buy_again_line, ces_line, loop_section
from bot.reports.money_render import money_section
from bot.reports.numbers import NO_DATA, change_text, delta, delta_pp, fmt, pct
from bot.reports.plans_render import plan_sections
from bot.reports.survey import (
    QUESTION_SHORT,
    DepartmentTable,
    SurveyReport,
    TargetStatus,
    WaveFigures,
)
from bot.survey.scoring import QUESTION_COUNT, TOTAL_MAX, level_for
from bot.texts import N_

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024

# A question mean coloured by the level a company would have with that mean on every question.
LEVEL_SQUARES = {"initial": "🟥", "transitional": "🟧", "forming": "🟨", "mature": "🟩"}
OTHERS = N_("Others")


# --- numbers: bot/reports/numbers.py (the reader's language: «21,1», «нет данных», «без изменений»)
def date_text(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%d.%m.%Y")


def square(mean: float) -> str:
    return LEVEL_SQUARES[level_for(max(1.0, min(5.0, mean)) * QUESTION_COUNT).key]


# --- the survey -------------------------------------------------------------------------------
def _target_line(tr: Translator, status: TargetStatus) -> str:
    value = status.target.value
    if status.reached_by is not None:
        return "🎯 " + tr("Target {target} reached ✓", target=value)
    if status.gap is None:
        return "🎯 " + tr("Target: {target} (no complete answers yet)", target=value)
    gap = fmt(status.gap, tr=tr)
    if status.for_next_wave:
        text = tr("Target for the next wave: {target}, gap {gap}", target=value, gap=gap)
    else:
        text = tr("Target: {target}, gap {gap}", target=value, gap=gap)
    return "🎯 " + text


def _department_lines(tr: Translator, table: DepartmentTable) -> list[str]:
    lines: list[str] = []
    if table.rows:
        lines += [
            "",
            "<b>" + tr("By department") + "</b> "
            + tr("(then Q1–Q6):"),
        ]  # fmt: skip
        for row in table.rows:
            if row.name is None:
                name = tr(OTHERS) + " " + tr("({n} departments)", n=row.pooled)
            else:
                name = escape(row.name)
            lines.append(
                f"<b>{name}</b>: "
                + tr("{n} respondents, index {index}", n=row.respondents,
                     index=fmt(row.mean_total, 1, tr))
            )  # fmt: skip
            lines.append(" ".join(f"{square(m)}{fmt(m, 1, tr)}" for m in row.question_means))
        lines.append(
            "<i>"
            + tr(
                "Colours: the level the company would have with this mean on every question: "
                "🟥 initial, 🟧 transitional, 🟨 forming, 🟩 mature."
            )
            + "</i>"
        )
    if table.small:
        if table.pooled:
            note = tr(
                "Departments with fewer than {min} respondents: {n}; they are shown together as "
                "«{others}», to keep answers confidential.",
                n=table.small,
                min=table.min_group,
                others=tr(OTHERS),
            )
        else:
            note = tr(
                "Departments not shown: {n} — fewer than {min} respondents each, to keep answers "
                "confidential.",
                n=table.small,
                min=table.min_group,
            )
        lines.append(note)
    if table.protected:
        lines.append(
            tr(
                "Departments hidden to protect a smaller group: {n} — shown, they would let the "
                "smaller group's answers be worked out by subtraction.",
                n=table.protected,
            )
        )
    return lines


def _held_back_lines(tr: Translator, latest: WaveFigures) -> list[str]:
    """Why figures are missing or cover fewer people than responded (bot.disclosure)."""
    if latest.counted is None or latest.counted >= latest.responded:
        return []
    if latest.counted == 0:
        return [
            tr(
                "Responded {responded} of {invited}; the figures appear once at least {min} "
                "have answered.",
                responded=latest.responded,
                invited=latest.invited,
                min=latest.min_group,
            )
        ]
    if latest.wave.is_open:
        text = tr(
            "The figures count {counted} of the {responded} respondents: they change only in "
            "steps of at least {min} people, so that nobody's answers can be worked out by "
            "comparing two reports.",
            counted=latest.counted,
            responded=latest.responded,
            min=latest.min_group,
        )
    else:
        text = tr(
            "The figures count {counted} of the {responded} respondents: the last answers were "
            "too few to add without giving them away to anyone comparing reports.",
            counted=latest.counted,
            responded=latest.responded,
        )
    return ["<i>" + text + "</i>"]


def survey_section(tr: Translator, survey: SurveyReport, tz: ZoneInfo) -> str:
    latest, previous = survey.latest, survey.previous
    wave = latest.wave
    status = (
        tr("open since {date}", date=date_text(wave.opened_at, tz))
        if wave.is_open
        else tr("closed {date}", date=date_text(wave.closed_at or wave.opened_at, tz))
    )
    prev_rate = previous.response_rate if previous else None
    lines = [
        "<b>📋 " + tr("Survey «{title}»", title=escape(wave.title)) + f"</b> ({status})",
        tr(
            "Invited: {invited} · responded: {responded} · response rate: {rate}",
            invited=latest.invited,
            responded=latest.responded,
            rate=pct(latest.response_rate, tr),
        )
        + delta_pp(tr, latest.response_rate, prev_rate),
    ]
    means, mean_total, level = latest.question_means, latest.mean_total, latest.level
    if means is None or mean_total is None or level is None:
        lines += _held_back_lines(tr, latest) or [tr("No complete answers yet.")]
        if survey.target is not None:
            lines.append(_target_line(tr, survey.target))
        return "\n".join(lines)
    prev_means = previous.question_means if previous else None
    prev_total = previous.mean_total if previous else None
    score = tr("Company score: <b>{mean}</b> of {max}", mean=fmt(mean_total, tr=tr), max=TOTAL_MAX)
    if previous is not None and prev_total is not None:
        score += " " + tr(
            "({change} vs «{title}»)",
            change=change_text(tr, mean_total, prev_total, 2),
            title=escape(previous.wave.title),
        )
    lines += [score, "<b>" + escape(tr(level.title)) + "</b>: " + escape(tr(level.description))]
    lines += _held_back_lines(tr, latest)
    if survey.target is not None:
        lines.append(_target_line(tr, survey.target))
    lines += ["", "<b>" + tr("Per question") + "</b> " + tr("(mean of 1–5, change):")]
    for number in range(1, QUESTION_COUNT + 1):
        mark = ""
        if number == latest.weakest:
            mark = " ⬇ " + tr("weakest")
        elif number == latest.strongest:
            mark = " ⬆ " + tr("strongest")
        previous_mean = prev_means[number - 1] if prev_means else None
        lines.append(
            f"Q{number}: {fmt(means[number - 1], tr=tr)}{mark} — "
            f"{escape(tr(QUESTION_SHORT[number - 1]))}"
            + delta(means[number - 1], previous_mean, tr=tr)
        )
    if latest.development_step is not None and latest.weakest is not None:
        lines += [
            "",
            "<b>" + tr("Next step (Q{n}):", n=latest.weakest) + "</b> "
            + escape(tr(latest.development_step)),
        ]  # fmt: skip
    lines += _department_lines(tr, survey.departments)
    return "\n".join(lines)


def no_survey_section(tr: Translator) -> str:
    return "<b>📋 " + tr("Survey") + "</b>\n" + tr("No survey yet. Start one with /survey_start")


# --- customers --------------------------------------------------------------------------------
def _count(tr: Translator, current: int, previous: int) -> str:
    return f"{current}{delta(current, previous, 0, tr=tr)}"


def customers_section(
    tr: Translator, report: CustomerReport, tz: ZoneInfo, loop: LoopReport | None = None
) -> str:
    span = report.periods
    cur, prev = report.current, report.previous
    lines = [
        "<b>🛍 " + tr("Customers, last {days} days", days=span.days) + "</b>",
        tr(
            "{start} – {end}; changes against the previous {days} days.",
            start=date_text(span.current.start, tz),
            end=date_text(span.current.end, tz),
            days=span.days,
        ),
        "",
        tr(
            "Review requests: sent {sent} · answered {answered} — {rate}",
            sent=_count(tr, cur.requests_sent, prev.requests_sent),
            answered=cur.requests_answered,
            rate=pct(cur.response_rate, tr),
        )
        + delta_pp(tr, cur.response_rate, prev.response_rate),
        tr("Mean rating: {mean} of 5", mean=fmt(cur.ratings.mean, tr=tr))
        + delta(cur.ratings.mean, prev.ratings.mean, tr=tr)
        + " · "
        + tr("ratings: {n}", n=cur.ratings.count),
        tr("CSAT (ratings of 4–5): {csat}", csat=pct(cur.ratings.csat, tr))
        + delta_pp(tr, cur.ratings.csat, prev.ratings.csat),
        _nps_line(tr, cur, prev),
        # The CES line only when the review asks about effort (the loop's figures).
        # The CES line only once the effort question has answers (REVIEW_ASK_EFFORT).
        *(
            [ces_line(tr, loop)]
            if loop and (loop.current.effort.count or loop.previous.effort.count)
            else []
        ),
        tr(
            "Negative reviews: {n} · resolved: {resolved}",
            n=_count(tr, cur.ratings.negative, prev.ratings.negative),
            resolved=cur.ratings.resolved,
        ),
        tr(
            "Restock reminders: sent {sent} · bought again {converted} — {rate}",
            sent=_count(tr, cur.restock_sent, prev.restock_sent),
            converted=cur.restock_converted,
            rate=pct(cur.conversion, tr),
        )
        + delta_pp(tr, cur.conversion, prev.conversion),
        *([buy_again_line(tr, loop, cur.restock_sent, prev.restock_sent)] if loop else []),
        tr("Buyers: {n}", n=_count(tr, cur.buyers, prev.buyers)),
        tr(
            "Retention: {retention}{change} — {kept} of {base} customers of the previous {days} "
            "days bought again; churn: {churn}",
            retention=pct(cur.retention.retention, tr),
            change=delta_pp(tr, cur.retention.retention, prev.retention.retention),
            kept=cur.retention.retained,
            base=cur.retention.base,
            days=span.days,
            churn=pct(cur.retention.churn, tr),
        ),
    ]
    return "\n".join(lines)


def _nps_line(tr: Translator, cur: CustomerFigures, prev: CustomerFigures) -> str:
    score = cur.nps.score
    text = tr(NO_DATA) if score is None else numbers.signed(score, 0, locale=tr.locale)
    return (
        tr("NPS: {nps}", nps=text)
        + delta(score, prev.nps.score, 0, tr=tr)
        + " — "
        + tr(
            "promoters {p} · passives {n} · detractors {d}",
            p=cur.nps.promoters,
            n=cur.nps.passives,
            d=cur.nps.detractors,
        )
        + "\n<i>"
        + tr("NPS: the share of promoters (9–10) minus the share of detractors (0–6).")
        + "</i>"
    )


# --- the whole report ---------------------------------------------------------------------------
def header(tr: Translator, report: Report) -> str:
    moment = report.generated_at.astimezone(report.tz)
    return "<b>📊 " + tr(
        "Report of {date} {time}", date=moment.strftime("%d.%m.%Y"), time=moment.strftime("%H:%M")
    ) + "</b>"  # fmt: skip


def render_report(tr: Translator, report: Report) -> list[str]:
    """The report's sections, in order (each a self-contained piece of HTML)."""
    sections = [header(tr, report)]
    if report.request.survey:
        sections.append(
            survey_section(tr, report.survey, report.tz)
            if report.survey is not None
            else no_survey_section(tr)
        )
    if report.customers is not None:
        sections.append(customers_section(tr, report.customers, report.tz, report.loop))
    if report.loop is not None:
        sections.append(loop_section(tr, report.loop))
    sections += plan_sections(tr, report.plans)
    if report.money is not None and report.money.has_money:
        sections.append(money_section(tr, report.money, report.tz))
    return sections


# --- fitting into messages ----------------------------------------------------------------------
_TAG_RE = re.compile(r"<[^>]+>")


def length(text: str) -> int:
    """Telegram's length: UTF-16 code units (of the raw HTML, an upper bound of what is shown)."""
    return len(text.encode("utf-16-le")) // 2


def _cut(line: str, limit: int) -> list[str]:
    """A line too long for one message: its plain text, cut so that no tag or entity is split."""
    pieces, current, units = [], "", 0
    for char in unescape(_TAG_RE.sub("", line)):
        piece = escape(char, quote=False)
        width = length(piece)
        if units + width > limit:
            pieces.append(current)
            current, units = "", 0
        current += piece
        units += width
    return [*pieces, current] if current else pieces


def pack_messages(sections: list[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Sections joined by blank lines into as few messages as fit; long ones split between lines.

    Every line of a section is self-contained HTML, so splitting between lines never breaks a tag.
    """
    messages: list[str] = []
    current = ""
    for section in sections:
        candidate = f"{current}\n\n{section}" if current else section
        if length(candidate) <= limit:
            current = candidate
            continue
        if current:
            messages.append(current)
            current = ""
        for line in section.split("\n"):
            pieces = _cut(line, limit) if length(line) > limit else [line]
            for piece in pieces:
                candidate = f"{current}\n{piece}" if current else piece
                if length(candidate) <= limit:
                    current = candidate
                else:
                    messages.append(current)
                    current = piece
    if current:
        messages.append(current)
    return [m for m in messages if m.strip()]
