"""Purchases, customers and outbox rows for the outbox, review and restock tests.

Purchases go through the purchases feature's own `bot.customers.purchases.record` (what the API
and the CSV import call), so the rows these tests send are the rows production queues. Customers
link their Telegram through the real `/start c_<token>` deep link.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.app import BotApp
from bot.customers.purchases import Recorded, Timing, record
from bot.customers.schema import PurchaseIn
from bot.emulator import BotAPIEmulator, FakeUser
from storage.outbox import enqueue
from storage.timestamps import to_db


@dataclass(frozen=True)
class Item:
    sku: str
    name: str
    quantity: int = 1
    restock_days: int | None = None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"sku": self.sku, "name": self.name, "quantity": self.quantity}
        if self.restock_days is not None:
            body["restock_days"] = self.restock_days
        return body


TEA = Item("TEA-1", "Чай улун", 2, restock_days=30)
CUPS = Item("CUP-6", "Чашки <фарфор> & блюдца", 1)


DEFAULT_PHONE = "+79991234567"  # what `buy` gives a customer unless told otherwise


async def buy(
    app: BotApp,
    order_id: str,
    customer: str = "cust-1",
    *items: Item,
    at: datetime | None = None,
    name: str | None = "Анна Смирнова",
    phone: str | None = DEFAULT_PHONE,
) -> Recorded:
    """The shop reports a purchase (now, by the app's clock, unless `at` says otherwise)."""
    body: dict[str, Any] = {
        "order_id": order_id,
        "customer": {"id": customer, "name": name, "phone": phone},
        "purchased_at": at or app.clock.now(),
        "items": [item.body() for item in items or (TEA,)],
    }
    purchase = PurchaseIn.model_validate(body, context={"now": app.clock.now()})
    return await record(app.db, purchase, Timing.from_settings(app.settings), app.clock.now())


async def link(
    tg: BotAPIEmulator, recorded: Recorded, user: FakeUser, *, phone: str = DEFAULT_PHONE
) -> None:
    """The customer opens the link from their receipt, and shares their phone when the bot
    asks to confirm it (it does when the shop gave the customer's phone)."""
    user.send(f"/start {recorded.link_payload}")
    await tg.settle()
    if asks_for_contact(user.last):
        user.share_contact(phone)
        await tg.settle()


def asks_for_contact(message: dict[str, Any]) -> bool:
    markup = message.get("_keyboard") or {}
    return any(b.get("request_contact") for row in markup.get("keyboard", []) for b in row)


async def product(
    app: BotApp, sku: str, name: str, *, restock_days: int | None = None, url: str | None = None
) -> None:
    async with app.db.write() as conn:
        await conn.execute(
            "INSERT INTO products (sku, name, restock_days, reorder_url, updated_at) "
            "VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(sku) DO UPDATE SET reorder_url = excluded.reorder_url",
            (sku, name, restock_days, url, to_db(app.clock.now())),
        )


async def customer_row(
    app: BotApp,
    external_id: str,
    *,
    telegram_id: int | None = None,
    language: str | None = "ru",
    name: str = "Анна",
) -> int:
    """A customer written directly (for dispatcher tests that need no purchase)."""
    async with app.db.write() as conn:
        cur = await conn.execute(
            "INSERT INTO customers (external_id, name, link_token, telegram_id, language, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (
                external_id,
                name,
                "tok-" + external_id,
                telegram_id,
                language,
                to_db(app.clock.now()),
            ),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid


async def queue(app: BotApp, kind: str, *, due_in: timedelta = timedelta(0), **ids: Any) -> int:
    now = app.clock.now()
    async with app.db.write() as conn:
        return await enqueue(conn, kind=kind, due_at=now + due_in, now=now, **ids)


async def rows(app: BotApp, sql: str = "", *params: Any) -> list[dict[str, Any]]:
    """Outbox rows (optionally filtered: `rows(app, "kind = ?", "restock")`), oldest first."""
    where = f"WHERE {sql}" if sql else ""
    async with (
        app.db.read() as conn,
        conn.execute(f"SELECT * FROM outbox {where} ORDER BY id", params) as cur,
    ):
        return [dict(row) for row in await cur.fetchall()]


async def one(app: BotApp, sql: str, *params: Any) -> Any:
    async with app.db.read() as conn, conn.execute(sql, params) as cur:
        row = await cur.fetchone()
    return None if row is None else row[0]


async def snapshot(app: BotApp) -> dict[str, list[tuple[Any, ...]]]:
    """Every table a press could change, to show that a refused one changed nothing."""
    tables = ("customers", "reviews", "alerts", "restock_optouts", "outbox", "orders")
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with app.db.read() as conn:
        for table in tables:
            async with conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2") as cur:
                out[table] = [tuple(row) for row in await cur.fetchall()]
    return out


async def press(tg: BotAPIEmulator, user: FakeUser, button: str, **kw: Any) -> dict[str, Any]:
    """Press a button on the newest message having it; the callback answer the user saw."""
    return await _answer_of(tg, user.click(button, **kw))


async def press_data(tg: BotAPIEmulator, user: FakeUser, data: str) -> dict[str, Any]:
    """Send raw (possibly forged) callback data; the callback answer the user saw."""
    return await _answer_of(tg, user.press_data(data))


async def _answer_of(tg: BotAPIEmulator, query_id: str) -> dict[str, Any]:
    await tg.settle()
    return next(
        c.params
        for c in tg.calls_of("answerCallbackQuery")
        if str(c.params["callback_query_id"]) == query_id
    )
