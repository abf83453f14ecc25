"""The outbox dispatcher: one interval job claims due rows in batches and sends them.

Row life: pending → sending → sent | failed | cancelled | expired. A row is marked `sending` in
the transaction that claims it and `sent` in its own transaction right after Telegram accepted
it, so a crash can only leave the few rows that were on the wire at that moment in `sending`;
on start they go back to `pending` and may be sent twice (counted in the logs).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from typing import TYPE_CHECKING

from bot.clock import from_db, to_db
from scheduler.kinds import Kind, OutboxRow, Outgoing, Postpone, RenderContext, Skip, build_registry
from scheduler.sender import Delivery, Sender

if TYPE_CHECKING:
    import aiosqlite
    from aiogram import Bot

    from bot.clock import Clock
    from bot.i18n import I18n
    from bot.pseudonym import Pseudonymizer
    from bot.settings import Settings
    from storage import Database

log = logging.getLogger(__name__)

BATCH_SIZE = 500


class OutboxDispatcher:
    def __init__(
        self,
        *,
        db: Database,
        bot: Bot,
        settings: Settings,
        clock: Clock,
        i18n: I18n,
        pseudonyms: Pseudonymizer,
        kinds: dict[str, Kind] | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.kinds = kinds if kinds is not None else build_registry()
        self.context = RenderContext(
            settings=settings, clock=clock, i18n=i18n, pseudonyms=pseudonyms
        )
        self.sender = Sender(bot=bot, settings=settings, clock=clock)
        self._tick_lock = asyncio.Lock()
        self._recovered = False
        self._current: asyncio.Task[int] | None = None
        self._kick_task: asyncio.Task[None] | None = None

    async def recover(self) -> int:
        """Rows left `sending` by a crash go back to `pending` (they may go twice)."""
        async with self.db.write() as conn:
            cur = await conn.execute(
                "UPDATE outbox SET status = 'pending', claimed_at = NULL WHERE status = 'sending'"
            )
            count = cur.rowcount
        if count:
            log.warning(
                "%d outbox rows were mid-send at the last stop; they will be retried", count
            )
        self._recovered = True
        return count

    def kick(self) -> None:
        """Run a tick soon (e.g. right after a survey opens) instead of waiting for the timer."""
        if self._kick_task is None or self._kick_task.done():
            self._kick_task = asyncio.get_running_loop().create_task(self._kicked_tick())

    async def _kicked_tick(self) -> None:
        try:
            await self.tick()
        except Exception:
            log.exception("outbox tick failed")

    async def tick(self) -> int:
        """Claim and send every due row (in batches); returns how many were handled."""
        async with self._tick_lock:
            if not self._recovered:
                await self.recover()
            task = asyncio.current_task()
            handled = 0
            while True:
                rows = await self.claim(self.clock.now(), BATCH_SIZE)
                if not rows:
                    return handled
                await self._send_batch(rows)
                handled += len(rows)
                if len(rows) < BATCH_SIZE or task is None:
                    return handled

    async def claim(self, now: datetime, limit: int) -> list[OutboxRow]:
        async with self.db.write() as conn:
            cur = await conn.execute(
                """
                UPDATE outbox SET status = 'sending', claimed_at = ?, attempts = attempts + 1
                WHERE id IN (
                    SELECT id FROM outbox WHERE status = 'pending' AND due_at <= ?
                    ORDER BY due_at LIMIT ?
                )
                RETURNING id, kind, customer_id, employee_id, chat_id, ref_id, due_at, attempts
                """,
                (to_db(now), to_db(now), limit),
            )
            fetched = await cur.fetchall()
        rows = [
            OutboxRow(
                id=r["id"],
                kind=r["kind"],
                customer_id=r["customer_id"],
                employee_id=r["employee_id"],
                chat_id=r["chat_id"],
                ref_id=r["ref_id"],
                due_at=from_db(r["due_at"]),
                attempts=r["attempts"],
            )
            for r in fetched
        ]
        rows.sort(key=lambda r: (r.due_at, r.id))
        return rows

    async def _send_batch(self, rows: list[OutboxRow]) -> None:
        for row in rows:
            await self._send_one(row)

    async def _send_one(self, row: OutboxRow) -> None:
        kind = self.kinds.get(row.kind)
        if kind is None:
            await self._finish(row, "failed", error=f"unknown kind {row.kind}")
            return
        async with self.db.read() as conn:
            rendered = await kind.render(self.context, conn, row)
        if isinstance(rendered, Skip):
            await self._finish(row, rendered.status, error=rendered.reason)
            return
        if isinstance(rendered, Postpone):
            await self._reschedule(row, rendered.until, rendered.reason, undo_attempt=True)
            return
        delivery = await self.sender.deliver(
            rendered, respect_window=kind.respects_send_window, attempts=row.attempts
        )
        await self._apply(row, kind, rendered, delivery)

    async def _apply(
        self, row: OutboxRow, kind: Kind, message: Outgoing, delivery: Delivery
    ) -> None:
        if delivery.outcome == "sent":
            async with self.db.write() as conn:
                await conn.execute(
                    "UPDATE outbox SET status = 'sent', sent_at = ?, message_id = ?, "
                    "last_error = NULL WHERE id = ?",
                    (to_db(self.clock.now()), delivery.message_id, row.id),
                )
                if kind.on_sent is not None:
                    await kind.on_sent(conn, row, delivery.message_id or 0, self.clock.now())
        elif delivery.outcome == "retry":
            assert delivery.retry_at is not None
            await self._reschedule(row, delivery.retry_at, delivery.error or "", undo_attempt=False)
        elif delivery.outcome == "unreachable":
            await self._mark_unreachable(row, delivery.error or "forbidden")
        else:
            await self._finish(row, "failed", error=delivery.error)

    async def _finish(self, row: OutboxRow, status: str, *, error: str | None) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                "UPDATE outbox SET status = ?, last_error = ? WHERE id = ?", (status, error, row.id)
            )

    async def _reschedule(
        self, row: OutboxRow, until: datetime, reason: str, *, undo_attempt: bool
    ) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                "UPDATE outbox SET status = 'pending', due_at = ?, last_error = ?, "
                "claimed_at = NULL, attempts = attempts - ? WHERE id = ?",
                (to_db(until), reason or None, 1 if undo_attempt else 0, row.id),
            )

    async def _mark_unreachable(self, row: OutboxRow, error: str) -> None:
        """403: the person blocked the bot or is gone. Stop everything queued for them."""
        now = to_db(self.clock.now())
        async with self.db.write() as conn:
            await conn.execute(
                "UPDATE outbox SET status = 'failed', last_error = ? WHERE id = ?", (error, row.id)
            )
            if row.customer_id is not None:
                await conn.execute(
                    "UPDATE customers SET unreachable_at = ? WHERE id = ?", (now, row.customer_id)
                )
                await cancel_pending(conn, customer_id=row.customer_id, reason=error)
            if row.employee_id is not None:
                await conn.execute(
                    "UPDATE employees SET unreachable_at = ? WHERE id = ?", (now, row.employee_id)
                )
                await cancel_pending(conn, employee_id=row.employee_id, reason=error)

    async def aclose(self, timeout: float = 2.0) -> None:
        for task in (self._kick_task,):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(task, timeout)


async def cancel_pending(
    conn: aiosqlite.Connection,
    *,
    customer_id: int | None = None,
    employee_id: int | None = None,
    kinds: tuple[str, ...] | None = None,
    reason: str = "cancelled",
) -> int:
    """Cancel a recipient's queued rows in one statement (opt-out, 403, repurchase)."""
    if (customer_id is None) == (employee_id is None):
        raise ValueError("name exactly one recipient")
    column, value = (
        ("customer_id", customer_id) if customer_id is not None else ("employee_id", employee_id)
    )
    sql = (
        "UPDATE outbox SET status = 'cancelled', last_error = ? "
        f"WHERE {column} = ? AND status = 'pending'"
    )
    params: list[object] = [reason, value]
    if kinds:
        sql += f" AND kind IN ({','.join('?' * len(kinds))})"
        params.extend(kinds)
    cur = await conn.execute(sql, params)
    return cur.rowcount


async def enqueue(
    conn: aiosqlite.Connection,
    *,
    kind: str,
    due_at: datetime,
    now: datetime,
    customer_id: int | None = None,
    employee_id: int | None = None,
    chat_id: int | None = None,
    ref_id: int | None = None,
) -> int:
    """Queue one message; call inside the transaction that causes it."""
    cur = await conn.execute(
        "INSERT INTO outbox (kind, customer_id, employee_id, chat_id, ref_id, due_at, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (kind, customer_id, employee_id, chat_id, ref_id, to_db(due_at), to_db(now)),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid
