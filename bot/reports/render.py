"""Report text in the reader's language (HTML parse mode: every dynamic value is escaped)."""

from __future__ import annotations

from html import escape

from bot.i18n import Translator
from bot.reports.survey import SurveySummary
from bot.survey import QUESTION_COUNT, TOTAL_MAX


def fmt(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}"


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def survey_section(tr: Translator, summary: SurveySummary) -> str:
    wave = summary.wave
    status = tr("open") if wave.is_open else tr("closed")
    lines = [
        "<b>" + tr("Survey «{title}» ({status})", title=escape(wave.title), status=status) + "</b>",
        tr(
            "Invited: {invited} · responded: {responded} · response rate: {rate}",
            invited=summary.invited,
            responded=summary.responded,
            rate=pct(summary.response_rate),
        ),
    ]
    if summary.question_means is None or summary.level is None or summary.mean_total is None:
        lines.append(tr("No complete answers yet."))
        return "\n".join(lines)
    lines += [
        tr("Company score: <b>{mean}</b> of {max}", mean=fmt(summary.mean_total), max=TOTAL_MAX),
        "<b>" + escape(tr(summary.level.title)) + "</b>: " + escape(tr(summary.level.description)),
        "",
        tr("Per question (mean of 1–5):"),
    ]
    for number in range(1, QUESTION_COUNT + 1):
        mark = ""
        if number == summary.weakest:
            mark = " ⬇ " + tr("weakest")
        elif number == summary.strongest:
            mark = " ⬆ " + tr("strongest")
        lines.append(f"Q{number}: {fmt(summary.question_means[number - 1])}{mark}")
    if summary.departments:
        lines += ["", tr("By department (respondents, mean total):")]
        for department in summary.departments:
            lines.append(
                f"• {escape(department.name)}: {department.respondents}, "
                f"{fmt(department.mean_total)}"
            )
    if summary.hidden_departments:
        lines.append(
            tr(
                "{n} department(s) not shown: fewer than {min} respondents, to keep answers "
                "confidential.",
                n=summary.hidden_departments,
                min=summary.min_group,
            )
        )
    return "\n".join(lines)
