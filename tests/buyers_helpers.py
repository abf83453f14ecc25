"""Orders written every way the shop can (late, moved, given to another customer, deleted) and
the report's buyer counts taken from the sets of customers, the way they were first counted:
the oracle of tests/test_orders_prev.py and tests/test_buyer_steps.py."""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from datetime import datetime
from pathlib import Path

import aiosqlite

from bot.reports.buyers import BuyerCounts, buyer_counts
from bot.reports.metrics import retention_counts
from bot.reports.periods import Periods, Window
from storage.migrations import load_migrations
from storage.timestamps import to_db

CUSTOMERS = (1, 2, 3)


def schema(conn: sqlite3.Connection, created: datetime, *, below: int | None = None) -> None:
    for migration in load_migrations():
        if below is None or migration.version < below:
            conn.executescript(migration.sql)
    for c in CUSTOMERS:
        conn.execute(
            "INSERT INTO customers (id, external_id, link_token, created_at) VALUES (?, ?, ?, ?)",
            (c, f"c{c}", f"t{c}", to_db(created)),
        )


def apply(conn: sqlite3.Connection, op: tuple, n: int) -> None:  # type: ignore[type-arg]
    """("insert", customer, moment), ("move", index, moment), ("reassign", index, customer) or
    ("delete", index); an index picks one of the orders there are, if any."""
    ids = [row[0] for row in conn.execute("SELECT id FROM orders ORDER BY id")]
    if op[0] == "insert":
        conn.execute(
            "INSERT INTO orders (order_id, customer_id, purchased_at, created_at) "
            "VALUES (?, ?, ?, ?)",
            (f"o{n}", op[1], to_db(op[2]), to_db(op[2])),
        )
    elif op[0] == "move" and ids:
        conn.execute(
            "UPDATE orders SET purchased_at = ? WHERE id = ?", (to_db(op[2]), ids[op[1] % len(ids)])
        )
    elif op[0] == "reassign" and ids:
        conn.execute(
            "UPDATE orders SET customer_id = ? WHERE id = ?", (op[2], ids[op[1] % len(ids)])
        )
    elif op[0] == "delete" and ids:
        conn.execute("DELETE FROM orders WHERE id = ?", (ids[op[1] % len(ids)],))


def buyer_sets(conn: sqlite3.Connection, span: Periods) -> BuyerCounts:
    def bought(window: Window) -> set[int]:
        return {
            row[0]
            for row in conn.execute(
                "SELECT customer_id FROM orders WHERE purchased_at >= ? AND purchased_at < ?",
                (to_db(window.start), to_db(window.end)),
            )
        }

    def had_bought(window: Window) -> set[int]:
        return {
            row[0]
            for row in conn.execute(
                "SELECT customer_id FROM orders WHERE purchased_at < ?", (to_db(window.start),)
            )
        }

    before, previous, current = (
        bought(w) for w in (span.before_previous, span.previous, span.current)
    )
    return BuyerCounts(
        before=len(before),
        previous=len(previous),
        previous_retained=retention_counts(before, previous).retained,
        current=len(current),
        current_retained=retention_counts(previous, current).retained,
        previous_had_before=len(previous & had_bought(span.previous)),
        current_had_before=len(current & had_bought(span.current)),
    )


def counted(conn: sqlite3.Connection, span: Periods) -> BuyerCounts:
    """buyer_counts on a copy of `conn` (committed), read through aiosqlite as the bot reads."""

    async def read(path: Path) -> BuyerCounts:
        async with aiosqlite.connect(path) as aconn:
            return await buyer_counts(aconn, span)

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "copy.sqlite3"
        with sqlite3.connect(path) as copy:
            conn.backup(copy)
        return asyncio.run(read(path))
