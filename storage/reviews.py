"""Queries for reviews, negative-review alerts and the rows behind customers' messages.

Every function takes a connection inside the caller's transaction (or read snapshot); none
commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage.outbox import REVIEW_REMINDER, REVIEW_REQUEST
from storage.timestamps import from_db, to_db


def _at(value: str | None) -> datetime | None:
    return from_db(value) if value else None


# --- who a customer's row goes to --------------------------------------------------------------
@dataclass(frozen=True)
class Recipient:
    """A customer as the outbox needs them, and when the row in hand was queued."""

    customer_id: int
    telegram_id: int | None
    language: str | None
    subscribed: bool
    unreachable: bool
    forgotten: bool
    row_created_at: datetime


async def recipient_of_row(conn: aiosqlite.Connection, outbox_id: int) -> Recipient | None:
    async with conn.execute(
        "SELECT c.id, c.telegram_id, c.language, c.subscribed, c.unreachable_at, "
        "c.forgotten_at, o.created_at FROM outbox o JOIN customers c ON c.id = o.customer_id "
        "WHERE o.id = ?",
        (outbox_id,),
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return None
    return Recipient(
        customer_id=row["id"],
        telegram_id=row["telegram_id"],
        language=row["language"],
        subscribed=bool(row["subscribed"]),
        unreachable=row["unreachable_at"] is not None,
        forgotten=row["forgotten_at"] is not None,
        row_created_at=from_db(row["created_at"]),
    )


# --- reviews -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Review:
    id: int
    customer_id: int
    status: str
    requested_at: datetime | None
    rating: int | None
    nps: int | None
    nps_at: datetime | None
    comment: str | None
    completed_at: datetime | None
    ces: int | None = None  # effort 1–5, the optional step after NPS


_REVIEW_SQL = (
    "SELECT id, customer_id, status, requested_at, rating, nps, nps_at, comment, completed_at, "
    "ces FROM reviews "
)


def _review(row: aiosqlite.Row) -> Review:
    return Review(
        id=row["id"],
        customer_id=row["customer_id"],
        status=row["status"],
        requested_at=_at(row["requested_at"]),
        rating=row["rating"],
        nps=row["nps"],
        nps_at=_at(row["nps_at"]),
        comment=row["comment"],
        completed_at=_at(row["completed_at"]),
        ces=row["ces"],
    )


async def get_review(conn: aiosqlite.Connection, review_id: int) -> Review | None:
    async with conn.execute(_REVIEW_SQL + "WHERE id = ?", (review_id,)) as cur:
        row = await cur.fetchone()
    return _review(row) if row else None


async def review_awaiting_comment(
    conn: aiosqlite.Connection, customer_id: int, since: datetime
) -> Review | None:
    """The customer's latest review that has its NPS answer (after `since`) and no comment."""
    async with conn.execute(
        _REVIEW_SQL + "WHERE customer_id = ? AND nps_at IS NOT NULL AND completed_at IS NULL "
        "AND nps_at > ? ORDER BY nps_at DESC LIMIT 1",
        (customer_id, to_db(since)),
    ) as cur:
        row = await cur.fetchone()
    return _review(row) if row else None


@dataclass(frozen=True)
class ItemLine:
    name: str
    quantity: int


async def review_items(
    conn: aiosqlite.Connection, review_id: int, *, bought_by: datetime | None = None
) -> list[ItemLine]:
    """What the review is about: the items of every order it covers (of those bought by
    `bought_by`, when given), the same name once."""
    sql = (
        "SELECT i.name, SUM(i.quantity) AS quantity FROM orders o "
        "JOIN order_items i ON i.order_id = o.id WHERE o.review_id = ? "
    )
    params: list[object] = [review_id]
    if bought_by is not None:
        sql += "AND o.purchased_at <= ? "
        params.append(to_db(bought_by))
    async with conn.execute(
        sql + "GROUP BY i.name ORDER BY MIN(o.purchased_at), MIN(i.id)", params
    ) as cur:
        return [ItemLine(row["name"], row["quantity"]) for row in await cur.fetchall()]


async def review_orders(conn: aiosqlite.Connection, review_id: int) -> list[tuple[int, datetime]]:
    """(orders.id, purchased_at) of the review's orders, oldest first."""
    async with conn.execute(
        "SELECT id, purchased_at FROM orders WHERE review_id = ? ORDER BY purchased_at, id",
        (review_id,),
    ) as cur:
        return [(row["id"], from_db(row["purchased_at"])) for row in await cur.fetchall()]


async def review_order_ids(conn: aiosqlite.Connection, review_id: int) -> list[str]:
    async with conn.execute(
        "SELECT order_id FROM orders WHERE review_id = ? ORDER BY purchased_at, id", (review_id,)
    ) as cur:
        return [row["order_id"] for row in await cur.fetchall()]


async def request_went_out(conn: aiosqlite.Connection, review_id: int) -> bool:
    """True when a request for the review reached Telegram (or was on its way there)."""
    async with conn.execute(
        "SELECT 1 FROM outbox WHERE kind IN (?, ?) AND ref_id = ? "
        "AND status IN ('sending', 'sent') LIMIT 1",
        (REVIEW_REQUEST, REVIEW_REMINDER, review_id),
    ) as cur:
        return await cur.fetchone() is not None


async def mark_requested(conn: aiosqlite.Connection, review_id: int, now: datetime) -> bool:
    """The request went out; False when it had been noted already."""
    cur = await conn.execute(
        "UPDATE reviews SET status = 'requested', requested_at = ? "
        "WHERE id = ? AND status = 'pending'",
        (to_db(now), review_id),
    )
    return cur.rowcount > 0


async def set_status_if(
    conn: aiosqlite.Connection, review_id: int, status: str, *, was: tuple[str, ...]
) -> bool:
    cur = await conn.execute(
        f"UPDATE reviews SET status = ? WHERE id = ? AND status IN ({','.join('?' * len(was))})",
        (status, review_id, *was),
    )
    return cur.rowcount > 0


async def set_rating(
    conn: aiosqlite.Connection, review_id: int, rating: int, now: datetime
) -> bool:
    cur = await conn.execute(
        "UPDATE reviews SET rating = ?, rated_at = ?, status = 'answered', "
        "requested_at = COALESCE(requested_at, ?) WHERE id = ? AND rating IS NULL",
        (rating, to_db(now), to_db(now), review_id),
    )
    return cur.rowcount > 0


async def set_nps(conn: aiosqlite.Connection, review_id: int, score: int, now: datetime) -> bool:
    cur = await conn.execute(
        "UPDATE reviews SET nps = ?, nps_at = ? "
        "WHERE id = ? AND nps IS NULL AND rating IS NOT NULL",
        (score, to_db(now), review_id),
    )
    return cur.rowcount > 0


async def set_ces(conn: aiosqlite.Connection, review_id: int, score: int, now: datetime) -> bool:
    """The effort answer (CES, 1–5); only after NPS and before the review is completed."""
    cur = await conn.execute(
        "UPDATE reviews SET ces = ?, ces_at = ? "
        "WHERE id = ? AND ces IS NULL AND nps IS NOT NULL AND completed_at IS NULL",
        (score, to_db(now), review_id),
    )
    return cur.rowcount > 0


async def review_message_ids(conn: aiosqlite.Connection, review_id: int) -> list[tuple[int, int]]:
    """(chat, message) of the request and reminder sent for a review: the conversation's
    messages, whose buttons go once the review is complete."""
    async with conn.execute(
        "SELECT c.telegram_id, o.message_id FROM outbox o JOIN customers c ON c.id = o.customer_id "
        "WHERE o.kind IN (?, ?) AND o.ref_id = ? "
        "AND o.status = 'sent' AND o.message_id IS NOT NULL AND c.telegram_id IS NOT NULL",
        (REVIEW_REQUEST, REVIEW_REMINDER, review_id),
    ) as cur:
        return [(row[0], row[1]) for row in await cur.fetchall()]


async def complete(
    conn: aiosqlite.Connection, review_id: int, now: datetime, comment: str | None = None
) -> bool:
    cur = await conn.execute(
        "UPDATE reviews SET completed_at = ?, comment = ?, "
        "commented_at = CASE WHEN ? IS NULL THEN NULL ELSE ? END "
        "WHERE id = ? AND completed_at IS NULL AND nps IS NOT NULL",
        (to_db(now), comment, comment, to_db(now), review_id),
    )
    return cur.rowcount > 0


async def expire_unanswered(conn: aiosqlite.Connection, requested_before: datetime) -> int:
    """Requests sent before the moment and still without a rating expire (partial index)."""
    cur = await conn.execute(
        "UPDATE reviews SET status = 'expired' WHERE status = 'requested' AND requested_at <= ?",
        (to_db(requested_before),),
    )
    return cur.rowcount


async def reviews_without_comment(conn: aiosqlite.Connection, nps_before: datetime) -> list[int]:
    async with conn.execute(
        "SELECT id FROM reviews WHERE nps_at IS NOT NULL AND completed_at IS NULL AND nps_at <= ?",
        (to_db(nps_before),),
    ) as cur:
        return [row["id"] for row in await cur.fetchall()]


# --- alerts ------------------------------------------------------------------------------------
async def insert_alert(conn: aiosqlite.Connection, review_id: int, now: datetime) -> int | None:
    """A new alert for the review; None when it has one already."""
    cur = await conn.execute(
        "INSERT INTO alerts (review_id, created_at) VALUES (?, ?) "
        "ON CONFLICT(review_id) DO NOTHING",
        (review_id, to_db(now)),
    )
    return cur.lastrowid if cur.rowcount else None


async def alert_id_of_review(conn: aiosqlite.Connection, review_id: int) -> int | None:
    async with conn.execute("SELECT id FROM alerts WHERE review_id = ?", (review_id,)) as cur:
        row = await cur.fetchone()
    return row["id"] if row else None


@dataclass(frozen=True)
class Alert:
    id: int
    review: Review
    customer_name: str | None
    customer_phone: str | None
    customer_external_id: str
    resolved_by: int | None
    resolved_by_name: str | None
    resolved_at: datetime | None

    @property
    def resolved(self) -> bool:
        return self.resolved_by is not None


async def get_alert(conn: aiosqlite.Connection, alert_id: int) -> Alert | None:
    async with conn.execute(
        "SELECT a.id, a.review_id, a.resolved_by, a.resolved_by_name, a.resolved_at, "
        "c.name, c.phone, c.external_id FROM alerts a JOIN reviews r ON r.id = a.review_id "
        "JOIN customers c ON c.id = r.customer_id WHERE a.id = ?",
        (alert_id,),
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return None
    review = await get_review(conn, row["review_id"])
    assert review is not None
    return Alert(
        id=row["id"],
        review=review,
        customer_name=row["name"],
        customer_phone=row["phone"],
        customer_external_id=row["external_id"],
        resolved_by=row["resolved_by"],
        resolved_by_name=row["resolved_by_name"],
        resolved_at=_at(row["resolved_at"]),
    )


async def resolve_alert(
    conn: aiosqlite.Connection, alert_id: int, admin_id: int, admin_name: str, now: datetime
) -> bool:
    """Record who resolved the alert; False when someone had already."""
    cur = await conn.execute(
        "UPDATE alerts SET resolved_by = ?, resolved_by_name = ?, resolved_at = ? "
        "WHERE id = ? AND resolved_by IS NULL",
        (admin_id, admin_name, to_db(now), alert_id),
    )
    return cur.rowcount > 0
