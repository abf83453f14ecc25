"""Each system's order JSON as the body of our purchases API.

What comes out is a plain dict (`order_id`, `customer`, `purchased_at`, `items`) for
`bot.customers.schema.PurchaseIn`; the schema does the checking, so a webhook is refused for
the same reasons and in the same words as an API call. Items without a SKU (gift cards, tips)
are left out and counted; an order left with no items is not a purchase to follow up.

The order ids and customer ids are those the system's CSV export shows, so an order that
arrives by both ways is recorded once:
- Shopify: the order `name` («#1001», the export's «Name»); the customer by e-mail, else
  phone (the export has no customer id).
- WooCommerce: the order `id`; the customer's `customer_id`, or for a guest (0) the e-mail,
  else the phone.
- RetailCRM: `externalId` (the shop's own number), else `number`, else `id`; the customer's
  `externalId`, else the e-mail, else the phone (orders typed in by hand have none).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from datetime import tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs

from bot.customers.formats.rows import guest_id
from bot.customers.formats.values import CellProblem, normalize_email, parse_when
from bot.texts import N_


class NotAnOrder(ValueError):
    """The body is not an order of that system: an English msgid and its parameters."""

    def __init__(self, msgid: str, **params: Any) -> None:
        super().__init__(msgid.format(**params))
        self.msgid = msgid
        self.params = params


@dataclass
class Mapped:
    body: dict[str, Any] | None  # None: nothing to record (every item lacked a SKU)
    skipped_items: int = 0
    warnings: list[str] = field(default_factory=list)


def _text(value: Any) -> str:
    if value is None or isinstance(value, (dict, list)):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _first_text(*values: Any) -> str:
    """The first of the values that is a non-empty text (a shop fills one of several fields)."""
    return next((t for t in map(_text, values) if t), "")


def _money(value: Any) -> str | None:
    text = _text(value)
    if not text:
        return None
    try:
        Decimal(text)
    except InvalidOperation:
        return text  # the schema refuses it with a message naming the field
    return text


def _number(value: Any) -> Any:
    # Quantities arrive as 2, 2.0 or "2"; the schema takes numbers and decimal strings.
    return (
        value if isinstance(value, (int, float)) and not isinstance(value, bool) else _text(value)
    )


def _email(value: Any) -> str | None:
    try:
        return normalize_email(_text(value))
    except CellProblem:
        return None  # a broken e-mail is dropped, the order still counts


def _customer(
    *,
    ext_id: str,
    email: str | None,
    phone: str,
    name: str,
    order_id: str,
    phone_key: Any,
) -> dict[str, Any]:
    key = None
    if phone:
        try:
            key = phone_key(phone)
        except ValueError:
            # «555-555-SHIP» (Shopify's sample) or a foreign number: dropped, like a broken
            # e-mail; the order still counts.
            key = None
    return {
        "id": ext_id or guest_id(email, key, order_id),
        "phone": key,
        "name": name or None,
        "email": email,
    }


def _finish(order: dict[str, Any], items: list[dict[str, Any]], skipped: int) -> Mapped:
    if not items:
        return Mapped(None, skipped)
    order["items"] = items
    return Mapped(order, skipped)


def shopify(payload: Any, phone_key: Any) -> Mapped:
    if not isinstance(payload, dict) or not isinstance(payload.get("line_items"), list):
        raise NotAnOrder(N_("this is not a Shopify order: no line_items"))
    order_id = (
        _text(payload.get("name")) or _text(payload.get("order_number")) or _text(payload.get("id"))
    )
    customer = payload.get("customer") if isinstance(payload.get("customer"), dict) else {}
    billing = (
        payload.get("billing_address") if isinstance(payload.get("billing_address"), dict) else {}
    )
    shipping = (
        payload.get("shipping_address") if isinstance(payload.get("shipping_address"), dict) else {}
    )
    email = (
        _email(payload.get("email"))
        or _email(payload.get("contact_email"))
        or _email(customer.get("email"))
    )
    phone = _first_text(
        payload.get("phone"), customer.get("phone"), billing.get("phone"), shipping.get("phone")
    )
    name = _text(billing.get("name")) or " ".join(
        p for p in (_text(customer.get("first_name")), _text(customer.get("last_name"))) if p
    )
    currency = _text(payload.get("currency")) or None
    items, skipped = [], 0
    for line in payload["line_items"]:
        if not isinstance(line, dict):
            continue
        sku = _text(line.get("sku"))
        if not sku or line.get("gift_card") is True:
            skipped += 1
            continue
        items.append(
            {
                "sku": sku,
                "name": _text(line.get("name")) or _text(line.get("title")) or sku,
                "quantity": _number(line.get("quantity")),
                "price": _money(line.get("price")),
                "currency": currency,
            }
        )
    order = {
        "order_id": order_id,
        "customer": _customer(
            ext_id="", email=email, phone=phone, name=name, order_id=order_id, phone_key=phone_key
        ),
        "purchased_at": _text(payload.get("created_at")) or _text(payload.get("processed_at")),
    }
    return _finish(order, items, skipped)


def woocommerce(payload: Any, phone_key: Any, local: tzinfo) -> Mapped:
    if not isinstance(payload, dict) or not isinstance(payload.get("line_items"), list):
        raise NotAnOrder(N_("this is not a WooCommerce order: no line_items"))
    order_id = _text(payload.get("id")) or _text(payload.get("number"))
    billing = payload.get("billing") if isinstance(payload.get("billing"), dict) else {}
    customer_id = _text(payload.get("customer_id"))
    email = _email(billing.get("email"))
    phone = _text(billing.get("phone"))
    name = " ".join(
        p for p in (_text(billing.get("first_name")), _text(billing.get("last_name"))) if p
    )
    # date_created is the site's local time without an offset; date_created_gmt is UTC.
    gmt = _text(payload.get("date_created_gmt"))
    local_text = _text(payload.get("date_created"))
    if gmt:
        purchased_at = parse_when(gmt + "Z", local).at.isoformat()
    elif local_text:
        purchased_at = parse_when(local_text, local).at.isoformat()
    else:
        purchased_at = ""
    currency = _text(payload.get("currency")) or None
    items, skipped = [], 0
    for line in payload["line_items"]:
        if not isinstance(line, dict):
            continue
        sku = _text(line.get("sku")) or _text(line.get("product_id"))
        if not sku or sku == "0":
            skipped += 1
            continue
        price = _money(line.get("price"))
        items.append(
            {
                "sku": sku,
                "name": _text(line.get("name")) or sku,
                "quantity": _number(line.get("quantity")),
                "price": price,
                "currency": currency,
            }
        )
    order = {
        "order_id": order_id,
        "customer": _customer(
            ext_id="" if customer_id in ("", "0") else customer_id,
            email=email,
            phone=phone,
            name=name,
            order_id=order_id,
            phone_key=phone_key,
        ),
        "purchased_at": purchased_at,
    }
    return _finish(order, items, skipped)


def retailcrm_body(raw: bytes, content_type: str) -> Any:
    """The order a RetailCRM trigger sent: JSON (`{"order": …}` or the order), or a form with
    an `order` field holding that JSON."""
    text = raw.decode("utf-8")
    if "form" in content_type:
        fields = parse_qs(text, keep_blank_values=True)
        if "order" not in fields:
            raise NotAnOrder(N_("the form has no order field"))
        text = fields["order"][0]
    payload = json.loads(text)
    if isinstance(payload, dict) and isinstance(payload.get("order"), dict):
        return payload["order"]
    return payload


def retailcrm(payload: Any, phone_key: Any, local: tzinfo) -> Mapped:
    if not isinstance(payload, dict) or not isinstance(payload.get("items"), list):
        raise NotAnOrder(N_("this is not a RetailCRM order: no items"))
    order_id = (
        _text(payload.get("externalId")) or _text(payload.get("number")) or _text(payload.get("id"))
    )
    customer = payload.get("customer") if isinstance(payload.get("customer"), dict) else {}
    phones = customer.get("phones") if isinstance(customer.get("phones"), list) else []
    phone = _text(payload.get("phone")) or next(
        (_text(p.get("number")) for p in phones if isinstance(p, dict) and _text(p.get("number"))),
        "",
    )
    email = _email(payload.get("email")) or _email(customer.get("email"))
    name = " ".join(
        p
        for p in (
            _text(payload.get("firstName")) or _text(customer.get("firstName")),
            _text(payload.get("lastName")) or _text(customer.get("lastName")),
        )
        if p
    )
    created = _text(payload.get("createdAt"))
    try:
        # RetailCRM writes «2017-07-15 14:23:38», the account's local time, without an offset.
        purchased_at = parse_when(created, local).at.isoformat() if created else ""
    except CellProblem:
        purchased_at = created  # refused by the schema, naming purchased_at
    currency = _text(payload.get("currency")) or None
    items, skipped = [], 0
    for line in payload["items"]:
        if not isinstance(line, dict):
            continue
        offer = line.get("offer") if isinstance(line.get("offer"), dict) else {}
        sku = _first_text(
            offer.get("article"), offer.get("externalId"), offer.get("xmlId"), offer.get("id")
        )
        if not sku:
            skipped += 1
            continue
        price = _money(line.get("initialPrice"))
        discount = _money(line.get("discountTotal"))
        if price is not None and discount is not None:
            with contextlib.suppress(InvalidOperation):
                price = str(max(Decimal(price) - Decimal(discount), Decimal(0)))
        items.append(
            {
                "sku": sku,
                "name": _text(line.get("productName")) or _text(offer.get("name")) or sku,
                "quantity": _number(line.get("quantity")),
                "price": price,
                "currency": currency,
            }
        )
    order = {
        "order_id": order_id,
        "customer": _customer(
            ext_id=_text(customer.get("externalId")),
            email=email,
            phone=phone,
            name=name,
            order_id=order_id,
            phone_key=phone_key,
        ),
        "purchased_at": purchased_at,
    }
    return _finish(order, items, skipped)
