"""The pulse matrix as a heatmap: rater departments down, served departments across; hidden
cells are blank and marked «·» (fewer than the minimum raters, or protecting a neighbour)."""

from __future__ import annotations

import math

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.i18n import Translator
from bot.pulse.matrix import PulseMatrix
from bot.reports import charts
from bot.reports.assemble import Report
from bot.reports.charts import DPI, FONT, SIZE, Chart, Drawing
from bot.reports.numbers import rounded
from bot.survey.scoring import SCORE_MAX, SCORE_MIN


def pulse_chart(tr: Translator, matrix: PulseMatrix | None) -> Drawing | None:
    if matrix is None or not any(c.mean is not None for c in matrix.index.values()):
        return None
    served = matrix.served
    raters = matrix.rater_departments
    index_row = [matrix.index[s].mean for s in served]
    rows = [[matrix.cells.get((r, s)) for s in served] for r in raters]
    values = [
        [c.mean if c is not None and c.mean is not None else math.nan for c in row] for row in rows
    ]
    values.append([v if v is not None else math.nan for v in index_row])
    labels = [charts._short(r) for r in raters] + [tr("Index")]
    height = min(SIZE[1], 2.4 + 0.6 * len(labels))
    figure = Figure(figsize=(SIZE[0], height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    image = axes.imshow(values, cmap="RdYlGn", vmin=SCORE_MIN, vmax=SCORE_MAX, aspect="auto")
    for y, row in enumerate(values):
        for x, value in enumerate(row):
            text = "·" if math.isnan(value) else rounded(value, 1)
            axes.text(x, y, text, ha="center", va="center", fontsize=FONT - 1)
    axes.set_xticks(range(len(served)), [charts._short(s, 14) for s in served], fontsize=FONT - 2)
    axes.set_yticks(range(len(labels)), labels, fontsize=FONT - 1)
    axes.set_xlabel(tr("Served department"))
    axes.set_ylabel(tr("Rater department"))
    axes.set_title(tr("Internal service: who serves whom"), fontsize=FONT + 1)
    figure.colorbar(image, ax=axes, shrink=0.8)
    caption = tr(
        "Cells with at least {min} raters; «·» hidden to keep ratings confidential.",
        min=matrix.min_group,
    )
    return Drawing("pulse.png", figure, caption)


def render_plan_charts(tr: Translator, report: Report) -> list[Chart]:
    """The plan part's charts as PNGs (blocking: called in the report's worker thread)."""
    drawing = pulse_chart(tr, report.plans.pulse if report.plans is not None else None)
    if drawing is None:
        return []
    # matplotlib's shared caches are not promised to be thread-safe: the charts' own lock.
    with charts._draw_lock:
        return [drawing.to_chart()]
