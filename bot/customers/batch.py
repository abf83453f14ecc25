"""Many purchases in one transaction, for the CSV import: the rules of `record_purchase`, in bulk.

`bot.customers.purchases.record_purchase` is the reference: one order, about ten statements,
easy to read.
An all-or-nothing import of 10,000 orders through it keeps SQLite's only writer for 100,000
statements, and a running bot's own writes wait that long (bench/ingest.py). Here the state the
rules need is read once for the whole batch, the rules run in memory in the given order, and
the rows go in with executemany: the same result (tests/test_purchase_batch.py checks that on
random histories) in a fraction of the time.

The outbox rows go in through `scheduler.outbox.enqueue_many`, the bulk form of `enqueue`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import aiosqlite

from bot.customers.purchases import (
    CONVERSION_WINDOW,
    OrderConflict,
    Timing,
    effective_restock_days,
    is_stale,
    item_money,
    restock_due,
    review_due,
)
from bot.customers.schema import PurchaseIn
from storage import customers as q
from storage import outbox
from storage.customers import ReviewState
from storage.outbox import RESTOCK, REVIEW_REQUEST, enqueue_many


@dataclass
class BatchResult:
    created: list[int] = field(default_factory=list)  # indexes of the purchases stored now
    skipped: list[int] = field(default_factory=list)  # stored before (same customer)
    conflicts: list[tuple[int, OrderConflict]] = field(default_factory=list)
    customers: set[int] = field(default_factory=set)  # customers.id of the stored orders
    review_requests: int = 0
    restock_reminders: int = 0
    restock_cancelled: int = 0
    converted: int = 0


@dataclass
class _Planned:
    """An outbox row to enqueue once the orders it is about are written."""

    kind: str
    customer_id: int
    ref_id: int
    due_at: datetime
    cancel_reason: str | None = None  # superseded by a later purchase in the same batch


async def record_batch(
    conn: aiosqlite.Connection, purchases: list[PurchaseIn], timing: Timing, now: datetime
) -> BatchResult:
    """Record `purchases` in the given order (the import sorts them by purchase time).

    Conflicts (an order id known for another customer) are reported, not raised: the caller
    decides whether to roll back. Nothing is written for them.
    """
    result = BatchResult()
    known = await q.orders_by_shop_ids(conn, [p.order_id for p in purchases])
    fresh: list[tuple[int, PurchaseIn]] = []
    seen: dict[str, str] = {}
    for index, purchase in enumerate(purchases):
        stored = known.get(purchase.order_id)
        owner = stored.external_customer_id if stored else seen.get(purchase.order_id)
        if owner is None:
            seen[purchase.order_id] = purchase.customer.id
            fresh.append((index, purchase))
        elif owner == purchase.customer.id:
            result.skipped.append(index)
        else:
            result.conflicts.append((index, OrderConflict(purchase.order_id, owner)))
    if not fresh:
        return result

    # Customers: the latest given name and phone win, as one upsert after another would do.
    latest: dict[str, tuple[str | None, str | None]] = {}
    for _, p in fresh:
        name, phone = latest.get(p.customer.id, (None, None))
        latest[p.customer.id] = (p.customer.name or name, p.customer.phone or phone)
    customers = await q.upsert_customers(
        conn, [(ext, name, phone) for ext, (name, phone) in latest.items()], now
    )
    ids = [c.id for c in customers.values()]
    reviews: dict[int, ReviewState] = await q.review_states(conn, ids)
    all_skus = {item.sku for _, p in fresh for item in p.items}
    optouts, last_bought_db = await q.restock_histories(conn, ids, all_skus)
    catalogue = await q.products_restock_days(
        conn, {i.sku for _, p in fresh for i in p.items if i.restock_days is None}
    )
    next_review, next_order, next_item = await q.next_ids(conn)
    first_batch_item = next_item

    review_rows: list[tuple[int, int]] = []
    order_rows: list[tuple[int, str, int, datetime, int | None]] = []
    item_rows: list[q.ItemRow] = []
    planned: list[_Planned] = []
    db_cancels: list[tuple[str, int, str, datetime]] = []
    conversions: list[tuple[int, str, datetime]] = []
    last_bought = dict(last_bought_db)
    batch_pending: dict[tuple[int, str], list[_Planned]] = defaultdict(list)
    batch_requests: dict[int, _Planned] = {}  # review id -> its request, queued by this batch
    forward: dict[int, datetime] = {}  # queued before: review id -> due no later than this

    for index, purchase in fresh:
        customer = customers[purchase.customer.id]
        at = purchase.purchased_at
        order_pk, next_order = next_order, next_order + 1
        item_ids: dict[str, int] = {}
        item_days: dict[str, int | None] = {}
        for item in purchase.items:
            item_rows.append(
                (
                    next_item,
                    order_pk,
                    item.sku,
                    item.name,
                    item.quantity,
                    item.restock_days,
                    *item_money(item),
                )
            )
            item_ids.setdefault(item.sku, next_item)
            if item_days.get(item.sku) is None:
                item_days[item.sku] = item.restock_days
            next_item += 1
        result.created.append(index)
        result.customers.add(customer.id)
        if customer.forgotten:
            order_rows.append((order_pk, purchase.order_id, customer.id, at, None))
            continue

        state = reviews.get(customer.id, ReviewState(None, None))
        review_id = state.open_review_id
        due = review_due(at, state.last_requested_at, timing)
        if review_id is None:
            if not is_stale(due, now):
                review_id, next_review = next_review, next_review + 1
                review_rows.append((review_id, customer.id))
                request = _Planned(REVIEW_REQUEST, customer.id, review_id, due)
                planned.append(request)
                batch_requests[review_id] = request
                reviews[customer.id] = ReviewState(review_id, state.last_requested_at)
                result.review_requests += 1
        elif not is_stale(due, now):
            # The request is due when the first of its orders is (as in record_purchase).
            if review_id in batch_requests:
                request = batch_requests[review_id]
                request.due_at = min(request.due_at, due)
            else:
                forward[review_id] = min(forward.get(review_id, due), due)
        order_rows.append((order_pk, purchase.order_id, customer.id, at, review_id))

        for sku, item_id in item_ids.items():
            key = (customer.id, sku)
            previous = last_bought.get(key)
            if key in last_bought_db:
                conversions.append((customer.id, sku, at))
            if previous is not None and previous > at:
                continue  # a newer purchase's reminder stands
            if previous is not None:
                reason = f"superseded: bought again in order {purchase.order_id}"
                if key in last_bought_db:
                    db_cancels.append((reason, customer.id, sku, at))
                for row in batch_pending.pop(key, []):
                    row.cancel_reason = reason
                    result.restock_cancelled += 1
            last_bought[key] = at
            days = effective_restock_days(item_days[sku], catalogue.get(sku))
            if days is None or key in optouts:
                continue
            due = restock_due(at, days, timing)
            if is_stale(due, now):
                continue
            row = _Planned(RESTOCK, customer.id, item_id, due)
            planned.append(row)
            batch_pending[key].append(row)
            result.restock_reminders += 1

    # Parents before children (foreign keys), then what refers to them.
    await q.insert_reviews(conn, review_rows, now)
    await q.insert_orders(conn, order_rows, now)
    await q.insert_items_many(conn, item_rows)
    result.converted = await outbox.mark_restock_converted_many(
        conn, conversions, CONVERSION_WINDOW
    )
    result.restock_cancelled += await outbox.cancel_pending_restock_many(
        conn, db_cancels, items_before=first_batch_item
    )
    await enqueue_many(
        conn, [(r.kind, r.due_at, r.customer_id, r.ref_id) for r in planned], now=now
    )
    await outbox.bring_review_requests_forward(conn, list(forward.items()))
    # A reminder superseded within the batch is written and cancelled, as one by one would.
    result.restock_reminders -= await outbox.cancel_restock_of_items(
        conn, [(r.cancel_reason, r.ref_id) for r in planned if r.cancel_reason is not None]
    )
    return result
