"""Issue 10, item 6: every send is paced, replies included, and a 429 on a reply is not the end
of it. Through the wire: the emulator records when each request reached it.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from bot.app import BotApp
from bot.emulator import BotAPIEmulator
from bot.emulator.server import Call, Timeline
from tests.promises_helpers import post_purchase, purchase_body, review_requests

# These check the pacer's one second per chat itself (tests/conftest.py turns it off elsewhere).
pytestmark = pytest.mark.paced

RATE = 10


def _to(call: Call, chat_id: int) -> bool:
    # A refused call keeps its raw parameters (text), an accepted one the parsed ones.
    return str(call.params.get("chat_id")) == str(chat_id)


async def test_a_crowd_and_the_outbox_share_one_rate(start_app, tg: BotAPIEmulator) -> None:  # type: ignore[no-untyped-def]
    """Twenty strangers press /start while ten review requests are due: at most SEND_RATE new
    messages reach Telegram in any second, and every one of them arrives."""
    app: BotApp = await start_app(send_rate=RATE)
    timeline = Timeline()
    tg.on_call.append(timeline.record)
    now = app.clock.now()
    customers = []
    for n in range(10):
        payload = await post_purchase(
            app, purchase_body(f"Q-{n}", f"queue-{n}", now - timedelta(days=6), phone=None)
        )
        user = tg.user(950_000 + n, "Клиент")
        customers.append((user, payload))
    # They linked earlier (before the requests were due); the requests wait in the outbox.
    for user, payload in customers:
        user.send(f"/start {payload}")
    await tg.settle(timeout=30)
    app.clock.advance(days=1)  # now they are due
    timeline.sends.clear()

    strangers = [tg.user(951_000 + n, "Гость") for n in range(20)]
    for person in strangers:
        person.send("/start")
    await app.outbox.tick()
    await tg.settle(timeout=30)
    await tg.wait_for(lambda: all(review_requests(u) for u, _ in customers), timeout=30)
    await tg.wait_for(lambda: all(p.texts() for p in strangers), timeout=30)

    assert len(timeline.sends) == 30
    assert timeline.max_in_window(1.0) <= RATE


async def test_one_chat_gets_one_message_a_second(app: BotApp, tg: BotAPIEmulator) -> None:
    user = tg.user(952_001, "Торопыга")
    for _ in range(3):
        user.send("/help")
    await tg.settle(timeout=30)
    times = [c.at for c in tg.calls_of("sendMessage") if _to(c, user.id)]
    assert len(times) == 3
    assert all(later - earlier >= 0.99 for earlier, later in itertools.pairwise(times))


async def test_a_429_on_a_reply_is_retried_not_dropped(app: BotApp, tg: BotAPIEmulator) -> None:
    user = tg.user(952_002, "Гость")
    tg.fail("sendMessage", 1, status=429, retry_after=1, chat_id=user.id)
    user.send("/help")
    await tg.settle(timeout=30)

    sends = [c for c in tg.calls_of("sendMessage") if _to(c, user.id)]
    assert [c.status for c in sends] == [429, 200]
    assert sends[1].at - sends[0].at >= 1.0  # after retry_after, not before
    assert sends[1].params["text"] == sends[0].params["text"]  # the reply itself, not an apology
