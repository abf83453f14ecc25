"""The pacing point (bot/pacing.py) on virtual time: never over the rate cap, whatever arrives.

Calls go through the real `PacingMiddleware` to a fake Telegram that records when each request
left and when its answer came; the clock and the sleeps are virtual, so a run of minutes of
traffic takes milliseconds and repeats exactly.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage, SendPhoto
from hypothesis import given
from hypothesis import strategies as st

from bot.pacing import Pacer, PacingMiddleware, PacingStopped, stop_when


class VirtualTime:
    """A clock and a sleep for the pacer: time moves only when every task is waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._timers, (self.now + max(0.0, seconds), next(self._seq), future))
        await future

    async def run(self, tasks: list[asyncio.Task[Any]]) -> None:
        """Run the tasks to the end, moving the clock to the next timer whenever all wait."""
        while not all(t.done() for t in tasks):
            for _ in range(30):  # let every runnable task run until it waits
                await asyncio.sleep(0)
            while self._timers and self._timers[0][2].cancelled():
                heapq.heappop(self._timers)
            if not self._timers:
                if all(t.done() for t in tasks):
                    break
                raise AssertionError("deadlock: every task waits and no timer is set")
            wake, _, future = heapq.heappop(self._timers)
            self.now = max(self.now, wake)
            future.set_result(None)
        for task in tasks:
            task.result()  # re-raise what a task raised


@dataclass
class Request:
    method: str
    chat: int
    start: float
    end: float = float("nan")
    status: int = 200
    retry_after: int = 0


@dataclass
class FakeTelegram:
    time: VirtualTime
    latency: dict[int, float]  # per call number
    flood: dict[int, int]  # call number -> retry_after of the 429 it gets
    default_latency: float = 0.05
    requests: list[Request] = field(default_factory=list)

    async def __call__(self, bot: Any, method: Any) -> Any:
        number = len(self.requests)
        request = Request(method.__api_method__, getattr(method, "chat_id", 0) or 0, self.time.now)
        self.requests.append(request)
        await self.time.sleep(self.latency.get(number, self.default_latency))
        request.end = self.time.now
        if number in self.flood:
            request.status, request.retry_after = 429, self.flood[number]
            raise TelegramRetryAfter(
                method=method, message="Too Many Requests", retry_after=request.retry_after
            )
        return True


@dataclass(frozen=True)
class Call:
    at: float  # when the bot makes the call
    kind: str  # "send" | "photo" | "edit" | "answer"
    chat: int


calls = st.lists(
    st.builds(
        Call,
        at=st.floats(0, 3, allow_nan=False).map(lambda x: round(x, 3)),
        kind=st.sampled_from(["send", "send", "send", "photo", "edit", "answer"]),
        chat=st.integers(1, 6),
    ),
    min_size=1,
    max_size=60,
)


def _method(call: Call) -> Any:
    if call.kind == "send":
        return SendMessage(chat_id=call.chat, text="hi")
    if call.kind == "photo":
        return SendPhoto(chat_id=call.chat, photo="file-id")
    if call.kind == "edit":
        return EditMessageText(chat_id=call.chat, message_id=1, text="hi")
    return AnswerCallbackQuery(callback_query_id="1")


async def _drive(
    rate: int,
    plan: list[Call],
    latency: dict[int, float],
    flood: dict[int, int],
    default_latency: float = 0.05,
) -> tuple[FakeTelegram, list[tuple[Call, float]]]:
    vt = VirtualTime()
    pacer = Pacer(rate, monotonic=vt.monotonic, sleep=vt.sleep)
    middleware = PacingMiddleware(pacer)
    telegram = FakeTelegram(vt, latency, flood, default_latency=default_latency)
    made: list[tuple[Call, float]] = []

    async def one(call: Call) -> None:
        await vt.sleep(call.at)
        made.append((call, vt.now))
        # A 429 still there after the inline waits is the caller's business.
        with contextlib.suppress(TelegramRetryAfter):
            await middleware(telegram, None, _method(call))  # type: ignore[arg-type]

    tasks = [asyncio.create_task(one(call)) for call in plan]
    await vt.run(tasks)
    return telegram, made


def _new_message(request: Request) -> bool:
    return request.method in ("sendMessage", "sendPhoto")


@given(
    rate=st.integers(1, 30),
    plan=calls,
    latency=st.dictionaries(st.integers(0, 80), st.floats(0.001, 1.5, allow_nan=False)),
    default_latency=st.sampled_from([0.002, 0.05, 0.4, 0.9, 1.3]),
    flood=st.dictionaries(st.integers(0, 80), st.integers(1, 3), max_size=3),
)
async def test_never_over_the_rate_cap(
    rate: int,
    plan: list[Call],
    latency: dict[int, float],
    default_latency: float,
    flood: dict[int, int],
) -> None:
    telegram, _ = await _drive(rate, plan, latency, flood, default_latency)
    sends = [r for r in telegram.requests if _new_message(r)]
    cap = rate  # at most `rate` in any second

    for request in sends:
        # Telegram receives a request between its departure and its answer: for any cap + 1
        # of them to fall within one second, the last to leave would have left while the
        # others were in flight or answered less than a second before. It never does.
        overlapping = [
            other
            for other in sends
            if other is not request
            and other.start <= request.start
            and other.end > request.start - 1.0 + 1e-9  # float sums: 1.05 + 1 ≠ 2.05
        ]
        assert len(overlapping) <= cap - 1, (request, overlapping)
        # One a second per chat: nothing else to the chat on the wire, and its previous
        # answer at least a second before.
        for other in sends:
            if other is not request and other.chat == request.chat and other.start <= request.start:
                assert request.start >= other.end + 1.0 - 1e-9, (other, request)

    for flooded in (r for r in telegram.requests if r.status == 429):
        until = flooded.end + flooded.retry_after
        for later in telegram.requests:
            if later.start < flooded.end or later.start >= until - 1e-9:
                continue
            # Nothing to the chat that got the 429, and no new message at all, in the pause.
            assert later.chat != flooded.chat or later.method == "answerCallbackQuery", (
                flooded,
                later,
            )
            if _new_message(flooded):  # Telegram's flood control is per bot for new messages
                assert not _new_message(later), (flooded, later)


@given(plan=calls)
async def test_callback_answers_and_edits_go_at_once(plan: list[Call]) -> None:
    """Without 429s nothing but new messages waits: a press is answered the moment it is made."""
    telegram, made = await _drive(2, plan, {}, {})
    started = {}
    for request in telegram.requests:
        started.setdefault(request.method, []).append(request.start)
    for call, at in made:
        if call.kind in ("edit", "answer"):
            method = "editMessageText" if call.kind == "edit" else "answerCallbackQuery"
            assert at in started[method]


@given(chats=st.lists(st.integers(1, 3), min_size=2, max_size=12))
async def test_a_chat_that_got_a_429_waits_it_out_edits_included(chats: list[int]) -> None:
    """The first message is refused with retry_after=2: its chat hears nothing for 2 s, then
    the message goes again and arrives."""
    vt = VirtualTime()
    pacer = Pacer(30, monotonic=vt.monotonic, sleep=vt.sleep)
    middleware = PacingMiddleware(pacer)
    telegram = FakeTelegram(vt, {}, {0: 2})

    async def first() -> None:
        await middleware(telegram, None, SendMessage(chat_id=chats[0], text="hi"))  # type: ignore[arg-type]

    async def later(chat: int) -> None:
        await vt.sleep(0.1)
        await middleware(telegram, None, EditMessageText(chat_id=chat, message_id=1, text="x"))  # type: ignore[arg-type]

    tasks = [asyncio.create_task(first())] + [asyncio.create_task(later(c)) for c in chats[1:]]
    await vt.run(tasks)

    refused, *rest = telegram.requests
    assert refused.status == 429
    retried = [r for r in rest if r.method == "sendMessage"]
    assert len(retried) == 1
    assert retried[0].start >= refused.end + 2
    for request in rest:
        if request.chat == refused.chat:
            assert request.start >= refused.end + 2
        else:
            assert request.start == pytest.approx(0.1)  # other chats' edits were not held up


async def test_a_stopped_caller_gives_up_waiting_and_sends_nothing() -> None:
    vt = VirtualTime()
    pacer = Pacer(1, monotonic=vt.monotonic, sleep=vt.sleep)
    middleware = PacingMiddleware(pacer)
    telegram = FakeTelegram(vt, {}, {})
    stop = asyncio.Event()
    outcomes: list[str] = []

    async def send(chat: int) -> None:
        with stop_when(stop):
            try:
                await middleware(telegram, None, SendMessage(chat_id=chat, text="hi"))  # type: ignore[arg-type]
                outcomes.append("sent")
            except PacingStopped:
                outcomes.append("stopped")

    async def stopper() -> None:
        await vt.sleep(0.5)
        stop.set()

    tasks = [asyncio.create_task(send(chat)) for chat in (1, 2, 3)]
    tasks.append(asyncio.create_task(stopper()))
    await vt.run(tasks)

    assert sorted(outcomes) == ["sent", "stopped", "stopped"]  # one a second: only the first
    assert len(telegram.requests) == 1


def test_a_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        Pacer(0)
