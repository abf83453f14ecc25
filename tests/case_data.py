"""Rows for the cases' property tests, written straight to the database: customers, and the
signs of a customer coming back (a rating with its stars, or a purchase) at given times."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import aiosqlite

from storage.timestamps import to_db


async def write_customers(conn: aiosqlite.Connection, ids: Iterable[int], now: datetime) -> None:
    for cid in ids:
        await conn.execute(
            "INSERT INTO customers (id, external_id, link_token, created_at) VALUES (?, ?, ?, ?)",
            (cid, f"c-{cid}", f"tok-{cid}", to_db(now)),
        )


async def write_returns(
    conn: aiosqlite.Connection, returns: Iterable[tuple[int, str, int, datetime]], now: datetime
) -> None:
    """(customer, "rating" or "purchase", stars of a rating, when) each."""
    for n, (cid, kind, stars, at) in enumerate(returns):
        if kind == "rating":
            await conn.execute(
                "INSERT INTO reviews (customer_id, created_at, status, rating, rated_at) "
                "VALUES (?, ?, 'answered', ?, ?)",
                (cid, to_db(now), stars, to_db(at)),
            )
        else:
            await conn.execute(
                "INSERT INTO orders (order_id, customer_id, purchased_at, created_at) "
                "VALUES (?, ?, ?, ?)",
                (f"O-{n}", cid, to_db(at), to_db(now)),
            )
