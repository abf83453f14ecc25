"""Issue 10, items 1-4: no customer silently dropped, and a receipt link that cannot be stolen.

Everything through the wire: the shop posts purchases to the real HTTP API, people press
/start with the receipt link, share their contact, block and unblock the bot in the emulator,
and the outbox's own tick sends what is due. The database is only read.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.app import BotApp
from bot.emulator import BotAPIEmulator
from tests.promises_helpers import (
    block,
    customer_row,
    post_purchase,
    purchase_body,
    query,
    review_requests,
    unblock,
)
from tests.survey_helpers import admin, invite_link, join, start_wave

SHARED_APP = settings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture])
_numbers = itertools.count(1)


# --- 1. a link in the middle of a tick -----------------------------------------------------------
@asynccontextmanager
async def interleaved(
    app: BotApp, point: int, action: Callable[[], Awaitable[None]]
) -> AsyncIterator[None]:
    """Run `action` when the app's database work reaches its `point`-th step.

    Every `db.read()` / `db.write()` anyone opens (the purchases API, the tick it kicks, a
    tick of the test's own) is a step; the action runs just before the chosen one opens, so
    nobody holds the writer then, as between any two real steps. Steps of the action itself
    are not counted. Fewer steps than `point`: the action runs at the end.
    """
    db = app.db
    original_read, original_write = db.read, db.write
    steps = itertools.count()
    state = {"fired": False, "acting": False}

    async def fire() -> None:
        state["fired"] = state["acting"] = True
        try:
            await action()
        finally:
            state["acting"] = False

    def wrap(original: Callable[[], Any]) -> Callable[[], Any]:
        @asynccontextmanager
        async def step() -> AsyncIterator[Any]:
            if not state["fired"] and not state["acting"] and next(steps) == point:
                await fire()
            async with original() as conn:
                yield conn

        return step

    db.read, db.write = wrap(original_read), wrap(original_write)  # type: ignore[method-assign]
    try:
        yield
        if not state["fired"]:
            await fire()
    finally:
        db.read, db.write = original_read, original_write  # type: ignore[method-assign]


@SHARED_APP
@given(point=st.integers(min_value=0, max_value=14))
@example(point=3)
@example(point=5)
async def test_a_link_at_any_moment_of_a_tick_releases_the_request(
    app: BotApp, tg: BotAPIEmulator, point: int
) -> None:
    """The receipt is in her hand: she opens the link while the shop's call and the tick it
    starts over her new order run. Whatever step they are at, her review request comes now,
    not in LINK_WAIT_DAYS."""
    n = next(_numbers)
    now = app.clock.now()
    customer = f"race-{n}"
    # An old purchase (nothing to ask any more) gives her the link before the new one comes.
    payload = await post_purchase(
        app, purchase_body(f"R-{n}-old", customer, now - timedelta(days=60), phone=None)
    )
    user = tg.user(900_000 + n, "Вера")

    async def link() -> None:
        user.send(f"/start {payload}")
        await tg.settle()

    async with interleaved(app, point, link):
        # Bought eight days ago, reported now: the review request is due at once, and the
        # API kicks a tick for it.
        await post_purchase(
            app, purchase_body(f"R-{n}", customer, now - timedelta(days=8), phone=None)
        )
        await app.outbox.tick()
    await app.outbox.tick()  # what the link's kick runs, if no tick before has sent it

    await tg.wait_for(lambda: bool(review_requests(user)), timeout=10)
    [row] = await query(
        app,
        "SELECT o.status FROM outbox o JOIN customers c ON c.id = o.customer_id "
        "WHERE c.external_id = ? AND o.kind = 'review_request'",
        customer,
    )
    assert row["status"] == "sent"


async def test_a_link_racing_the_tick_through_the_wire(app: BotApp, tg: BotAPIEmulator) -> None:
    """The same race without any hook: ten customers open their links while ticks run."""
    now = app.clock.now()
    users = []
    for n in range(10):
        payload = await post_purchase(
            app, purchase_body(f"W-{n}", f"wire-{n}", now - timedelta(days=8), phone=None)
        )
        users.append((tg.user(910_000 + n, "Вера"), payload))
    ticks = [asyncio.create_task(app.outbox.tick())]
    for user, payload in users:
        user.send(f"/start {payload}")
        await asyncio.sleep(0.005)
        ticks.append(asyncio.create_task(app.outbox.tick()))
    await tg.settle()
    await asyncio.gather(*ticks)
    await app.outbox.tick()
    await tg.wait_for(lambda: all(review_requests(u) for u, _ in users), timeout=10)


# --- 2. a late-reported order --------------------------------------------------------------------
async def test_a_late_reported_order_is_asked_about_on_time(
    app: BotApp, tg: BotAPIEmulator
) -> None:
    """A fresh order (request a week away), then an order dated eight days ago: its request
    goes now and names it alone; the fresh one is asked about a week later, not folded in."""
    now = app.clock.now()
    payload = await post_purchase(
        app,
        purchase_body("L-1", "late-1", now, phone=None, items=[("TEA", "Свежий чай")]),
    )
    user = tg.user(920_001, "Ольга")
    user.send(f"/start {payload}")
    await tg.settle()

    await post_purchase(
        app,
        purchase_body(
            "L-2", "late-1", now - timedelta(days=8), phone=None, items=[("CUP", "Старая чашка")]
        ),
    )
    await app.outbox.tick()
    await tg.wait_for(lambda: bool(review_requests(user)))
    [first] = review_requests(user)
    assert "Старая чашка" in first
    assert "Свежий чай" not in first

    # REVIEW_MIN_INTERVAL_DAYS (7) after that request, the fresh order (due in 7 days) goes.
    app.clock.advance(days=7)
    await app.outbox.tick()
    await tg.wait_for(lambda: len(review_requests(user)) == 2)
    second = review_requests(user)[1]
    assert "Свежий чай" in second
    assert "Старая чашка" not in second


async def test_orders_not_yet_due_wait_for_their_own_request(
    app: BotApp, tg: BotAPIEmulator
) -> None:
    """Two orders three days apart share nothing they should not: when the first is due, the
    request names it only; the second moves to a request REVIEW_MIN_INTERVAL_DAYS later."""
    now = app.clock.now()
    payload = await post_purchase(
        app, purchase_body("M-1", "mid-1", now, phone=None, items=[("A", "Первый заказ")])
    )
    user = tg.user(920_002, "Ольга")
    user.send(f"/start {payload}")
    await tg.settle()
    app.clock.advance(days=3)
    await post_purchase(
        app,
        purchase_body("M-2", "mid-1", app.clock.now(), phone=None, items=[("B", "Второй заказ")]),
    )

    app.clock.advance(days=4)  # the first order's delay has passed, the second's has not
    await app.outbox.tick()
    await tg.wait_for(lambda: bool(review_requests(user)))
    [first] = review_requests(user)
    assert "Первый заказ" in first
    assert "Второй заказ" not in first

    app.clock.advance(days=6)  # the second is due, but the last request was 6 days ago
    await app.outbox.tick()
    await asyncio.sleep(0.05)
    assert len(review_requests(user)) == 1
    app.clock.advance(days=1)
    await app.outbox.tick()
    await tg.wait_for(lambda: len(review_requests(user)) == 2)
    assert "Второй заказ" in review_requests(user)[1]


# --- 3. blocking and coming back ---------------------------------------------------------------
async def test_a_customer_who_comes_back_gets_their_messages_again(
    app: BotApp, tg: BotAPIEmulator
) -> None:
    now = app.clock.now()
    payload = await post_purchase(app, purchase_body("U-1", "unblock-1", now, phone=None))
    user = tg.user(930_001, "Ирина")
    user.send(f"/start {payload}")
    await tg.settle()

    block(tg, user)
    await tg.settle()
    assert (await customer_row(app, "unblock-1"))["unreachable_at"] is not None

    unblock(tg, user)
    await tg.settle()
    assert (await customer_row(app, "unblock-1"))["unreachable_at"] is None

    app.clock.advance(days=7)
    await app.outbox.tick()
    await tg.wait_for(lambda: bool(review_requests(user)))


async def test_unblocking_after_a_403_is_noticed(app: BotApp, tg: BotAPIEmulator) -> None:
    """Blocked without the bot hearing of it: the next message gets 403 and marks her
    unreachable. She unblocks: her next purchase's request reaches her."""
    now = app.clock.now()
    payload = await post_purchase(app, purchase_body("U-2", "unblock-2", now, phone=None))
    user = tg.user(930_002, "Ирина")
    user.send(f"/start {payload}")
    await tg.settle()
    user.block()  # no update: the bot learns it from the 403
    app.clock.advance(days=7)
    await app.outbox.tick()
    assert (await customer_row(app, "unblock-2"))["unreachable_at"] is not None

    unblock(tg, user)
    await tg.settle()
    await post_purchase(app, purchase_body("U-3", "unblock-2", app.clock.now(), phone=None))
    app.clock.advance(days=7)
    await app.outbox.tick()
    await tg.wait_for(lambda: bool(review_requests(user)))


async def test_an_employee_who_comes_back_gets_the_next_wave(
    app: BotApp, tg: BotAPIEmulator
) -> None:
    employee = tg.user(930_003, "Пётр")
    await join(tg, employee, await invite_link(tg, "Склад"))
    employee.block()
    await start_wave(tg, app, "Волна 1")  # 403: marked unreachable, the wave's rows cancelled
    [row] = await query(
        app, "SELECT unreachable_at FROM employees WHERE telegram_id = ?", employee.id
    )
    assert row["unreachable_at"] is not None
    admin(tg).send("/survey_close")
    await tg.settle()

    unblock(tg, employee)
    await tg.settle()
    before = len(employee.texts())
    await start_wave(tg, app, "Волна 2")
    await tg.wait_for(lambda: len(employee.texts()) > before)


# --- 4. the receipt link is not enough when the order has a phone -------------------------------
PHONE = "+79161234567"


def asks_for_contact(message: dict[str, Any]) -> bool:
    markup = message.get("_keyboard") or message.get("reply_markup") or {}
    return any(b.get("request_contact") for row in markup.get("keyboard", []) for b in row)


async def test_a_stolen_link_shows_nothing_and_links_nothing(
    app: BotApp, tg: BotAPIEmulator
) -> None:
    payload = await post_purchase(
        app, purchase_body("S-1", "steal-1", app.clock.now(), phone=PHONE, name="Мария")
    )
    thief = tg.user(940_001, "Вор")
    thief.send(f"/start {payload}")
    await tg.settle()

    assert asks_for_contact(thief.last)
    assert "Мария" not in thief.last["text"]
    assert (await customer_row(app, "steal-1"))["telegram_id"] is None

    thief.share_contact("+79990000000")  # his own number: not the order's
    await tg.settle()
    assert (await customer_row(app, "steal-1"))["telegram_id"] is None
    assert "Мария" not in " ".join(thief.texts())

    owner = tg.user(940_002, "Мария")
    owner.send(f"/start {payload}")
    await tg.settle()
    owner.share_contact("79161234567")  # the same number, as Telegram gives it (no +)
    await tg.settle()
    assert (await customer_row(app, "steal-1"))["telegram_id"] == owner.id
    assert "Мария" in owner.last["text"]


async def test_the_owners_phone_wins_over_a_link_alone(app: BotApp, tg: BotAPIEmulator) -> None:
    """The first order had no phone, so the link linked whoever opened it. The shop learns her
    phone with a later order; she shares it: the account that had only the link loses her."""
    payload = await post_purchase(
        app, purchase_body("P-1", "phone-1", app.clock.now(), phone=None, name="Нина")
    )
    thief = tg.user(940_011, "Вор")
    thief.send(f"/start {payload}")
    await tg.settle()
    assert (await customer_row(app, "phone-1"))["telegram_id"] == thief.id

    await post_purchase(
        app, purchase_body("P-2", "phone-1", app.clock.now(), phone=PHONE, name="Нина")
    )
    owner = tg.user(940_012, "Нина")
    owner.share_contact(PHONE)
    await tg.settle()
    assert (await customer_row(app, "phone-1"))["telegram_id"] == owner.id


async def test_forget_from_a_link_alone_keeps_the_shops_data(
    app: BotApp, tg: BotAPIEmulator
) -> None:
    payload = await post_purchase(
        app, purchase_body("F-1", "forget-1", app.clock.now(), phone=None, name="Зоя")
    )
    stranger = tg.user(940_021, "Кто-то")
    stranger.send(f"/start {payload}")
    await tg.settle()
    stranger.send("/forget")
    await tg.settle()
    stranger.click("Да, отвязать")
    await tg.settle()

    row = await customer_row(app, "forget-1")
    assert row["name"] == "Зоя"  # the shop's record stays
    assert row["forgotten_at"] is None
    assert row["telegram_id"] is None  # this account is no longer linked
    # The link still works for the real customer.
    owner = tg.user(940_022, "Зоя")
    owner.send(f"/start {payload}")
    await tg.settle()
    assert (await customer_row(app, "forget-1"))["telegram_id"] == owner.id


async def test_sharing_the_phone_confirms_a_link_and_then_forget_erases(
    app: BotApp, tg: BotAPIEmulator
) -> None:
    payload = await post_purchase(
        app, purchase_body("F-2", "forget-2", app.clock.now(), phone=None, name="Ада")
    )
    owner = tg.user(940_031, "Ада")
    owner.send(f"/start {payload}")
    await tg.settle()
    await post_purchase(  # the shop learns her phone with a later order
        app, purchase_body("F-3", "forget-2", app.clock.now(), phone=PHONE, name="Ада")
    )
    owner.send("/link")  # linked by the link alone: /link offers to confirm it
    await tg.settle()
    assert asks_for_contact(owner.last)
    owner.share_contact(PHONE)
    await tg.settle()
    assert (await customer_row(app, "forget-2"))["phone_checked"] == 1

    owner.send("/forget")
    await tg.settle()
    owner.click("Да, удалить")
    await tg.settle()
    row = await customer_row(app, "forget-2")
    assert row["name"] is None
    assert row["phone"] is None
    assert row["forgotten_at"] is not None
