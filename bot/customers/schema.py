"""What a shop sends: pydantic models shared by the HTTP API (JSON) and the CSV import (text cells).

JSON bodies are validated strictly (a quantity of "2" or true is refused: a shop system that
sends those has a bug worth hearing about); CSV cells are read by bot.customers.formats and the
shop systems' webhooks are validated in lax mode. Either way a refusal names the field and says
why. Purchases may carry fields of their own: they are ignored (`unknown_fields` names them for
the API's warnings), where a product's body is still refused for one.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta
from decimal import Decimal
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

from bot.customers.formats.values import CellProblem, normalize_email, parse_price
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
    # isprintable() is False for every Cc and Cf character (and for some harmless ones, which
    # the loop then lets through): one C call for the usual text instead of a loop per character.
    if value.isprintable():
        return value
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


class _Lenient(_Model):
    # Shop systems add fields of their own (a colour, a discount code): a purchase is not
    # refused for them. `unknown_fields` lists them, and the API answers them as warnings.
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)


def _price(value: Any) -> Any:
    """A price as JSON sends it (199, 199.5, "199.00", "1 190,50") to hundredths; None for none."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError("must be a number")
    if isinstance(value, (int, float, Decimal)):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError("must be a number")
    try:
        return parse_price(value)
    except CellProblem as exc:
        raise ValueError(str(exc)) from None


def _currency(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip().upper() or None
    return value


def _email(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return normalize_email(value)
    except CellProblem as exc:
        raise ValueError(str(exc)) from None


Price = Annotated[Decimal | None, BeforeValidator(_price)]
Currency = Annotated[
    Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None, BeforeValidator(_currency)
]
Email = Annotated[str | None, BeforeValidator(_email)]


class CustomerIn(_Lenient):
    id: Id
    phone: Annotated[str | None, BeforeValidator(_blank_to_none)] = None
    name: OptionalName = None
    email: Email = None

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return to_e164(value)
        except InvalidPhone as exc:
            raise ValueError(str(exc)) from None


class ItemIn(_Lenient):
    sku: Id
    name: Name
    # Goods by weight come in fractions (0.5 kg); whole numbers stay whole in SQLite.
    quantity: float = Field(gt=0, le=MAX_QUANTITY, allow_inf_nan=False)
    restock_days: RestockDays = None
    price: Price = None  # per unit
    currency: Currency = None

    @field_validator("quantity")
    @classmethod
    def _whole_when_whole(cls, value: float) -> float:
        return int(value) if float(value).is_integer() else value


class PurchaseIn(_Lenient):
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


def unknown_fields(raw: Any) -> list[str]:
    """The fields of a purchase body that the schema does not know (ignored), as dotted paths."""
    out: list[str] = []
    if not isinstance(raw, dict):
        return out
    out += [k for k in raw if k not in PurchaseIn.model_fields]
    customer = raw.get("customer")
    if isinstance(customer, dict):
        out += [f"customer.{k}" for k in customer if k not in CustomerIn.model_fields]
    items = raw.get("items")
    if isinstance(items, list):
        for n, item in enumerate(items):
            if isinstance(item, dict):
                out += [f"items.{n}.{k}" for k in item if k not in ItemIn.model_fields]
    return out


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
