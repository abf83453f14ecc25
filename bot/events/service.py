"""Events the bot posts to the shop's system (WEBHOOK_OUT_URL), so its CRM can act.

`publish(conn, settings, kind, data, now)` is called inside the transaction of what happened
(a review completed, a negative rating, a case opened/answered/resolved, a «купить снова»
intent): it stores the body (fixed then, with the event's id) and queues an outbox row of kind
`event_out`, so an event is written together with its cause or not at all. The outbox posts it
(bot/events/messages.py) with retries and backoff until the receiver answers 2xx: an event is
never lost, and sent once in normal operation (a crash between the receiver's 2xx and our
record of it can repeat it; the event id, the same on every try, lets the receiver skip it).
With WEBHOOK_OUT_URL empty nothing is stored.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import aiosqlite

from bot.settings import Settings
from storage import outbox
from storage.outbox import EVENT_OUT

REVIEW_COMPLETED = "review.completed"
REVIEW_NEGATIVE = "review.negative"
CASE_OPENED = "case.opened"
CASE_ANSWERED = "case.answered"
CASE_RESOLVED = "case.resolved"
BUY_AGAIN = "buy_again.intent"
KINDS = (REVIEW_COMPLETED, REVIEW_NEGATIVE, CASE_OPENED, CASE_ANSWERED, CASE_RESOLVED, BUY_AGAIN)


def body(kind: str, data: dict[str, Any], now: datetime, event_id: str) -> str:
    return json.dumps(
        {"id": event_id, "type": kind, "created_at": now.isoformat(), "data": data},
        ensure_ascii=False,
        sort_keys=True,
    )


async def publish(
    conn: aiosqlite.Connection, settings: Settings, kind: str, data: dict[str, Any], now: datetime
) -> int | None:
    """Queue one event in the caller's transaction; None when events out are off."""
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind}")
    if not settings.webhook_out_url:
        return None
    event_id = "evt_" + uuid.uuid4().hex
    stored = await outbox.insert_event(conn, kind, body(kind, data, now, event_id), now)
    return await outbox.enqueue(conn, kind=EVENT_OUT, due_at=now, now=now, ref_id=stored)


async def review_data(conn: aiosqlite.Connection, review_id: int) -> dict[str, Any]:
    """What the shop's CRM gets about a review: the customer (the shop's id), orders, answers."""
    async with conn.execute(
        "SELECT r.id, r.rating, r.nps, r.ces, r.comment, c.external_id, c.forgotten_at "
        "FROM reviews r "
        "JOIN customers c ON c.id = r.customer_id WHERE r.id = ?",
        (review_id,),
    ) as cur:
        row = await cur.fetchone()
    async with conn.execute(
        "SELECT order_id FROM orders WHERE review_id = ? ORDER BY purchased_at", (review_id,)
    ) as cur:
        orders = [r["order_id"] for r in await cur.fetchall()]
    if row is None:
        return {"review_id": review_id, "orders": orders}
    return {
        "review_id": row["id"],
        # A customer who asked to be forgotten is not named to the shop's CRM either.
        "customer_id": None if row["forgotten_at"] else row["external_id"],
        "orders": orders,
        "rating": row["rating"],
        "nps": row["nps"],
        "ces": row["ces"],
        "comment": row["comment"],
    }


async def case_data(
    conn: aiosqlite.Connection,
    *,
    case_id: int,
    customer_id: int,
    topic: str,
    status: str,
    review_id: int | None,
    order_item_id: int | None,
) -> dict[str, Any]:
    """What the shop's CRM gets about a case: the customer (the shop's id), the subject."""
    async with conn.execute(
        "SELECT external_id, forgotten_at FROM customers WHERE id = ?", (customer_id,)
    ) as cur:
        customer = await cur.fetchone()
    data: dict[str, Any] = {
        "case_id": case_id,
        "customer_id": None
        if customer is None or customer["forgotten_at"]
        else customer["external_id"],
        "topic": topic,
        "status": status,
    }
    if review_id is not None:
        async with conn.execute(
            "SELECT order_id FROM orders WHERE review_id = ? ORDER BY purchased_at", (review_id,)
        ) as cur:
            data["review_id"] = review_id
            data["orders"] = [r["order_id"] for r in await cur.fetchall()]
    if order_item_id is not None:
        async with conn.execute(
            "SELECT o.order_id, i.sku, i.name FROM order_items i "
            "JOIN orders o ON o.id = i.order_id WHERE i.id = ?",
            (order_item_id,),
        ) as cur:
            item = await cur.fetchone()
        if item is not None:
            data.update(order_id=item["order_id"], sku=item["sku"], item_name=item["name"])
    return data
