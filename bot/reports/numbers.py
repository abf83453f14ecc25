"""How the report writes numbers, for every section and surface (render.py, the sections in their
own modules, the charts, the dashboard): «21,1» in Russian, «21.1» in English, a real minus,
rounded half up as people round by hand, «нет данных» for a figure without data, «без изменений»
for a change of zero, and a change that is the difference of the values as shown (so «−4» after
«−3» reads «▼ −1», never «= 0» because the unrounded values were closer).

`fmt`, `pct`, `delta` and `delta_pp` take the reader's Translator; without one (a caller that
has none) they write English numbers and «—».
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from bot.i18n import Translator
from bot.texts import N_

NO_DATA = N_("no data")
NO_CHANGE = N_("no change")
MINUS = "−"  # U+2212: a minus sign, not a hyphen
UP, DOWN = "▲", "▼"  # the one style of arrows for a change


def quantize(value: float, digits: int) -> Decimal:
    """The value as shown with `digits` decimals, rounded half up (4.25 → 4.3)."""
    return Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def number(value: float | Decimal, digits: int = 1, *, locale: str = "ru") -> str:
    """«21,1» (ru) or «21.1» (en); a negative value with a real minus; −0 shown as 0."""
    shown = value if isinstance(value, Decimal) else quantize(value, digits)
    if shown == 0:
        shown = abs(shown)
    text = f"{abs(shown):f}"
    if locale == "ru":
        text = text.replace(".", ",")
    return (MINUS + text) if shown < 0 else text


def signed(value: float | Decimal, digits: int = 1, *, locale: str = "ru") -> str:
    """«+4», «−4» or «0»: a score that can be negative (NPS) or a change."""
    shown = value if isinstance(value, Decimal) else quantize(value, digits)
    text = number(shown, digits, locale=locale)
    return "+" + text if shown > 0 else text


def percent(share: float, *, locale: str = "ru") -> str:
    """A share 0..1 as a whole percentage: «21 %» (ru, with a no-break space) or «21%» (en)."""
    text = number(share * 100, 0, locale=locale)
    return text + ("\u00a0%" if locale == "ru" else "%")


def shown_change(current: float, previous: float, digits: int) -> Decimal:
    """The change between two values as they are shown (each rounded first)."""
    return quantize(current, digits) - quantize(previous, digits)


def change_arrow(diff: Decimal) -> str:
    """«▲», «▼» or «» for no change."""
    return UP if diff > 0 else DOWN if diff < 0 else ""


def change(
    current: float | None, previous: float | None, digits: int = 1, *, locale: str = "ru"
) -> tuple[str, Decimal] | None:
    """(«▲ +0,4», the difference) of the values as shown; None when either has no data.

    A difference of zero gives («», 0): the caller says «без изменений» in the reader's language.
    """
    if current is None or previous is None:
        return None
    diff = shown_change(current, previous, digits)
    if diff == 0:
        return "", diff
    return f"{change_arrow(diff)} {signed(diff, digits, locale=locale)}", diff


# --- the report's writing of figures, in the reader's language ----------------------------------
def _locale(tr: Translator | None) -> str:
    return tr.locale if tr is not None else "en"


def rounded(value: float, digits: int = 2) -> str:
    """Rounded half up, with a decimal point (for chart code that formats on its own)."""
    return str(quantize(value, digits))


def fmt(value: float | None, digits: int = 2, tr: Translator | None = None) -> str:
    if value is None:
        return tr(NO_DATA) if tr is not None else "—"
    return number(value, digits, locale=_locale(tr))


def pct(value: float | None, tr: Translator | None = None) -> str:
    if value is None:
        return tr(NO_DATA) if tr is not None else "—"
    return number(value * 100, 0, locale=_locale(tr)) + "%"


def change_text(
    tr: Translator | None, current: float, previous: float, digits: int, unit: str = ""
) -> str:
    """«▲ +0,4» or «без изменений» for two values that have data."""
    found = change(current, previous, digits, locale=_locale(tr))
    assert found is not None
    text, diff = found
    if diff == 0:
        return tr(NO_CHANGE) if tr is not None else "no change"
    return text + unit


def delta(
    current: float | None,
    previous: float | None,
    digits: int = 2,
    tr: Translator | None = None,
) -> str:
    """« (▲ +0,40)» against the previous value, « (без изменений)», or nothing without data."""
    if current is None or previous is None:
        return ""
    return f" ({change_text(tr, current, previous, digits)})"


def delta_pp(tr: Translator, current: float | None, previous: float | None) -> str:
    """A change of a share in percentage points of the shares as shown: « (▲ +5 pp)»."""
    if current is None or previous is None:
        return ""
    return f" ({change_text(tr, current * 100, previous * 100, 0, ' ' + tr('pp'))})"
