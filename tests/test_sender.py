"""The sender's rules: the send window, the rate caps, 429, 5xx, 403 and other refusals.

Pure parts (the window, the backoff) get unit and property tests; the rest goes through the
wire against the emulator with injected faults. The pacing (bot/pacing.py, its own tests in
tests/test_promises_pacing.py) works in real seconds, so wire tests use a high SEND_RATE unless
the rate is the point.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from hypothesis import given
from hypothesis import strategies as st

from bot.app import BotApp
from bot.clock import FakeClock
from bot.emulator import BotAPIEmulator, Timeline
from bot.outbox import Outgoing
from scheduler.sender import (
    BACKOFF_CAP,
    MAX_ATTEMPTS,
    Sender,
    backoff,
    in_flight_limit,
    next_window_start,
)
from storage.outbox import RESTOCK
from storage.timestamps import from_db
from tests.factories import TEA, buy, one, queue, rows

# These check the pacer's one second per chat itself (tests/conftest.py turns it off elsewhere).
pytestmark = pytest.mark.paced

MOSCOW = ZoneInfo("Europe/Moscow")


# --- the send window -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("local", "expected"),
    [
        ("2026-01-12 08:59", "2026-01-12 09:00"),
        ("2026-01-12 09:00", None),
        ("2026-01-12 20:59", None),
        ("2026-01-12 21:00", "2026-01-13 09:00"),
        ("2026-01-12 23:59", "2026-01-13 09:00"),
        ("2026-01-12 00:00", "2026-01-12 09:00"),
    ],
)
def test_window_in_local_hours(local: str, expected: str | None) -> None:
    now = datetime.strptime(local, "%Y-%m-%d %H:%M").replace(tzinfo=MOSCOW)
    opening = next_window_start(now.astimezone(UTC), (9, 21), MOSCOW)
    if expected is None:
        assert opening is None
    else:
        assert opening is not None
        assert opening.astimezone(MOSCOW).strftime("%Y-%m-%d %H:%M") == expected


def test_window_0_24_is_any_time() -> None:
    assert next_window_start(datetime(2026, 1, 12, 2, tzinfo=UTC), (0, 24), MOSCOW) is None


ZONES = st.sampled_from(["Europe/Moscow", "Europe/Berlin", "America/New_York", "Asia/Kolkata"])


@st.composite
def windows(draw: st.DrawFn) -> tuple[int, int]:
    start = draw(st.integers(0, 23))
    return start, draw(st.integers(start + 1, 24))


@given(
    moment=st.datetimes(
        min_value=datetime(2024, 1, 1),  # noqa: DTZ001 (hypothesis takes naive bounds)
        max_value=datetime(2030, 12, 31),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
    window=windows(),
    zone=ZONES,
)
def test_window_opening_is_the_next_allowed_hour(
    moment: datetime, window: tuple[int, int], zone: str
) -> None:
    tz = ZoneInfo(zone)
    start, end = window
    opening = next_window_start(moment, window, tz)
    local_hour = moment.astimezone(tz).hour
    if opening is None:
        assert (start, end) == (0, 24) or start <= local_hour < end
        return
    assert not start <= local_hour < end
    assert opening > moment
    assert opening - moment <= timedelta(hours=26)  # never skips a day (DST adds at most 1 h)
    local_opening = opening.astimezone(tz)
    # Lands on the window's first hour (or inside the window, when a DST gap moved it).
    assert start <= local_opening.hour < end
    assert local_opening.minute == 0


# --- backoff and concurrency --------------------------------------------------------------------
def test_backoff_doubles_up_to_a_cap() -> None:
    assert [backoff(n).total_seconds() for n in range(1, 6)] == [10, 20, 40, 80, 160]
    assert backoff(50) == BACKOFF_CAP
    total = sum((backoff(n) for n in range(1, MAX_ATTEMPTS)), timedelta())
    assert timedelta(hours=1) < total < timedelta(hours=3)  # rides out an outage, not days


def test_in_flight_grows_with_the_rate_within_bounds() -> None:
    assert in_flight_limit(0.5) == 2
    assert in_flight_limit(25) == 10
    assert in_flight_limit(30) == 12
    assert in_flight_limit(1000) == 16


# --- through the wire ----------------------------------------------------------------------------
def fast_limiter(app: BotApp) -> None:
    """Retries to one chat without the real second between them (the rate is not the point)."""
    app.outbox.sender.pacer.per_chat_interval = 0.001


async def customers_with_rows(
    app: BotApp, tg: BotAPIEmulator, count: int, *, first_id: int = 9000, in_telegram: bool = True
) -> list[int]:
    """`count` linked customers, each with one due restock row (its own chat)."""
    ids = []
    for n in range(count):
        chat = first_id + n
        if in_telegram:
            tg.user(chat, f"Клиент {n}")
        recorded = await buy(app, f"O-{chat}", f"c-{chat}", TEA)
        async with app.db.write() as conn:
            await conn.execute(
                "UPDATE customers SET telegram_id = ?, language = 'ru' WHERE id = ?",
                (chat, recorded.customer_id),
            )
            await conn.execute("UPDATE outbox SET due_at = created_at WHERE kind = ?", (RESTOCK,))
        ids.append(recorded.customer_id)
    return ids


def sends_to(tg: BotAPIEmulator, chat: int) -> list[Any]:
    return [
        c for c in tg.calls_of("sendMessage") if c.status == 200 and c.params["chat_id"] == chat
    ]


async def test_429_pauses_every_send_for_retry_after_and_retries(
    start_app: Callable[..., Any], tg: BotAPIEmulator
) -> None:
    app = await start_app(send_rate=200)
    await customers_with_rows(app, tg, 6)
    timeline = Timeline()
    tg.on_call.append(timeline.record)
    fault = tg.fail("sendMessage", 1, status=429, retry_after=1)
    started = time.monotonic()
    await app.outbox.tick()
    assert fault.count == 0
    sent = [c for c in tg.calls_of("sendMessage") if c.status == 200]
    assert len(sent) == 6  # every message once, the refused one included
    refused_at = next(c.at for c in tg.calls_of("sendMessage") if c.status == 429)
    # Nothing at all went out during the pause (not only the refused message waited).
    assert all(not (refused_at < c.at < refused_at + 0.99) for c in sent)
    assert time.monotonic() - started >= 1.0
    assert {r["status"] for r in await rows(app)} >= {"sent"}
    assert await one(app, "SELECT COUNT(*) FROM outbox WHERE status = 'sent'") == 6


async def test_5xx_is_retried_with_backoff_then_failed_with_the_error_kept(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock
) -> None:
    app = await start_app(send_rate=200)
    fast_limiter(app)
    (customer,) = await customers_with_rows(app, tg, 1)
    tg.fail("sendMessage", 100, status=502)
    await app.outbox.tick()
    (row,) = await rows(app, "kind = ?", RESTOCK)
    assert (row["status"], row["attempts"], row["last_error"]) == ("pending", 1, "Bad Gateway")
    assert from_db(row["due_at"]) == clock.now() + timedelta(seconds=10)

    for attempt in range(2, MAX_ATTEMPTS + 1):
        clock.advance(backoff(attempt - 1))
        await app.outbox.tick()
    (row,) = await rows(app, "kind = ?", RESTOCK)
    assert row["status"] == "failed"
    assert row["attempts"] == MAX_ATTEMPTS
    assert row["last_error"] == f"Bad Gateway (gave up after {MAX_ATTEMPTS} attempts)"
    assert await one(app, "SELECT unreachable_at FROM customers WHERE id = ?", customer) is None


async def test_5xx_then_success(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock
) -> None:
    app = await start_app(send_rate=200)
    fast_limiter(app)
    await customers_with_rows(app, tg, 3)
    tg.fail("sendMessage", 2, status=500)
    await app.outbox.tick()
    assert await one(app, "SELECT COUNT(*) FROM outbox WHERE status = 'sent'") == 1
    clock.advance(seconds=10)
    await app.outbox.tick()
    assert await one(app, "SELECT COUNT(*) FROM outbox WHERE status = 'sent'") == 3
    assert len([c for c in tg.calls_of("sendMessage") if c.status == 200]) == 3


async def test_403_marks_the_customer_unreachable_without_stalling_others(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock
) -> None:
    app = await start_app(send_rate=200)
    customers = await customers_with_rows(app, tg, 5)
    blocked_chat = 9002
    tg.user(blocked_chat).block()
    # The blocked customer has more queued: a review request a few days on.
    blocked = customers[2]
    later = await queue(app, RESTOCK, customer_id=blocked, ref_id=1, due_in=timedelta(days=2))

    await app.outbox.tick()
    sent_chats = {c.params["chat_id"] for c in tg.calls_of("sendMessage") if c.status == 200}
    assert sent_chats == {9000, 9001, 9003, 9004}
    unreachable = await one(app, "SELECT unreachable_at FROM customers WHERE id = ?", blocked)
    assert unreachable is not None
    (failed,) = await rows(app, "customer_id = ? AND status = 'failed'", blocked)
    assert failed["last_error"] == "Forbidden: bot was blocked by the user"
    (cancelled,) = await rows(app, "id = ?", later)
    assert cancelled["status"] == "cancelled"


async def test_a_message_telegram_refuses_fails_alone(
    start_app: Callable[..., Any], tg: BotAPIEmulator
) -> None:
    app = await start_app(send_rate=200)
    await customers_with_rows(app, tg, 2)
    # A chat Telegram does not know (the account was deleted, say).
    (ghost,) = await customers_with_rows(app, tg, 1, first_id=4242, in_telegram=False)
    await app.outbox.tick()
    (row,) = await rows(app, "customer_id = ? AND kind = ?", ghost, RESTOCK)
    assert (row["status"], row["last_error"]) == ("failed", "Bad Request: chat not found")
    assert await one(app, "SELECT COUNT(*) FROM outbox WHERE status = 'sent'") == 2


async def test_network_errors_are_transient(settings: Any, clock: FakeClock) -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base("http://127.0.0.1:9"))
    bot = Bot("123456:TEST-token", session=session)
    sender = Sender(bot=bot, settings=settings, clock=clock)
    try:
        delivery = await sender.deliver(Outgoing(chat_id=1, text="hi"), attempts=2)
    finally:
        await session.close()
    assert delivery.outcome == "retry"
    assert delivery.retry_at == clock.now() + timedelta(seconds=20)


async def test_outside_send_hours_waits_for_the_morning_without_counting_an_attempt(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock
) -> None:
    clock.set(datetime(2026, 1, 12, 18, 30, tzinfo=UTC))  # 21:30 in Moscow
    app = await start_app(send_hours="9-21", send_rate=200)
    await customers_with_rows(app, tg, 1)
    await app.outbox.tick()
    (row,) = await rows(app, "kind = ?", RESTOCK)
    assert row["status"] == "pending"
    assert row["attempts"] == 0
    assert from_db(row["due_at"]) == datetime(2026, 1, 13, 6, 0, tzinfo=UTC)  # 09:00 Moscow
    assert tg.calls_of("sendMessage") == []
    clock.set(datetime(2026, 1, 13, 6, 0, tzinfo=UTC))
    await app.outbox.tick()
    assert len(tg.calls_of("sendMessage")) == 1


async def exactly_once_under_faults(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock, count: int, rate: int
) -> Timeline:
    app = await start_app(send_rate=rate)
    async with app.db.write() as conn:
        for n in range(count):
            chat = 20000 + n
            tg.user(chat, f"Клиент {n}")
            cur = await conn.execute(
                "INSERT INTO customers (external_id, link_token, telegram_id, language, "
                "created_at) VALUES (?, ?, ?, 'ru', '2026-01-01T00:00:00.000000Z')",
                (f"c{n}", f"t{n}", chat),
            )
            await conn.execute(
                "INSERT INTO orders (order_id, customer_id, purchased_at, created_at) "
                "VALUES (?, ?, '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z')",
                (f"o{n}", cur.lastrowid),
            )
            await conn.execute(
                "INSERT INTO order_items (order_id, sku, name, quantity) "
                "VALUES (last_insert_rowid(), 'TEA', 'Чай', 1)"
            )
            await conn.execute(
                "INSERT INTO outbox (kind, customer_id, ref_id, due_at, created_at) VALUES "
                "('restock', ?, last_insert_rowid(), '2026-01-12T09:00:00.000000Z', "
                "'2026-01-01T00:00:00.000000Z')",
                (cur.lastrowid,),
            )
    timeline = Timeline()
    tg.on_call.append(timeline.record)
    tg.fail("sendMessage", count // 30, status=500)
    tg.fail("sendMessage", 1, status=429, retry_after=1)
    tg.fail("sendMessage", count // 30, status=503)
    await app.outbox.tick()
    clock.advance(minutes=1)
    await app.outbox.tick()
    per_chat: dict[int, int] = {}
    for _, chat in timeline.sends:
        per_chat[chat] = per_chat.get(chat, 0) + 1
    assert per_chat == {20000 + n: 1 for n in range(count)}
    assert await one(app, "SELECT COUNT(*) FROM outbox WHERE status = 'sent'") == count
    assert timeline.max_in_window(1.0) <= rate
    return timeline


async def test_every_message_once_and_never_over_the_rate(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock
) -> None:
    await exactly_once_under_faults(start_app, tg, clock, count=60, rate=60)


@pytest.mark.slow
async def test_300_messages_at_20_per_second_with_faults(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock
) -> None:
    """The issue's acceptance run: 300 due, SEND_RATE=20, 5xx and 429 injected (~16 s)."""
    timeline = await exactly_once_under_faults(start_app, tg, clock, count=300, rate=20)
    assert timeline.max_in_window(1.0) == 20  # the cap is reached, not only respected
