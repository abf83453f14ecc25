"""Charts for the browser: the report's own matplotlib charts, drawn as SVG.

Why SVG from matplotlib rather than a chart library in the page: the dashboard then shows the
very charts the Telegram report sends (one drawing code, one set of rules for «too few answers»,
colours and labels), needs no JavaScript at all under the strict CSP, and ships nothing new.
Text is drawn as paths, so the picture needs no font from anywhere. An SVG is cached by the
figures it shows, so the page and the charts stay fast while the data does not change.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
from collections import OrderedDict
from threading import Lock

from bot.i18n import Translator
from bot.reports.assemble import Report

CHARTS = ("survey", "departments", "customers")
_CACHE: OrderedDict[str, bytes] = OrderedDict()
_CACHE_SIZE = 32
_lock = Lock()


def _key(tr: Translator, report: Report, name: str) -> str:
    # The figures, not the time they were read: the same data gives the same picture.
    figures = dataclasses.replace(report, generated_at=report.generated_at.replace(year=2000))
    raw = repr((name, tr("Others"), figures.survey, figures.customers, report.request))
    return hashlib.sha256(raw.encode()).hexdigest()


def chart_svg(tr: Translator, report: Report, name: str) -> bytes | None:
    """One chart of the report as SVG, or None when the report has no data for it (blocking)."""
    from bot.reports import charts  # matplotlib is loaded on the first chart only

    key = _key(tr, report, name)
    with _lock:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    with charts._draw_lock:
        drawing = next(
            (d for d in charts.drawings(tr, report) if d.filename == f"{name}.png"), None
        )
        if drawing is None:
            return None
        buffer = io.BytesIO()
        drawing.figure.savefig(buffer, format="svg", metadata={"Date": None})
    content = buffer.getvalue()
    with _lock:
        _CACHE[key] = content
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return content
