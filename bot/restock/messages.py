"""What customers see about restocking: the reminder, and its answers (snoozed, stopped).

The reminder is rendered when due, so a product bought again or refused gets none.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import TYPE_CHECKING

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import RestockAction, RestockCb
from bot.customers.messages import customer_chat, local_date, short
from bot.i18n import Translator
from bot.outbox import Kind, OutboxRow, Outgoing, Postpone, RenderContext, Rendered, Skip
from bot.shop import shop_header
from storage import restock as q
from storage.outbox import RESTOCK
from storage.restock import RestockItem

if TYPE_CHECKING:
    import aiosqlite


def _reorder_url(url: str | None) -> str | None:
    # A malformed URL would make Telegram refuse the whole message; better no button.
    if url and url.startswith(("https://", "http://")) and len(url) <= 2048 and " " not in url:
        return url
    return None


def restock_text(tr: Translator, item: RestockItem, tz: object, shop: str | None = None) -> str:
    return (
        shop_header(tr, shop)
        + "\n\n"
        + tr(
            "🛒 On {date} you bought {item}. Time to restock?",
            date=local_date(tr, item.purchased_at, tz),
            item="<b>" + escape(short(item.name)) + "</b>",
        )
    )


def restock_keyboard(
    tr: Translator,
    item: RestockItem,
    *,
    snooze: bool = True,
    stop: bool = True,
    buy: bool = True,
) -> InlineKeyboardMarkup | None:
    """«Buy again» (the shop's link when the product has one, else a button that asks the shop
    to call back), «Remind me in a week», «Don't remind me again»."""
    rows: list[list[InlineKeyboardButton]] = []
    url = _reorder_url(item.reorder_url)
    if url is not None:
        rows.append([InlineKeyboardButton(text=tr("Buy again"), url=url)])
    elif buy:
        rows.append(
            [
                InlineKeyboardButton(
                    text=tr("Buy again"),
                    callback_data=RestockCb(item=item.id, action=RestockAction.BUY_AGAIN).pack(),
                )
            ]
        )
    if snooze:
        rows.append(
            [
                InlineKeyboardButton(
                    text=tr("Remind me in a week"),
                    callback_data=RestockCb(item=item.id, action=RestockAction.SNOOZE).pack(),
                )
            ]
        )
    if stop:
        rows.append(
            [
                InlineKeyboardButton(
                    text=tr("Don't remind me again"),
                    callback_data=RestockCb(item=item.id, action=RestockAction.STOP).pack(),
                )
            ]
        )
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def snoozed_text(
    tr: Translator, item: RestockItem, until: datetime, tz: object, shop: str | None = None
) -> str:
    return (
        restock_text(tr, item, tz, shop)
        + "\n\n"
        + tr("⏰ I will remind you on {date}.", date=local_date(tr, until, tz))
    )


def stopped_text(tr: Translator, item: RestockItem, tz: object, shop: str | None = None) -> str:
    return (
        restock_text(tr, item, tz, shop)
        + "\n\n"
        + tr(
            "🔕 Done: no more reminders about {item}.",
            item="<b>" + escape(short(item.name)) + "</b>",
        )
    )


def buy_again_text(tr: Translator, item: RestockItem, tz: object, shop: str | None = None) -> str:
    return (
        restock_text(tr, item, tz, shop)
        + "\n\n"
        + tr("Thank you! The shop will contact you about your order.")
    )


async def render_restock(
    ctx: RenderContext, conn: aiosqlite.Connection, row: OutboxRow
) -> Rendered:
    target = await customer_chat(ctx, conn, row)
    if isinstance(target, Skip | Postpone):
        return target
    chat_id, tr = target
    item = await q.restock_item(conn, row.ref_id) if row.ref_id is not None else None
    if item is None or item.customer_id != row.customer_id:
        return Skip("failed", "no such order item for this customer")
    if await q.is_opted_out(conn, item.customer_id, item.sku):
        return Skip("cancelled", "the customer opted out of this product")
    if await q.bought_again_after(conn, item.customer_id, item.sku, item.purchased_at):
        return Skip("cancelled", "bought again since")
    tz = ctx.settings.tz
    return Outgoing(
        chat_id=chat_id,
        text=restock_text(tr, item, tz, ctx.settings.shop_name),
        reply_markup=restock_keyboard(tr, item),
    )


KINDS: tuple[Kind, ...] = (Kind(RESTOCK, render_restock),)
