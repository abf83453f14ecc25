"""The plan part of the report as text: sections rendered from a `PlansReport`.

Numbers are written as the rest of the report writes them (bot.reports.render rounds half up
with a point); this module cannot import that one (render imports this), so it has its own
three-line `_fmt`.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from html import escape

from bot.i18n import Translator
from bot.plans.model import OPEN, STATUS_ICONS, STATUS_TITLES, PlanItem, Status
from bot.pulse.matrix import PulseMatrix
from bot.reports.plans import PlansReport
from bot.survey.scoring import QUESTION_SHORT
from bot.texts import N_

# Plurals: the singular marked for extraction (tools/po.py), the plural given where it is used.
INITIATIVES_DONE = N_("{n} initiative done")
STILL_OPEN = N_("{n} still open")


def _fmt(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "—"
    return str(Decimal(repr(value)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def _signed(value: float) -> str:
    text = _fmt(abs(value), 1) if abs(value) >= 0.05 else "0"
    return ("+" if value > 0.05 else "−" if value < -0.05 else "±") + text


def _q(tr: Translator, question: int) -> str:
    return f"Q{question} «{escape(tr(QUESTION_SHORT[question - 1]))}»"


def plan_section(tr: Translator, report: PlansReport) -> str | None:
    if not report.items and not report.targets:
        return None
    lines = ["<b>🧭 " + tr("Action plan") + "</b>"]
    if report.effects:
        lines.append(
            tr("Change at «{wave}» beside the plan:", wave=escape(report.effects_wave or ""))
        )
        for effect in report.effects:
            change = _signed(effect.change) if effect.change is not None else "—"
            line = f"Q{effect.question}: {change} — " + tr.plural(
                INITIATIVES_DONE, "{n} initiatives done", effect.done
            )
            if effect.open:
                line += ", " + tr.plural(STILL_OPEN, "{n} still open", effect.open)
            lines.append(line)
        lines.append("")
    by_question: dict[int, list[PlanItem]] = {}
    for item in report.items:
        by_question.setdefault(item.question, []).append(item)
    for question in sorted(by_question):
        lines.append(_q(tr, question) + ":")
        for item in by_question[question]:
            status = Status(item.status)
            due = (
                tr("by the next wave")
                if item.due_next_wave
                else item.due.strftime("%d.%m.%Y")
                if item.due
                else "—"
            )
            line = (
                f"{STATUS_ICONS[status]} №{item.id} {escape(item.title)} — "
                f"{escape(item.owner_name or '—')}, {tr(STATUS_TITLES[status])}, {due}"
            )
            if item.overdue:
                line += " ⏰ " + tr("overdue")
            lines.append(line)
    open_count = sum(1 for i in report.items if i.status in OPEN)
    done = sum(1 for i in report.items if i.status == Status.DONE)
    if report.items:
        lines.append(tr("Initiatives: {total}, done {done}, open {open}.",
                        total=len(report.items), done=done, open=open_count))  # fmt: skip
    if report.targets:
        lines += ["", "<b>" + tr("Department targets") + "</b>"]
        for target in report.targets:
            if target.mean is None:
                lines.append(
                    tr(
                        "{department}: target {target}; its figures are not shown (too few "
                        "respondents).",
                        department=escape(target.department),
                        target=target.target,
                    )
                )
            else:
                lines.append(
                    tr(
                        "{department}: target {target}, now {mean}, gap {gap}",
                        department=escape(target.department),
                        target=target.target,
                        mean=_fmt(target.mean),
                        gap=_fmt(target.gap),
                    )
                )
    return "\n".join(lines)


def comments_section(tr: Translator, report: PlansReport) -> str | None:
    if report.comments is None and not report.comments_open:
        return None
    lines = ["<b>💬 " + tr("What keeps us from being closer to the customer") + "</b>"]
    if report.comments_open:
        lines.append(
            tr(
                "The open survey has {n} comments so far; they are shown once it is closed.",
                n=report.comments_open,
            )
        )
    visible = report.comments
    if visible is not None:
        lines.append(
            tr("«{wave}»: {n} comments.", wave=escape(report.comments_wave or ""), n=visible.total)
        )
        for group in visible.groups:
            name = escape(group.department) if group.department else tr("Other departments")
            lines.append(f"<i>{name}</i>")
            lines += [f"— {escape(c.body)}" for c in group.comments]
        if visible.hidden:
            lines.append(
                tr(
                    "Not shown: {n} — in groups of fewer than {min} commenters.",
                    n=visible.hidden,
                    min=report.comment_min_group,
                )
            )
        if visible.groups:
            lines.append(tr("/comments — turn a comment into an initiative."))
    return "\n".join(lines)


def suggestions_line(tr: Translator, report: PlansReport) -> str | None:
    if not report.suggestions:
        return None
    return "💡 " + tr(
        "Employees' suggestions (voice of the customer): {n}, of them in the plan: {planned}.",
        n=report.suggestions,
        planned=report.suggestions_planned,
    )


def pulse_section(
    tr: Translator, matrix: PulseMatrix | None, open_raters: int | None = None
) -> str | None:
    if matrix is None and open_raters is None:
        return None
    lines = ["<b>🤝 " + tr("Internal service pulse") + "</b>"]
    if open_raters is not None:
        lines.append(
            tr(
                "A pulse is open: {n} have rated so far; the figures are shown once it is "
                "closed (/pulse_close).",
                n=open_raters,
            )
        )
    if matrix is None:
        return "\n".join(lines)
    lines.append(tr("Raters: {n}. Index per department (mean 1–5):", n=matrix.raters))
    hidden = 0
    for served in matrix.served:
        cell = matrix.index[served]
        if cell.mean is None:
            hidden += 1
            continue
        lines.append(f"{escape(served)}: {_fmt(cell.mean, 1)} ({cell.raters})")
    shown_cells = [(k, c) for k, c in sorted(matrix.cells.items()) if c.mean is not None]
    if shown_cells:
        lines.append(tr("Who serves whom (rater → served):"))
        lines += [
            f"{escape(rater)} → {escape(served)}: {_fmt(cell.mean, 1)}"
            for (rater, served), cell in shown_cells
        ]
    if hidden or any(c.mean is None for c in matrix.cells.values()):
        lines.append(
            tr(
                "Groups of fewer than {min} raters are hidden (and, where one hidden group could "
                "be worked out from the others, a neighbour too).",
                min=matrix.min_group,
            )
        )
    return "\n".join(lines)


def plan_sections(tr: Translator, report: PlansReport | None) -> list[str]:
    if report is None or report.empty:
        return []
    found = [
        plan_section(tr, report),
        comments_section(tr, report),
        suggestions_line(tr, report),
        pulse_section(tr, report.pulse, report.pulse_open_raters),
    ]
    return [s for s in found if s]
