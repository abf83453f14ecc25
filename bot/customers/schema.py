"""What a shop sends: pydantic models shared by the HTTP API (JSON) and the CSV import (text cells).

JSON bodies are validated strictly (a quantity of "2" or 2.0 or true is refused: a shop system
that sends those has a bug worth hearing about); CSV cells are text, so the import validates the
same models in lax mode. Either way a refusal names the field and says why.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from bot.customers.phones import InvalidPhone, to_e164

MAX_ITEMS = 500
MAX_QUANTITY = 1_000_000
MAX_RESTOCK_DAYS = 3650
# Purchases from the future are a clock or time-zone bug on the shop's side; a day of slack
# covers any honest skew. Before 2000 is a broken date, and keeps date arithmetic in range.
FUTURE_SLACK = timedelta(days=1)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _no_control_chars(value: str) -> str:
    # Ids end up in logs, CSV exports and Telegram messages: control characters (NUL, escape
    # sequences, bidi overrides are Cf) have no business there.
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in value):
        raise ValueError("must not contain control characters")
    return value


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


Id = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
    AfterValidator(_no_control_chars),
]


def _one_line(value: Any) -> Any:
    # Names are shown inside sentences: a line break or tab from a spreadsheet cell becomes a
    # space rather than a refusal.
    return " ".join(value.split()) if isinstance(value, str) else value


Name = Annotated[
    str,
    BeforeValidator(_one_line),
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_no_control_chars),
]
OptionalName = Annotated[Name | None, BeforeValidator(_blank_to_none)]
RestockDays = Annotated[
    Annotated[int, Field(ge=1, le=MAX_RESTOCK_DAYS)] | None, BeforeValidator(_blank_to_none)
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class CustomerIn(_Model):
    id: Id
    phone: Annotated[str | None, BeforeValidator(_blank_to_none)] = None
    name: OptionalName = None

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return to_e164(value)
        except InvalidPhone as exc:
            raise ValueError(str(exc)) from None


class ItemIn(_Model):
    sku: Id
    name: Name
    quantity: int = Field(ge=1, le=MAX_QUANTITY)
    restock_days: RestockDays = None


class PurchaseIn(_Model):
    order_id: Id
    customer: CustomerIn
    purchased_at: AwareDatetime
    items: list[ItemIn] = Field(min_length=1, max_length=MAX_ITEMS)

    @field_validator("purchased_at")
    @classmethod
    def _plausible_time(cls, value: datetime, info: ValidationInfo) -> datetime:
        now = (info.context or {}).get("now")
        latest = min(LATEST, now + FUTURE_SLACK) if isinstance(now, datetime) else LATEST
        if value < EARLIEST:
            raise ValueError("must not be before 2000-01-01")
        if value > latest:
            raise ValueError("must not be in the future")
        return value.astimezone(UTC)


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http:// or https:// URL")
    if any(ch.isspace() for ch in value):
        raise ValueError("must not contain spaces")
    return value


Url = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2048),
    AfterValidator(_no_control_chars),
    AfterValidator(_http_url),
]


class ProductIn(_Model):
    name: Name
    restock_days: RestockDays = None
    reorder_url: Annotated[Url | None, BeforeValidator(_blank_to_none)] = None


def check_sku(raw: str) -> str:
    """A SKU from a URL path, checked like one in a body; raises ValueError."""
    return ItemIn.model_validate({"sku": raw, "name": "-", "quantity": 1}).sku


def error_list(exc: ValidationError) -> list[dict[str, str]]:
    """pydantic's report as [{"field": "items.0.quantity", "message": ...}], one per problem."""
    out = []
    for error in exc.errors(include_url=False):
        field = ".".join(str(part) for part in error["loc"]) or "body"
        message = str(error["msg"]).removeprefix("Value error, ")
        out.append({"field": field, "message": message, "type": str(error["type"])})
    return out
