"""One pacing point for everything the bot sends: replies, the outbox, documents, charts.

Telegram counts a bot's new messages (about 30 a second overall, one a second per chat) and
answers more with 429, whoever sent them. So the rule cannot live in the outbox's sender alone:
a crowd opening an invitation at once gets its replies from the handlers. `PacingMiddleware`
sits on the `Bot`'s session, in front of every API call, and sends each call that makes a new
message (`NEW_MESSAGE_METHODS`) through one shared `Pacer`:

- at most `rate` of them start in any second, and one a second per chat;
- a 429 pauses every new message for `retry_after` (Telegram says the bot is too fast) and any
  call to the chat that got it, edits included; the call itself is tried again after the pause
  (a few times, for short pauses), so a reply is late rather than lost;
- everything else (callback answers, the edit that answers a press, getUpdates) goes at once:
  a press is answered immediately, and those calls are not what Telegram's flood limit counts.

The pacing is physics (Telegram counts real seconds), so the `Pacer` follows a monotonic clock
and sleeps with `asyncio.sleep`; both are injected, and the property test drives it on virtual
time.

A caller that must give up when the bot stops (the outbox's sender) wraps its call in
`stop_when(event)`: a call still waiting for its turn when the event is set raises
`PacingStopped` instead of going out.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import math
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Hashable, Iterator
from typing import TYPE_CHECKING, Any

from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramRetryAfter

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods import TelegramMethod
    from aiogram.methods.base import Response, TelegramType

# The Bot API methods that put a new message into a chat: what Telegram's flood limit counts.
NEW_MESSAGE_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendVideo",
        "sendAnimation",
        "sendAudio",
        "sendVoice",
        "sendVideoNote",
        "sendSticker",
        "sendMediaGroup",
        "sendLocation",
        "sendVenue",
        "sendContact",
        "sendPoll",
        "sendDice",
        "sendInvoice",
        "sendPaidMedia",
        "sendGame",
        "copyMessage",
        "copyMessages",
        "forwardMessage",
        "forwardMessages",
    }
)

# Pacing aims a little under the rate, so that float rounding never fits one start too many
# into a second; the cap itself is kept by the answered-calls window (see Pacer).
HEADROOM = 0.99
# A 429 answered by waiting in place: this many times, for pauses up to this long. Past that the
# error goes to the caller (the outbox then moves its row instead of holding a sending slot).
MAX_RETRY_AFTER_WAITS = 3
MAX_INLINE_RETRY_AFTER = 30.0

Sleep = Callable[[float], Awaitable[None]]


class PacingStopped(Exception):
    """The caller's stop event was set while the call waited for its turn; nothing was sent."""


_stop: contextvars.ContextVar[asyncio.Event | None] = contextvars.ContextVar(
    "pacing_stop", default=None
)


@contextlib.contextmanager
def stop_when(event: asyncio.Event) -> Iterator[None]:
    """Calls made inside give up (PacingStopped) if `event` is set while they wait."""
    token = _stop.set(event)
    try:
        yield
    finally:
        _stop.reset(token)


class Pacer:
    """At most `rate` starts in any second overall, one a second per chat, and 429 pauses.

    Two rules together, as for any rate limit that must hold against a real server:
    - pacing: starts are at least 1/(rate × HEADROOM) apart, so a crowd is spread evenly;
    - the cap: a call starts only while fewer than `cap` calls are in flight or were answered
      less than a second ago, and its chat has nothing on the wire and had its last answer at
      least a second ago. Telegram receives a request between its departure and its answer, so
      of any `cap + 1` requests it received within one second the last to depart would have
      found the other `cap` in flight or answered within the second before, and waited. Pacing
      alone holds only while the network and both machines jitter by less than ~10 ms.

    Every `acquire()` that returns must be followed by one `finished()` when the answer (or the
    error) comes. A chat waiting for its own second never holds up other chats: each waiter
    computes its own earliest moment.
    """

    def __init__(
        self,
        rate: float,
        *,
        per_chat_interval: float = 1.0,
        window: float = 1.0,
        headroom: float = HEADROOM,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.interval = 1.0 / (rate * headroom)
        self.per_chat_interval = per_chat_interval
        self.window = window
        self.cap = max(1, math.floor(rate * window + 1e-9))
        self.paused_until = -math.inf
        self._monotonic = monotonic
        self._sleep = sleep
        self._last_start = -math.inf
        self._in_flight = 0
        self._answered: deque[float] = deque()  # answer times within the last window, ascending
        self._chat_in_flight: Counter[Hashable] = Counter()
        self._chat_answered: dict[Hashable, float] = {}
        self._chat_paused: dict[Hashable, float] = {}
        self._changed = asyncio.Event()  # set (and replaced) whenever a call is answered

    def now(self) -> float:
        return self._monotonic()

    # --- 429 -----------------------------------------------------------------------------------
    def pause(self, seconds: float) -> None:
        """No new message starts for `seconds` (Telegram said 429: the bot is too fast)."""
        self.paused_until = max(self.paused_until, self._monotonic() + seconds)

    def pause_chat(self, chat_id: Hashable, seconds: float) -> None:
        """No call to `chat_id` starts for `seconds` (that chat got a 429)."""
        until = self._monotonic() + seconds
        self._chat_paused[chat_id] = max(self._chat_paused.get(chat_id, -math.inf), until)

    def chat_paused_until(self, chat_id: Hashable) -> float:
        until = self._chat_paused.get(chat_id, -math.inf)
        if until <= self._monotonic():
            self._chat_paused.pop(chat_id, None)
            return -math.inf
        return until

    async def wait_chat(self, chat_id: Hashable) -> None:
        """Wait out a 429 that `chat_id` got (any call to a chat, edits included)."""
        while (until := self.chat_paused_until(chat_id)) > self._monotonic():
            await self._wait(until - self._monotonic())

    # --- the caps ------------------------------------------------------------------------------
    def ready_at(self, chat_id: Hashable, now: float) -> float | None:
        """Earliest moment ≥ now a new message to `chat_id` may start; None: wait for an answer."""
        while self._answered and self._answered[0] + self.window <= now:
            self._answered.popleft()
        if self._in_flight >= self.cap or self._chat_in_flight[chat_id]:
            return None
        moment = max(
            now,
            self.paused_until,
            self._chat_paused.get(chat_id, -math.inf),
            self._last_start + self.interval,
            self._chat_answered.get(chat_id, -math.inf) + self.per_chat_interval,
        )
        # At the start, in flight + answered within the window before it must stay below cap.
        excess = len(self._answered) - (self.cap - self._in_flight) + 1
        if excess > 0:
            moment = max(moment, self._answered[excess - 1] + self.window)
        return moment

    def started(self, chat_id: Hashable, now: float) -> None:
        self._in_flight += 1
        self._chat_in_flight[chat_id] += 1
        self._last_start = now

    def finished(self, chat_id: Hashable) -> None:
        """The call to `chat_id` was answered (sent, refused or failed)."""
        moment = self._monotonic()
        self._in_flight -= 1
        self._chat_in_flight[chat_id] -= 1
        if not self._chat_in_flight[chat_id]:
            del self._chat_in_flight[chat_id]
        self._answered.append(moment)
        self._chat_answered[chat_id] = moment
        if len(self._chat_answered) > 4096:  # bounded memory under a crowd of chats
            cut = moment - self.per_chat_interval
            self._chat_answered = {c: t for c, t in self._chat_answered.items() if t > cut}
        self._changed.set()
        self._changed = asyncio.Event()

    async def acquire(self, chat_id: Hashable) -> None:
        """Wait until a new message to `chat_id` may start, and count it as started.

        Raises PacingStopped when the caller's stop event (`stop_when`) is set meanwhile.
        """
        while True:
            _raise_if_stopped()
            now = self._monotonic()
            changed = self._changed
            moment = self.ready_at(chat_id, now)
            if moment is None:
                await self._wait_for(changed)
            elif moment <= now:
                self.started(chat_id, now)
                return
            else:
                await self._wait(moment - now)

    # --- waiting -------------------------------------------------------------------------------
    async def _wait(self, seconds: float) -> None:
        stop = _stop.get()
        if stop is None:
            await self._sleep(seconds)
            return
        await _first_of(self._sleep(seconds), stop.wait())
        _raise_if_stopped()

    async def _wait_for(self, event: asyncio.Event) -> None:
        stop = _stop.get()
        if stop is None:
            await event.wait()
            return
        await _first_of(event.wait(), stop.wait())
        _raise_if_stopped()


def _raise_if_stopped() -> None:
    stop = _stop.get()
    if stop is not None and stop.is_set():
        raise PacingStopped("the bot is stopping")


async def _first_of(*aws: Awaitable[Any]) -> None:
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


def chat_of(method: TelegramMethod[Any]) -> Hashable | None:
    """The chat a call goes to, if it names one (an int id or an @username)."""
    chat_id = getattr(method, "chat_id", None)
    return chat_id if isinstance(chat_id, int | str) else None


class PacingMiddleware(BaseRequestMiddleware):
    """The Bot session's middleware: every call goes through the shared `Pacer`."""

    def __init__(
        self,
        pacer: Pacer,
        *,
        max_waits: int = MAX_RETRY_AFTER_WAITS,
        max_inline_retry_after: float = MAX_INLINE_RETRY_AFTER,
    ) -> None:
        self.pacer = pacer
        self.max_waits = max_waits
        self.max_inline_retry_after = max_inline_retry_after

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        chat_id = chat_of(method)
        if chat_id is None:
            return await make_request(bot, method)  # callback answers, getUpdates, getMe …
        paced = method.__api_method__ in NEW_MESSAGE_METHODS
        waits = 0
        while True:
            await self.pacer.wait_chat(chat_id)
            if paced:
                await self.pacer.acquire(chat_id)
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                self.pacer.pause_chat(chat_id, exc.retry_after)
                if paced:
                    # Telegram's flood control is per bot: slow every new message down.
                    self.pacer.pause(exc.retry_after)
                if waits >= self.max_waits or exc.retry_after > self.max_inline_retry_after:
                    raise
                waits += 1
            finally:
                if paced:
                    self.pacer.finished(chat_id)
