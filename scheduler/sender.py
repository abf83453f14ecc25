"""The sender owns the rules of sending: the window, the rate caps, retries and what 403 means.

Two kinds of time meet here. The send *window* (SEND_HOURS) is a matter of the calendar and
follows the injected clock, so tests move it. The rate caps are a matter of physics (Telegram
counts real seconds) and follow `time.monotonic()`.

The dispatcher runs several deliveries at once (so HTTP round-trips overlap); the `RateLimiter`
hands each one a start time that keeps the global and per-chat caps whatever the concurrency.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import math
import time
from asyncio import FIRST_COMPLETED
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Literal

from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.types import Message

    from bot.clock import Clock
    from bot.outbox import Outgoing
    from bot.settings import Settings

log = logging.getLogger(__name__)

# Transient failures (network, 5xx) of one row before it is given up as `failed`. With the
# backoff below the last try comes about 1.4 hours after the first: long enough to ride out a
# Telegram or network outage, short enough that a reminder is not days late.
MAX_ATTEMPTS = 10
BACKOFF_BASE = timedelta(seconds=10)
BACKOFF_CAP = timedelta(hours=1)

# 429s answered by waiting in place for one message; after that (or for a long retry_after) the
# row goes back to the queue with its due time moved, so it does not hold a sending slot.
MAX_RETRY_AFTER_WAITS = 3
MAX_INLINE_RETRY_AFTER = 30.0

# Pacing aims this share of SEND_RATE (float rounding must never fit one send too many into a
# second); the cap itself is kept by the answered-sends window (see RateLimiter).
HEADROOM = 0.99
# Sends in flight at once: enough to keep up SEND_RATE while Telegram answers within 400 ms.
# This is also the most rows a crash can send twice (those on the wire at that moment).
IN_FLIGHT_LATENCY = 0.4
MAX_IN_FLIGHT = 16

Outcome = Literal["sent", "retry", "postponed", "unreachable", "failed", "stopped"]


@dataclass(frozen=True)
class Delivery:
    """What became of one message.

    sent: Telegram took it. retry: a transient failure, try again at `retry_at` (counts as an
    attempt). postponed: not now (outside SEND_HOURS, or Telegram asked us to slow down), try
    at `retry_at` (no attempt counted). unreachable: 403, the person blocked the bot or is gone.
    failed: Telegram refused the message itself, or too many attempts. stopped: the bot is
    shutting down and the message was not sent.
    """

    outcome: Outcome
    message_id: int | None = None
    error: str | None = None
    retry_at: datetime | None = None


def in_flight_limit(rate: float) -> int:
    return max(2, min(MAX_IN_FLIGHT, math.ceil(rate * IN_FLIGHT_LATENCY)))


def backoff(attempts: int) -> timedelta:
    """Delay before the next try after `attempts` failed ones: 10 s, 20 s, 40 s … at most 1 h."""
    exponent = max(0, attempts - 1)
    if exponent >= 20:  # 2**20 × 10 s is far past the cap; avoid a huge float
        return BACKOFF_CAP
    return min(BACKOFF_CAP, BACKOFF_BASE * 2**exponent)


def next_window_start(now: datetime, window: tuple[int, int], tz: tzinfo) -> datetime | None:
    """None when `now` is inside the send window; else the window's next opening (aware).

    The window is in local hours of `tz`: 9-21 means from 09:00 until 20:59:59 local time.
    """
    start, end = window
    if (start, end) == (0, 24):
        return None
    local = now.astimezone(tz)
    if start <= local.hour < end:
        return None
    day = local.date() if local.hour < start else local.date() + timedelta(days=1)
    # Built from the date, not by adding a day to `local`, so a DST change in between cannot
    # shift the opening off the hour.
    return datetime(day.year, day.month, day.day, start, tzinfo=tz)


class RateLimiter:
    """At most `rate` sends in any second overall, and one per second per chat.

    Two rules together:
    - pacing: every send reserves a start time in a small calendar, at least 1/(rate × HEADROOM)
      away from every other reserved start and 1/HEADROOM s after the same chat's previous
      one. A chat waiting for its own second does not hold up other chats: they take the free
      slots before it. `pause()` (after a 429) moves everything not started yet past the pause.
    - the cap: a send starts only while fewer than `cap` sends are in flight or were answered
      less than a second ago, and its chat's previous send was answered at least a second ago
      (not merely sent: two messages to one chat must never be on the wire together).
      Telegram receives a request between its departure and its answer, so of any `cap + 1`
      requests it received within one second, the last to depart would have found the other
      `cap` in flight or answered within the second before, and waited. Pacing alone holds
      only while the network and the two machines' schedulers jitter by less than ~10 ms; a
      busy machine stalls longer than that, and this rule holds whatever the jitter.

    `reserve` and `window_ready` are bookkeeping on the times they are given, so they are
    tested without sleeping. Every `acquire()` that returns True must be followed by one
    `finished()` when the answer (or the error) comes.
    """

    def __init__(
        self,
        rate: float,
        *,
        per_chat_interval: float = 1.0,
        headroom: float = HEADROOM,
        window: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = 1.0 / (rate * headroom)
        self.per_chat_interval = per_chat_interval / headroom
        self.window = window
        self.cap = max(1, math.floor(rate * window + 1e-9))
        self.paused_until = -math.inf
        self._monotonic = monotonic
        self._slots: list[float] = []  # reserved start times that may still conflict, sorted
        self._chat_next: dict[int, float] = {}
        self._in_flight = 0
        self._answered: deque[float] = deque()  # answer times within the last window, ascending
        self._chat_answered: dict[int, float] = {}
        self._chat_in_flight: Counter[int] = Counter()
        self._changed = asyncio.Event()  # set (and replaced) whenever a send is answered

    # --- pacing --------------------------------------------------------------------------------
    def reserve(self, chat_id: int, now: float) -> float:
        """Reserve the earliest paced start time at or after `now` for a send to `chat_id`."""
        interval = self.interval
        # Slots further back than one interval can no longer conflict with anything new.
        del self._slots[: bisect.bisect_left(self._slots, now - interval)]
        start = max(now, self.paused_until, self._chat_next.get(chat_id, -math.inf))
        i = bisect.bisect_right(self._slots, start - interval)
        while i < len(self._slots) and self._slots[i] < start + interval:
            start = self._slots[i] + interval
            i += 1
        self._slots.insert(i, start)
        self._chat_next[chat_id] = start + self.per_chat_interval
        if len(self._chat_next) > 4096:
            self._chat_next = {c: t for c, t in self._chat_next.items() if t > now}
        return start

    def release(self, slot: float, chat_id: int, previous: float | None) -> None:
        """Give a reserved slot back (its send will not happen at that time).

        `previous` is the chat's next allowed time before the reservation: unless the chat
        reserved again since, it is restored, so the chat is not held back by a send that
        never happened.
        """
        i = bisect.bisect_left(self._slots, slot)
        if i < len(self._slots) and self._slots[i] == slot:
            del self._slots[i]
        if self._chat_next.get(chat_id) == slot + self.per_chat_interval:
            if previous is None:
                del self._chat_next[chat_id]
            else:
                self._chat_next[chat_id] = previous

    def pause(self, seconds: float, now: float | None = None) -> None:
        """Nothing starts for `seconds` (Telegram said 429: the whole bot is too fast)."""
        moment = (self._monotonic() if now is None else now) + seconds
        self.paused_until = max(self.paused_until, moment)

    # --- the cap -------------------------------------------------------------------------------
    def window_ready(self, now: float) -> float | None:
        """Earliest time ≥ `now` a send may start under the cap; None while `cap` are in flight."""
        while self._answered and self._answered[0] + self.window <= now:
            self._answered.popleft()
        if self._in_flight >= self.cap:
            return None
        # At the start, in flight + answered within the window before it must stay below cap.
        excess = len(self._answered) - (self.cap - self._in_flight) + 1
        if excess <= 0:
            return now
        return self._answered[excess - 1] + self.window

    def chat_ready(self, chat_id: int) -> float | None:
        """When the chat may get its next send; None while a send to it is on the wire."""
        if self._chat_in_flight[chat_id]:
            return None
        return self._chat_answered.get(chat_id, -math.inf) + self.per_chat_interval

    def started(self, chat_id: int) -> None:
        self._in_flight += 1
        self._chat_in_flight[chat_id] += 1

    def finished(self, chat_id: int, now: float | None = None) -> None:
        """The send to `chat_id` was answered (sent, refused or failed)."""
        moment = self._monotonic() if now is None else now
        self._in_flight -= 1
        self._chat_in_flight[chat_id] -= 1
        if not self._chat_in_flight[chat_id]:
            del self._chat_in_flight[chat_id]
        self._answered.append(moment)
        self._chat_answered[chat_id] = moment
        if len(self._chat_answered) > 4096:
            cut = moment - self.per_chat_interval
            self._chat_answered = {c: t for c, t in self._chat_answered.items() if t > cut}
        self._changed.set()
        self._changed = asyncio.Event()

    # --- waiting -------------------------------------------------------------------------------
    async def acquire(self, chat_id: int, stop: asyncio.Event | None = None) -> bool:
        """Wait until a send to `chat_id` may start; False when `stop` was set meanwhile."""
        while True:
            previous = self._chat_next.get(chat_id)
            slot = self.reserve(chat_id, self._monotonic())
            if not await _sleep_until(slot, self._monotonic, stop):
                self.release(slot, chat_id, previous)
                return False
            now = self._monotonic()
            changed = self._changed
            ready = self.window_ready(now)
            chat_ready = self.chat_ready(chat_id)
            if ready is None or chat_ready is None:
                wait_until = None
            else:
                wait_until = max(self.paused_until, chat_ready, ready)
            if wait_until is not None and wait_until <= now:
                self.started(chat_id)
                return True
            # Not yet (a 429 pause came meanwhile, the cap is reached, or the chat's previous
            # message is on the wire): the slot goes back to the others and this send waits
            # for its moment, then paces again.
            self.release(slot, chat_id, previous)
            if wait_until is None:
                if not await _wait_event(changed, stop, timeout=self.window):
                    return False
            elif not await _sleep_until(wait_until, self._monotonic, stop):
                return False


async def _sleep_until(
    moment: float, monotonic: Callable[[], float], stop: asyncio.Event | None
) -> bool:
    delay = moment - monotonic()
    if stop is not None and stop.is_set():
        return False
    if delay <= 0:
        return True
    if stop is None:
        await asyncio.sleep(delay)
        return True
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), delay)
    return not stop.is_set()


async def _wait_event(event: asyncio.Event, stop: asyncio.Event | None, timeout: float) -> bool:
    """Wait for `event` (at most `timeout`); False when `stop` was set first."""
    waiters = {asyncio.ensure_future(event.wait())}
    if stop is not None:
        waiters.add(asyncio.ensure_future(stop.wait()))
    _, pending = await asyncio.wait(waiters, timeout=timeout, return_when=FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    return stop is None or not stop.is_set()


class Sender:
    def __init__(self, *, bot: Bot, settings: Settings, clock: Clock) -> None:
        self.bot = bot
        self.settings = settings
        self.clock = clock
        self.limiter = RateLimiter(settings.send_rate)
        self.in_flight = in_flight_limit(settings.send_rate)
        self.stopping = asyncio.Event()

    def window_opening(self, now: datetime) -> datetime | None:
        """When a message that respects SEND_HOURS may go: None for now, else the opening."""
        return next_window_start(now, self.settings.send_window, self.settings.tz)

    async def deliver(self, message: Outgoing, *, attempts: int = 1) -> Delivery:
        """Send one message under the caps; never raises for what Telegram answers."""
        for waits in range(MAX_RETRY_AFTER_WAITS + 1):
            if not await self.limiter.acquire(message.chat_id, self.stopping):
                return Delivery("stopped", error="the bot is stopping")
            try:
                sent = await self._post(message)
            except TelegramRetryAfter as exc:
                # Telegram's flood control is per bot: slow every send down, not only this one.
                self.limiter.pause(exc.retry_after)
                log.warning("429 from Telegram: pausing every send for %s s", exc.retry_after)
                if exc.retry_after > MAX_INLINE_RETRY_AFTER or waits == MAX_RETRY_AFTER_WAITS:
                    return Delivery(
                        "postponed",
                        error=exc.message,
                        retry_at=self.clock.now() + timedelta(seconds=exc.retry_after),
                    )
                continue
            except TelegramForbiddenError as exc:
                return Delivery("unreachable", error=exc.message)
            except (
                TelegramNetworkError,
                TelegramServerError,
                TelegramUnauthorizedError,  # a revoked token is an operator's fix, not the row's
                ClientDecodeError,  # a proxy's HTML error page instead of Telegram's JSON
            ) as exc:
                return self._transient(exc, attempts)
            except TelegramBadRequest as exc:
                return Delivery("failed", error=exc.message)
            except TelegramAPIError as exc:
                return Delivery("failed", error=exc.message)
            return Delivery("sent", message_id=sent.message_id)
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns

    async def _post(self, message: Outgoing) -> Message:
        try:
            return await self.bot.send_message(
                message.chat_id, message.text, reply_markup=message.reply_markup
            )
        finally:
            # Whatever the answer (or none: a timeout), the request may have reached Telegram.
            self.limiter.finished(message.chat_id)

    def _transient(self, exc: Exception, attempts: int) -> Delivery:
        error = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        if attempts >= MAX_ATTEMPTS:
            return Delivery("failed", error=f"{error} (gave up after {attempts} attempts)")
        return Delivery("retry", error=error, retry_at=self.clock.now() + backoff(attempts))
