"""Which column is which: a shop's own header, read by synonyms or by a system's preset.

Four formats: `generic` (our column names, or the usual Russian and English names for them),
`shopify` (Admin → Orders → Export), `woocommerce` (the «Order Export & Order Import for
WooCommerce» plugin: one row per order, items packed into `line_item_N` cells) and
`retailcrm` (its order JSON; a RetailCRM CSV reads as generic). `detect` picks one from the
header alone; the operator can name one with `--format`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.texts import N_

FORMATS = ("auto", "generic", "shopify", "woocommerce", "retailcrm")

ORDER_FIELDS = (
    "order_id",
    "customer_id",
    "phone",
    "email",
    "name",
    "first_name",
    "last_name",
    "purchased_at",
    "currency",
)
ITEM_FIELDS = ("sku", "item_name", "quantity", "price", "restock_days")
FIELDS = ORDER_FIELDS + ITEM_FIELDS

# How each field is called in the wild, after `normalize`. Our own names come first.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "order_id": (
        "order_id",
        "order id",
        "order",
        "order number",
        "order no",
        "order #",
        "номер заказа",
        "№ заказа",
        "заказ",
        "номер",
        "id заказа",
        "заказ №",
    ),
    "customer_id": (
        "customer_id",
        "customer id",
        "client id",
        "client_id",
        "код клиента",
        "id клиента",
        "клиент id",
        "номер клиента",
        "код покупателя",
    ),
    "phone": (
        "phone",
        "telephone",
        "phone number",
        "mobile",
        "телефон",
        "тел",
        "номер телефона",
        "мобильный телефон",
        "телефон клиента",
    ),
    "email": ("email", "e-mail", "mail", "почта", "эл почта", "электронная почта"),
    "name": (
        "name",
        "customer",
        "customer name",
        "client",
        "client name",
        "фио",
        "имя",
        "покупатель",
        "клиент",
        "имя клиента",
        "фио клиента",
    ),
    "first_name": ("first name", "first_name", "имя покупателя"),
    "last_name": ("last name", "last_name", "фамилия"),
    "purchased_at": (
        "purchased_at",
        "date",
        "order date",
        "created at",
        "purchase date",
        "created",
        "дата заказа",
        "дата",
        "дата покупки",
        "дата создания",
        "время заказа",
        "дата и время",
    ),
    "currency": ("currency", "валюта"),
    "sku": ("sku", "article", "артикул", "код товара", "артикул товара"),
    "item_name": (
        "item_name",
        "item",
        "product",
        "product name",
        "item name",
        "наименование",
        "товар",
        "название",
        "название товара",
        "наименование товара",
    ),
    "quantity": ("quantity", "qty", "кол-во", "количество", "кол во", "шт"),
    "price": ("price", "unit price", "цена", "цена за единицу", "цена за шт", "стоимость"),
    "restock_days": (
        "restock_days",
        "restock days",
        "срок пополнения",
        "дней до пополнения",
    ),
}

# Published headers of each system (see tests/fixtures/shops/SOURCES.md). A field lists the
# columns that can hold it, best first; the first non-blank one in a row wins.
SHOPIFY: dict[str, tuple[str, ...]] = {
    "order_id": ("Name",),  # the order number, «#1001»; «Id» is Shopify's internal id
    "email": ("Email",),
    "phone": ("Phone", "Billing Phone", "Shipping Phone"),
    "name": ("Billing Name", "Shipping Name"),
    "purchased_at": ("Created at", "Paid at"),
    "currency": ("Currency",),
    "sku": ("Lineitem sku",),
    "item_name": ("Lineitem name",),
    "quantity": ("Lineitem quantity",),
    "price": ("Lineitem price",),
}
WOOCOMMERCE: dict[str, tuple[str, ...]] = {
    "order_id": ("order_id", "order_number"),
    "customer_id": ("customer_id", "customer_user"),
    "email": ("billing_email", "customer_email"),
    "phone": ("billing_phone", "shipping_phone"),
    "first_name": ("billing_first_name", "shipping_first_name"),
    "last_name": ("billing_last_name", "shipping_last_name"),
    "purchased_at": ("order_date", "paid_date"),
    "currency": ("order_currency",),
}
_LINE_ITEM = re.compile(r"^line_item_(\d+)$", re.IGNORECASE)
_PRODUCT_ITEM = re.compile(r"^product item (\d+) (name|id|sku|quantity|total|subtotal)$", re.I)
PRESETS = {"shopify": SHOPIFY, "woocommerce": WOOCOMMERCE}

REQUIRED = ("order_id", "purchased_at")
_CURRENCY_HINTS = {
    "руб": "RUB",
    "₽": "RUB",
    "rub": "RUB",
    "usd": "USD",
    "$": "USD",
    "eur": "EUR",
    "€": "EUR",
}


def normalize(header: str) -> str:
    """Lower case, ё as е, single spaces, no trailing dot or colon, no «, руб.» tail."""
    text = " ".join(header.replace("\ufeff", "").split()).lower().replace("ё", "е")
    return text.rstrip(".:").strip()


def _base(header: str) -> str:
    # «Цена, руб.» and «Цена (руб)» are «цена»; «Кол-во, шт» is «кол-во».
    return re.split(r"[,(]", normalize(header), maxsplit=1)[0].strip().rstrip(".")


def _currency_hint(header: str) -> str | None:
    tail = normalize(header)[len(_base(header)) :]
    for mark, code in _CURRENCY_HINTS.items():
        if mark in tail:
            return code
    return None


class UnreadableHeader(Exception):
    """The header cannot be mapped: an English msgid and its parameters."""

    def __init__(self, msgid: str, **params: Any) -> None:
        super().__init__(msgid.format(**params))
        self.msgid = msgid
        self.params = params


@dataclass(frozen=True)
class Mapping:
    """Where each field is in the file: column indexes, best first."""

    format: str
    headers: tuple[str, ...]
    columns: dict[str, tuple[int, ...]]
    line_items: tuple[int, ...] = ()  # WooCommerce `line_item_N` cells
    product_items: tuple[dict[str, int], ...] = ()  # WooCommerce «Product Item N …» groups
    unknown: tuple[str, ...] = ()
    default_currency: str | None = None
    notes: tuple[str, ...] = field(default=())

    def header(self, name: str) -> str:
        """The file's own name of a field's (first) column, for messages."""
        indexes = self.columns.get(name)
        return self.headers[indexes[0]] if indexes else name

    @property
    def has_items(self) -> bool:
        return "sku" in self.columns or bool(self.line_items) or bool(self.product_items)


def _examples(name: str) -> str:
    """A few English and Russian names of a field, for a refusal."""
    names = SYNONYMS[name]
    latin = [n for n in names if n.isascii()][:3]
    cyrillic = [n for n in names if not n.isascii()][:3]
    return ", ".join(f"«{n}»" for n in latin + cyrillic)


def detect(headers: list[str]) -> str:
    """shopify, woocommerce or generic, from the header row alone."""
    names = {normalize(h) for h in headers}
    if "lineitem sku" in names or {"name", "lineitem name"} <= names:
        return "shopify"
    if any(_LINE_ITEM.match(n) for n in names) or {"billing_first_name", "order_date"} <= names:
        return "woocommerce"
    if any(_PRODUCT_ITEM.match(n) for n in names):
        return "woocommerce"
    return "generic"


def map_header(headers: list[str], fmt: str = "auto") -> Mapping:
    """The columns of each field; raises UnreadableHeader naming what is missing."""
    if fmt not in FORMATS:
        raise UnreadableHeader(N_("unknown format {format}"), format=fmt)
    chosen = detect(headers) if fmt in ("auto", "retailcrm") else fmt
    names = [normalize(h) for h in headers]
    columns: dict[str, list[int]] = {}
    used: set[int] = set()
    line_items: list[int] = []
    product: dict[int, dict[str, int]] = {}

    preset = PRESETS.get(chosen)
    if preset is not None:
        for name, candidates in preset.items():
            for candidate in candidates:
                key = normalize(candidate)
                for index, have in enumerate(names):
                    if have == key and index not in used:
                        columns.setdefault(name, []).append(index)
                        used.add(index)
    if chosen == "woocommerce":
        for index, have in enumerate(names):
            if _LINE_ITEM.match(have):
                line_items.append(index)
                used.add(index)
            elif match := _PRODUCT_ITEM.match(have):
                product.setdefault(int(match.group(1)), {})[match.group(2).lower()] = index
                used.add(index)
    default_currency = None
    if chosen == "generic":
        for index, header in enumerate(headers):
            for candidate in (names[index], _base(header)):
                name = next((f for f, syn in SYNONYMS.items() if candidate in syn), None)
                if name is None:
                    continue
                if name in columns:
                    raise UnreadableHeader(
                        N_("the header has two columns for {field}: «{first}» and «{second}»"),
                        field=name,
                        first=headers[columns[name][0]],
                        second=header,
                    )
                columns[name] = [index]
                used.add(index)
                if name == "price":
                    default_currency = _currency_hint(header)
                break

    missing = [f for f in REQUIRED if f not in columns]
    if "sku" not in columns and not line_items and not product:
        missing.append("sku")
    if missing:
        raise UnreadableHeader(
            N_(
                "the header has no column for {missing} (format {format}; "
                "accepted names: {accepted})"
            ),
            missing=", ".join(missing),
            format=chosen,
            accepted="; ".join(f"{f}: {_examples(f)}" for f in missing),
        )
    unknown = tuple(h for i, h in enumerate(headers) if i not in used and h.strip())
    return Mapping(
        format=chosen,
        headers=tuple(headers),
        columns={k: tuple(v) for k, v in columns.items()},
        line_items=tuple(line_items),
        product_items=tuple(product[n] for n in sorted(product)),
        unknown=unknown,
        default_currency=default_currency,
    )
