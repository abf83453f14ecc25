"""One recipient's messages arrive in the order they were queued, whatever runs in parallel.

Several sends are in flight at once (different chats go in parallel), so before this a
customer's three quick messages in a case could reach the admin as «2, 1, 3». The property:
any interleaving of customers writing, every admin's chat shows each customer's messages in
the order written.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import BotApp
from bot.emulator import BotAPIEmulator
from tests.factories import TEA, buy, link

ADMINS = (1, 2)
_runs = itertools.count(1)


async def customers(app: BotApp, tg: BotAPIEmulator, n: int, run: int) -> list[Any]:
    people = []
    for i in range(n):
        person = tg.user(10_000 * run + i, f"Клиент{i}")
        await link(tg, await buy(app, f"R{run}-{i}", f"c-{run}-{i}", TEA), person)
        people.append(person)
    return people


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(st.integers(min_value=0, max_value=3), min_size=4, max_size=24))
async def test_each_customers_messages_reach_every_admin_in_order(
    start_app: Callable[..., Any], tg: BotAPIEmulator, writers: list[int]
) -> None:
    run = next(_runs)
    app = await start_app(admin_ids=",".join(map(str, ADMINS)), send_rate=30)
    admins = [tg.user(a, f"Admin{a}") for a in ADMINS]
    people = await customers(app, tg, 4, run)
    for admin in admins:
        admin.send("/start")
    await tg.settle()
    seen = {a.id: len(a.texts()) for a in admins}
    counters = [0] * len(people)
    for who in writers:  # all queued before the outbox runs: one batch, many in flight
        counters[who] += 1
        people[who].send(f"сообщение {run}-{who}-{counters[who]:02d}")
        await tg.settle()
    await app.outbox.tick()
    await tg.settle()
    for admin in admins:
        texts = admin.texts()[seen[admin.id] :]
        for who in range(len(people)):
            mine = [t for t in texts if f"сообщение {run}-{who}-" in t]
            numbers = [int(t.split(f"сообщение {run}-{who}-")[1][:2]) for t in mine]
            assert numbers == list(range(1, counters[who] + 1)), (admin.id, who, numbers)
    await app.stop()
