"""The outbox dispatcher: one interval job claims due rows in batches and sends them.

Row life: pending → sending → sent | failed | cancelled | expired (or back to pending with a
later due time: a retry, a postponement). A row is marked `sending` in the transaction that
claims it and `sent` in its own transaction right after Telegram accepted it. Several rows are
on the wire at once (`Sender.in_flight`, at most 16), so a crash (SIGKILL, power) can leave at
most that many rows sent but still marked `sending`; the next tick puts every `sending` row
back to `pending` (within one process no row is `sending` between ticks), and those few may
reach their recipient twice. Claimed rows that had not been sent yet are simply sent once.
A normal stop lets the in-flight sends finish and puts the rest back at once: no duplicates.

Rows of customers who have not linked Telegram yet are not re-claimed on every tick: the
renderer postpones them to their expiry with `last_error = WAITING_FOR_LINK`, and linking
calls `storage.outbox.release_waiting()` to make them due again.

The dispatcher knows no feature: the composition root hands it the kinds (`bot.outbox.Kind`),
and every statement it runs on the table is in storage/outbox.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING

from bot.outbox import Kind, OutboxRow, Outgoing, Post, Postpone, RenderContext, Skip, Sweep
from scheduler.sender import Delivery, Sender
from scheduler.tasks import finish_or_cancel
from storage import DatabaseFileGone
from storage import customers as customers_q
from storage import outbox as q
from storage import survey as survey_q

if TYPE_CHECKING:
    from aiogram import Bot

    from bot.clock import Clock
    from bot.i18n import I18n
    from bot.pacing import Pacer
    from bot.pseudonym import Pseudonymizer
    from bot.settings import Settings
    from storage import Database

log = logging.getLogger(__name__)

BATCH_SIZE = 500


def recipient(row: OutboxRow) -> tuple[str, int]:
    """Who a row goes to, for keeping one recipient's messages in order (a row without one,
    an event to the shop's system, is its own)."""
    if row.chat_id is not None:
        return ("chat", row.chat_id)
    if row.customer_id is not None:
        return ("customer", row.customer_id)
    if row.employee_id is not None:
        return ("employee", row.employee_id)
    return ("row", row.id)


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
        kinds: dict[str, Kind],
        pacer: Pacer | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.kinds = kinds
        self.context = RenderContext(
            settings=settings, clock=clock, i18n=i18n, pseudonyms=pseudonyms
        )
        self.sender = Sender(bot=bot, settings=settings, clock=clock, pacer=pacer)
        self._sweeps: list[Sweep] = []
        for kind in self.kinds.values():
            if kind.sweep is not None and kind.sweep not in self._sweeps:
                self._sweeps.append(kind.sweep)
        self._tick_lock = asyncio.Lock()
        self._current: asyncio.Task[object] | None = None
        self._kick_task: asyncio.Task[None] | None = None
        self.stats: Counter[str] = Counter()  # outcomes since start, for logs and benchmarks
        # Ticks finished since start: lets a caller (the tests) wait out the tick that the
        # scheduler runs at start instead of racing it.
        self.completed_ticks = 0

    @property
    def stopping(self) -> bool:
        return self.sender.stopping.is_set()

    async def recover(self) -> int:
        """Rows left `sending` (a crash mid-send) go back to `pending`; they may go twice."""
        async with self.db.write() as conn:
            count = await q.recover_sending(conn)
        if count:
            log.warning(
                "%d outbox rows were left mid-send (a crash?); they will be sent again, and "
                "those Telegram had already taken will arrive twice",
                count,
            )
        return count

    def kick(self) -> None:
        """Run a tick soon (e.g. right after a survey opens) instead of waiting for the timer."""
        if self.stopping:
            return
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
            if self.stopping:
                return 0
            self._current = asyncio.current_task()
            try:
                # Between ticks no row of this process is `sending`: any found now is left
                # from a crash (or a failed write) and must not be forgotten.
                await self.recover()
                await self._run_sweeps()
                handled = 0
                while not self.stopping:
                    rows = await self.claim(self.clock.now(), BATCH_SIZE)
                    if not rows:
                        break
                    await self._send_batch(rows)
                    handled += len(rows)
                    if len(rows) < BATCH_SIZE:
                        break
                return handled
            except DatabaseFileGone:
                return 0  # logged once, CRITICAL, by storage; a traceback every tick adds nothing
            finally:
                self._current = None
                self.completed_ticks += 1

    async def claim(self, now: datetime, limit: int) -> list[OutboxRow]:
        async with self.db.write() as conn:
            return await q.claim_due(conn, now, limit)

    async def _run_sweeps(self) -> None:
        now = self.clock.now()
        for sweep in self._sweeps:
            try:
                async with self.db.write() as conn:
                    await sweep(conn, self.context, now)
            except Exception:  # housekeeping must never keep messages from going out
                log.exception("outbox sweep %s failed", getattr(sweep, "__name__", sweep))

    async def _send_batch(self, rows: list[OutboxRow]) -> None:
        """Send a claimed batch with a few sends in flight; the limiter keeps the caps.

        One recipient's rows go one after another, in the batch's order, by one worker: a
        customer's three messages in a case reach the admins as written, not as the sends
        happened to finish. Different recipients go in parallel.
        """
        by_recipient: dict[tuple[str, int], list[OutboxRow]] = {}
        for row in rows:
            by_recipient.setdefault(recipient(row), []).append(row)
        queue = iter(by_recipient.values())
        done: set[int] = set()

        async def worker() -> None:
            for group in queue:  # one shared iterator: each recipient goes to exactly one worker
                for row in group:
                    if self.stopping:
                        return
                    await self._process(row)
                    done.add(row.id)

        async with asyncio.TaskGroup() as group:
            for _ in range(min(self.sender.in_flight, len(by_recipient))):
                group.create_task(worker())
        left = [row for row in rows if row.id not in done]
        if left:
            await self._release(left)

    async def _process(self, row: OutboxRow) -> None:
        try:
            outcome = await self._handle(row)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug in one kind must not stop the others
            log.exception("outbox row %s (%s) failed", row.id, row.kind)
            outcome = "failed"
            with contextlib.suppress(Exception):
                await self._finish(row, "failed", error=f"internal error: {exc!r}"[:500])
        self.stats[outcome] += 1

    async def _handle(self, row: OutboxRow) -> str:
        kind = self.kinds.get(row.kind)
        if kind is None:
            await self._finish(row, "failed", error=f"unknown kind {row.kind}")
            return "failed"
        if kind.respects_send_window:
            opening = self.sender.window_opening(self.clock.now())
            if opening is not None:
                await self._reschedule(row, opening, "outside SEND_HOURS", undo_attempt=True)
                return "postponed"
        async with self.db.read() as conn:
            rendered = await kind.render(self.context, conn, row)
        if isinstance(rendered, Skip):
            await self._skip(row, kind, rendered)
            return rendered.status
        if isinstance(rendered, Postpone):
            if rendered.reason == q.WAITING_FOR_LINK:
                # The render read a snapshot: the customer may have linked since. Parking
                # checks again in its own write, so a link at any moment releases the row.
                async with self.db.write() as conn:
                    await q.park_for_link(conn, row.id, rendered.until, self.clock.now())
            else:
                await self._reschedule(row, rendered.until, rendered.reason, undo_attempt=True)
            return "postponed"
        if isinstance(rendered, Post):
            if kind.deliver is None:
                await self._finish(row, "failed", error=f"kind {row.kind} cannot deliver a post")
                return "failed"
            delivered = await kind.deliver(self.context, row, rendered)
            if delivered.sent:
                await self._mark_sent(row, kind, Delivery("sent"))
                return "sent"
            assert delivered.retry_at is not None
            await self._reschedule(
                row, delivered.retry_at, delivered.error or "", undo_attempt=False
            )
            return "retry"
        delivery = await self.sender.deliver(rendered, attempts=row.attempts)
        await self._apply(row, kind, rendered, delivery)
        return delivery.outcome

    async def _apply(
        self, row: OutboxRow, kind: Kind, message: Outgoing, delivery: Delivery
    ) -> None:
        if delivery.outcome == "sent":
            await self._mark_sent(row, kind, delivery)
        elif delivery.outcome == "retry":
            assert delivery.retry_at is not None
            log.info("outbox row %s: %s; retry at %s", row.id, delivery.error, delivery.retry_at)
            await self._reschedule(row, delivery.retry_at, delivery.error or "", undo_attempt=False)
        elif delivery.outcome == "postponed":
            assert delivery.retry_at is not None
            await self._reschedule(row, delivery.retry_at, delivery.error or "", undo_attempt=True)
        elif delivery.outcome == "stopped":
            await self._release([row])
        elif delivery.outcome == "unreachable":
            await self._mark_unreachable(row, delivery.error or "forbidden")
        else:
            log.warning("outbox row %s (%s) failed: %s", row.id, row.kind, delivery.error)
            await self._finish(row, "failed", error=delivery.error)

    async def _mark_sent(self, row: OutboxRow, kind: Kind, delivery: Delivery) -> None:
        now = self.clock.now()
        try:
            async with self.db.write() as conn:
                await q.mark_sent(conn, row.id, now=now, message_id=delivery.message_id)
                if kind.on_sent is not None:
                    await kind.on_sent(self.context, conn, row, delivery.message_id or 0, now)
        except Exception:
            # The message is out: record that at least, or the next tick would send it again.
            log.exception("on_sent of outbox row %s (%s) failed", row.id, row.kind)
            async with self.db.write() as conn:
                await q.mark_sent(
                    conn,
                    row.id,
                    now=now,
                    message_id=delivery.message_id,
                    note="sent; on_sent failed",
                )

    async def _skip(self, row: OutboxRow, kind: Kind, skip: Skip) -> None:
        async with self.db.write() as conn:
            await q.finish(conn, row.id, skip.status, skip.reason)
            if kind.on_skipped is not None:
                await kind.on_skipped(self.context, conn, row, skip, self.clock.now())

    async def _finish(self, row: OutboxRow, status: str, *, error: str | None) -> None:
        async with self.db.write() as conn:
            await q.finish(conn, row.id, status, error)

    async def _reschedule(
        self, row: OutboxRow, until: datetime, reason: str, *, undo_attempt: bool
    ) -> None:
        async with self.db.write() as conn:
            await q.reschedule(conn, row.id, until, reason, undo_attempt=undo_attempt)

    async def _release(self, rows: list[OutboxRow]) -> None:
        """Claimed rows that were not sent go back to the queue as they were."""
        async with self.db.write() as conn:
            await q.release_claimed(conn, [row.id for row in rows])

    async def _mark_unreachable(self, row: OutboxRow, error: str) -> None:
        """403: the person blocked the bot or is gone. Stop everything queued for them."""
        now = self.clock.now()
        log.info("outbox row %s: recipient unreachable (%s)", row.id, error)
        async with self.db.write() as conn:
            await q.finish(conn, row.id, "failed", error)
            if row.customer_id is not None:
                await customers_q.mark_unreachable(conn, row.customer_id, now)
                await q.cancel_pending(conn, customer_id=row.customer_id, reason=error)
            if row.employee_id is not None:
                await survey_q.mark_employee_unreachable(conn, row.employee_id, now)
                await q.cancel_pending(conn, employee_id=row.employee_id, reason=error)
            kind = self.kinds.get(row.kind)
            if kind is not None and kind.on_unreachable is not None:
                await kind.on_unreachable(self.context, conn, row, now)

    async def aclose(self, timeout: float = 2.0) -> None:
        """Stop: no new sends; those on the wire finish (and are marked) within `timeout`."""
        self.sender.stopping.set()
        # A tick cut after the grace time leaves its rows `sending`: the next start sends them.
        for task in (self._current, self._kick_task):
            await finish_or_cancel(task, timeout, "outbox tick")
