"""What every customer message shares: where it goes, and how items and dates read.

A customer who has not linked Telegram yet waits: the row is postponed to its expiry and
`storage.outbox.release_waiting` makes it due when they link.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape
from typing import TYPE_CHECKING

from babel.dates import format_date

from bot.i18n import Translator
from bot.outbox import OutboxRow, Postpone, RenderContext, Skip
from storage import reviews as q
from storage.outbox import WAITING_FOR_LINK
from storage.reviews import ItemLine

if TYPE_CHECKING:
    import aiosqlite

MAX_ITEMS_SHOWN = 5
ITEM_NAME_MAX = 80
STAR = "⭐"


def short(name: str, limit: int = ITEM_NAME_MAX) -> str:
    name = " ".join(name.split())
    return name if len(name) <= limit else name[: limit - 1].rstrip() + "…"


def format_items(tr: Translator, items: list[ItemLine]) -> str:
    """«Coffee ×2, Filters and 3 more», HTML-escaped (names come from the shop)."""
    shown = [
        escape(short(item.name)) + (f" ×{item.quantity}" if item.quantity > 1 else "")
        for item in items[:MAX_ITEMS_SHOWN]
    ]
    text = ", ".join(shown)
    if len(items) > MAX_ITEMS_SHOWN:
        text = tr("{items} and {count} more", items=text, count=len(items) - MAX_ITEMS_SHOWN)
    return text


def stars(rating: int) -> str:
    return STAR * rating


def local_date(tr: Translator, moment: datetime, tz: object) -> str:
    """«12 January 2026» / «12 января 2026» in the customer's language and the shop's zone."""
    # A fixed pattern rather than "long": that one ends Russian dates with «г.», which reads
    # badly before a full stop.
    day = moment.astimezone(tz).date()  # type: ignore[arg-type]
    return format_date(day, "d MMMM y", locale=tr.locale)


async def customer_chat(
    ctx: RenderContext, conn: aiosqlite.Connection, row: OutboxRow
) -> tuple[int, Translator] | Skip | Postpone:
    """Where a customer's row goes and in which language, or why it does not go (now)."""
    recipient = await q.recipient_of_row(conn, row.id) if row.customer_id is not None else None
    if recipient is None:
        return Skip("failed", "customer row without a customer")
    if recipient.forgotten:
        return Skip("cancelled", "the customer asked to be forgotten")
    if not recipient.subscribed:
        return Skip("cancelled", "the customer unsubscribed (/stop)")
    if recipient.unreachable:
        return Skip("cancelled", "the customer blocked the bot")
    if recipient.telegram_id is None:
        deadline = recipient.row_created_at + timedelta(days=ctx.settings.link_wait_days)
        if ctx.clock.now() >= deadline:
            return Skip("expired", "the customer did not link Telegram within LINK_WAIT_DAYS")
        # Not re-claimed on every tick: it waits until its expiry, or `release_waiting`.
        return Postpone(deadline, WAITING_FOR_LINK)
    language = recipient.language or ctx.settings.default_language
    return recipient.telegram_id, Translator(ctx.i18n, language)
