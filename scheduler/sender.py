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

    from bot.clock import Clock
    from bot.settings import Settings
    from scheduler.kinds import Outgoing

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

# The limiter aims this share of the cap. Telegram counts arrivals, we control departures: with
# 3% headroom a burst of up to ~30 ms of network jitter still cannot put one message too many
# into a second, and 30/s still yields 29.1/s.
HEADROOM = 0.97
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
    """At most `rate` sends per second overall and one per second per chat.

    Every send reserves a start time in a small calendar: the earliest moment at least
    1/(rate × HEADROOM) away from every other reserved start and at least 1/HEADROOM s after
    the same chat's previous one. A chat waiting for its own second does not hold up other
    chats: they take the free slots before it. `pause()` (after a 429) moves everything
    that has not started yet past the pause.

    `reserve` is pure bookkeeping on the times it is given, so it is tested without sleeping.
    """

    def __init__(
        self,
        rate: float,
        *,
        per_chat_interval: float = 1.0,
        headroom: float = HEADROOM,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = 1.0 / (rate * headroom)
        self.per_chat_interval = per_chat_interval / headroom
        self.paused_until = -math.inf
        self._monotonic = monotonic
        self._slots: list[float] = []  # reserved start times that may still conflict, sorted
        self._chat_next: dict[int, float] = {}

    def reserve(self, chat_id: int, now: float) -> float:
        """Reserve the earliest allowed start time at or after `now` for a send to `chat_id`."""
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

    async def acquire(self, chat_id: int, stop: asyncio.Event | None = None) -> bool:
        """Wait for a slot; False when `stop` was set meanwhile (nothing may be sent then)."""
        while True:
            previous = self._chat_next.get(chat_id)
            slot = self.reserve(chat_id, self._monotonic())
            if not await _sleep_until(slot, self._monotonic, stop):
                self.release(slot, chat_id, previous)
                return False
            if self.paused_until > slot:
                # A 429 arrived while we waited: this slot is inside the pause; take a new one.
                self.release(slot, chat_id, previous)
                continue
            return True


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
                sent = await self.bot.send_message(
                    message.chat_id, message.text, reply_markup=message.reply_markup
                )
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

    def _transient(self, exc: Exception, attempts: int) -> Delivery:
        error = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        if attempts >= MAX_ATTEMPTS:
            return Delivery("failed", error=f"{error} (gave up after {attempts} attempts)")
        return Delivery("retry", error=error, retry_at=self.clock.now() + backoff(attempts))
