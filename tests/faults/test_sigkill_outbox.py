"""SIGKILL at seeded random points of a batch of 1,000 outbox sends, restarted each time.

No row is lost, every customer gets the message, and a second copy happens only for a row that
was `sending` at one of the kills and had already reached Telegram (the in-flight ones); those
are counted and printed.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from bot.emulator import BotAPIEmulator
from scheduler.sender import in_flight_limit
from tests.test_outbox_crash import (
    FIRST_CHAT,
    db_rows,
    delivered,
    outbox_bot,
    prepare,
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
        sending = {
            int(chat)
            for (chat,) in db_rows(
                path,
                "SELECT c.telegram_id FROM outbox o JOIN customers c ON c.id = o.customer_id "
                "WHERE o.status = 'sending'",
            )
        }
        in_flight |= {chat for chat in sending if sent_so_far[chat]}

    await bot.start()
    unsent = (
        "SELECT COUNT(*) FROM outbox WHERE kind = 'review_request' "
        "AND status IN ('pending', 'sending')"
    )
    async with asyncio.timeout(60):
        while len(delivered(tg)) < MESSAGES or db_rows(path, unsent)[0][0]:
            await asyncio.sleep(0.05)
    assert await bot.terminate() == 0, bot.log()

    counts = delivered(tg)
    twice = {chat for chat, n in counts.items() if n > 1}
    print(
        f"\n{KILLS} kills at {points} of {MESSAGES} sends (SEND_RATE={SEND_RATE}); "
        f"in flight at the kills and already at Telegram: {len(in_flight)}; "
        f"delivered twice: {len(twice)}"
    )
    assert set(counts) == {FIRST_CHAT + n for n in range(MESSAGES)}  # nobody lost
    assert max(counts.values()) <= 2
    assert twice <= in_flight  # only rows on the wire at a kill went twice
    assert len(twice) <= KILLS * in_flight_limit(SEND_RATE)
    requests = dict(
        db_rows(
            path,
            "SELECT status, COUNT(*) FROM outbox WHERE kind = 'review_request' GROUP BY status",
        )
    )
    assert requests == {"sent": MESSAGES}
    reminders = db_rows(
        path, "SELECT COUNT(*), COUNT(DISTINCT ref_id) FROM outbox WHERE kind = 'review_reminder'"
    )
    assert reminders == [(MESSAGES, MESSAGES)]  # one reminder per review, duplicates or not
