"""What a purchase carries beyond its order and items: the customer's e-mail.

Written in the same transaction right after `record_purchase` / `record_batch` stored the
orders, for the orders stored now only (an order seen before keeps what it had). Prices and
currencies go in with their items (`purchases.item_money`).
"""

from __future__ import annotations

from collections.abc import Iterable

import aiosqlite

from bot.customers.schema import PurchaseIn
from storage import customers as q


async def record_extras(conn: aiosqlite.Connection, created: Iterable[PurchaseIn]) -> None:
    emails: dict[str, str] = {}
    for purchase in created:
        if purchase.customer.email:
            emails[purchase.customer.id] = purchase.customer.email
    if emails:
        await q.set_emails(conn, [(email, ext) for ext, email in emails.items()])
