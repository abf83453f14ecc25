"""Restock reminder use cases: «Remind me in a week», «Don't remind me again», «Buy again».

«Buy again» on a product without a shop link records the intent as a case of its own kind
(bot/cases/, topic buy_again): the admins get the customer, the product and the order, and the
report counts it beside the reminder's conversion.

The reminder itself is rendered by `bot.reviews.messages` when its row is due; it is not sent
when the customer has bought the SKU again since, or said «Don't remind me again» for it.
Snoozing queues a new `restock` row a week on (the sent one stays in the history as sent).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING

from bot.cases import service as cases
from bot.cases.machine import Topic
from storage import customers as customers_q
from storage import restock as q
from storage.outbox import RESTOCK, cancel_restock_of_sku, enqueue
from storage.restock import RestockItem

if TYPE_CHECKING:
    import aiosqlite

    from bot.settings import Settings
    from storage import Database

SNOOZE = timedelta(days=7)


class Refusal(Enum):
    INVALID = "invalid"  # not this customer's item, or no reminder about it was ever sent
    OPTED_OUT = "opted_out"  # they said «Don't remind me again» for this product


@dataclass(frozen=True)
class Snoozed:
    item: RestockItem
    until: datetime
    already: bool  # a reminder was already queued: nothing new was added


@dataclass(frozen=True)
class StoppedReminders:
    item: RestockItem
    already: bool
    cancelled: int  # queued reminders for the SKU that were cancelled


async def _own_reminded_item(
    conn: aiosqlite.Connection, telegram_id: int, item_id: int
) -> RestockItem | Refusal:
    customer_id = await customers_q.customer_id_for_telegram(conn, telegram_id)
    item = await q.restock_item(conn, item_id) if customer_id is not None else None
    if item is None or item.customer_id != customer_id:
        return Refusal.INVALID
    if not await q.restock_rows(conn, customer_id, item_id, "sent"):
        return Refusal.INVALID  # our buttons exist only on a reminder that went out
    return item


async def snooze(
    db: Database, *, telegram_id: int, item_id: int, now: datetime
) -> Snoozed | Refusal:
    """Remind again in a week; a second press keeps the first one's date."""
    async with db.write() as conn:
        item = await _own_reminded_item(conn, telegram_id, item_id)
        if isinstance(item, Refusal):
            return item
        if await q.is_opted_out(conn, item.customer_id, item.sku):
            return Refusal.OPTED_OUT
        queued = await q.restock_rows(conn, item.customer_id, item.id, "pending")
        if queued:
            return Snoozed(item, queued[0], already=True)
        until = now + SNOOZE
        await enqueue(
            conn, kind=RESTOCK, due_at=until, now=now, customer_id=item.customer_id, ref_id=item.id
        )
    return Snoozed(item, until, already=False)


async def stop_reminders(
    db: Database, *, telegram_id: int, item_id: int, now: datetime
) -> StoppedReminders | Refusal:
    """No more restock reminders for this product (the SKU), queued ones included."""
    async with db.write() as conn:
        item = await _own_reminded_item(conn, telegram_id, item_id)
        if isinstance(item, Refusal):
            return item
        added = await q.add_optout(conn, item.customer_id, item.sku, now)
        cancelled = await cancel_restock_of_sku(
            conn, item.customer_id, item.sku, "customer opted out of this product"
        )
    return StoppedReminders(item, already=not added, cancelled=cancelled)


@dataclass(frozen=True)
class BuyAgain:
    item: RestockItem
    already: bool  # pressed before: the same case goes on, the admins are not alerted twice


async def buy_again(
    db: Database, *, telegram_id: int, item_id: int, now: datetime, settings: Settings
) -> BuyAgain | Refusal:
    """The customer wants the product again and the shop has no link: the shop calls back."""
    async with db.write() as conn:
        item = await _own_reminded_item(conn, telegram_id, item_id)
        if isinstance(item, Refusal):
            return item
        opened = await cases.open_case(
            conn,
            customer_id=item.customer_id,
            topic=Topic.BUY_AGAIN,
            item_id=item.id,
            now=now,
            rules=cases.Rules.from_settings(settings),
        )
    return BuyAgain(item, already=not opened.created)
