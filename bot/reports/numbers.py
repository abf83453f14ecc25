"""How the report writes numbers: rounded half up, «—» for no data, signed changes.

Shared by every report section (render.py and the sections in their own modules).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from bot.i18n import Translator
from bot.reports.metrics import change


def rounded(value: float, digits: int = 2) -> str:
    """Rounded half up, as people round by hand (Python's own formatting rounds 4.25 to 4.2)."""
    quantum = Decimal(1).scaleb(-digits)
    return str(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))


def fmt(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else rounded(value, digits)


def pct(value: float | None) -> str:
    return "—" if value is None else rounded(value * 100, 0) + "%"


def signed(value: float, digits: int) -> str:
    text = rounded(abs(value), digits)
    if Decimal(text) == 0:
        return "= " + text
    return ("▲ +" if value > 0 else "▼ −") + text


def delta(current: float | None, previous: float | None, digits: int = 2) -> str:
    """« (▲ +0.40)» against the previous value, or nothing when there is nothing to compare."""
    diff = change(current, previous)
    return "" if diff is None else f" ({signed(diff, digits)})"


def delta_pp(tr: Translator, current: float | None, previous: float | None) -> str:
    """A change of a share in percentage points: « (▲ +5 pp)»."""
    diff = change(current, previous)
    if diff is None:
        return ""
    points = tr("pp")  # percentage points
    return f" ({signed(diff * 100, 0)} {points})"
