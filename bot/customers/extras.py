"""What a purchase carries beyond the review and restock rules: prices, currencies, e-mails.

Written in the same transaction right after `record_purchase` / `record_batch` stored the
orders, for the orders stored now only (an order seen before keeps what it had).
"""

from __future__ import annotations

from collections.abc import Iterable

import aiosqlite

from bot.customers.formats.values import to_cents
from bot.customers.schema import PurchaseIn
from storage import customers as q


async def record_extras(conn: aiosqlite.Connection, created: Iterable[PurchaseIn]) -> None:
    money: list[tuple[int | None, str | None, str, int]] = []
    emails: dict[str, str] = {}
    for purchase in created:
        for position, item in enumerate(purchase.items):
            if item.price is not None or item.currency is not None:
                price = to_cents(item.price) if item.price is not None else None
                money.append((price, item.currency, purchase.order_id, position))
        if purchase.customer.email:
            emails[purchase.customer.id] = purchase.customer.email
    if money:
        await q.set_item_money(conn, money)
    if emails:
        await q.set_emails(conn, [(email, ext) for ext, email in emails.items()])
