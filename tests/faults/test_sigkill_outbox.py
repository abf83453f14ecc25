"""SIGKILL at seeded random points of a batch of 1,000 outbox sends, restarted each time.

No row is lost, every customer gets the message, and a second copy happens only for a row that
was `sending` at one of the kills and had already reached Telegram (the in-flight ones); those
are counted and printed.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bot.emulator import BotAPIEmulator
from scheduler.sender import in_flight_limit
from tests.test_outbox_crash import (
    FIRST_CHAT,
    all_sent,
    check_delivery,
    delivered,
    outbox_bot,
    prepare,
    sending_chats,
    settled,
)

MESSAGES = 1000
SEND_RATE = 400
KILLS = 3
SEED = 20261122


@pytest.mark.slow
async def test_kills_during_1000_sends_lose_nothing(
    tg: BotAPIEmulator, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    path = tmp_path / "bot.sqlite3"
    await prepare(path, MESSAGES)
    for n in range(MESSAGES):
        tg.user(FIRST_CHAT + n, f"Клиент {n}")
    bot = outbox_bot(tg, path, SEND_RATE)
    request.addfinalizer(bot.close)
    # Kill points: seeded, spread over the batch, each after at least some progress.
    points = sorted(random.Random(SEED).sample(range(100, MESSAGES - 100), KILLS))
    in_flight: set[int] = set()
    for point in points:
        await bot.start()
        await tg.wait_for(lambda p=point: sum(delivered(tg).values()) >= p, timeout=60)
        bot.kill()
        await settled(tg)  # requests the dead process had sent are answered, then counted
        sent_so_far = delivered(tg)
        in_flight |= {chat for chat in sending_chats(path) if sent_so_far[chat]}

    await bot.start()
    await all_sent(tg, path, MESSAGES, timeout=60)
    assert await bot.terminate() == 0, bot.log()

    twice = check_delivery(tg, path, MESSAGES, in_flight, KILLS * in_flight_limit(SEND_RATE))
    print(
        f"\n{KILLS} kills at {points} of {MESSAGES} sends (SEND_RATE={SEND_RATE}); "
        f"in flight at the kills and already at Telegram: {len(in_flight)}; "
        f"delivered twice: {len(twice)}"
    )
