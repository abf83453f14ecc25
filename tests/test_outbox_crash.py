"""SIGKILL in the middle of a batch: after a restart every message arrives, twice only if in flight.

`python -m bot run` runs as a real process against the emulator in this test process. The
database holds N due review requests (one customer, one chat each) before the first start.
The process is killed with SIGKILL once about a third of them reached Telegram, then started
again. Every customer must get the request; a second copy is allowed only for a row that was
`sending` at the kill and had reached Telegram (the in-flight ones), and there can be at most
as many of those as the sender keeps in flight. Each review gets exactly one reminder queued.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.emulator import BotAPIEmulator
from scheduler.sender import in_flight_limit
from storage import Database
from storage.timestamps import to_db
from tests.bot_process import BotProcess

CUSTOMERS = 150
SEND_RATE = 100
FIRST_CHAT = 30000


async def prepare(path: Path, customers: int = CUSTOMERS) -> None:
    """The schema (by the bot's own migrations) and N customers with a due review request."""
    db = Database(path)
    await db.open()
    now = datetime.now(tz=UTC)
    created, due = to_db(now - timedelta(days=8)), to_db(now - timedelta(minutes=1))
    async with db.write() as conn:
        for n in range(customers):
            cur = await conn.execute(
                "INSERT INTO customers (external_id, name, link_token, telegram_id, language, "
                "created_at, linked_at) VALUES (?, ?, ?, ?, 'ru', ?, ?)",
                (f"c{n}", f"Клиент {n}", f"token-{n}", FIRST_CHAT + n, created, created),
            )
            customer = cur.lastrowid
            cur = await conn.execute(
                "INSERT INTO reviews (customer_id, created_at) VALUES (?, ?)", (customer, created)
            )
            review = cur.lastrowid
            cur = await conn.execute(
                "INSERT INTO orders (order_id, customer_id, purchased_at, created_at, review_id) "
                "VALUES (?, ?, ?, ?, ?)",
                (f"o{n}", customer, created, created, review),
            )
            await conn.execute(
                "INSERT INTO order_items (order_id, sku, name, quantity) VALUES (?, 'TEA', ?, 1)",
                (cur.lastrowid, f"Чай №{n}"),
            )
            await conn.execute(
                "INSERT INTO outbox (kind, customer_id, ref_id, due_at, created_at) "
                "VALUES ('review_request', ?, ?, ?, ?)",
                (customer, review, due, created),
            )
    await db.close()


def outbox_bot(tg: BotAPIEmulator, path: Path, send_rate: int) -> BotProcess:
    """`python -m bot run` on the prepared database, ticking fast, sending at any hour."""
    env = {
        "BOT_TOKEN": tg.token,
        "TELEGRAM_API_URL": tg.base_url,
        "DATABASE_PATH": str(path),
        "PSEUDONYM_SECRET": "crash-test",
        "SCHEDULER_TICK_SECONDS": "0.2",
        "SEND_HOURS": "0-24",
        "SEND_RATE": str(send_rate),
        "REPORT_CRON": "",
    }
    return BotProcess(env, path.with_name("bot.log"))


def delivered(tg: BotAPIEmulator) -> Counter[int]:
    """How many times each customer's chat got a message (review requests only go there)."""
    return Counter(
        int(c.params["chat_id"])
        for c in tg.calls_of("sendMessage")
        if c.status == 200 and int(c.params["chat_id"]) >= FIRST_CHAT
    )


async def settled(tg: BotAPIEmulator) -> None:
    """Until the emulator has recorded no new call for 0.2 s."""
    seen = -1
    while seen != len(tg.calls):
        seen = len(tg.calls)
        await asyncio.sleep(0.2)


UNSENT_REQUESTS = (
    "SELECT COUNT(*) FROM outbox WHERE kind = 'review_request' AND status IN ('pending', 'sending')"
)


async def all_sent(tg: BotAPIEmulator, path: Path, customers: int, timeout: float) -> None:
    """Until every customer got the request and no request row is left to send."""
    async with asyncio.timeout(timeout):
        while len(delivered(tg)) < customers or db_rows(path, UNSENT_REQUESTS)[0][0]:
            await asyncio.sleep(0.05)


def check_delivery(
    tg: BotAPIEmulator, path: Path, customers: int, in_flight: set[int], most_twice: int
) -> set[int]:
    """Nobody lost, twice only for rows on the wire at a kill, one reminder per review."""
    counts = delivered(tg)
    twice = {chat for chat, n in counts.items() if n > 1}
    assert set(counts) == {FIRST_CHAT + n for n in range(customers)}  # nobody lost
    assert max(counts.values()) <= 2
    assert twice <= in_flight  # only rows on the wire at a kill went twice
    assert len(twice) <= most_twice
    statuses = dict(db_rows(path, "SELECT status, COUNT(*) FROM outbox "
                                  "WHERE kind = 'review_request' GROUP BY status"))  # fmt: skip
    assert statuses == {"sent": customers}
    reminders = db_rows(
        path, "SELECT COUNT(*), COUNT(DISTINCT ref_id) FROM outbox WHERE kind = 'review_reminder'"
    )
    assert reminders == [(customers, customers)]  # one reminder per review, duplicates or not
    return twice


def db_rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return conn.execute(sql).fetchall()


def sending_chats(path: Path) -> set[int]:
    """Chats whose row a killed process left `sending`; those Telegram had already taken are the
    only messages allowed to arrive twice."""
    rows = db_rows(
        path,
        "SELECT c.telegram_id FROM outbox o JOIN customers c ON c.id = o.customer_id "
        "WHERE o.status = 'sending'",
    )
    return {int(str(chat)) for (chat,) in rows}


# Two fresh interpreters importing aiogram: 2-7 s each on a busy 2-core machine. The part from
# the kill to the last message takes about 2 s.
@pytest.mark.slow
async def test_sigkill_mid_batch_loses_nothing_and_repeats_only_in_flight(
    tg: BotAPIEmulator, tmp_path: Path
) -> None:
    path = tmp_path / "bot.sqlite3"
    await prepare(path)
    for n in range(CUSTOMERS):
        tg.user(FIRST_CHAT + n, f"Клиент {n}")
    bot = outbox_bot(tg, path, SEND_RATE)
    await bot.start()
    try:
        await tg.wait_for(lambda: sum(delivered(tg).values()) >= CUSTOMERS // 3, timeout=20)
    finally:
        bot.kill()
    # Requests the emulator had read but not yet answered when the process died are handled
    # in this event loop, which kill() blocked: let them land before counting.
    await settled(tg)
    before_restart = delivered(tg)
    sending = sending_chats(path)
    in_flight = {chat for chat in sending if before_restart[chat]}  # Telegram had taken them
    assert sum(before_restart.values()) < CUSTOMERS, "killed too late to be mid-batch"

    await bot.start()
    try:
        await all_sent(tg, path, CUSTOMERS, timeout=30)
    finally:
        assert await bot.terminate() == 0, bot.log()

    twice = check_delivery(tg, path, CUSTOMERS, in_flight, in_flight_limit(SEND_RATE))
    print(
        f"\nkilled after {sum(before_restart.values())} of {CUSTOMERS} sends; "
        f"{len(sending)} rows were 'sending', {len(in_flight)} of them already at Telegram; "
        f"delivered twice: {len(twice)}"
    )
