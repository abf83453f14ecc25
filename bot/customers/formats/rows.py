"""Rows of a shop's file into orders: fill-down, packed items, guests, skipped lines.

`assemble(mapping, rows, local_tz, phone_key)` takes the header mapping and the data rows as
`(line, cells)` and returns plain drafts of orders with every cell already read (dates,
quantities, prices), the problems found (each naming its line and the file's own column), and
what was skipped. It never touches a database: the CSV import checks the drafts against the
purchase schema and records them.

Rules, from what real exports do:
- Order-level cells (customer, date, phone, …) are often written only on an order's first line
  (Shopify) or on every line; a blank one takes the order's value, a different one is refused.
- A line without a SKU (Shopify's gift cards, tips, shipping lines) is skipped and counted.
- A row without a customer id (Shopify has none; WooCommerce guests have 0) is a guest: known
  by e-mail, else by phone, else by the order alone. Two guests are never one customer unless
  they share that e-mail or phone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import tzinfo
from decimal import ROUND_HALF_UP, Decimal

from bot.customers.formats.headers import Mapping
from bot.customers.formats.values import (
    CellProblem,
    When,
    normalize_email,
    parse_price,
    parse_quantity,
    parse_when,
)
from bot.texts import N_

GUEST_PHONE_PREFIX = "tel:"
GUEST_ORDER_PREFIX = "order:"
# WooCommerce writes 0 as the customer of a guest order.
NO_CUSTOMER = frozenset({"", "0", "guest", "гость"})


@dataclass(frozen=True)
class CellError:
    line: int
    column: str  # the file's own header, or "" for the row as a whole
    problem: CellProblem


@dataclass
class ItemDraft:
    line: int
    sku: str
    name: str
    quantity: Decimal
    price: Decimal | None = None
    currency: str | None = None
    restock_days: str = ""


@dataclass
class OrderDraft:
    line: int
    order_id: str
    customer_id: str
    guest: bool
    when: When
    phone: str | None = None
    email: str | None = None
    name: str | None = None
    currency: str | None = None
    items: list[ItemDraft] = field(default_factory=list)


@dataclass
class Assembled:
    orders: list[OrderDraft]
    errors: list[CellError]
    skipped_no_sku: list[int]  # lines
    rows: int
    naive_times: int  # orders whose time had no offset (read in TIMEZONE)
    guests: int


def guest_id(email: str | None, phone: str | None, order_id: str) -> str:
    """The customer id of a guest: the e-mail, else tel:+7…, else the order itself."""
    if email:
        return email
    if phone:
        return GUEST_PHONE_PREFIX + phone
    return GUEST_ORDER_PREFIX + order_id


def _first(cells: list[str], indexes: tuple[int, ...]) -> tuple[str, int | None]:
    for index in indexes:
        if index < len(cells) and cells[index].strip():
            return cells[index].strip(), index
    return "", indexes[0] if indexes else None


def _packed(cell: str) -> dict[str, str]:
    # WooCommerce's `name:Чай улун|product_id:22|sku:TEA|quantity:2|total:600.00|…`
    out: dict[str, str] = {}
    for part in cell.split("|"):
        key, sep, value = part.partition(":")
        if sep:
            out[key.strip().lower()] = value.strip()
    return out


@dataclass
class _Row:
    line: int
    cells: list[str]


def assemble(
    mapping: Mapping,
    rows: Iterable[tuple[int, list[str]]],
    local: tzinfo,
    phone_key: Callable[[str], str],
) -> Assembled:
    """Drafts of every order in the rows; `phone_key` normalises a phone or raises ValueError."""
    orders: dict[str, OrderDraft] = {}
    errors: list[CellError] = []
    skipped: list[int] = []
    count = 0
    previous_order: str | None = None
    cols = mapping.columns

    def header_of(index: int | None, name: str) -> str:
        return mapping.headers[index] if index is not None else mapping.header(name)

    for line, cells in rows:
        count += 1
        row_errors: list[CellError] = []

        def cell(name: str, cells: list[str] = cells) -> tuple[str, int | None]:
            return _first(cells, cols.get(name, ()))

        order_id, order_index = cell("order_id")
        if not order_id:
            if previous_order is None:
                row_errors.append(
                    CellError(line, mapping.header("order_id"), CellProblem(N_("is empty")))
                )
                errors.extend(row_errors)
                continue
            order_id = previous_order  # a continuation line that leaves the number blank
        if len(order_id) > 64:
            errors.append(
                CellError(
                    line,
                    header_of(order_index, "order_id"),
                    CellProblem(N_("is longer than 64 characters")),
                )
            )
            continue
        previous_order = order_id
        order = orders.get(order_id)

        # --- order-level cells: read, then compared with the order's first line
        when_text, when_index = cell("purchased_at")
        when: When | None = None
        if when_text:
            try:
                when = parse_when(when_text, local)
            except CellProblem as problem:
                row_errors.append(CellError(line, header_of(when_index, "purchased_at"), problem))
        elif order is None:
            row_errors.append(
                CellError(line, header_of(when_index, "purchased_at"), CellProblem(N_("is empty")))
            )

        email_text, email_index = cell("email")
        email = None
        if email_text:
            try:
                email = normalize_email(email_text)
            except CellProblem as problem:
                row_errors.append(CellError(line, header_of(email_index, "email"), problem))

        phone_text, phone_index = cell("phone")
        phone = None
        if phone_text:
            try:
                phone = phone_key(phone_text)
            except ValueError as exc:
                row_errors.append(
                    CellError(
                        line,
                        header_of(phone_index, "phone"),
                        CellProblem(
                            N_("is not a phone number: «{value}» ({reason})"),
                            {"value": phone_text, "reason": str(exc)},
                        ),
                    )
                )

        name, _ = cell("name")
        if not name:
            first, _ = cell("first_name")
            last, _ = cell("last_name")
            name = " ".join(p for p in (first, last) if p)
        currency, _ = cell("currency")
        currency = currency.upper() or None
        customer_text, customer_index = cell("customer_id")
        customer = "" if customer_text.lower() in NO_CUSTOMER else customer_text

        # --- items of this line
        items = _items(mapping, line, cells, currency, row_errors, skipped)

        if row_errors:
            errors.extend(row_errors)
            continue
        if order is None:
            assert when is not None
            guest = not customer
            orders[order_id] = OrderDraft(
                line=line,
                order_id=order_id,
                customer_id=customer or guest_id(email, phone, order_id),
                guest=guest,
                when=when,
                phone=phone,
                email=email,
                name=name or None,
                currency=currency,
                items=items,
            )
            continue
        # A later line of a known order: blanks take the order's values, others must agree.
        mismatch = []
        if customer and not order.guest and customer != order.customer_id:
            mismatch.append(header_of(customer_index, "customer_id"))
        if customer and order.guest:
            mismatch.append(header_of(customer_index, "customer_id"))
        if when is not None and when.at != order.when.at:
            mismatch.append(header_of(when_index, "purchased_at"))
        if mismatch:
            errors.append(
                CellError(
                    line,
                    mismatch[0],
                    CellProblem(
                        N_("differs from line {first} of the same order {order}"),
                        {"first": order.line, "order": order_id},
                    ),
                )
            )
            continue
        order.phone = order.phone or phone
        order.email = order.email or email
        order.name = order.name or name or None
        order.currency = order.currency or currency
        order.items.extend(items)

    finished = [o for o in orders.values() if o.items]
    for order in finished:
        for item in order.items:  # a later line's blank currency is the order's
            item.currency = item.currency or order.currency or mapping.default_currency
    # An order all of whose lines had no SKU (a gift card alone) is not a purchase to follow up.
    return Assembled(
        orders=finished,
        errors=sorted(errors, key=lambda e: e.line),
        skipped_no_sku=skipped,
        rows=count,
        naive_times=sum(1 for o in finished if o.when.naive),
        guests=sum(1 for o in finished if o.guest),
    )


def _items(
    mapping: Mapping,
    line: int,
    cells: list[str],
    currency: str | None,
    errors: list[CellError],
    skipped: list[int],
) -> list[ItemDraft]:
    cols = mapping.columns
    out: list[ItemDraft] = []

    def read(
        sku: str, name: str, qty_text: str, qty_col: str, price: Decimal | None, restock: str = ""
    ) -> None:
        if not sku:
            skipped.append(line)
            return
        try:
            quantity = parse_quantity(qty_text) if qty_text else Decimal(1)
        except CellProblem as problem:
            errors.append(CellError(line, qty_col, problem))
            return
        out.append(
            ItemDraft(
                line=line,
                sku=sku,
                name=name or sku,
                quantity=quantity,
                price=price,
                currency=currency or mapping.default_currency,
                restock_days=restock,
            )
        )

    def price_of(text: str, column: str) -> tuple[Decimal | None, bool]:
        try:
            return parse_price(text), True
        except CellProblem as problem:
            errors.append(CellError(line, column, problem))
            return None, False

    if "sku" in cols:
        sku, _ = _first(cells, cols["sku"])
        name, _ = _first(cells, cols.get("item_name", ()))
        qty, _ = _first(cells, cols.get("quantity", ()))
        price_text, _ = _first(cells, cols.get("price", ()))
        restock, _ = _first(cells, cols.get("restock_days", ()))
        price, ok = price_of(price_text, mapping.header("price"))
        if ok:
            read(sku, name, qty, mapping.header("quantity"), price, restock)
    for index in mapping.line_items:
        packed = cells[index].strip() if index < len(cells) else ""
        if not packed:
            continue
        fields = _packed(packed)
        column = mapping.headers[index]
        # WooCommerce products without a SKU are still one product: its product id.
        sku = fields.get("sku") or fields.get("product_id", "")
        sku = "" if sku == "0" else sku
        price, ok = _unit_price(fields.get("total", ""), fields.get("quantity", ""))
        if not ok:
            errors.append(
                CellError(
                    line,
                    column,
                    CellProblem(
                        N_("is not an amount of money: «{value}»"),
                        {"value": fields.get("total", "")},
                    ),
                )
            )
            continue
        read(sku, fields.get("name", ""), fields.get("quantity", ""), column, price)
    for group in mapping.product_items:

        def get(key: str, group: dict[str, int] = group) -> str:
            index = group.get(key)
            return cells[index].strip() if index is not None and index < len(cells) else ""

        if not any(get(k) for k in ("name", "id", "sku")):
            continue
        sku = get("sku") or get("id")
        price, ok = _unit_price(get("total"), get("quantity"))
        column = mapping.headers[group.get("quantity", group.get("name", 0))]
        if not ok:
            errors.append(
                CellError(
                    line,
                    column,
                    CellProblem(
                        N_("is not an amount of money: «{value}»"), {"value": get("total")}
                    ),
                )
            )
            continue
        read(sku, get("name"), get("quantity"), column, price)
    return out


def _unit_price(total_text: str, quantity_text: str) -> tuple[Decimal | None, bool]:
    """A line total and its quantity as a unit price (WooCommerce gives totals)."""
    try:
        total = parse_price(total_text)
    except CellProblem:
        return None, False
    if total is None:
        return None, True
    try:
        quantity = parse_quantity(quantity_text) if quantity_text else Decimal(1)
    except CellProblem:
        return None, True  # the quantity's own problem is reported by the item
    return (total / quantity).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), True
