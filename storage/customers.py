"""Queries for customers, products, orders, order items, pending reviews and restock rows.

Every function takes a connection inside the caller's transaction; none commits.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage.outbox import REVIEW_REQUEST
from storage.timestamps import from_db, to_db


@dataclass(frozen=True)
class Customer:
    id: int
    external_id: str
    name: str | None
    phone: str | None
    link_token: str
    telegram_id: int | None
    language: str | None
    subscribed: bool
    forgotten: bool
    # The linked account proved the customer's phone (a shared contact), rather than opening
    # the receipt link alone (migration 0005).
    phone_checked: bool = False


_CUSTOMER_COLUMNS = (
    "id, external_id, name, phone, link_token, telegram_id, language, subscribed, forgotten_at, "
    "phone_checked"
)
_CUSTOMER_SQL = f"SELECT {_CUSTOMER_COLUMNS} FROM customers "

# An order item as it is written: (id, order pk, sku, name, quantity, restock_days, unit price
# in hundredths or None, currency or None). The price goes in with the item, so the revenue
# triggers of migration 0013 fire once, on the insert.
ItemRow = tuple[int, int, str, str, float, int | None, int | None, str | None]


def _customer(row: aiosqlite.Row) -> Customer:
    return Customer(
        id=row["id"],
        external_id=row["external_id"],
        name=row["name"],
        phone=row["phone"],
        link_token=row["link_token"],
        telegram_id=row["telegram_id"],
        language=row["language"],
        subscribed=bool(row["subscribed"]),
        forgotten=row["forgotten_at"] is not None,
        phone_checked=bool(row["phone_checked"]),
    )


def new_link_token() -> str:
    """24 URL-safe characters (144 random bits): unguessable, and "c_" + it fits a deep link."""
    return secrets.token_urlsafe(18)


# --- customers --------------------------------------------------------------------------------
async def upsert_customer(
    conn: aiosqlite.Connection,
    external_id: str,
    name: str | None,
    phone: str | None,
    now: datetime,
) -> Customer:
    """Create the shop's customer, or update the name and phone it sent (blank keeps the old).

    A customer who asked to be forgotten stays anonymous: the shop's new data is not stored.
    """
    [row] = await conn.execute_fetchall(
        "INSERT INTO customers (external_id, name, phone, link_token, created_at) "
        "VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(external_id) DO UPDATE SET "
        "name = CASE WHEN forgotten_at IS NULL THEN COALESCE(excluded.name, name) END, "
        "phone = CASE WHEN forgotten_at IS NULL THEN COALESCE(excluded.phone, phone) END "
        "RETURNING " + _CUSTOMER_COLUMNS,
        (external_id, name, phone, new_link_token(), to_db(now)),
    )
    return _customer(row)


async def customer_by_id(conn: aiosqlite.Connection, customer_id: int) -> Customer | None:
    rows = await conn.execute_fetchall(_CUSTOMER_SQL + "WHERE id = ?", (customer_id,))
    return _customer(next(iter(rows))) if rows else None


async def customer_by_link_token(conn: aiosqlite.Connection, token: str) -> Customer | None:
    rows = await conn.execute_fetchall(_CUSTOMER_SQL + "WHERE link_token = ?", (token,))
    return _customer(next(iter(rows))) if rows else None


async def customer_by_telegram_id(conn: aiosqlite.Connection, telegram_id: int) -> Customer | None:
    rows = await conn.execute_fetchall(_CUSTOMER_SQL + "WHERE telegram_id = ?", (telegram_id,))
    return _customer(next(iter(rows))) if rows else None


async def customers_by_phone(conn: aiosqlite.Connection, phone: str) -> list[Customer]:
    """Customers with this phone, the one with the latest purchase first."""
    async with conn.execute(
        "SELECT c.id, c.external_id, c.name, c.phone, c.link_token, c.telegram_id, c.language, "
        "c.subscribed, c.forgotten_at, c.phone_checked FROM customers c "
        "WHERE c.phone = ? AND c.forgotten_at IS NULL ORDER BY "
        "(SELECT MAX(o.purchased_at) FROM orders o WHERE o.customer_id = c.id) DESC, c.id DESC",
        (phone,),
    ) as cur:
        return [_customer(row) for row in await cur.fetchall()]


async def is_known_person(conn: aiosqlite.Connection, telegram_id: int) -> bool:
    async with conn.execute(
        "SELECT EXISTS (SELECT 1 FROM customers WHERE telegram_id = ?) "
        "OR EXISTS (SELECT 1 FROM employees WHERE telegram_id = ?) AS known",
        (telegram_id, telegram_id),
    ) as cur:
        row = await cur.fetchone()
    return bool(row and row["known"])


async def set_telegram(
    conn: aiosqlite.Connection,
    customer_id: int,
    telegram_id: int,
    language: str,
    now: datetime,
    *,
    phone_checked: bool = False,
) -> None:
    """Link a Telegram account to a customer (and subscribe: linking is asking for messages).

    One Telegram account is one customer (customers.telegram_id is unique): a link the
    account held before is released first. An account that held this customer before (by the
    link alone) loses it.
    """
    await conn.execute(
        "UPDATE customers SET telegram_id = NULL WHERE telegram_id = ? AND id != ?",
        (telegram_id, customer_id),
    )
    await conn.execute(
        "UPDATE customers SET telegram_id = ?, language = ?, linked_at = ?, subscribed = 1, "
        "unreachable_at = NULL, forgotten_at = NULL, phone_checked = ? WHERE id = ?",
        (telegram_id, language, to_db(now), phone_checked, customer_id),
    )


async def set_phone_checked(conn: aiosqlite.Connection, customer_id: int) -> None:
    """The linked account has just shared the customer's phone."""
    await conn.execute("UPDATE customers SET phone_checked = 1 WHERE id = ?", (customer_id,))


async def unlink_telegram(conn: aiosqlite.Connection, customer_id: int) -> None:
    """The Telegram account lets go of the customer; the shop's record stays as it is."""
    await conn.execute(
        "UPDATE customers SET telegram_id = NULL, language = NULL, linked_at = NULL, "
        "phone_checked = 0 WHERE id = ?",
        (customer_id,),
    )


# --- link claims: a receipt link opened, the phone asked for ----------------------------------
async def put_link_claim(
    conn: aiosqlite.Connection, telegram_id: int, customer_id: int, now: datetime
) -> None:
    await conn.execute(
        "INSERT INTO link_claims (telegram_id, customer_id, created_at) VALUES (?, ?, ?) "
        "ON CONFLICT(telegram_id) DO UPDATE SET customer_id = excluded.customer_id, "
        "created_at = excluded.created_at",
        (telegram_id, customer_id, to_db(now)),
    )


async def take_link_claim(conn: aiosqlite.Connection, telegram_id: int) -> int | None:
    """The customer whose receipt link this account opened last (the claim is used up)."""
    rows = await conn.execute_fetchall(
        "DELETE FROM link_claims WHERE telegram_id = ? RETURNING customer_id", (telegram_id,)
    )
    found = list(rows)
    return int(found[0]["customer_id"]) if found else None


async def set_subscribed(conn: aiosqlite.Connection, customer_id: int, subscribed: bool) -> None:
    await conn.execute(
        "UPDATE customers SET subscribed = ?, unreachable_at = CASE WHEN ? THEN NULL "
        "ELSE unreachable_at END WHERE id = ?",
        (int(subscribed), int(subscribed), customer_id),
    )


async def set_language(conn: aiosqlite.Connection, customer_id: int, language: str) -> None:
    await conn.execute("UPDATE customers SET language = ? WHERE id = ?", (language, customer_id))


# --- products -----------------------------------------------------------------------------------
async def upsert_product(
    conn: aiosqlite.Connection,
    sku: str,
    name: str,
    restock_days: int | None,
    reorder_url: str | None,
    now: datetime,
) -> bool:
    """Create or replace a catalogue entry (PUT semantics); True when it was new."""
    async with conn.execute("SELECT 1 FROM products WHERE sku = ?", (sku,)) as cur:
        existed = await cur.fetchone() is not None
    await conn.execute(
        "INSERT INTO products (sku, name, restock_days, reorder_url, updated_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT(sku) DO UPDATE SET name = excluded.name, "
        "restock_days = excluded.restock_days, reorder_url = excluded.reorder_url, "
        "updated_at = excluded.updated_at",
        (sku, name, restock_days, reorder_url, to_db(now)),
    )
    return not existed


async def product_restock_days(
    conn: aiosqlite.Connection, skus: Iterable[str]
) -> dict[str, int | None]:
    wanted = sorted(set(skus))
    if not wanted:
        return {}
    rows = await conn.execute_fetchall(
        f"SELECT sku, restock_days FROM products WHERE sku IN ({','.join('?' * len(wanted))})",
        wanted,
    )
    return {row["sku"]: row["restock_days"] for row in rows}


# --- orders -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StoredOrder:
    id: int
    customer_id: int
    external_customer_id: str
    link_token: str


async def order_by_shop_id(conn: aiosqlite.Connection, order_id: str) -> StoredOrder | None:
    rows = await conn.execute_fetchall(
        "SELECT o.id, o.customer_id, c.external_id, c.link_token FROM orders o "
        "JOIN customers c ON c.id = o.customer_id WHERE o.order_id = ?",
        (order_id,),
    )
    if not rows:
        return None
    row = next(iter(rows))
    return StoredOrder(row["id"], row["customer_id"], row["external_id"], row["link_token"])


async def insert_order(
    conn: aiosqlite.Connection,
    order_id: str,
    customer_id: int,
    purchased_at: datetime,
    review_id: int | None,
    now: datetime,
) -> int:
    cur = await conn.execute(
        "INSERT INTO orders (order_id, customer_id, purchased_at, created_at, review_id) "
        "VALUES (?, ?, ?, ?, ?)",
        (order_id, customer_id, to_db(purchased_at), to_db(now), review_id),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


async def insert_items(
    conn: aiosqlite.Connection,
    order_pk: int,
    items: list[tuple[str, str, float, int | None, int | None, str | None]],
) -> dict[str, int]:
    """Insert (sku, name, quantity, restock_days, price in hundredths, currency) rows in one
    statement.

    Returns each SKU's first item id (ids grow in VALUES order; RETURNING's order is not
    guaranteed, so the smallest id per SKU is taken).
    """
    rows = await conn.execute_fetchall(
        "INSERT INTO order_items (order_id, sku, name, quantity, restock_days, price_cents, "
        "currency) VALUES "
        + ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * len(items))
        + " RETURNING id, sku",
        [value for item in items for value in (order_pk, *item)],
    )
    first: dict[str, int] = {}
    for row in rows:
        if row["sku"] not in first or row["id"] < first[row["sku"]]:
            first[row["sku"]] = row["id"]
    return first


# --- reviews ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReviewState:
    open_review_id: int | None  # a review not asked yet whose request is still queued
    last_requested_at: datetime | None  # when the customer was last asked


async def review_state(conn: aiosqlite.Connection, customer_id: int) -> ReviewState:
    """What a new order's review request depends on, in one query.

    A `pending` review whose request row is gone (cancelled by /stop or a block) will never be
    sent; a new order must not attach to it.
    """
    [row] = await conn.execute_fetchall(
        "SELECT (SELECT r.id FROM reviews r WHERE r.customer_id = ?1 AND r.status = 'pending' "
        "AND EXISTS (SELECT 1 FROM outbox x WHERE x.kind = ?2 AND x.ref_id = r.id "
        "AND x.customer_id = r.customer_id AND x.status IN ('pending', 'sending')) "
        "ORDER BY r.id DESC LIMIT 1) AS open_id, "
        "(SELECT MAX(requested_at) FROM reviews WHERE customer_id = ?1) AS last_at",
        (customer_id, REVIEW_REQUEST),
    )
    return ReviewState(row["open_id"], from_db(row["last_at"]) if row["last_at"] else None)


async def insert_review(conn: aiosqlite.Connection, customer_id: int, now: datetime) -> int:
    cur = await conn.execute(
        "INSERT INTO reviews (customer_id, created_at, status) VALUES (?, ?, 'pending')",
        (customer_id, to_db(now)),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


async def move_orders_to_review(
    conn: aiosqlite.Connection, order_ids: list[int], review_id: int
) -> None:
    """These orders are asked about in another (later) review."""
    await conn.execute(
        f"UPDATE orders SET review_id = ? WHERE id IN ({','.join('?' * len(order_ids))})",
        [review_id, *order_ids],
    )


async def cancel_unsent_reviews(conn: aiosqlite.Connection, customer_id: int) -> int:
    cur = await conn.execute(
        "UPDATE reviews SET status = 'cancelled' WHERE customer_id = ? AND status = 'pending'",
        (customer_id,),
    )
    return cur.rowcount


# --- restock ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RestockHistory:
    optouts: set[str]
    last_bought: dict[str, datetime]  # the customer's latest earlier purchase of each SKU


async def restock_history(
    conn: aiosqlite.Connection, customer_id: int, skus: Iterable[str], *, excluding_order: int
) -> RestockHistory:
    """The customer's refused SKUs and previous purchases of these SKUs, in one query."""
    wanted = sorted(set(skus))
    marks = ",".join("?" * len(wanted))
    # CROSS JOIN keeps the customer's orders as the outer loop: the SKU index alone would
    # walk every customer's purchases of a popular product.
    rows = await conn.execute_fetchall(
        "SELECT 'optout' AS what, sku, NULL AS at FROM restock_optouts WHERE customer_id = ? "
        "UNION ALL "
        "SELECT 'bought', i.sku, MAX(o.purchased_at) FROM orders o CROSS JOIN order_items i "
        f"ON i.order_id = o.id WHERE o.customer_id = ? AND o.id != ? AND i.sku IN ({marks}) "
        "GROUP BY i.sku",
        (customer_id, customer_id, excluding_order, *wanted),
    )
    optouts = {r["sku"] for r in rows if r["what"] == "optout"}
    bought = {r["sku"]: from_db(r["at"]) for r in rows if r["what"] == "bought"}
    return RestockHistory(optouts, bought)


def _json(values: Iterable[object]) -> str:
    return json.dumps(sorted(set(values)), ensure_ascii=False)


async def orders_by_shop_ids(
    conn: aiosqlite.Connection, order_ids: Iterable[str]
) -> dict[str, StoredOrder]:
    rows = await conn.execute_fetchall(
        "SELECT o.order_id, o.id, o.customer_id, c.external_id, c.link_token FROM orders o "
        "JOIN customers c ON c.id = o.customer_id "
        "WHERE o.order_id IN (SELECT value FROM json_each(?))",
        (_json(order_ids),),
    )
    return {
        r["order_id"]: StoredOrder(r["id"], r["customer_id"], r["external_id"], r["link_token"])
        for r in rows
    }


async def upsert_customers(
    conn: aiosqlite.Connection,
    customers: list[tuple[str, str | None, str | None]],
    now: datetime,
) -> dict[str, Customer]:
    """upsert_customer for many (external_id, name, phone) at once; returns them by external id."""
    await conn.executemany(
        "INSERT INTO customers (external_id, name, phone, link_token, created_at) "
        "VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(external_id) DO UPDATE SET "
        "name = CASE WHEN forgotten_at IS NULL THEN COALESCE(excluded.name, name) END, "
        "phone = CASE WHEN forgotten_at IS NULL THEN COALESCE(excluded.phone, phone) END",
        [(ext, name, phone, new_link_token(), to_db(now)) for ext, name, phone in customers],
    )
    rows = await conn.execute_fetchall(
        _CUSTOMER_SQL + "WHERE external_id IN (SELECT value FROM json_each(?))",
        (_json(ext for ext, _, _ in customers),),
    )
    return {r["external_id"]: _customer(r) for r in rows}


async def review_states(
    conn: aiosqlite.Connection, customer_ids: Iterable[int]
) -> dict[int, ReviewState]:
    """review_state for many customers in one query."""
    rows = await conn.execute_fetchall(
        "SELECT c.value AS customer_id, "
        "(SELECT r.id FROM reviews r WHERE r.customer_id = c.value AND r.status = 'pending' "
        "AND EXISTS (SELECT 1 FROM outbox x WHERE x.kind = ? AND x.ref_id = r.id "
        "AND x.customer_id = r.customer_id AND x.status IN ('pending', 'sending')) "
        "ORDER BY r.id DESC LIMIT 1) AS open_id, "
        "(SELECT MAX(requested_at) FROM reviews WHERE customer_id = c.value) AS last_at "
        "FROM json_each(?) c",
        (REVIEW_REQUEST, _json(customer_ids)),
    )
    return {
        r["customer_id"]: ReviewState(r["open_id"], from_db(r["last_at"]) if r["last_at"] else None)
        for r in rows
    }


async def restock_histories(
    conn: aiosqlite.Connection, customer_ids: Iterable[int], skus: Iterable[str]
) -> tuple[set[tuple[int, str]], dict[tuple[int, str], datetime]]:
    """(refused (customer, sku) pairs, latest purchase of each (customer, sku)) for many."""
    customers = _json(customer_ids)
    optouts = await conn.execute_fetchall(
        "SELECT customer_id, sku FROM restock_optouts "
        "WHERE customer_id IN (SELECT value FROM json_each(?))",
        (customers,),
    )
    bought = await conn.execute_fetchall(
        "SELECT o.customer_id, i.sku, MAX(o.purchased_at) AS at FROM orders o "
        "CROSS JOIN order_items i ON i.order_id = o.id "
        "WHERE o.customer_id IN (SELECT value FROM json_each(?)) "
        "AND i.sku IN (SELECT value FROM json_each(?)) GROUP BY o.customer_id, i.sku",
        (customers, _json(skus)),
    )
    return (
        {(r["customer_id"], r["sku"]) for r in optouts},
        {(r["customer_id"], r["sku"]): from_db(r["at"]) for r in bought},
    )


async def products_restock_days(
    conn: aiosqlite.Connection, skus: Iterable[str]
) -> dict[str, int | None]:
    rows = await conn.execute_fetchall(
        "SELECT sku, restock_days FROM products WHERE sku IN (SELECT value FROM json_each(?))",
        (_json(skus),),
    )
    return {r["sku"]: r["restock_days"] for r in rows}


async def next_ids(conn: aiosqlite.Connection) -> tuple[int, int, int]:
    """The next free ids of reviews, orders and order_items.

    Valid while the caller's write transaction (BEGIN IMMEDIATE) keeps every other writer out.
    """
    [row] = await conn.execute_fetchall(
        "SELECT (SELECT COALESCE(MAX(id), 0) FROM reviews) + 1 AS reviews, "
        "(SELECT COALESCE(MAX(id), 0) FROM orders) + 1 AS orders, "
        "(SELECT COALESCE(MAX(id), 0) FROM order_items) + 1 AS items"
    )
    return row["reviews"], row["orders"], row["items"]


async def insert_reviews(
    conn: aiosqlite.Connection, rows: list[tuple[int, int]], now: datetime
) -> None:
    """(id, customer_id) rows of new pending reviews."""
    if not rows:
        return  # no round trip to SQLite's thread for nothing
    await conn.executemany(
        "INSERT INTO reviews (id, customer_id, created_at, status) VALUES (?, ?, ?, 'pending')",
        [(review_id, customer_id, to_db(now)) for review_id, customer_id in rows],
    )


async def insert_orders(
    conn: aiosqlite.Connection,
    rows: list[tuple[int, str, int, datetime, int | None]],
    now: datetime,
) -> None:
    """(id, order_id, customer_id, purchased_at, review_id) rows."""
    await conn.executemany(
        "INSERT INTO orders (id, order_id, customer_id, purchased_at, created_at, review_id) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [(i, o, c, to_db(at), to_db(now), r) for i, o, c, at, r in rows],
    )


async def insert_items_many(conn: aiosqlite.Connection, rows: list[ItemRow]) -> None:
    """(id, order pk, sku, name, quantity, restock_days, price in hundredths, currency) rows."""
    await conn.executemany(
        "INSERT INTO order_items (id, order_id, sku, name, quantity, restock_days, price_cents, "
        "currency) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


async def mark_unreachable(conn: aiosqlite.Connection, customer_id: int, now: datetime) -> None:
    """Telegram answered 403: the customer blocked the bot or is gone."""
    await conn.execute(
        "UPDATE customers SET unreachable_at = ? WHERE id = ?", (to_db(now), customer_id)
    )


async def set_reachable_by_telegram(
    conn: aiosqlite.Connection, telegram_id: int, reachable: bool, now: datetime
) -> int:
    """Telegram told us (my_chat_member) that this account blocked the bot or came back."""
    cur = await conn.execute(
        "UPDATE customers SET unreachable_at = CASE WHEN ? THEN NULL "
        "ELSE coalesce(unreachable_at, ?) END WHERE telegram_id = ?",
        (reachable, to_db(now), telegram_id),
    )
    return cur.rowcount


async def customer_id_for_telegram(conn: aiosqlite.Connection, telegram_id: int) -> int | None:
    async with conn.execute(
        "SELECT id FROM customers WHERE telegram_id = ? AND forgotten_at IS NULL", (telegram_id,)
    ) as cur:
        row = await cur.fetchone()
    return row["id"] if row else None


# --- shop data (issue 14): e-mail per customer, links ------------------------------------------
async def set_emails(conn: aiosqlite.Connection, rows: list[tuple[str, str]]) -> None:
    """(email, external id): the latest e-mail the shop sent; a forgotten customer keeps none."""
    await conn.executemany(
        "UPDATE customers SET email = ? WHERE external_id = ? AND forgotten_at IS NULL", rows
    )


async def existing_external_ids(conn: aiosqlite.Connection, external_ids: list[str]) -> set[str]:
    rows = await conn.execute_fetchall(
        "SELECT external_id FROM customers WHERE external_id IN (SELECT value FROM json_each(?))",
        (_json(external_ids),),
    )
    return {r["external_id"] for r in rows}


@dataclass(frozen=True)
class LinkRow:
    external_id: str
    name: str | None
    phone: str | None
    email: str | None
    link_token: str
    forgotten: bool


async def link_rows(conn: aiosqlite.Connection, external_ids: list[str]) -> list[LinkRow]:
    rows = await conn.execute_fetchall(
        "SELECT external_id, name, phone, email, link_token, forgotten_at FROM customers "
        "WHERE external_id IN (SELECT value FROM json_each(?)) ORDER BY id",
        (_json(external_ids),),
    )
    return [
        LinkRow(
            r["external_id"],
            r["name"],
            r["phone"],
            r["email"],
            r["link_token"],
            r["forgotten_at"] is not None,
        )
        for r in rows
    ]
