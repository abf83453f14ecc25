"""The dispatcher: claiming due rows, waiting for a link, recipients who want nothing, recovery.

Rows are written directly (tests.factories) or by purchases; messages go through the emulator.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import app as app_module
from bot.app import BotApp
from bot.clock import FakeClock
from bot.emulator import BotAPIEmulator
from bot.outbox import Kind, OutboxRow, Outgoing, RenderContext, Rendered
from storage.outbox import RESTOCK, REVIEW_REQUEST, WAITING_FOR_LINK, release_waiting
from storage.timestamps import from_db, to_db
from tests.factories import TEA, Item, buy, link, one, queue, rows

BOOK = Item("BOOK-1", "Книга")  # no restock reminder
COFFEE = Item("COFFEE-1", "Кофе", restock_days=60)  # its reminder is due in 57 days


async def hello(ctx: RenderContext, conn: Any, row: OutboxRow) -> Rendered:
    assert row.chat_id is not None
    return Outgoing(chat_id=row.chat_id, text=f"row {row.id}")


async def broken(ctx: RenderContext, conn: Any, row: OutboxRow) -> Rendered:
    raise RuntimeError("a bug in one kind")


async def failing_on_sent(
    ctx: RenderContext, conn: Any, row: OutboxRow, message_id: int, now: Any
) -> None:
    raise RuntimeError("a bug after the send")


TEST_KINDS = (
    Kind("hello", hello, respects_send_window=False),
    Kind("broken", broken, respects_send_window=False),
    Kind("hello_on_sent_fails", hello, respects_send_window=False, on_sent=failing_on_sent),
)


@pytest.fixture(autouse=True)
def test_kinds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every app built in these tests also knows a few kinds made for them."""

    features = app_module.outbox_kinds

    def registry() -> dict[str, Kind]:
        return {**features(), **{kind.name: kind for kind in TEST_KINDS}}

    monkeypatch.setattr(app_module, "outbox_kinds", registry)


# --- claiming ------------------------------------------------------------------------------------
async def test_claim_takes_due_rows_oldest_first_and_marks_them(
    app: BotApp, clock: FakeClock
) -> None:
    later = await queue(app, "hello", chat_id=1, due_in=timedelta(minutes=5))
    second = await queue(app, "hello", chat_id=1, due_in=timedelta(minutes=-1))
    first = await queue(app, "hello", chat_id=1, due_in=timedelta(minutes=-2))
    claimed = await app.outbox.claim(clock.now(), 10)
    assert [row.id for row in claimed] == [first, second]
    assert all(row.attempts == 1 for row in claimed)
    statuses = {r["id"]: (r["status"], r["claimed_at"]) for r in await rows(app)}
    assert statuses[first] == ("sending", to_db(clock.now()))
    assert statuses[later] == ("pending", None)
    assert await app.outbox.claim(clock.now(), 10) == []


async def test_rows_left_sending_by_a_crash_are_sent_once_on_the_next_tick(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock
) -> None:
    tg.user(1, "Olga")
    row_id = await queue(app, "hello", chat_id=1)
    await app.outbox.claim(clock.now(), 10)  # claimed, then "the process died"
    await app.outbox.tick()
    (row,) = await rows(app, "id = ?", row_id)
    assert row["status"] == "sent"
    assert tg.user(1).texts() == [f"row {row_id}"]


async def test_a_broken_kind_fails_its_row_and_the_others_go(
    app: BotApp, tg: BotAPIEmulator
) -> None:
    tg.user(1, "Olga")
    bad = await queue(app, "broken", chat_id=1)
    unknown = await queue(app, "no_such_kind", chat_id=1)
    good = await queue(app, "hello", chat_id=1)
    await app.outbox.tick()
    statuses = {r["id"]: (r["status"], r["last_error"]) for r in await rows(app)}
    assert statuses[bad] == ("failed", "internal error: RuntimeError('a bug in one kind')")
    assert statuses[unknown] == ("failed", "unknown kind no_such_kind")
    assert statuses[good] == ("sent", None)


async def test_a_failing_on_sent_still_records_the_send(app: BotApp, tg: BotAPIEmulator) -> None:
    tg.user(1, "Olga")
    row_id = await queue(app, "hello_on_sent_fails", chat_id=1)
    await app.outbox.tick()
    await app.outbox.tick()
    (row,) = await rows(app, "id = ?", row_id)
    assert (row["status"], row["last_error"]) == ("sent", "sent; on_sent failed")
    assert len(tg.user(1).texts()) == 1


async def test_kick_sends_without_waiting_for_the_timer(app: BotApp, tg: BotAPIEmulator) -> None:
    tg.user(1, "Olga")
    await queue(app, "hello", chat_id=1)
    app.outbox.kick()
    await tg.wait_for(lambda: len(tg.user(1).texts()) == 1, timeout=15)


# --- customers who cannot or do not want to receive ----------------------------------------------
async def test_unlinked_customer_waits_without_being_reclaimed_then_gets_it_on_link(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock
) -> None:
    recorded = await buy(app, "A-1", "cust-1", BOOK)
    clock.advance(days=7)
    await app.outbox.tick()
    (request,) = await rows(app, "kind = ?", REVIEW_REQUEST)
    assert request["status"] == "pending"
    assert request["attempts"] == 0
    assert request["last_error"] == WAITING_FOR_LINK
    # Postponed to its expiry, so the next ticks do not even look at it.
    assert from_db(request["due_at"]) == from_db(request["created_at"]) + timedelta(days=30)
    assert await app.outbox.claim(clock.now() + timedelta(days=22, seconds=-1), 500) == []

    # Linking (the customers feature calls release_waiting in its transaction) makes it due.
    anna = tg.user(7001, "Анна")
    await link(tg, recorded, anna)
    (request,) = await rows(app, "kind = ?", REVIEW_REQUEST)
    assert (request["last_error"], from_db(request["due_at"])) == (None, clock.now())
    await app.outbox.tick()
    assert "Как вам покупка: Книга?" in anna.last["text"]


async def test_release_waiting_leaves_rows_that_are_not_due_yet(
    app: BotApp, clock: FakeClock
) -> None:
    recorded = await buy(app, "A-1", "cust-1", TEA)
    async with app.db.write() as conn:
        assert await release_waiting(conn, recorded.customer_id, clock.now()) == 0
    dues = {r["kind"]: from_db(r["due_at"]) for r in await rows(app)}
    assert dues[REVIEW_REQUEST] == clock.now() + timedelta(days=7)
    assert dues[RESTOCK] == clock.now() + timedelta(days=27)


async def test_rows_of_unlinked_customers_expire_after_link_wait_days(
    app: BotApp, clock: FakeClock
) -> None:
    await buy(app, "A-1", "cust-1", COFFEE)
    clock.advance(days=30)
    await app.outbox.tick()
    statuses = {r["kind"]: (r["status"], r["last_error"]) for r in await rows(app)}
    never = "the customer did not link Telegram within LINK_WAIT_DAYS"
    assert statuses[REVIEW_REQUEST] == ("expired", never)
    # The restock reminder was not due yet; when it is, it expires at once.
    assert statuses[RESTOCK] == ("pending", None)
    clock.advance(days=27)
    await app.outbox.tick()
    (restock,) = await rows(app, "kind = ?", RESTOCK)
    assert (restock["status"], restock["last_error"]) == ("expired", never)


async def test_customers_who_said_no_get_nothing(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock
) -> None:
    now = to_db(clock.now())
    cases = {
        "stopped": ("subscribed = 0", "the customer unsubscribed (/stop)"),
        "blocked": (f"unreachable_at = '{now}'", "the customer blocked the bot"),
        "forgotten": (f"forgotten_at = '{now}'", "the customer asked to be forgotten"),
    }
    expected = {}
    for n, (name, (change, reason)) in enumerate(cases.items()):
        chat = 7100 + n
        tg.user(chat, name)
        recorded = await buy(app, f"A-{n}", name, TEA)
        async with app.db.write() as conn:
            await conn.execute(
                f"UPDATE customers SET telegram_id = ?, {change} WHERE id = ?",
                (chat, recorded.customer_id),
            )
        expected[recorded.customer_id] = reason
    clock.advance(days=7)
    await app.outbox.tick()
    for customer_id, reason in expected.items():
        (request,) = await rows(app, "customer_id = ? AND kind = ?", customer_id, REVIEW_REQUEST)
        assert (request["status"], request["last_error"]) == ("cancelled", reason)
        status = await one(app, "SELECT status FROM reviews WHERE customer_id = ?", customer_id)
        assert status == "cancelled"
    assert tg.calls_of("sendMessage") == []


# --- stopping ------------------------------------------------------------------------------------
async def test_a_normal_stop_mid_batch_sends_nothing_twice(
    start_app: Callable[..., Any], tg: BotAPIEmulator, db_path: Path
) -> None:
    app = await start_app(send_rate=10)
    for n in range(20):
        tg.user(100 + n, f"U{n}")
        await queue(app, "hello", chat_id=100 + n)
    tick = asyncio.create_task(app.outbox.tick())
    await tg.wait_for(lambda: len(tg.calls_of("sendMessage")) >= 3, timeout=15)
    await app.stop()
    await tick
    first_round = {c.params["chat_id"] for c in tg.calls_of("sendMessage")}
    # Every row Telegram took is marked sent; the rest are back in the queue as they were.
    with sqlite3.connect(db_path) as conn:
        statuses = conn.execute("SELECT status, attempts, COUNT(*) FROM outbox GROUP BY 1, 2")
        assert sorted(statuses) == [
            ("pending", 0, 20 - len(first_round)),
            ("sent", 1, len(first_round)),
        ]

    app = await start_app(send_rate=1000)
    await app.outbox.tick()
    chats = [c.params["chat_id"] for c in tg.calls_of("sendMessage")]
    assert sorted(chats) == list(range(100, 120))  # each once


# --- stored timestamps (bot.clock.from_db is on the claim's hot path) -----------------------------
@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1),  # noqa: DTZ001 (hypothesis takes naive bounds)
        max_value=datetime(2100, 1, 1),  # noqa: DTZ001
        timezones=st.sampled_from([UTC, ZoneInfo("Europe/Moscow"), ZoneInfo("Asia/Tokyo")]),
    )
)
def test_stored_timestamps_round_trip(moment: datetime) -> None:
    back = from_db(to_db(moment))
    assert back == moment.astimezone(UTC)  # (in UTC: an hour in a DST fold never compares equal)
    assert back.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    [
        "2026-01-12T09:00:00Z",
        "2026-01-12 09:00:00.000000Z",
        "2026-01-12T09:00:00.000000+03:00",
        "2026-01-12T09:00:00.000000",
        "",
    ],
)
def test_other_timestamp_forms_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a stored timestamp"):
        from_db(text)
