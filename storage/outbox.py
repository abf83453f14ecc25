"""The outbox table: every statement that writes it, and the names of its kinds.

Row life: pending → sending → sent | failed | cancelled | expired (or back to pending with a
later due time: a retry, a postponement). Features queue and cancel rows here inside the
transaction that causes them; the dispatcher (scheduler/outbox.py) claims and marks them here.
The kind names are the vocabulary of the `kind` column, so they are defined once, with the table.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiosqlite

from storage.timestamps import from_db, to_db

# --- kinds ---------------------------------------------------------------------------------------
SURVEY_INVITE = "survey_invite"
SURVEY_REMINDER = "survey_reminder"
REVIEW_REQUEST = "review_request"
REVIEW_REMINDER = "review_reminder"
REVIEW_BONUS = "review_bonus"
RESTOCK = "restock"
NEGATIVE_ALERT = "negative_alert"
NEGATIVE_ALERT_COMMENT = "negative_alert_comment"
ALERT_REPLY = "alert_reply"  # an admin's reply to a customer from the dashboard

# Plans, the voice of the customer, the pulse (bot/plans, bot/voc, bot/pulse): ref_id is the
# initiative (plan_*), the VOC issue (voc_digest), the suggestion (voc_suggestion), the pulse
# round (pulse_invite); plan_overdue has none (the list is read when it is sent).
PLAN_OWNER = "plan_owner"
PLAN_CHECKIN = "plan_checkin"
PLAN_OVERDUE = "plan_overdue"
PLAN_OWNER_GONE = "plan_owner_gone"
VOC_DIGEST = "voc_digest"
VOC_SUGGESTION = "voc_suggestion"
PULSE_INVITE = "pulse_invite"
WINBACK = "winback"  # ref_id: orders.id of the customer's last purchase when it was queued
EVENT_OUT = "event_out"  # ref_id: events_out.id; posted to WEBHOOK_OUT_URL, not to Telegram
# Cases (bot/cases/). ref_id: case_messages.id for the first two, cases.id for the reminders.
CASE_TO_CUSTOMER = "case_to_customer"  # the shop's answer, or «Вопрос решён?»
CASE_TO_ADMIN = "case_to_admin"  # (chat_id = the admin) a case's message or event
CASE_DUE = "case_due"  # (chat_id = the admin) the first answer is due now
CASE_OVERDUE = "case_overdue"  # (chat_id = the admin) … and is overdue now

# The reason kept on a row that waits for its customer to link Telegram; `release_waiting`
# finds the rows by it.
WAITING_FOR_LINK = "waiting for the customer to link Telegram"


@dataclass(frozen=True)
class OutboxRow:
    id: int
    kind: str
    customer_id: int | None
    employee_id: int | None
    chat_id: int | None
    ref_id: int | None
    due_at: datetime
    attempts: int


# --- queueing and cancelling (features, inside the transaction that causes it) ----------------
async def enqueue(
    conn: aiosqlite.Connection,
    *,
    kind: str,
    due_at: datetime,
    now: datetime,
    customer_id: int | None = None,
    employee_id: int | None = None,
    chat_id: int | None = None,
    ref_id: int | None = None,
) -> int:
    """Queue one message; call inside the transaction that causes it."""
    cur = await conn.execute(
        "INSERT INTO outbox (kind, customer_id, employee_id, chat_id, ref_id, due_at, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (kind, customer_id, employee_id, chat_id, ref_id, to_db(due_at), to_db(now)),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


async def enqueue_many(
    conn: aiosqlite.Connection,
    rows: list[tuple[str, datetime, int, int | None]],
    *,
    now: datetime,
) -> None:
    """Queue many customer messages, (kind, due_at, customer_id, ref_id), in one statement.

    For bulk writers (the CSV import): one aiosqlite round trip instead of one per row.
    """
    if not rows:
        return
    await conn.executemany(
        "INSERT INTO outbox (kind, customer_id, ref_id, due_at, created_at) VALUES (?, ?, ?, ?, ?)",
        [
            (kind, customer_id, ref_id, to_db(due), to_db(now))
            for kind, due, customer_id, ref_id in rows
        ],
    )


async def cancel_pending(
    conn: aiosqlite.Connection,
    *,
    customer_id: int | None = None,
    employee_id: int | None = None,
    kinds: tuple[str, ...] | None = None,
    reason: str = "cancelled",
) -> int:
    """Cancel a recipient's queued rows in one statement (opt-out, 403, repurchase)."""
    if (customer_id is None) == (employee_id is None):
        raise ValueError("name exactly one recipient")
    column, value = (
        ("customer_id", customer_id) if customer_id is not None else ("employee_id", employee_id)
    )
    sql = (
        "UPDATE outbox SET status = 'cancelled', last_error = ? "
        f"WHERE {column} = ? AND status = 'pending'"
    )
    params: list[object] = [reason, value]
    if kinds:
        sql += f" AND kind IN ({','.join('?' * len(kinds))})"
        params.extend(kinds)
    cur = await conn.execute(sql, params)
    return cur.rowcount


async def cancel_for_ref(
    conn: aiosqlite.Connection, *, kinds: Sequence[str], ref_id: int, reason: str
) -> int:
    """Cancel the queued rows of these kinds about one thing (a review answered, a wave closed)."""
    cur = await conn.execute(
        "UPDATE outbox SET status = 'cancelled', last_error = ? "
        f"WHERE status = 'pending' AND kind IN ({','.join('?' * len(kinds))}) AND ref_id = ?",
        (reason, *kinds, ref_id),
    )
    return cur.rowcount


# The unary + keeps SQLite on outbox_ref: by outbox_due it would scan every pending row.
_FORWARD_SQL = (
    "UPDATE outbox SET due_at = ? WHERE kind = ? AND ref_id = ? AND +status = 'pending' "
    "AND +due_at > ? AND (last_error IS NULL OR last_error != ?)"
)


def _forward_row(review_id: int, due: datetime) -> tuple[str, str, int, str, str]:
    return (to_db(due), REVIEW_REQUEST, review_id, to_db(due), WAITING_FOR_LINK)


async def bring_review_request_forward(
    conn: aiosqlite.Connection, review_id: int, due: datetime
) -> int:
    """A queued review request is due no later than `due` (an order attached to it is due
    sooner). A request waiting for the customer's link keeps waiting: linking releases it."""
    cur = await conn.execute(_FORWARD_SQL, _forward_row(review_id, due))
    return cur.rowcount


async def bring_review_requests_forward(
    conn: aiosqlite.Connection, dues: list[tuple[int, datetime]]
) -> None:
    """bring_review_request_forward for many (review id, due) at once (the batch rules)."""
    await conn.executemany(_FORWARD_SQL, [_forward_row(review_id, due) for review_id, due in dues])


async def count_queued_at(conn: aiosqlite.Connection, kind: str, created_at: datetime) -> int:
    """Rows of `kind` queued at `created_at` and not cancelled since (what an import scheduled)."""
    [row] = await conn.execute_fetchall(
        "SELECT count(*) AS n FROM outbox WHERE kind = ? AND created_at = ? "
        "AND status != 'cancelled'",
        (kind, to_db(created_at)),
    )
    return int(row["n"])


async def release_waiting(conn: aiosqlite.Connection, customer_id: int, now: datetime) -> int:
    """The customer has just linked Telegram: their rows waiting for that are due now.

    Call it in the transaction that links the customer (then `outbox.kick()` after it).
    """
    cur = await conn.execute(
        "UPDATE outbox SET due_at = ?, last_error = NULL "
        "WHERE customer_id = ? AND status = 'pending' AND last_error = ?",
        (to_db(now), customer_id, WAITING_FOR_LINK),
    )
    return cur.rowcount


# --- restock rows: cancelled by a repurchase or an opt-out, converted by a purchase ------------
def _customer_items(skus: list[str]) -> str:
    """A subquery of the customer's order item ids for SKUs (customer id and SKUs as params)."""
    return (
        "SELECT i.id FROM orders o JOIN order_items i ON i.order_id = o.id "
        f"WHERE o.customer_id = ? AND i.sku IN ({','.join('?' * len(skus))})"
    )


async def cancel_pending_restock(
    conn: aiosqlite.Connection,
    customer_id: int,
    skus: Iterable[str],
    reason: str,
    *,
    bought_up_to: datetime | None = None,
) -> int:
    """Cancel the customer's queued restock rows for SKUs (those bought up to a time, if given).

    `cancel_pending` filters by kind only; a SKU needs the join to the item.
    """
    wanted = sorted(set(skus))
    if not wanted:
        return 0
    sql = (
        "UPDATE outbox SET status = 'cancelled', last_error = ? "
        "WHERE customer_id = ? AND kind = ? AND status = 'pending' AND ref_id IN ("
        + _customer_items(wanted)
    )
    params: list[object] = [reason, customer_id, RESTOCK, customer_id, *wanted]
    if bought_up_to is not None:
        sql += " AND o.purchased_at <= ?"
        params.append(to_db(bought_up_to))
    cur = await conn.execute(sql + ")", params)
    return cur.rowcount


async def cancel_pending_restock_many(
    conn: aiosqlite.Connection,
    rows: list[tuple[str, int, str, datetime]],
    *,
    items_before: int,
) -> int:
    """cancel_pending_restock for many (reason, customer_id, sku, bought_up_to), in order.

    Only reminders of items with ids below `items_before` (those stored before this batch):
    the batch's own rows are settled by the caller.
    """
    if not rows:
        return 0  # no round trip to SQLite's thread for nothing
    cur = await conn.executemany(
        "UPDATE outbox SET status = 'cancelled', last_error = ? "
        "WHERE customer_id = ? AND kind = ? AND status = 'pending' AND ref_id IN ("
        "SELECT i.id FROM orders o CROSS JOIN order_items i ON i.order_id = o.id "
        "WHERE o.customer_id = ? AND i.sku = ? AND o.purchased_at <= ? AND i.id < ?)",
        [
            (reason, customer_id, RESTOCK, customer_id, sku, to_db(up_to), items_before)
            for reason, customer_id, sku, up_to in rows
        ],
    )
    return cur.rowcount


async def cancel_restock_of_items(conn: aiosqlite.Connection, rows: list[tuple[str, int]]) -> int:
    """(reason, order item id): cancel the queued restock reminders of these items."""
    if not rows:
        return 0  # no round trip to SQLite's thread for nothing
    cur = await conn.executemany(
        "UPDATE outbox SET status = 'cancelled', last_error = ? "
        f"WHERE kind = '{RESTOCK}' AND ref_id = ? AND status = 'pending'",
        rows,
    )
    return cur.rowcount


async def cancel_restock_of_sku(
    conn: aiosqlite.Connection, customer_id: int, sku: str, reason: str
) -> int:
    cur = await conn.execute(
        "UPDATE outbox SET status = 'cancelled', last_error = ? "
        "WHERE customer_id = ? AND kind = ? AND status = 'pending' AND ref_id IN ("
        "SELECT i.id FROM orders o JOIN order_items i ON i.order_id = o.id "
        "WHERE o.customer_id = ? AND +i.sku = ?)",
        (reason, customer_id, RESTOCK, customer_id, sku),
    )
    return cur.rowcount


async def mark_restock_converted(
    conn: aiosqlite.Connection,
    customer_id: int,
    skus: Iterable[str],
    sent_from: datetime,
    sent_to: datetime,
    converted_at: datetime,
) -> int:
    """Reminders for these SKUs sent in [sent_from, sent_to] were followed by this purchase."""
    wanted = sorted(set(skus))
    if not wanted:
        return 0
    cur = await conn.execute(
        "UPDATE outbox SET converted_at = ? WHERE customer_id = ? AND kind = ? "
        "AND status = 'sent' AND converted_at IS NULL AND sent_at BETWEEN ? AND ? "
        "AND ref_id IN (" + _customer_items(wanted) + ")",
        (
            to_db(converted_at),
            customer_id,
            RESTOCK,
            to_db(sent_from),
            to_db(sent_to),
            customer_id,
            *wanted,
        ),
    )
    return cur.rowcount


async def mark_restock_converted_many(
    conn: aiosqlite.Connection,
    rows: list[tuple[int, str, datetime]],
    window: timedelta,
) -> int:
    """mark_restock_converted for many (customer_id, sku, purchased_at), in order."""
    if not rows:
        return 0  # no round trip to SQLite's thread for nothing
    cur = await conn.executemany(
        "UPDATE outbox SET converted_at = ? WHERE customer_id = ? AND kind = ? "
        "AND status = 'sent' AND converted_at IS NULL AND sent_at BETWEEN ? AND ? "
        "AND ref_id IN (SELECT i.id FROM orders o CROSS JOIN order_items i "
        "ON i.order_id = o.id WHERE o.customer_id = ? AND i.sku = ?)",
        [
            (to_db(at), cid, RESTOCK, to_db(at - window), to_db(at), cid, sku)
            for cid, sku, at in rows
        ],
    )
    return cur.rowcount


# --- the dispatcher's statements -------------------------------------------------------------
async def recover_sending(conn: aiosqlite.Connection) -> int:
    """Rows left `sending` (a crash mid-send) go back to `pending`."""
    cur = await conn.execute(
        "UPDATE outbox SET status = 'pending', claimed_at = NULL WHERE status = 'sending'"
    )
    return cur.rowcount


async def claim_due(conn: aiosqlite.Connection, now: datetime, limit: int) -> list[OutboxRow]:
    """Mark up to `limit` due rows `sending` (oldest due first) and return them in that order."""
    cur = await conn.execute(
        """
        UPDATE outbox SET status = 'sending', claimed_at = ?, attempts = attempts + 1
        WHERE id IN (
            SELECT id FROM outbox WHERE status = 'pending' AND due_at <= ?
            ORDER BY due_at, id LIMIT ?
        )
        RETURNING id, kind, customer_id, employee_id, chat_id, ref_id, due_at, attempts
        """,
        (to_db(now), to_db(now), limit),
    )
    fetched = await cur.fetchall()
    rows = [
        OutboxRow(
            id=r["id"],
            kind=r["kind"],
            customer_id=r["customer_id"],
            employee_id=r["employee_id"],
            chat_id=r["chat_id"],
            ref_id=r["ref_id"],
            due_at=from_db(r["due_at"]),
            attempts=r["attempts"],
        )
        for r in fetched
    ]
    rows.sort(key=lambda r: (r.due_at, r.id))
    return rows


async def mark_sent(
    conn: aiosqlite.Connection,
    row_id: int,
    *,
    now: datetime,
    message_id: int | None,
    note: str | None = None,
) -> None:
    await conn.execute(
        "UPDATE outbox SET status = 'sent', sent_at = ?, message_id = ?, last_error = ? "
        "WHERE id = ?",
        (to_db(now), message_id, note, row_id),
    )


async def finish(conn: aiosqlite.Connection, row_id: int, status: str, error: str | None) -> None:
    """End a row: failed, cancelled or expired, with why."""
    await conn.execute(
        "UPDATE outbox SET status = ?, last_error = ? WHERE id = ?", (status, error, row_id)
    )


async def reschedule(
    conn: aiosqlite.Connection,
    row_id: int,
    until: datetime,
    reason: str | None,
    *,
    undo_attempt: bool,
) -> None:
    """Back to pending, due at `until` (a retry counts as an attempt, a postponement does not)."""
    await conn.execute(
        "UPDATE outbox SET status = 'pending', due_at = ?, last_error = ?, "
        "claimed_at = NULL, attempts = attempts - ? WHERE id = ?",
        (to_db(until), reason or None, 1 if undo_attempt else 0, row_id),
    )


async def park_for_link(
    conn: aiosqlite.Connection, row_id: int, until: datetime, now: datetime
) -> bool:
    """A customer's row waits (until its expiry) for the customer to link Telegram.

    Unless the customer has linked meanwhile: the renderer read a snapshot, and a link that
    committed after it found this row claimed, not waiting, so `release_waiting` missed it.
    Deciding in this write, which the link's write cannot interleave with, closes that gap:
    either the link came first and the row is due now, or it comes after and releases the
    waiting row. Returns whether the row waits.
    """
    cur = await conn.execute(
        "SELECT c.telegram_id IS NULL AS waits FROM outbox o JOIN customers c "
        "ON c.id = o.customer_id WHERE o.id = ?",
        (row_id,),
    )
    found = await cur.fetchone()
    waits = found is None or bool(found["waits"])
    await reschedule(
        conn,
        row_id,
        until if waits else now,
        WAITING_FOR_LINK if waits else None,
        undo_attempt=True,
    )
    return waits


async def release_claimed(conn: aiosqlite.Connection, row_ids: Sequence[int]) -> None:
    """Claimed rows that were not sent go back to the queue as they were."""
    await conn.execute(
        "UPDATE outbox SET status = 'pending', claimed_at = NULL, attempts = attempts - 1 "
        f"WHERE status = 'sending' AND id IN ({','.join('?' * len(row_ids))})",
        list(row_ids),
    )


# --- win-back and events out (issue 14) ----------------------------------------------------------
@dataclass(frozen=True)
class Lapsing:
    customer_id: int
    purchases: list[datetime]
    last_order: int  # orders.id of the last purchase
    last_winback: datetime | None  # when the last win-back row was queued


async def lapsing_customers(conn: aiosqlite.Connection, cutoff: datetime) -> list[Lapsing]:
    """Linked, subscribed customers whose last purchase is before `cutoff`, with every purchase
    time and their last win-back row, for the win-back rules to decide on."""
    rows = await conn.execute_fetchall(
        """
        WITH lapsed AS (
            SELECT o.customer_id, MAX(o.purchased_at) AS last FROM orders o
            JOIN customers c ON c.id = o.customer_id
            WHERE c.telegram_id IS NOT NULL AND c.subscribed = 1 AND c.forgotten_at IS NULL
              AND c.unreachable_at IS NULL
            GROUP BY o.customer_id HAVING last < ?
        )
        SELECT l.customer_id, o.id AS order_pk, o.purchased_at,
               (SELECT MAX(x.created_at) FROM outbox x WHERE x.customer_id = l.customer_id
                AND x.kind = 'winback' AND x.status != 'cancelled') AS last_winback
        FROM lapsed l JOIN orders o ON o.customer_id = l.customer_id
        ORDER BY l.customer_id, o.purchased_at, o.id
        """,
        (to_db(cutoff),),
    )
    out: dict[int, Lapsing] = {}
    for r in rows:
        item = out.get(r["customer_id"])
        if item is None:
            last = from_db(r["last_winback"]) if r["last_winback"] else None
            item = out[r["customer_id"]] = Lapsing(r["customer_id"], [], r["order_pk"], last)
        item.purchases.append(from_db(r["purchased_at"]))
        out[r["customer_id"]] = Lapsing(
            item.customer_id, item.purchases, r["order_pk"], item.last_winback
        )
    return list(out.values())


async def insert_event(conn: aiosqlite.Connection, kind: str, body: str, now: datetime) -> int:
    cur = await conn.execute(
        "INSERT INTO events_out (kind, body, created_at) VALUES (?, ?, ?)", (kind, body, to_db(now))
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


async def event_body(conn: aiosqlite.Connection, event_id: int) -> tuple[str, str] | None:
    async with conn.execute("SELECT kind, body FROM events_out WHERE id = ?", (event_id,)) as cur:
        row = await cur.fetchone()
    return (row["kind"], row["body"]) if row else None


async def scrub_events(conn: aiosqlite.Connection, old: str, new: str) -> None:
    """Replace a forgotten customer's contact id in the stored event bodies (JSON strings)."""
    await conn.execute(
        "UPDATE events_out SET body = replace(body, ?, ?) WHERE instr(body, ?) > 0",
        (json.dumps(old), json.dumps(new), json.dumps(old)),
    )


# Every customer reminder with its order, for /export: the CSV and the workbook read the same rows.
REMINDER_ROWS_SQL = (
    "SELECT ob.kind, ob.due_at, ob.status, ob.sent_at, ob.converted_at, oi.sku, "
    "c.external_id AS customer, c.forgotten_at, "
    "CASE WHEN ob.kind = 'restock' THEN ord.order_id "
    "     WHEN ob.kind LIKE 'review%' THEN (SELECT group_concat(x.order_id, ' ') "
    "          FROM orders x WHERE x.review_id = ob.ref_id) END AS order_id "
    "FROM outbox ob JOIN customers c ON c.id = ob.customer_id "
    "LEFT JOIN order_items oi ON ob.kind = 'restock' AND oi.id = ob.ref_id "
    "LEFT JOIN orders ord ON ord.id = oi.order_id "
    "ORDER BY ob.due_at, ob.id"
)
