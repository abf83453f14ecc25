"""The win-back message: its outbox kind, and the sweep that queues it for lapsed customers.

Once per tick the sweep looks at linked, subscribed customers whose last purchase is older than
WINBACK_DAYS (the smallest threshold anyone can have), applies the rules of rules.py (twice
their usual interval if longer; at most one message per WINBACK_DAYS) and queues the message
through the outbox, which sends it by the sender's rules (SEND_HOURS, rates, /stop, 403).
"""

from __future__ import annotations

import html
from datetime import datetime, timedelta

import aiosqlite

from bot.customers.messages import customer_chat
from bot.outbox import Kind, Outgoing, RenderContext, Rendered, Skip
from bot.texts import N_
from bot.winback import rules
from storage import outbox
from storage.outbox import WINBACK, OutboxRow

GREETING = N_("We have missed you! It has been a while since your last purchase.")
CLOSING = N_("We would be glad to see you again.")


async def render_winback(
    ctx: RenderContext, conn: aiosqlite.Connection, row: OutboxRow
) -> Rendered:
    chat = await customer_chat(ctx, conn, row)
    if not isinstance(chat, tuple):
        return chat
    if ctx.settings.winback_days is None:
        return Skip("cancelled", "WINBACK_DAYS is empty: win-back is off")
    chat_id, tr = chat
    parts = [tr(GREETING)]
    if ctx.settings.winback_text:
        parts.append(html.escape(ctx.settings.winback_text))
    parts.append(tr(CLOSING))
    return Outgoing(chat_id, "\n\n".join(parts))


async def sweep_winback(conn: aiosqlite.Connection, ctx: RenderContext, now: datetime) -> int:
    days = ctx.settings.winback_days
    if days is None:
        return 0
    queued = 0
    for customer in await outbox.lapsing_customers(conn, now - timedelta(days=days)):
        limit = rules.threshold(days, rules.usual_interval(customer.purchases))
        if not rules.is_lapsed(max(customer.purchases), limit, now):
            continue
        if not rules.may_send(customer.last_winback, days, now):
            continue
        await outbox.enqueue(
            conn,
            kind=WINBACK,
            due_at=now,
            now=now,
            customer_id=customer.customer_id,
            ref_id=customer.last_order,
        )
        queued += 1
    return queued


KINDS: tuple[Kind, ...] = (Kind(WINBACK, render_winback, sweep=sweep_winback),)
