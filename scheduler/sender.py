"""The sender owns the outbox's rules of sending: the window, retries and what 403 means.

Two kinds of time meet here. The send *window* (SEND_HOURS) is a matter of the calendar and
follows the injected clock, so tests move it. The rate caps are a matter of physics (Telegram
counts real seconds): they are kept by the bot's one pacing point (`bot.pacing`, a middleware on
the Bot's session), which the handlers' replies go through too, so the outbox and a crowd of
replies share SEND_RATE and the per-chat second.

The dispatcher runs several deliveries at once (so HTTP round-trips overlap); the pacer gives
each its start time, whatever the concurrency.
"""

from __future__ import annotations

import asyncio
import logging
import math
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

from bot.pacing import Pacer, PacingMiddleware, PacingStopped, stop_when

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


class Sender:
    def __init__(
        self, *, bot: Bot, settings: Settings, clock: Clock, pacer: Pacer | None = None
    ) -> None:
        self.bot = bot
        self.settings = settings
        self.clock = clock
        # The bot's one pacing point (bot/pacing.py): the outbox and the handlers' replies share
        # SEND_RATE and the per-chat second. A bot built without it (a test's bare Bot) gets
        # one of its own.
        self.pacer = pacer or _mounted_pacer(bot) or _mount(bot, Pacer(settings.send_rate))
        self.in_flight = in_flight_limit(settings.send_rate)
        self.stopping = asyncio.Event()

    def window_opening(self, now: datetime) -> datetime | None:
        """When a message that respects SEND_HOURS may go: None for now, else the opening."""
        return next_window_start(now, self.settings.send_window, self.settings.tz)

    async def deliver(self, message: Outgoing, *, attempts: int = 1) -> Delivery:
        """Send one message under the caps; never raises for what Telegram answers.

        The pacing middleware waits for the message's turn, and waits out short 429s in place;
        a 429 still there after that (or a long one) moves the row instead of holding a slot.
        """
        try:
            with stop_when(self.stopping):
                sent = await self._send(message)
        except PacingStopped:
            return Delivery("stopped", error="the bot is stopping")
        except TelegramRetryAfter as exc:
            log.warning("429 from Telegram: the row waits %s s", exc.retry_after)
            return Delivery(
                "postponed",
                error=exc.message,
                retry_at=self.clock.now() + timedelta(seconds=exc.retry_after),
            )
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

    async def _send(self, message: Outgoing) -> Message:
        if message.media is None:
            return await self.bot.send_message(
                message.chat_id, message.text, reply_markup=message.reply_markup
            )
        send = {
            "photo": self.bot.send_photo,
            "video": self.bot.send_video,
            "document": self.bot.send_document,
            "voice": self.bot.send_voice,
            "audio": self.bot.send_audio,
            "animation": self.bot.send_animation,
        }[message.media.kind]
        return await send(
            message.chat_id,
            message.media.file_id,
            caption=message.text or None,
            reply_markup=message.reply_markup,
        )

    def _transient(self, exc: Exception, attempts: int) -> Delivery:
        error = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        if attempts >= MAX_ATTEMPTS:
            return Delivery("failed", error=f"{error} (gave up after {attempts} attempts)")
        return Delivery("retry", error=error, retry_at=self.clock.now() + backoff(attempts))


def _mounted_pacer(bot: Bot) -> Pacer | None:
    for middleware in bot.session.middleware:
        if isinstance(middleware, PacingMiddleware):
            return middleware.pacer
    return None


def _mount(bot: Bot, pacer: Pacer) -> Pacer:
    bot.session.middleware(PacingMiddleware(pacer))
    return pacer
