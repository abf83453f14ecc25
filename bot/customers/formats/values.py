"""Cells as shops write them: dates, quantities and prices in the forms real exports use.

Pure functions; each raises `CellProblem` with an English msgid (translated where it is shown)
and the cell's own text, so a refusal reads `строка 12, «Дата заказа»: не дата: «31.02.2026»`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from bot.texts import N_

MAX_QUANTITY = Decimal(1_000_000)
MAX_PRICE = Decimal(1_000_000_000)


@dataclass(frozen=True)
class CellProblem(Exception):
    """Why a cell cannot be read: an English msgid and its parameters."""

    msgid: str
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.msgid.format(**self.params)


@dataclass(frozen=True)
class When:
    """A purchase time in UTC; `naive` when the cell had no offset and TIMEZONE was assumed."""

    at: datetime
    naive: bool


_DMY = re.compile(
    r"^(?P<d>\d{1,2})[./-](?P<m>\d{1,2})[./-](?P<y>\d{4})"
    r"(?:[ T]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?$"
)
_ISO = re.compile(
    r"^(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})"
    r"(?:[ T](?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d{1,6})\d*)?)?)?"
    r"\s*(?P<tz>Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$",
    re.IGNORECASE,
)


def _offset(text: str) -> tzinfo:
    if text.upper() in ("Z", "UTC", "GMT"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError("offset out of range")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def parse_when(text: str, local: tzinfo) -> When:
    """`25.11.2026`, `25.11.2026 14:30`, `2026-11-27`, `2026-11-26 14:30`,
    `2026-11-26T14:30:00+03:00`, `2024-05-01 10:00:00 +0000` (Shopify), `...Z`.

    A time without an offset is local time in `local` (TIMEZONE); a date alone is its noon,
    so that no time zone can move it to another day.
    """
    raw = " ".join(text.split())
    if not raw:
        raise CellProblem(N_("is empty"))
    match = _DMY.match(raw) or _ISO.match(raw)
    if match is None:
        raise CellProblem(
            N_(
                "is not a date: «{value}» (expected 25.11.2026, 25.11.2026 14:30 "
                "or 2026-11-25T14:30+03:00)"
            ),
            {"value": raw},
        )
    parts = match.groupdict()
    has_time = parts.get("H") is not None
    try:
        fraction = (parts.get("f") or "0").ljust(6, "0")
        tz_text = parts.get("tz")
        tz = _offset(tz_text) if tz_text else local
        value = datetime(
            int(parts["y"]),
            int(parts["m"]),
            int(parts["d"]),
            int(parts["H"]) if has_time else 12,
            int(parts["M"]) if has_time else 0,
            int(parts.get("S") or 0),
            int(fraction),
            tzinfo=tz,
        )
    except ValueError:
        raise CellProblem(N_("is not a real date: «{value}»"), {"value": raw}) from None
    return When(value.astimezone(UTC), naive=tz_text is None)


_SPACES = re.compile(r"[\s\u00a0\u202f']")
_CURRENCY_MARKS = re.compile(r"(?i)(₽|руб\.?|р\.|rub|\$|€|usd|eur)")


def _decimal(text: str) -> Decimal | None:
    cleaned = _SPACES.sub("", _CURRENCY_MARKS.sub("", text))
    if not cleaned:
        return None
    if "," in cleaned and "." in cleaned:
        # 1,234.50 (English) or 1.234,50 (German): the last mark is the decimal one.
        if cleaned.rfind(",") > cleaned.rfind("."):
            cleaned = cleaned.replace(".", "").replace(",", ".")
        else:
            cleaned = cleaned.replace(",", "")
    else:
        cleaned = cleaned.replace(",", ".")
    if not re.fullmatch(r"[+-]?\d+(\.\d+)?|[+-]?\.\d+", cleaned):
        return None
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        return None


def parse_quantity(text: str) -> Decimal:
    """`2`, `1,0`, `0.5` (goods by weight), `1 000`: a positive decimal."""
    raw = text.strip()
    value = _decimal(raw)
    if value is None:
        raise CellProblem(N_("is not a number: «{value}»"), {"value": raw})
    if value <= 0:
        raise CellProblem(N_("must be more than 0, not «{value}»"), {"value": raw})
    if value > MAX_QUANTITY:
        raise CellProblem(N_("is too large: «{value}»"), {"value": raw})
    return value.normalize() if value == value.to_integral() else value


def parse_price(text: str) -> Decimal | None:
    """`1 234,50`, `1234.5`, `990 ₽`: a price of 0 or more, kept to the cent; blank is None."""
    raw = text.strip()
    if not raw:
        return None
    value = _decimal(raw)
    if value is None:
        raise CellProblem(N_("is not an amount of money: «{value}»"), {"value": raw})
    if value < 0:
        raise CellProblem(N_("must not be negative: «{value}»"), {"value": raw})
    if value > MAX_PRICE:
        raise CellProblem(N_("is too large: «{value}»"), {"value": raw})
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def to_cents(price: Decimal) -> int:
    return int((price * 100).to_integral_value(rounding=ROUND_HALF_UP))


def normalize_email(text: str) -> str | None:
    """A plausible e-mail, lower-cased; None for a blank or something that is not one."""
    value = text.strip().lower()
    if not value:
        return None
    if len(value) > 254 or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        raise CellProblem(N_("is not an e-mail address: «{value}»"), {"value": text.strip()})
    return value
