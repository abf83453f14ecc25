"""Report charts as PNG bytes (matplotlib's object API on the Agg canvas; no pyplot state).

Call `render_charts` through `asyncio.to_thread`: drawing takes a few hundred milliseconds and
must not stall the bot. Drawing is serialised with a lock because matplotlib's shared caches
(fonts, text layout) are not promised to be thread-safe.

Images are portrait 1080×1350 px, which a phone shows at full width without zooming.
"""

from __future__ import annotations

import io
import math
import threading
from dataclasses import dataclass
from html import escape
from zoneinfo import ZoneInfo

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

from bot.i18n import Translator
from bot.reports.assemble import Report
from bot.reports.customers import CustomerReport
from bot.reports.render import CAPTION_LIMIT, OTHERS, rounded
from bot.reports.survey import QUESTION_SHORT, DepartmentTable, SurveyReport
from bot.survey.scoring import LEVELS, QUESTION_COUNT, SCORE_MAX, SCORE_MIN, TOTAL_MAX, TOTAL_MIN

SIZE = (8.0, 10.0)  # inches; at DPI 135 → 1080×1350 px
DPI = 135
FONT = 13
# Level bands on the mean-total axis: a mean of exactly x.5 belongs to the lower band
# (bot.survey.scoring.band_value), so the edges sit at 12.5, 20.5 and 25.5.
BAND_COLOURS = ("#f4cccc", "#fce5cd", "#fff2cc", "#d9ead3")
CURRENT = "#1f77b4"
PREVIOUS = "#b0b0b0"

_draw_lock = threading.Lock()


@dataclass(frozen=True)
class Chart:
    """A chart ready to send."""

    filename: str
    png: bytes
    caption: str


@dataclass(frozen=True)
class Drawing:
    """A drawn figure, before it becomes a PNG (tests read its texts)."""

    filename: str
    figure: Figure
    caption: str

    def texts(self) -> list[str]:
        """Every piece of text on the figure: titles, labels, ticks, legends, annotations."""
        return [t.get_text() for t in self.figure.findobj(Text) if t.get_text()]

    def to_chart(self) -> Chart:
        return Chart(self.filename, _png(self.figure), self.caption[:CAPTION_LIMIT])


def _figure() -> Figure:
    figure = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _band_edges() -> list[tuple[float, float]]:
    edges = []
    for level in LEVELS:
        low = TOTAL_MIN if level.low == TOTAL_MIN else level.low - 0.5
        high = TOTAL_MAX if level.high == TOTAL_MAX else level.high + 0.5
        edges.append((low, high))
    return edges


def survey_chart(tr: Translator, survey: SurveyReport) -> Drawing | None:
    """Per-question means beside the previous wave; the wave totals with target and levels."""
    latest, previous = survey.latest, survey.previous
    means = latest.question_means
    if means is None:
        return None
    figure = _figure()
    # Two sub-figures, so the long question names on the first do not narrow the second.
    top, bottom = figure.subfigures(2, 1, height_ratios=(1.1, 1))
    bars, line = top.subplots(), bottom.subplots()

    labels = [f"Q{i + 1} {tr(QUESTION_SHORT[i])}" for i in range(QUESTION_COUNT)]
    positions = list(range(QUESTION_COUNT))[::-1]  # Q1 on top
    prev_means = previous.question_means if previous else None
    height = 0.38 if prev_means else 0.6
    if prev_means:
        bars.barh(
            [p - height / 2 for p in positions],
            prev_means,
            height=height,
            color=PREVIOUS,
            label=_plain(previous.wave.title) if previous else "",
        )
    shift = height / 2 if prev_means else 0
    drawn = bars.barh(
        [p + shift for p in positions],
        means,
        height=height,
        color=CURRENT,
        label=_plain(latest.wave.title),
    )
    bars.bar_label(drawn, labels=[rounded(m) for m in means], padding=3, fontsize=FONT - 2)
    bars.set_yticks(positions, labels, fontsize=FONT - 1)
    bars.set_xlim(SCORE_MIN - 1, SCORE_MAX + 0.5)
    bars.set_xticks(range(0, SCORE_MAX + 1))
    bars.set_title(tr("Mean per question (1–5)"), fontsize=FONT + 2)
    bars.legend(loc="lower right", fontsize=FONT - 2)
    bars.grid(axis="x", alpha=0.3)

    for (low, high), colour, level in zip(_band_edges(), BAND_COLOURS, LEVELS, strict=True):
        line.axhspan(low, high, color=colour, zorder=0)
        line.text(
            0.01, (low + high) / 2, tr(level.title), transform=line.get_yaxis_transform(),
            va="center", fontsize=FONT - 3, color="#555555",
        )  # fmt: skip
    points = [(f.wave.title, f.mean_total) for f in survey.history if f.mean_total is not None]
    xs = list(range(len(points)))
    line.plot(xs, [p[1] for p in points], marker="o", color=CURRENT, linewidth=2.5, zorder=3)
    for x, (_title, value) in zip(xs, points, strict=True):
        line.annotate(
            f"{value:.1f}", (x, value), textcoords="offset points", xytext=(0, 8),
            ha="center", fontsize=FONT - 2, zorder=4,
        )  # fmt: skip
    if survey.target is not None:
        target = survey.target.target.value
        line.axhline(target, color="#cc0000", linestyle="--", linewidth=1.8, zorder=2)
        line.text(
            1.0, target, " " + tr("target {value}", value=target),
            transform=line.get_yaxis_transform(), va="bottom", ha="right",
            color="#cc0000", fontsize=FONT - 2,
        )  # fmt: skip
    line.set_xticks(xs, [_short(p[0]) for p in points], rotation=30, ha="right", fontsize=FONT - 2)
    line.set_xlim(-0.5, max(len(xs) - 0.5, 0.5))
    line.set_ylim(TOTAL_MIN, TOTAL_MAX)
    line.set_title(tr("Company score by wave (6–30)"), fontsize=FONT + 2)
    line.grid(axis="y", alpha=0.3)

    caption = tr(
        "Survey «{title}»: per-question means and the score by wave.",
        title=escape(latest.wave.title),
    )
    return Drawing("survey.png", figure, caption)


def departments_chart(tr: Translator, table: DepartmentTable) -> Drawing | None:
    """A heatmap of per-question means by department (only groups large enough to show)."""
    if not table.rows:
        return None
    names = [_short(row.name) if row.name is not None else tr(OTHERS) for row in table.rows]
    values = [list(row.question_means) for row in table.rows]
    height = min(SIZE[1], 2.2 + 0.55 * len(names))
    figure = Figure(figsize=(SIZE[0], height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    image = axes.imshow(values, cmap="RdYlGn", vmin=SCORE_MIN, vmax=SCORE_MAX, aspect="auto")
    for y, row in enumerate(values):
        for x, value in enumerate(row):
            axes.text(x, y, rounded(value, 1), ha="center", va="center", fontsize=FONT - 1)
    axes.set_xticks(range(QUESTION_COUNT), [f"Q{i + 1}" for i in range(QUESTION_COUNT)])
    axes.set_yticks(range(len(names)), names, fontsize=FONT - 1)
    axes.set_title(tr("Mean per question by department"), fontsize=FONT + 1)
    figure.colorbar(image, ax=axes, shrink=0.8)
    caption = tr(
        "Departments with at least {min} respondents; Q1–Q6 as in the report.", min=table.min_group
    )
    return Drawing("departments.png", figure, caption)


def customers_chart(tr: Translator, report: CustomerReport, tz: ZoneInfo) -> Drawing | None:
    """NPS and CSAT by calendar week."""
    weeks = report.weeks
    if not any(w.ratings.count or w.nps.total for w in weeks):
        return None
    figure = _figure()
    nps_axes, csat_axes = figure.subplots(2, 1, sharex=True)
    xs = list(range(len(weeks)))
    labels = [w.start.astimezone(tz).strftime("%d.%m") for w in weeks]

    nps = [(x, w.nps.score) for x, w in zip(xs, weeks, strict=True) if w.nps.score is not None]
    drawn = nps_axes.bar(
        [x for x, _ in nps],
        [v for _, v in nps],
        color=["#2e7d32" if v >= 0 else "#c62828" for _, v in nps],
    )
    nps_axes.bar_label(
        drawn, labels=[_signed_whole(v) for _, v in nps], padding=2, fontsize=FONT - 3
    )
    nps_axes.axhline(0, color="#333333", linewidth=1)
    nps_axes.set_ylim(-100, 100)
    nps_axes.set_title(tr("NPS by week (−100…+100)"), fontsize=FONT + 2)
    nps_axes.grid(axis="y", alpha=0.3)

    # A week without ratings is a gap in the line, not a slope across it.
    csat = [w.ratings.csat * 100 if w.ratings.csat is not None else math.nan for w in weeks]
    csat_axes.plot(xs, csat, marker="o", color=CURRENT, linewidth=2.5)
    csat_axes.set_ylim(0, 105)
    csat_axes.set_title(tr("CSAT by week, % of ratings 4–5"), fontsize=FONT + 2)
    csat_axes.grid(axis="y", alpha=0.3)
    step = max(1, len(xs) // 12)  # at most ~12 labels, readable on a phone
    csat_axes.set_xticks(xs[::step], labels[::step], rotation=45, ha="right", fontsize=FONT - 2)
    csat_axes.set_xlim(-0.6, len(xs) - 0.4)  # every week in view, whatever has data
    csat_axes.set_xlabel(tr("Week starting"), fontsize=FONT - 1)
    caption = tr("NPS and CSAT by week (the last week is still running).")
    return Drawing("customers.png", figure, caption)


def _signed_whole(value: float) -> str:
    text = rounded(value, 0)
    return "+" + text if float(text) > 0 else text.replace("-0", "0")


def _plain(text: str) -> str:
    """A name from people, shown as typed: a «$» would otherwise start matplotlib's math mode."""
    return text.replace("$", r"\$")


def _short(text: str, limit: int = 24) -> str:
    """A name cut to fit an axis label, shown as typed."""
    return _plain(text if len(text) <= limit else text[: limit - 1] + "…")


def drawings(tr: Translator, report: Report) -> list[Drawing]:
    """Every chart the report has data for."""
    found: list[Drawing | None] = []
    if report.survey is not None:
        found.append(survey_chart(tr, report.survey))
        found.append(departments_chart(tr, report.survey.departments))
    if report.customers is not None:
        found.append(customers_chart(tr, report.customers, report.tz))
    return [d for d in found if d is not None]


def render_charts(tr: Translator, report: Report) -> list[Chart]:
    """The report's charts as PNGs (blocking: run it in a worker thread)."""
    with _draw_lock:
        return [drawing.to_chart() for drawing in drawings(tr, report)]
