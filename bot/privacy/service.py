"""Personal data on request: a customer forgets themselves, an admin forgets a customer, an
employee leaves the survey. Handlers call these.

What goes and what stays:
- Forgetting a customer clears their name, phone, Telegram id and language, replaces their
  link token (so an old deep link no longer links anyone to the record) and cancels every
  message still queued for them. Their reviews, orders and ratings stay, pointing at the same
  row, which now says nothing about who the person was; reports keep counting them.
- Leaving clears the employee's Telegram id and cancels their queued questions. Answers stand
  against an HMAC pseudonym (bot/pseudonym.py), not against the employee row, so they stay.

Each use case is one transaction: a crash or a locked database leaves the row either fully
as it was or fully forgotten.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

import aiosqlite

from storage import Database
from storage import plans as plans_q
from storage.outbox import cancel_pending
from storage.timestamps import from_db, to_db

log = logging.getLogger(__name__)

EXTERNAL_ID_MAX_LEN = 64  # longer ids are not the shop's: refuse before touching the database


@dataclass(frozen=True)
class CustomerRecord:
    """What an admin sees before confirming that a customer is to be forgotten."""

    id: int
    external_id: str
    name: str | None
    phone: str | None
    linked: bool
    reviews: int
    forgotten_at: datetime | None


class Outcome(Enum):
    DONE = "done"
    ALREADY = "already"  # forgotten before (a second press of the button, say)
    NOT_FOUND = "not_found"


def mask_phone(phone: str | None) -> str | None:
    """+79991234567 → +799•••••567: enough for an admin to recognise, not to copy."""
    if not phone:
        return None
    if len(phone) <= 6:
        return "•" * len(phone)
    return phone[:4] + "•" * (len(phone) - 7) + phone[-3:]


def clean_external_id(raw: str | None) -> str | None:
    """The shop's customer id as an admin typed it; None when it cannot be one."""
    value = (raw or "").strip()
    if not value or len(value) > EXTERNAL_ID_MAX_LEN or not value.isprintable():
        return None
    return value


# --- customers ----------------------------------------------------------------------------------
async def _customer_record(
    conn: aiosqlite.Connection, where: str, value: object
) -> CustomerRecord | None:
    async with conn.execute(
        "SELECT c.id, c.external_id, c.name, c.phone, c.telegram_id, c.forgotten_at, "
        "(SELECT COUNT(*) FROM reviews r WHERE r.customer_id = c.id AND r.rating IS NOT NULL) "
        f"AS reviews FROM customers c WHERE {where}",
        (value,),
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return None
    return CustomerRecord(
        id=row["id"],
        external_id=row["external_id"],
        name=row["name"],
        phone=row["phone"],
        linked=row["telegram_id"] is not None,
        reviews=row["reviews"],
        forgotten_at=from_db(row["forgotten_at"]) if row["forgotten_at"] else None,
    )


async def customer_by_external_id(
    db: Database, raw_external_id: str | None
) -> CustomerRecord | None:
    external_id = clean_external_id(raw_external_id)
    if external_id is None:
        return None
    async with db.read() as conn:
        return await _customer_record(conn, "c.external_id = ?", external_id)


async def customer_by_telegram_id(db: Database, telegram_id: int) -> CustomerRecord | None:
    async with db.read() as conn:
        return await _customer_record(conn, "c.telegram_id = ?", telegram_id)


async def _forget(conn: aiosqlite.Connection, customer_id: int, now: datetime) -> int:
    """Clear the person out of one customer row; returns how many queued messages were cancelled."""
    await conn.execute(
        "UPDATE customers SET name = NULL, phone = NULL, telegram_id = NULL, language = NULL, "
        "linked_at = NULL, unreachable_at = NULL, link_token = ?, forgotten_at = ? WHERE id = ?",
        # A fresh unguessable token: the old deep link (on a receipt, in a chat) stops working.
        (secrets.token_urlsafe(18), to_db(now), customer_id),
    )
    return await cancel_pending(conn, customer_id=customer_id, reason="customer forgotten")


async def forget_customer(db: Database, customer_id: int, now: datetime) -> Outcome:
    """An admin's confirmed request, by the customer's internal id (from the button)."""
    async with db.write() as conn:
        async with conn.execute(
            "SELECT forgotten_at, name, phone, telegram_id FROM customers WHERE id = ?",
            (customer_id,),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return Outcome.NOT_FOUND
        if row["forgotten_at"] is not None and not (
            row["name"] or row["phone"] or row["telegram_id"]
        ):
            # Nothing personal left. (A customer who linked again after being forgotten has
            # a Telegram id again, and is forgotten again.)
            return Outcome.ALREADY
        cancelled = await _forget(conn, customer_id, now)
    log.info(
        "customer row %s forgotten by an admin (%d queued messages cancelled)",
        customer_id,
        cancelled,
    )
    return Outcome.DONE


async def forget_me(db: Database, telegram_id: int, now: datetime) -> Outcome:
    """A customer's own confirmed /forget: the row linked to the presser's Telegram id."""
    async with db.write() as conn:
        async with conn.execute(
            "SELECT id FROM customers WHERE telegram_id = ?", (telegram_id,)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return Outcome.NOT_FOUND
        cancelled = await _forget(conn, row["id"], now)
    log.info(
        "customer row %s forgotten on their request (%d queued messages cancelled)",
        row["id"],
        cancelled,
    )
    return Outcome.DONE


# --- employees ----------------------------------------------------------------------------------
async def is_employee(db: Database, telegram_id: int) -> bool:
    async with (
        db.read() as conn,
        conn.execute("SELECT 1 FROM employees WHERE telegram_id = ?", (telegram_id,)) as cur,
    ):
        return await cur.fetchone() is not None


async def leave(db: Database, telegram_id: int, now: datetime) -> Outcome:
    """An employee's confirmed /leave: the row keeps its department, loses the Telegram id."""
    async with db.write() as conn:
        async with conn.execute(
            "SELECT id FROM employees WHERE telegram_id = ?", (telegram_id,)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return Outcome.NOT_FOUND
        await conn.execute(
            "UPDATE employees SET telegram_id = NULL, left_at = ?, unreachable_at = NULL "
            "WHERE id = ?",
            (to_db(now), row["id"]),
        )
        cancelled = await cancel_pending(conn, employee_id=row["id"], reason="employee left")
        # Initiatives they owned lose the id too; the admins are asked for a new owner.
        await plans_q.forget_person(conn, telegram_id, now)
    log.info("employee row %s left the survey (%d queued messages cancelled)", row["id"], cancelled)
    return Outcome.DONE
