"""Recording a purchase and everything it schedules: the review request and restock reminders.

The timing rules are plain functions (unit- and property-tested); `record_purchase` applies
them inside the caller's transaction, so the order, its items and every outbox row it causes
are written together or not at all. The API and the CSV import both come through here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import aiosqlite

from bot.customers.formats.values import to_cents
from bot.customers.schema import ItemIn, PurchaseIn
from bot.settings import Settings
from storage import Database, outbox
from storage import customers as q
from storage.outbox import RESTOCK, REVIEW_REQUEST, enqueue

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
    a different customer, which means the shop reused an id). About ten statements per order
    whatever its size: a CSV import holds the write lock for all of its orders.
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
    if customer.forgotten:
        # The customer asked to be forgotten: the shop's order is kept, nobody is messaged.
        order_pk = await q.insert_order(
            conn, purchase.order_id, customer.id, purchased_at, None, now
        )
        await q.insert_items(conn, order_pk, _item_rows(purchase))
        return Recorded(order_pk, customer.id, customer.link_token, created=True)

    dues: list[datetime] = []
    # The review first: the order row is written once, already pointing at it.
    state = await q.review_state(conn, customer.id)
    review_id, review_due_at = state.open_review_id, None
    due = review_due(purchased_at, state.last_requested_at, timing)
    if review_id is None:
        if not is_stale(due, now):
            review_id, review_due_at = await q.insert_review(conn, customer.id, now), due
    elif not is_stale(due, now) and await outbox.bring_review_request_forward(conn, review_id, due):
        # Orders close together share one request, due when the first of them is: an order
        # reported late (bought days ago) is not held back by a newer one. When the request
        # goes it names the orders that are due; the rest move to a later one (see
        # bot.reviews.service.request_sent).
        dues.append(due)
    order_pk = await q.insert_order(
        conn, purchase.order_id, customer.id, purchased_at, review_id, now
    )
    if review_due_at is not None:
        await enqueue(
            conn,
            kind=REVIEW_REQUEST,
            due_at=review_due_at,
            now=now,
            customer_id=customer.id,
            ref_id=review_id,
        )
        dues.append(review_due_at)

    first_item = await q.insert_items(conn, order_pk, _item_rows(purchase))
    # One reminder per SKU and order, even when a shop lists a SKU on two lines.
    item_days: dict[str, int | None] = {}
    for item in purchase.items:
        if item_days.get(item.sku) is None:
            item_days[item.sku] = item.restock_days
    missing = [sku for sku, days in item_days.items() if days is None]
    product_days = await q.product_restock_days(conn, missing) if missing else {}
    history = await q.restock_history(conn, customer.id, item_days, excluding_order=order_pk)

    converted = cancelled = queued = 0
    if history.last_bought:
        converted = await outbox.mark_restock_converted(
            conn,
            customer.id,
            history.last_bought,
            sent_from=purchased_at - CONVERSION_WINDOW,
            sent_to=purchased_at,
            converted_at=purchased_at,
        )
        # An order reaching us late (bought before the newest purchase of a SKU) leaves the
        # newer purchase's reminder alone and gets none of its own.
        superseding = [sku for sku, at in history.last_bought.items() if at <= purchased_at]
        cancelled = await outbox.cancel_pending_restock(
            conn,
            customer.id,
            superseding,
            f"superseded: bought again in order {purchase.order_id}",
            bought_up_to=purchased_at,
        )
    for sku, item_id in first_item.items():
        days = effective_restock_days(item_days[sku], product_days.get(sku))
        if days is None or sku in history.optouts:
            continue
        if history.last_bought.get(sku, purchased_at) > purchased_at:
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
        review_queued=review_due_at is not None,
        restock_queued=queued,
        restock_cancelled=cancelled,
        converted=converted,
        earliest_due=min(dues) if dues else None,
    )


def item_money(item: ItemIn) -> tuple[int | None, str | None]:
    """(unit price in hundredths or None, currency or None), as the item row stores them."""
    return (to_cents(item.price) if item.price is not None else None), item.currency


def _item_rows(
    purchase: PurchaseIn,
) -> list[tuple[str, str, float, int | None, int | None, str | None]]:
    return [(i.sku, i.name, i.quantity, i.restock_days, *item_money(i)) for i in purchase.items]


async def record(db: Database, purchase: PurchaseIn, timing: Timing, now: datetime) -> Recorded:
    """One purchase in one transaction."""
    async with db.write() as conn:
        return await record_purchase(conn, purchase, timing, now)
