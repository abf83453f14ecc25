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
from itertools import pairwise
from zoneinfo import ZoneInfo

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.text import Text

from bot.i18n import Translator
from bot.reports import numbers
from bot.reports.assemble import Report
from bot.reports.customers import CustomerReport
from bot.reports.render import CAPTION_LIMIT, OTHERS
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
TOO_FEW_COLOUR = "#d9d9d9"
# A week with fewer answers than this is drawn as «too few answers», not as a score (two reviews
# would read as NPS +50 or CSAT 100 %); the dashboard's tables use the same number.
TOO_FEW = 5
# The colours of the report's squares 🟥🟧🟨🟩 (the level a mean on every question gives), so the
# heatmap and the text agree: a question mean m is coloured by the level of 6·m.
LEVEL_COLOURS = ("#e06666", "#f6b26b", "#ffd966", "#93c47d")

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


def _num(tr: Translator, value: float, digits: int) -> str:
    return numbers.number(value, digits, locale=tr.locale)


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
        before = bars.barh(
            [p - height / 2 for p in positions],
            prev_means,
            height=height,
            color=PREVIOUS,
            label=_plain(previous.wave.title) if previous else "",
        )
        bars.bar_label(
            before, labels=[_num(tr, m, 2) for m in prev_means], padding=3,
            fontsize=FONT - 3, color="#555555",
        )  # fmt: skip
    shift = height / 2 if prev_means else 0
    drawn = bars.barh(
        [p + shift for p in positions],
        means,
        height=height,
        color=CURRENT,
        label=_plain(latest.wave.title),
    )
    bars.bar_label(drawn, labels=[_num(tr, m, 2) for m in means], padding=3, fontsize=FONT - 2)
    bars.set_yticks(positions, labels, fontsize=FONT - 1)
    # The 1–5 scale itself: a bar starts at 1, the lowest answer, not at 0.
    bars.set_xlim(SCORE_MIN, SCORE_MAX + 0.7)
    bars.set_xticks(range(SCORE_MIN, SCORE_MAX + 1))
    bars.set_title(tr("Mean per question (1–5)"), fontsize=FONT + 2)
    # Above the bars, so it never covers one of them or its value.
    bars.legend(
        loc="lower center", bbox_to_anchor=(0.5, 1.06), ncols=2, fontsize=FONT - 2, frameon=False
    )
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
            _num(tr, value, 1), (x, value), textcoords="offset points", xytext=(0, 8),
            ha="center", fontsize=FONT - 2, zorder=4,
        )  # fmt: skip
    if survey.target is not None:
        target = survey.target.target.value
        line.axhline(target, color="#cc0000", linestyle="--", linewidth=1.8, zorder=2)
        # Outside the plot, to the right of the line's end: it covers no point or band name.
        line.text(
            1.01, target, tr("target {value}", value=target),
            transform=line.get_yaxis_transform(), va="center", ha="left",
            color="#cc0000", fontsize=FONT - 2, clip_on=False,
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
    # The level bands of a question mean (the total's bands ÷ 6), in the squares' colours.
    edges = [SCORE_MIN, *[high / QUESTION_COUNT for _, high in _band_edges()[:-1]],
             SCORE_MAX]  # fmt: skip
    cmap = ListedColormap(LEVEL_COLOURS)
    image = axes.imshow(values, cmap=cmap, norm=BoundaryNorm(edges, cmap.N), aspect="auto")
    for y, row in enumerate(values):
        for x, value in enumerate(row):
            axes.text(x, y, _num(tr, value, 1), ha="center", va="center", fontsize=FONT - 1)
    short = [_wrap(tr(QUESTION_SHORT[i]), 8) for i in range(QUESTION_COUNT)]
    axes.set_xticks(range(QUESTION_COUNT), short, fontsize=FONT - 5)
    axes.set_yticks(range(len(names)), names, fontsize=FONT - 1)
    axes.set_title(tr("Mean per question by department"), fontsize=FONT + 1)
    bar = figure.colorbar(
        image, ax=axes, shrink=0.8, ticks=[(a + b) / 2 for a, b in pairwise(edges)]
    )
    bar.ax.set_yticklabels([_wrap(tr(level.title), 14) for level in LEVELS], fontsize=FONT - 4)
    caption = tr(
        "Departments with at least {min} respondents; colours as the squares in the report.",
        min=table.min_group,
    )
    if table.small and not table.pooled:
        caption += " " + tr(
            "Not shown: {n} departments with fewer than {min} respondents.",
            n=table.small, min=table.min_group,
        )  # fmt: skip
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

    small = FONT - 4 if len(xs) <= 20 else FONT - 6
    few = tr("too few")
    nps = [(x, w.nps.score) for x, w in zip(xs, weeks, strict=True)
           if w.nps.score is not None and w.nps.total >= TOO_FEW]  # fmt: skip
    drawn = nps_axes.bar(
        [x for x, _ in nps],
        [v for _, v in nps],
        color=["#2e7d32" if v >= 0 else "#c62828" for _, v in nps],
    )
    nps_axes.bar_label(
        drawn, labels=[numbers.signed(v, 0, locale=tr.locale) for _, v in nps], padding=2,
        fontsize=FONT - 3,
    )  # fmt: skip
    for x, w in zip(xs, weeks, strict=True):
        if 0 < w.nps.total < TOO_FEW:  # a grey band, not a score
            nps_axes.bar(x, 200, bottom=-100, color=TOO_FEW_COLOUR, alpha=0.5, zorder=0)
            nps_axes.text(x, 50, few, rotation=90, ha="center", va="center", fontsize=small,
                          color="#666666")  # fmt: skip
        # The number of answers under each week's bar.
        nps_axes.text(x, -96, str(w.nps.total), ha="center", va="bottom", fontsize=small,
                      color="#555555")  # fmt: skip
    nps_axes.axhline(0, color="#333333", linewidth=1)
    nps_axes.set_ylim(-100, 100)
    nps_axes.set_title(tr("NPS by week (−100…+100), answers below"), fontsize=FONT + 2)
    nps_axes.grid(axis="y", alpha=0.3)

    # A week without enough ratings is a gap in the line, not a point (nor a slope across it).
    csat = [
        w.ratings.csat * 100 if w.ratings.csat is not None and w.ratings.count >= TOO_FEW
        else math.nan
        for w in weeks
    ]  # fmt: skip
    csat_axes.plot(xs, csat, marker="o", color=CURRENT, linewidth=2.5)
    for x, w in zip(xs, weeks, strict=True):
        if 0 < w.ratings.count < TOO_FEW:
            csat_axes.bar(x, 105, color=TOO_FEW_COLOUR, alpha=0.5, zorder=0)
            csat_axes.text(x, 60, few, rotation=90, ha="center", va="center", fontsize=small,
                           color="#666666")  # fmt: skip
        csat_axes.text(x, 2, str(w.ratings.count), ha="center", va="bottom", fontsize=small,
                       color="#555555")  # fmt: skip
    csat_axes.set_ylim(0, 105)
    csat_axes.set_title(tr("CSAT by week, % of ratings 4–5, ratings below"), fontsize=FONT + 2)
    csat_axes.grid(axis="y", alpha=0.3)
    step = max(1, len(xs) // 12)  # at most ~12 labels, readable on a phone
    csat_axes.set_xticks(xs[::step], labels[::step], rotation=45, ha="right", fontsize=FONT - 2)
    csat_axes.set_xlim(-0.6, len(xs) - 0.4)  # every week in view, whatever has data
    csat_axes.set_xlabel(tr("Week starting"), fontsize=FONT - 1)
    caption = tr(
        "NPS and CSAT by week (the last week is still running); a week with fewer than {n} "
        "answers is shown as «too few», not as a score.",
        n=TOO_FEW,
    )
    return Drawing("customers.png", figure, caption)


def _wrap(text: str, width: int = 12) -> str:
    """A short name on up to two lines, so six fit under a heatmap on a phone."""
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return _plain("\n".join(lines))


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
