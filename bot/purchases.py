"""Recording a purchase and everything it schedules: the review request and restock reminders.

The timing rules are plain functions (unit- and property-tested); `record_purchase` applies
them inside the caller's transaction, so the order, its items and every outbox row it causes
are written together or not at all. The API and the CSV import both come through here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import aiosqlite

from bot.purchase_schema import PurchaseIn
from bot.settings import Settings
from scheduler.outbox import enqueue
from storage import Database
from storage import customers as q
from storage.customers import RESTOCK, REVIEW_REQUEST

# A repurchase this soon after a reminder was sent counts as the reminder's conversion.
CONVERSION_WINDOW = timedelta(days=14)
# A message whose time passed this long ago when the purchase reaches us (a late API call, a
# CSV of last year's sales) is not scheduled: a review request for a months-old order, or a
# restock reminder for a product long used up, would only puzzle the customer.
STALE_AFTER = timedelta(days=14)
# RESTOCK_LEAD_DAYS never pulls a reminder closer than this to the purchase itself
# (restock_days=2 with a 3-day lead would otherwise be due before the customer bought it).
MIN_RESTOCK_DELAY = timedelta(days=1)


@dataclass(frozen=True)
class Timing:
    review_delay: timedelta
    review_min_interval: timedelta
    restock_lead: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> Timing:
        return cls(
            review_delay=timedelta(days=settings.review_delay_days),
            review_min_interval=timedelta(days=settings.review_min_interval_days),
            restock_lead=timedelta(days=settings.restock_lead_days),
        )


# --- the rules (pure) ----------------------------------------------------------------------------
def review_due(
    purchased_at: datetime, last_requested_at: datetime | None, timing: Timing
) -> datetime:
    """REVIEW_DELAY_DAYS after the purchase, but never within REVIEW_MIN_INTERVAL_DAYS of the
    customer's previous request."""
    due = purchased_at + timing.review_delay
    if last_requested_at is not None:
        due = max(due, last_requested_at + timing.review_min_interval)
    return due


def restock_due(purchased_at: datetime, restock_days: int, timing: Timing) -> datetime:
    """RESTOCK_LEAD_DAYS before the product runs out, but at least a day after the purchase."""
    lasts = timedelta(days=restock_days)
    return purchased_at + max(lasts - timing.restock_lead, min(MIN_RESTOCK_DELAY, lasts))


def effective_restock_days(item_days: int | None, product_days: int | None) -> int | None:
    """The item's own restock period wins over the catalogue's."""
    return item_days if item_days is not None else product_days


def is_conversion(sent_at: datetime, purchased_at: datetime) -> bool:
    return sent_at <= purchased_at <= sent_at + CONVERSION_WINDOW


def is_stale(due: datetime, now: datetime) -> bool:
    return due < now - STALE_AFTER


# --- recording -----------------------------------------------------------------------------------
class OrderConflict(Exception):
    """The order id is already recorded for another customer."""

    def __init__(self, order_id: str, customer_id: str) -> None:
        super().__init__(f"order {order_id} is already recorded for another customer")
        self.order_id = order_id
        self.customer_id = customer_id


@dataclass(frozen=True)
class Recorded:
    order_pk: int
    customer_id: int
    link_token: str
    created: bool  # False: the order was known already and nothing was written
    review_id: int | None = None
    review_queued: bool = False  # a new review request (else attached to a queued one, or none)
    restock_queued: int = 0
    restock_cancelled: int = 0
    converted: int = 0
    earliest_due: datetime | None = None

    @property
    def link_payload(self) -> str:
        return "c_" + self.link_token


async def record_purchase(
    conn: aiosqlite.Connection, purchase: PurchaseIn, timing: Timing, now: datetime
) -> Recorded:
    """Store one order and schedule what it causes, inside the caller's transaction.

    Idempotent: an order id seen before changes nothing (OrderConflict if it was recorded for
    a different customer, which means the shop reused an id).
    """
    existing = await q.order_by_shop_id(conn, purchase.order_id)
    if existing is not None:
        if existing.external_customer_id != purchase.customer.id:
            raise OrderConflict(purchase.order_id, existing.external_customer_id)
        return Recorded(existing.id, existing.customer_id, existing.link_token, created=False)

    customer = await q.upsert_customer(
        conn, purchase.customer.id, purchase.customer.name, purchase.customer.phone, now
    )
    purchased_at = purchase.purchased_at
    order_pk = await q.insert_order(conn, purchase.order_id, customer.id, purchased_at, now)
    item_ids: dict[str, int] = {}
    item_days: dict[str, int | None] = {}
    for item in purchase.items:
        item_id = await q.insert_item(
            conn, order_pk, item.sku, item.name, item.quantity, item.restock_days
        )
        # One reminder per SKU and order, even when a shop lists a SKU on two lines.
        if item.sku not in item_ids:
            item_ids[item.sku] = item_id
            item_days[item.sku] = item.restock_days
        elif item_days[item.sku] is None:
            item_days[item.sku] = item.restock_days

    if customer.forgotten:
        # The customer asked to be forgotten: the shop's order is kept, nobody is messaged.
        return Recorded(order_pk, customer.id, customer.link_token, created=True)

    dues: list[datetime] = []
    review_id, review_queued = await _schedule_review(
        conn, customer.id, order_pk, purchased_at, timing, now, dues
    )

    product_days = await q.product_restock_days(conn, item_ids)
    optouts = await q.opted_out_skus(conn, customer.id)
    queued = cancelled = converted = 0
    for sku, item_id in item_ids.items():
        converted += await q.mark_restock_converted(
            conn,
            customer.id,
            sku,
            sent_from=purchased_at - CONVERSION_WINDOW,
            sent_to=purchased_at,
            converted_at=purchased_at,
        )
        later = await q.latest_purchase_of_sku(conn, customer.id, sku, excluding_order=order_pk)
        if later is not None and later > purchased_at:
            continue  # an order reaching us late: the newer purchase's reminder stands
        cancelled += await q.cancel_pending_restock(
            conn,
            customer.id,
            sku,
            f"superseded: bought again in order {purchase.order_id}",
            bought_up_to=purchased_at,
        )
        days = effective_restock_days(item_days[sku], product_days.get(sku))
        if days is None or sku in optouts:
            continue
        due = restock_due(purchased_at, days, timing)
        if is_stale(due, now):
            continue
        await enqueue(
            conn, kind=RESTOCK, due_at=due, now=now, customer_id=customer.id, ref_id=item_id
        )
        dues.append(due)
        queued += 1

    return Recorded(
        order_pk,
        customer.id,
        customer.link_token,
        created=True,
        review_id=review_id,
        review_queued=review_queued,
        restock_queued=queued,
        restock_cancelled=cancelled,
        converted=converted,
        earliest_due=min(dues) if dues else None,
    )


async def _schedule_review(
    conn: aiosqlite.Connection,
    customer_id: int,
    order_pk: int,
    purchased_at: datetime,
    timing: Timing,
    now: datetime,
    dues: list[datetime],
) -> tuple[int | None, bool]:
    """Attach the order to the customer's queued review request, or queue a new one."""
    review_id = await q.open_review(conn, customer_id)
    if review_id is not None:
        # Orders close together share one request; its row and due time stay as they are.
        await q.set_order_review(conn, order_pk, review_id)
        return review_id, False
    last = await q.last_review_requested_at(conn, customer_id)
    due = review_due(purchased_at, last, timing)
    if is_stale(due, now):
        return None, False
    review_id = await q.insert_review(conn, customer_id, now)
    await q.set_order_review(conn, order_pk, review_id)
    await enqueue(
        conn, kind=REVIEW_REQUEST, due_at=due, now=now, customer_id=customer_id, ref_id=review_id
    )
    dues.append(due)
    return review_id, True


async def record(db: Database, purchase: PurchaseIn, timing: Timing, now: datetime) -> Recorded:
    """One purchase in one transaction."""
    async with db.write() as conn:
        return await record_purchase(conn, purchase, timing, now)
