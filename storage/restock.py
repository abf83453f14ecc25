"""Queries for restock reminders: the item a reminder is about, opt-outs, repurchases.

Every function takes a connection inside the caller's transaction (or read snapshot); none
commits. Cancelling queued reminders is storage/outbox.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage.outbox import RESTOCK
from storage.timestamps import from_db, to_db


@dataclass(frozen=True)
class RestockItem:
    id: int
    customer_id: int
    sku: str
    name: str
    quantity: int
    purchased_at: datetime
    reorder_url: str | None


async def restock_item(conn: aiosqlite.Connection, item_id: int) -> RestockItem | None:
    async with conn.execute(
        "SELECT i.id, o.customer_id, i.sku, i.name, i.quantity, o.purchased_at, p.reorder_url "
        "FROM order_items i JOIN orders o ON o.id = i.order_id "
        "LEFT JOIN products p ON p.sku = i.sku WHERE i.id = ?",
        (item_id,),
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return None
    return RestockItem(
        id=row["id"],
        customer_id=row["customer_id"],
        sku=row["sku"],
        name=row["name"],
        quantity=row["quantity"],
        purchased_at=from_db(row["purchased_at"]),
        reorder_url=row["reorder_url"],
    )


async def bought_again_after(
    conn: aiosqlite.Connection, customer_id: int, sku: str, after: datetime
) -> bool:
    # Driven from the customer's orders (few) rather than the SKU's items (maybe very many):
    # the unary + keeps SQLite off the order_items_sku index.
    async with conn.execute(
        "SELECT 1 FROM orders o JOIN order_items i ON i.order_id = o.id "
        "WHERE o.customer_id = ? AND o.purchased_at > ? AND +i.sku = ? LIMIT 1",
        (customer_id, to_db(after), sku),
    ) as cur:
        return await cur.fetchone() is not None


async def is_opted_out(conn: aiosqlite.Connection, customer_id: int, sku: str) -> bool:
    async with conn.execute(
        "SELECT 1 FROM restock_optouts WHERE customer_id = ? AND sku = ?", (customer_id, sku)
    ) as cur:
        return await cur.fetchone() is not None


async def restock_rows(
    conn: aiosqlite.Connection, customer_id: int, item_id: int, status: str
) -> list[datetime]:
    """Due times of the customer's restock rows for an item in a status."""
    async with conn.execute(
        "SELECT due_at FROM outbox WHERE customer_id = ? AND status = ? AND kind = ? "
        "AND ref_id = ? ORDER BY due_at",
        (customer_id, status, RESTOCK, item_id),
    ) as cur:
        return [from_db(row["due_at"]) for row in await cur.fetchall()]


async def add_optout(conn: aiosqlite.Connection, customer_id: int, sku: str, now: datetime) -> bool:
    cur = await conn.execute(
        "INSERT INTO restock_optouts (customer_id, sku, created_at) VALUES (?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        (customer_id, sku, to_db(now)),
    )
    return cur.rowcount > 0
