"""A forgotten customer stays forgotten across `rotate-pseudonym-key`.

/forget keeps an e-mail used as the shop's customer id only as a keyed hash, and every later
order for that address is mapped to it (bot/customers/identity.py). Were that hash keyed by the
pseudonym key, rotating the key would make the next order for the address a new, identified
customer again: the person the shop was told to forget, messaged under their e-mail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from bot.app import BotApp
from bot.cli import rotate_pseudonym_key
from bot.clock import FakeClock
from bot.disclosure.guard import identity_key_path
from bot.privacy import service as privacy
from bot.settings import Settings
from tests.ingest_helpers import Api, purchase, rows

EMAIL = "anna@example.com"


async def order(app: BotApp, order_id: str) -> None:
    body = purchase(order_id, EMAIL, phone="+7 999 123-45-67", at=app.clock.now())
    body["customer"]["email"] = EMAIL
    async with aiohttp.ClientSession() as session:
        status, answer = await Api(app, session).purchase(body)
    assert status == 201, answer


@pytest.mark.parametrize(
    ("before", "after", "upgraded"),
    [
        (None, None, False),  # the key file beside the database, replaced by the command
        ("the-old-pseudonym-secret", "a-new-pseudonym-secret", False),  # PSEUDONYM_SECRET changed
        # Forgotten by a bot from before identity keys (hashed under the pseudonym key), then
        # rotated before any start: the command keeps the old key as the identity key.
        (None, None, True),
    ],
)
async def test_a_forgotten_email_still_maps_to_its_record_after_the_key_is_rotated(
    start_app: Callable[..., Any],
    make_settings: Callable[..., Settings],
    clock: FakeClock,
    before: str | None,
    after: str | None,
    upgraded: bool,
) -> None:
    app = await start_app(pseudonym_secret=before)
    await order(app, "A-1")
    [anna] = await rows(app.db, "SELECT id FROM customers")
    outcome = await privacy.forget_customer(app.db, anna["id"], clock.now(), keys=app.pseudonyms)
    assert outcome is privacy.Outcome.DONE
    await app.stop()
    if upgraded:
        identity_key_path(make_settings()).unlink()

    assert await rotate_pseudonym_key(make_settings(pseudonym_secret=after)) == 0
    clock.advance(days=3)
    app = await start_app(pseudonym_secret=after)
    await order(app, "A-2")

    customers = await rows(app.db, "SELECT id, external_id, email, name, phone FROM customers")
    assert len(customers) == 1, "the new order made a new, identified customer"
    [row] = customers
    assert row["id"] == anna["id"]
    assert row["external_id"].startswith("h:")
    assert (row["email"], row["name"], row["phone"]) == (None, None, None)
    orders = await rows(app.db, "SELECT order_id, customer_id FROM orders ORDER BY order_id")
    assert orders == [
        {"order_id": "A-1", "customer_id": anna["id"]},
        {"order_id": "A-2", "customer_id": anna["id"]},
    ]
    dump = str(await rows(app.db, "SELECT * FROM customers"))
    assert EMAIL not in dump
