"""Folding the money section's per-day totals (money_days, migration 0015) for the days written
since the last fold (money_dirty).

A write to an order or an item only notes its UTC day (a trigger, one INSERT OR IGNORE); the
arithmetic — each order's revenue summed over its items in a candidate main currency and rounded
half to even as a whole — happens here, when a report is about to be read, with the same SQL
expressions the report uses over the orders (bot/reports/money.py). The report counts a dirty day
from the orders, so its figures are the same whether or not a fold ran; folding only keeps the
part counted from the orders down to a period's two partial edge days. Kept this way rather than
by triggers doing the rounding incrementally: an order's ingest pays for a day marker, not for the
totals, and a day's totals are recomputed from its rows instead of patched by deltas.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import aiosqlite

from bot.reports.money import ATTRIBUTED_KINDS, _item_revenue, _round, _rows, counts_for

# Per order of the days: whether it counts for each kind of message; per day and currency: the
# sums of the rounded revenue of those that do (the report's ATTRIBUTED_SUMS, by order).
_FLAGS = ", ".join(f"{counts_for(kind)} AS {name}" for name, kind in ATTRIBUTED_KINDS)
_SUMS = ", ".join(
    f"TOTAL(CASE WHEN f.{name} THEN {_round('exact')} END) AS {name}"
    for name, _ in ATTRIBUTED_KINDS
)

# For every given day: the orders of its range with their items (an order without items once,
# with NULLs), the candidate main currencies (every currency a priced item names, and '' for any
# other), and per order and candidate the revenue as the report's period query sums it; only the
# orders with items count, those without are the row ''s `bare`. `odd`: a priced item whose
# currency is the empty text, which counts in the main currency '' but not in one the day does not
# name, so the row '' cannot stand for both (the day stays dirty).
_FOLD = f"""
    WITH d AS MATERIALIZED (
        SELECT value AS day, value || 'T00:00:00.000000Z' AS lo,
               date(value, '+1 day') || 'T00:00:00.000000Z' AS hi
        FROM json_each(:days)
    ), i AS MATERIALIZED (
        SELECT d.day, o.id, oi.order_id AS item_of, oi.price_cents, oi.quantity, oi.currency
        FROM d JOIN orders o ON o.purchased_at >= d.lo AND o.purchased_at < d.hi
        LEFT JOIN order_items oi ON oi.order_id = o.id
    ), c AS MATERIALIZED (
        SELECT DISTINCT day, '' AS cur FROM i
        UNION
        SELECT DISTINCT day, currency FROM i WHERE price_cents IS NOT NULL AND currency IS NOT NULL
    ), per AS MATERIALIZED (
        SELECT c.day, c.cur, oi.id, COUNT(oi.item_of) AS items,
               SUM({_item_revenue("c.cur")}) AS exact,
               MAX(oi.currency = '' AND oi.price_cents IS NOT NULL) AS odd
        FROM c JOIN i AS oi ON oi.day = c.day
        GROUP BY c.day, c.cur, oi.id
    ), f AS MATERIALIZED (
        SELECT DISTINCT o.id, {_FLAGS}
        FROM d JOIN orders o ON o.purchased_at >= d.lo AND o.purchased_at < d.hi
    )
    SELECT day, cur, TOTAL(items > 0) AS orders, COUNT(exact) AS priced,
           TOTAL({_round("exact")}) AS revenue, TOTAL(exact) AS exact, TOTAL(items = 0) AS bare,
           MAX(odd) AS odd,
           {_SUMS}
    FROM per JOIN f ON f.id = per.id GROUP BY day, cur
"""

# Days folded by one call at most, the newest first (those the usual periods read): a bulk import
# of a shop's history marks every day at once, and folding it all would hold the write lock for
# seconds (2 s for 730 days of 275 orders). The days left are counted from the orders until later
# reports fold them.
MAX_DAYS = 62


async def fold_money_days(
    conn: aiosqlite.Connection, now: datetime, max_days: int | None = MAX_DAYS
) -> int:
    """Recompute money_days for the newest `max_days` (None: all) dirty days before the UTC day
    of `now` and clear their markers; returns how many days were folded. Run inside a write
    transaction.

    The current UTC day is left alone: it is the partial last day of every period ending now,
    always counted from the orders, and written to all day long.
    """
    today = now.astimezone(UTC).date().isoformat()
    days = [
        r["day"]
        for r in await _rows(
            conn,
            "SELECT day FROM money_dirty WHERE day < ? ORDER BY day DESC LIMIT ?",
            (today, -1 if max_days is None else max_days),
        )
    ]
    if not days:
        return 0
    every = json.dumps(days)
    rows = await _rows(conn, _FOLD, {"days": every})
    odd = {r["day"] for r in rows if r["odd"]}
    await conn.execute(
        "DELETE FROM money_days WHERE day IN (SELECT value FROM json_each(?))", (every,)
    )
    await conn.executemany(
        "INSERT INTO money_days (day, cur, orders, priced, revenue, exact, bare, restock, review, "
        "winback) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                r["day"],
                r["cur"],
                int(r["orders"]),
                r["priced"],
                int(r["revenue"]),
                r["exact"],
                int(r["bare"]),
                int(r["restock"]),
                int(r["review"]),
                int(r["winback"]),
            )
            for r in rows
            if r["day"] not in odd
        ],
    )
    folded = [day for day in days if day not in odd]
    await conn.execute(
        "DELETE FROM money_dirty WHERE day IN (SELECT value FROM json_each(?))",
        (json.dumps(folded),),
    )
    return len(folded)
