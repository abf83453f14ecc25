"""The sender owns the rules of sending: the window, the rate caps, retries and what 403 means."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)

if TYPE_CHECKING:
    from aiogram import Bot

    from bot.clock import Clock
    from bot.settings import Settings
    from scheduler.kinds import Outgoing

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6  # transient failures (network, 5xx) before a row is given up as failed

Outcome = Literal["sent", "retry", "unreachable", "failed"]


@dataclass(frozen=True)
class Delivery:
    outcome: Outcome
    message_id: int | None = None
    error: str | None = None
    retry_at: datetime | None = None


def next_window_start(now: datetime, window: tuple[int, int], tz: object) -> datetime | None:
    """None when `now` is inside the send window; else the window's next opening (UTC-aware)."""
    start, end = window
    if (start, end) == (0, 24):
        return None
    local = now.astimezone(tz)  # type: ignore[arg-type]
    if start <= local.hour < end:
        return None
    opening = local.replace(hour=start, minute=0, second=0, microsecond=0)
    if local.hour >= end:
        opening += timedelta(days=1)
    return opening


class RateLimiter:
    """A global cap of `rate` sends per second and at most one per second per chat."""

    def __init__(self, rate: float, per_chat_interval: float = 1.0) -> None:
        self.interval = 1.0 / rate
        self.per_chat_interval = per_chat_interval
        self._next_global = 0.0
        self._next_chat: dict[int, float] = {}
        self._lock = asyncio.Lock()

    async def wait(self, chat_id: int) -> None:
        async with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_global, self._next_chat.get(chat_id, 0.0))
            self._next_global = slot + self.interval
            self._next_chat[chat_id] = slot + self.per_chat_interval
            if len(self._next_chat) > 10_000:
                self._next_chat = {c: t for c, t in self._next_chat.items() if t > now}
        delay = slot - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)


class Sender:
    def __init__(self, *, bot: Bot, settings: Settings, clock: Clock) -> None:
        self.bot = bot
        self.settings = settings
        self.clock = clock
        self.limiter = RateLimiter(settings.send_rate)

    async def deliver(
        self, message: Outgoing, *, respect_window: bool, attempts: int = 1
    ) -> Delivery:
        now = self.clock.now()
        if respect_window:
            opening = next_window_start(now, self.settings.send_window, self.settings.tz)
            if opening is not None:
                return Delivery("retry", error="outside SEND_HOURS", retry_at=opening)
        await self.limiter.wait(message.chat_id)
        try:
            sent = await self.bot.send_message(
                message.chat_id, message.text, reply_markup=message.reply_markup
            )
        except TelegramRetryAfter as exc:
            return Delivery(
                "retry", error=exc.message, retry_at=now + timedelta(seconds=exc.retry_after)
            )
        except TelegramForbiddenError as exc:
            return Delivery("unreachable", error=exc.message)
        except (TelegramNetworkError, TelegramServerError) as exc:
            if attempts >= MAX_ATTEMPTS:
                return Delivery("failed", error=exc.message)
            delay = timedelta(seconds=min(3600.0, 5.0 * 2 ** (attempts - 1)))
            return Delivery("retry", error=exc.message, retry_at=now + delay)
        except TelegramBadRequest as exc:
            return Delivery("failed", error=exc.message)
        except TelegramAPIError as exc:
            return Delivery("failed", error=exc.message)
        return Delivery("sent", message_id=sent.message_id)
