"""Template filters: how a figure of a report object reads on the page (never a new figure).

Numbers go through `bot.reports.numbers`, the helpers every surface uses, so «21,1», «без
изменений» and «нет данных» read the same on the dashboard as in Telegram.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

from bot.cases.messages import MEDIA_NAMES
from bot.i18n import Translator
from bot.reports import numbers
from bot.survey.scoring import QUESTION_COUNT, level_for
from bot.texts import N_

NO_DATA = N_("no data")
NO_CHANGE = N_("no change")


def filters(tr: Translator, locale: str, tz: ZoneInfo) -> dict[str, Callable[..., Any]]:
    """The filters of one page, in the reader's language."""

    def num(value: float | None, digits: int = 1) -> str:
        return tr(NO_DATA) if value is None else numbers.number(value, digits, locale=locale)

    def signed(value: float | None, digits: int = 0) -> str:
        return tr(NO_DATA) if value is None else numbers.signed(value, digits, locale=locale)

    def pct(share: float | None) -> str:
        return tr(NO_DATA) if share is None else numbers.percent(share, locale=locale)

    def change(current: float | None, previous: float | None, digits: int = 1) -> Markup:
        """«▲ +0,4» (green), «▼ −0,4» (red), «без изменений», or nothing without data."""
        found = numbers.change(current, previous, digits, locale=locale)
        if found is None:
            return Markup("")
        text, diff = found
        if diff == 0:
            return Markup('<span class="chg same">{}</span>').format(tr(NO_CHANGE))
        css = "up" if diff > 0 else "down"
        return Markup('<span class="chg {}">{}</span>').format(css, text)

    def change_pp(current: float | None, previous: float | None) -> Markup:
        """A change of a share, in percentage points of the shares as shown."""
        if current is None or previous is None:
            return Markup("")
        found = numbers.change(current * 100, previous * 100, 0, locale=locale)
        assert found is not None
        text, diff = found
        if diff == 0:
            return Markup('<span class="chg same">{}</span>').format(tr(NO_CHANGE))
        css = "up" if diff > 0 else "down"
        return Markup('<span class="chg {}">{} {}</span>').format(css, text, tr("pp"))

    def date(moment: datetime | None) -> str:
        return "" if moment is None else moment.astimezone(tz).strftime("%d.%m.%Y")

    def datetime_(moment: datetime | None) -> str:
        return "" if moment is None else moment.astimezone(tz).strftime("%d.%m.%Y %H:%M")

    def week(moment: datetime) -> str:
        return moment.astimezone(tz).strftime("%d.%m")

    def duration(value: timedelta | None) -> str:
        if value is None:
            return tr(NO_DATA)
        minutes = int(value.total_seconds() // 60)
        days, rest = divmod(minutes, 24 * 60)
        hours, minutes = divmod(rest, 60)
        if days:
            return tr("{d} d {h} h", d=days, h=hours)
        if hours:
            return tr("{h} h {m} min", h=hours, m=minutes)
        return tr("{m} min", m=minutes)

    def level(mean: float) -> str:
        """The colour of a question mean: the level the company would have with that mean on
        every question, as the 🟥🟧🟨🟩 squares of the Telegram report."""
        return level_for(max(1.0, min(5.0, mean)) * QUESTION_COUNT).key

    def lines(text: str | None) -> Markup:
        return Markup("<br>").join(escape(line) for line in (text or "").splitlines())

    def media(kind: str | None) -> str:
        """«📷 фото» for a case message that carried a photo (Telegram keeps the file)."""
        return tr(MEDIA_NAMES[kind]) if kind in MEDIA_NAMES else ""

    return {
        "num": num,
        "signed": signed,
        "pct": pct,
        "change": change,
        "change_pp": change_pp,
        "date": date,
        "datetime": datetime_,
        "week": week,
        "duration": duration,
        "lines": lines,
        "media": media,
        "level": level,
    }
