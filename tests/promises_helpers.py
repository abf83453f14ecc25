"""What the promise tests (tests/test_promises_*.py) do from outside: a shop posting purchases
to the real HTTP API, a person opening the receipt link, Telegram's my_chat_member updates, and
plain SQL to look at the result. Only the stable parts of the app are used (its database, its
web port, its outbox tick), so these tests survive the modules moving around.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import aiohttp

from bot.app import BotApp
from bot.emulator import BotAPIEmulator, FakeUser

API_TOKEN = "test-api-token"  # what tests/conftest.py's make_settings sets


def purchase_body(
    order_id: str,
    customer: str,
    purchased_at: datetime,
    *,
    phone: str | None = None,
    name: str | None = "Анна",
    items: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    body_customer: dict[str, Any] = {"id": customer, "name": name}
    if phone is not None:
        body_customer["phone"] = phone
    return {
        "order_id": order_id,
        "customer": body_customer,
        "purchased_at": purchased_at.isoformat(),
        "items": [
            {"sku": sku, "name": item, "quantity": 1}
            for sku, item in (items or [(f"SKU-{order_id}", f"Товар {order_id}")])
        ],
    }


async def post_purchase(app: BotApp, body: dict[str, Any]) -> str:
    """The shop reports a purchase through the API; returns the /start payload of its link."""
    url = f"http://127.0.0.1:{app.http_port}/api/v1/purchases"
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=body, headers=headers) as response,
    ):
        answer = await response.json()
        assert response.status in (200, 201), answer
    link: str = answer["customer_link"]
    return link.split("?start=", 1)[1]


async def query(app: BotApp, sql: str, *params: Any) -> list[dict[str, Any]]:
    async with app.db.read() as conn:
        cur = await conn.execute(sql, params)
        return [dict(row) for row in await cur.fetchall()]


async def customer_row(app: BotApp, external_id: str) -> dict[str, Any]:
    [row] = await query(app, "SELECT * FROM customers WHERE external_id = ?", external_id)
    return row


def chat_member_update(tg: BotAPIEmulator, user: FakeUser, *, old: str, new: str) -> None:
    """What Telegram sends the bot when a person blocks it (kicked) or comes back (member)."""

    def member(status: str) -> dict[str, Any]:
        body: dict[str, Any] = {"status": status, "user": tg._bot_user()}
        if status == "kicked":
            body["until_date"] = 0
        return body

    tg._push_update(
        {
            "my_chat_member": {
                "chat": user.as_chat(),
                "from": user.as_user(),
                "date": int(time.time()),
                "old_chat_member": member(old),
                "new_chat_member": member(new),
            }
        }
    )


def block(tg: BotAPIEmulator, user: FakeUser) -> None:
    user.block()
    chat_member_update(tg, user, old="member", new="kicked")


def unblock(tg: BotAPIEmulator, user: FakeUser) -> None:
    user.unblock()
    chat_member_update(tg, user, old="kicked", new="member")


def review_requests(user: FakeUser) -> list[str]:
    """The review requests the person got (not the reminders, which repeat the question)."""
    return [t for t in user.texts() if "Как вам покупка" in t and "⏰" not in t]
