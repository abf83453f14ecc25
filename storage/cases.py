"""SQL of the cases tables: cases, case_messages, case_reply_targets, case_chat_messages.

Plain functions over a connection that return plain data; the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from storage.outbox import CASE_TO_CUSTOMER, RESTOCK
from storage.steps import STEP_SPANS, day_number, utc_midnight
from storage.timestamps import from_db, to_db

if TYPE_CHECKING:
    import aiosqlite

_CASE_COLUMNS = (
    "c.id, c.customer_id, c.topic, c.subject, c.review_id, c.order_item_id, c.status, "
    "c.opened_at, c.due_at, c.first_answered_at, c.first_answered_by, c.resolved_at, "
    "c.resolved_by, c.resolved_by_name, c.closed_at, c.closed_how, c.reopened"
)


def _dt(value: str | None) -> datetime | None:
    return from_db(value) if value is not None else None


@dataclass(frozen=True)
class CaseRow:
    id: int
    customer_id: int
    topic: str
    subject: str
    review_id: int | None
    order_item_id: int | None
    status: str
    opened_at: datetime
    due_at: datetime
    first_answered_at: datetime | None
    first_answered_by: int | None
    resolved_at: datetime | None
    resolved_by: int | None
    resolved_by_name: str | None
    closed_at: datetime | None
    closed_how: str | None
    reopened: int


def _case(row: aiosqlite.Row) -> CaseRow:
    return CaseRow(
        id=row["id"],
        customer_id=row["customer_id"],
        topic=row["topic"],
        subject=row["subject"],
        review_id=row["review_id"],
        order_item_id=row["order_item_id"],
        status=row["status"],
        opened_at=from_db(row["opened_at"]),
        due_at=from_db(row["due_at"]),
        first_answered_at=_dt(row["first_answered_at"]),
        first_answered_by=row["first_answered_by"],
        resolved_at=_dt(row["resolved_at"]),
        resolved_by=row["resolved_by"],
        resolved_by_name=row["resolved_by_name"],
        closed_at=_dt(row["closed_at"]),
        closed_how=row["closed_how"],
        reopened=row["reopened"],
    )


@dataclass(frozen=True)
class CaseMessage:
    id: int
    case_id: int
    author: str  # customer, shop, system
    event: str  # message, opened, resolved, reopened, confirmed, closed
    admin_id: int | None
    admin_name: str | None
    text: str | None
    created_at: datetime
    media_kind: str | None = None  # photo, video, document, voice, audio, animation
    media_file_id: str | None = None


def _message(row: aiosqlite.Row) -> CaseMessage:
    return CaseMessage(
        id=row["id"],
        case_id=row["case_id"],
        author=row["author"],
        event=row["event"],
        admin_id=row["admin_id"],
        admin_name=row["admin_name"],
        text=row["text"],
        created_at=from_db(row["created_at"]),
        media_kind=row["media_kind"],
        media_file_id=row["media_file_id"],
    )


# --- cases -------------------------------------------------------------------------------------
async def get_case(conn: aiosqlite.Connection, case_id: int) -> CaseRow | None:
    async with conn.execute(
        f"SELECT {_CASE_COLUMNS} FROM cases c WHERE c.id = ?", (case_id,)
    ) as cur:
        row = await cur.fetchone()
    return _case(row) if row else None


async def active_case(conn: aiosqlite.Connection, customer_id: int, subject: str) -> CaseRow | None:
    """The one case of this customer and subject that is not closed, if any."""
    async with conn.execute(
        f"SELECT {_CASE_COLUMNS} FROM cases c "
        "WHERE c.customer_id = ? AND c.subject = ? AND c.status != 'closed'",
        (customer_id, subject),
    ) as cur:
        row = await cur.fetchone()
    return _case(row) if row else None


async def latest_active_case(conn: aiosqlite.Connection, customer_id: int) -> CaseRow | None:
    """The customer's most recently active case that is not closed (their replies go there)."""
    async with conn.execute(
        f"SELECT {_CASE_COLUMNS} FROM cases c "
        "WHERE c.customer_id = ? AND c.status != 'closed' "
        "ORDER BY (SELECT MAX(m.id) FROM case_messages m WHERE m.case_id = c.id) DESC, c.id DESC "
        "LIMIT 1",
        (customer_id,),
    ) as cur:
        row = await cur.fetchone()
    return _case(row) if row else None


async def case_of_review(conn: aiosqlite.Connection, review_id: int) -> CaseRow | None:
    async with conn.execute(
        f"SELECT {_CASE_COLUMNS} FROM cases c WHERE c.review_id = ? ORDER BY c.id DESC LIMIT 1",
        (review_id,),
    ) as cur:
        row = await cur.fetchone()
    return _case(row) if row else None


async def insert_case(
    conn: aiosqlite.Connection,
    *,
    customer_id: int,
    topic: str,
    subject: str,
    now: datetime,
    due_at: datetime,
    review_id: int | None = None,
    order_item_id: int | None = None,
) -> int:
    cur = await conn.execute(
        "INSERT INTO cases (customer_id, topic, subject, review_id, order_item_id, opened_at, "
        "due_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (customer_id, topic, subject, review_id, order_item_id, to_db(now), to_db(due_at)),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


async def set_status(conn: aiosqlite.Connection, case_id: int, status: str, *, was: str) -> bool:
    """Compare-and-set: False when the case is no longer in `was` (someone acted first)."""
    cur = await conn.execute(
        "UPDATE cases SET status = ? WHERE id = ? AND status = ?", (status, case_id, was)
    )
    return cur.rowcount == 1


async def note_first_answer(
    conn: aiosqlite.Connection, case_id: int, admin_id: int, now: datetime
) -> None:
    await conn.execute(
        "UPDATE cases SET first_answered_at = ?, first_answered_by = ? "
        "WHERE id = ? AND first_answered_at IS NULL",
        (to_db(now), admin_id, case_id),
    )


async def note_resolved(
    conn: aiosqlite.Connection, case_id: int, admin_id: int, admin_name: str, now: datetime
) -> None:
    await conn.execute(
        "UPDATE cases SET resolved_at = ?, resolved_by = ?, resolved_by_name = ? WHERE id = ?",
        (to_db(now), admin_id, admin_name, case_id),
    )


async def note_reopened(conn: aiosqlite.Connection, case_id: int) -> None:
    await conn.execute("UPDATE cases SET reopened = reopened + 1 WHERE id = ?", (case_id,))


async def note_closed(conn: aiosqlite.Connection, case_id: int, how: str, now: datetime) -> None:
    await conn.execute(
        "UPDATE cases SET closed_at = ?, closed_how = ? WHERE id = ?", (to_db(now), how, case_id)
    )


async def waiting_confirmation_since(conn: aiosqlite.Connection, before: datetime) -> list[int]:
    """Resolved cases whose «Вопрос решён?» has waited since before `before`."""
    async with conn.execute(
        "SELECT id FROM cases WHERE status = 'resolved' AND resolved_at < ? ORDER BY id",
        (to_db(before),),
    ) as cur:
        return [row[0] for row in await cur.fetchall()]


async def first_return(
    conn: aiosqlite.Connection, customer_id: int, after: datetime
) -> tuple[datetime, str] | None:
    """The customer's first sign of coming back after `after`: a rating of 4–5 or a purchase."""
    found: list[tuple[datetime, str]] = []
    async with conn.execute(
        "SELECT MIN(rated_at) FROM reviews WHERE customer_id = ? AND rating >= 4 AND rated_at > ?",
        (customer_id, to_db(after)),
    ) as cur:
        row = await cur.fetchone()
    if row and row[0]:
        found.append((from_db(row[0]), "rating"))
    async with conn.execute(
        "SELECT MIN(purchased_at) FROM orders WHERE customer_id = ? AND purchased_at > ?",
        (customer_id, to_db(after)),
    ) as cur:
        row = await cur.fetchone()
    if row and row[0]:
        found.append((from_db(row[0]), "purchase"))
    return min(found) if found else None


async def returns_after(
    conn: aiosqlite.Connection, customer_ids: list[int], after: datetime
) -> list[tuple[int, datetime]]:
    """(customer, when) of every rating of 4–5 and every purchase of these customers after
    `after`: the signs of coming back of a whole cohort in two queries (chunked ids)."""
    found: list[tuple[int, datetime]] = []
    for start in range(0, len(customer_ids), 500):
        chunk = customer_ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        for sql in (
            f"SELECT customer_id, rated_at FROM reviews WHERE customer_id IN ({marks}) "
            "AND rating >= 4 AND rated_at > ?",
            f"SELECT customer_id, purchased_at FROM orders WHERE customer_id IN ({marks}) "
            "AND purchased_at > ?",
        ):
            async with conn.execute(sql, (*chunk, to_db(after))) as cur:
                found += [(row[0], from_db(row[1])) for row in await cur.fetchall()]
    return found


# --- messages ----------------------------------------------------------------------------------
async def add_message(
    conn: aiosqlite.Connection,
    case_id: int,
    *,
    author: str,
    event: str,
    now: datetime,
    text: str | None = None,
    admin_id: int | None = None,
    admin_name: str | None = None,
    media_kind: str | None = None,
    media_file_id: str | None = None,
) -> int:
    cur = await conn.execute(
        "INSERT INTO case_messages (case_id, author, event, admin_id, admin_name, text, "
        "created_at, media_kind, media_file_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (case_id, author, event, admin_id, admin_name, text, to_db(now), media_kind, media_file_id),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


async def get_message(conn: aiosqlite.Connection, message_id: int) -> CaseMessage | None:
    async with conn.execute("SELECT * FROM case_messages WHERE id = ?", (message_id,)) as cur:
        row = await cur.fetchone()
    return _message(row) if row else None


async def messages_of(conn: aiosqlite.Connection, case_id: int) -> list[CaseMessage]:
    async with conn.execute(
        "SELECT * FROM case_messages WHERE case_id = ? ORDER BY id", (case_id,)
    ) as cur:
        return [_message(row) for row in await cur.fetchall()]


async def thread_of(
    conn: aiosqlite.Connection, case_id: int
) -> list[tuple[CaseMessage, str | None]]:
    """A case's messages in order, each with its delivery to the customer (the status of its
    `case_to_customer` outbox row: pending, sent, failed…; None when none was queued)."""
    async with conn.execute(
        "SELECT m.*, ob.status AS delivery FROM case_messages m "
        "LEFT JOIN outbox ob ON ob.kind = ? AND ob.ref_id = m.id "
        "WHERE m.case_id = ? ORDER BY m.id",
        (CASE_TO_CUSTOMER, case_id),
    ) as cur:
        return [(_message(row), row["delivery"]) for row in await cur.fetchall()]


async def first_customer_text(conn: aiosqlite.Connection, case_id: int) -> str | None:
    async with conn.execute(
        "SELECT text FROM case_messages WHERE case_id = ? AND author = 'customer' "
        "AND text IS NOT NULL ORDER BY id LIMIT 1",
        (case_id,),
    ) as cur:
        row = await cur.fetchone()
    return row[0] if row else None


async def forget_texts(conn: aiosqlite.Connection, customer_id: int) -> int:
    """/forget: what the customer and the shop wrote may hold personal details."""
    cur = await conn.execute(
        "UPDATE case_messages SET text = NULL, media_file_id = NULL "
        "WHERE (text IS NOT NULL OR media_file_id IS NOT NULL) "
        "AND case_id IN (SELECT id FROM cases WHERE customer_id = ?)",
        (customer_id,),
    )
    return cur.rowcount


# --- admins' side ------------------------------------------------------------------------------
async def set_reply_target(
    conn: aiosqlite.Connection, admin_id: int, case_id: int, now: datetime
) -> None:
    await conn.execute(
        "INSERT INTO case_reply_targets (admin_id, case_id, set_at) VALUES (?, ?, ?) "
        "ON CONFLICT(admin_id) DO UPDATE SET case_id = excluded.case_id, set_at = excluded.set_at",
        (admin_id, case_id, to_db(now)),
    )


async def take_reply_target(conn: aiosqlite.Connection, admin_id: int) -> int | None:
    """The case this admin's next message answers (consumed: the next one after is not)."""
    async with conn.execute(
        "DELETE FROM case_reply_targets WHERE admin_id = ? RETURNING case_id", (admin_id,)
    ) as cur:
        row = await cur.fetchone()
    return row[0] if row else None


async def reply_target(conn: aiosqlite.Connection, admin_id: int) -> int | None:
    async with conn.execute(
        "SELECT case_id FROM case_reply_targets WHERE admin_id = ?", (admin_id,)
    ) as cur:
        row = await cur.fetchone()
    return row[0] if row else None


async def note_chat_message(
    conn: aiosqlite.Connection, chat_id: int, message_id: int, case_id: int
) -> None:
    await conn.execute(
        "INSERT OR IGNORE INTO case_chat_messages (chat_id, message_id, case_id) VALUES (?, ?, ?)",
        (chat_id, message_id, case_id),
    )


async def case_of_chat_message(
    conn: aiosqlite.Connection, chat_id: int, message_id: int
) -> int | None:
    async with conn.execute(
        "SELECT case_id FROM case_chat_messages WHERE chat_id = ? AND message_id = ?",
        (chat_id, message_id),
    ) as cur:
        row = await cur.fetchone()
    return row[0] if row else None


async def chat_messages_of(conn: aiosqlite.Connection, case_id: int) -> list[tuple[int, int]]:
    async with conn.execute(
        "SELECT chat_id, message_id FROM case_chat_messages WHERE case_id = ? "
        "ORDER BY chat_id, message_id",
        (case_id,),
    ) as cur:
        return [(row[0], row[1]) for row in await cur.fetchall()]


# --- reports -----------------------------------------------------------------------------------
async def cases_opened_between(
    conn: aiosqlite.Connection, start: datetime, end: datetime
) -> list[CaseRow]:
    async with conn.execute(
        f"SELECT {_CASE_COLUMNS} FROM cases c WHERE c.opened_at >= ? AND c.opened_at < ? "
        "ORDER BY c.id",
        (to_db(start), to_db(end)),
    ) as cur:
        return [_case(row) for row in await cur.fetchall()]


@dataclass(frozen=True)
class LoopCounts:
    """The loop figures of the cases opened in a window, counted by SQLite (the report at three
    million reviews reads numbers, not every case of the year)."""

    opened: int
    in_target: int  # first answered by the due time
    confirmed: int
    reopened: int  # reopened at least once
    recovered: int  # customers of closed complaints who came back (bot.cases.service.recovery)
    median_first_answer: float | None  # hours; None when none was answered
    median_resolution: float | None  # hours; None when none was closed


# The recovery window that migration 0016's case_recovery is kept for (bot.cases.timing's
# RECOVERY_WINDOW; a test holds them equal).
RECOVERY_KEPT = timedelta(days=60)
_DAY = timedelta(days=1)
# What case_time_days counts, by the column that ends the duration.
_TIME_KINDS = {"first_answered_at": "answer", "closed_at": "close"}
# Each duration's index (migration 0026): (bucket, opened_at, duration), partial on the column.
_TIME_INDEXES = {"first_answered_at": "cases_answer_time", "closed_at": "cases_close_time"}


# A case's duration to `later` in whole milliseconds (julianday's own precision), and its bucket
# in case_time_days. Exactly the expressions of migration 0016's indexes: keep them in step.
def _ms_sql(later: str) -> str:
    return f"CAST(round((julianday({later}) - julianday(opened_at)) * 86400000) AS INTEGER)"


def _bucket_sql(later: str) -> str:
    ms = _ms_sql(later)
    return (
        f"CASE WHEN {ms} < 1000 THEN 0 ELSE length({ms} / 1000) * 10 "
        f"+ CAST(substr({ms} / 1000, 1, 1) AS INTEGER) END"
    )


@dataclass(frozen=True)
class _Split:
    """A window as whole UTC days (read from the per-day tables) and the partial days at its
    edges (read from the cases themselves): at most two days of raw cases, whatever the span."""

    days: tuple[str, str] | None  # [first, last) as 'YYYY-MM-DD'
    raw: list[tuple[str, str]]  # [start, end) as stored timestamps

    @classmethod
    def of(cls, start: datetime, end: datetime) -> _Split:
        first = utc_midnight(start)
        if first < start:
            first += _DAY
        last = utc_midnight(end)
        if first >= last:
            return cls(None, [(to_db(start), to_db(end))] if start < end else [])
        raw = [(to_db(a), to_db(b)) for a, b in ((start, first), (last, end)) if a < b]
        return cls((first.strftime("%Y-%m-%d"), last.strftime("%Y-%m-%d")), raw)


async def _rows(
    conn: aiosqlite.Connection, sql: str, params: list[object] | dict[str, object]
) -> list[tuple]:
    cur = await conn.cursor()
    cur.row_factory = None  # plain tuples
    try:
        await cur.execute(sql, params)
        return list(await cur.fetchall())
    finally:
        await cur.close()


_COUNTS_RAW = (
    "SELECT COUNT(*), "
    "COALESCE(SUM(first_answered_at IS NOT NULL AND first_answered_at <= due_at), 0), "
    "COALESCE(SUM(closed_how = 'confirmed'), 0), COALESCE(SUM(reopened > 0), 0) "
    "FROM cases WHERE opened_at >= ? AND opened_at < ?"
)
_COUNTS_DAYS = (
    "SELECT COALESCE(SUM(opened), 0), COALESCE(SUM(in_target), 0), COALESCE(SUM(confirmed), 0), "
    "COALESCE(SUM(reopened), 0) FROM case_days WHERE day >= ? AND day < ?"
)


async def _counts(conn: aiosqlite.Connection, split: _Split) -> tuple[int, int, int, int]:
    arms, params = [], []
    if split.days:
        arms.append(_COUNTS_DAYS)
        params += split.days
    for piece in split.raw:
        arms.append(_COUNTS_RAW)
        params += piece
    totals = [0, 0, 0, 0]
    if arms:
        for row in await _rows(conn, " UNION ALL ".join(arms), params):
            totals = [t + v for t, v in zip(totals, row, strict=True)]
    return totals[0], totals[1], totals[2], totals[3]


def _fine_sql(later: str) -> str:
    """The first three digits of the whole seconds: a bucket's hundred (or ten, or one) finer
    parts, in order, second in the duration's index (migration 0030)."""
    return f"CAST(substr({_ms_sql(later)} / 1000, 1, 3) AS INTEGER)"


def _fines(bucket: int) -> list[int]:
    """The `_fine_sql` values of a bucket's durations, smallest first."""
    digits, first = divmod(bucket, 10)
    if bucket == 0 or digits == 1:  # under a second (0), or 1–9 s: one value each
        return [first]
    return (
        [first * 10 + j for j in range(10)]
        if digits == 2
        else [first * 100 + j for j in range(100)]
    )


def _fine_counts_sql(until: str, fines: int) -> str:
    values = ", ".join(f"(:f{i})" for i in range(fines))
    return (
        f"SELECT f.column1, (SELECT COUNT(*) FROM cases INDEXED BY {_TIME_INDEXES[until]} "
        f"WHERE {_bucket_sql(until)} = :bucket AND {_fine_sql(until)} = f.column1 "
        f"AND opened_at >= :lo AND opened_at < :hi AND {until} IS NOT NULL) "
        f"FROM (VALUES {values}) AS f"
    )


async def _nth_ms(
    conn: aiosqlite.Connection, until: str, bucket: int, ranks: list[int], window: tuple
) -> list[int]:
    """The `ranks`-th (from 0, ascending) smallest durations in ms of the window's cases in
    `bucket`, off the duration's index (cases_answer_time, cases_close_time: bucket, first
    three digits of the seconds, opening time, duration; migration 0030): the window's cases
    of each finer part are counted (an index range each), and only the part that holds a
    rank is read and sorted."""
    fines = _fines(bucket)
    params: dict[str, object] = {"bucket": bucket, "lo": window[0], "hi": window[1]}
    params |= {f"f{i}": fine for i, fine in enumerate(fines)}
    counts = await _rows(conn, _fine_counts_sql(until, len(fines)), params)
    ms = _ms_sql(until)
    found: list[int] = []
    below = 0
    for fine, n in counts:
        inside = [r - below for r in ranks if below <= r < below + n]
        if inside:  # both middle ranks usually share a part: one read for the two
            rows = await _rows(
                conn,
                f"SELECT {ms} FROM cases INDEXED BY {_TIME_INDEXES[until]} "
                f"WHERE {_bucket_sql(until)} = ? AND {_fine_sql(until)} = ? "
                f"AND opened_at >= ? AND opened_at < ? AND {until} IS NOT NULL "
                f"ORDER BY {ms} LIMIT ? OFFSET ?",
                [bucket, fine, *window, inside[-1] - inside[0] + 1, inside[0]],
            )
            found += [int(rows[rank - inside[0]][0]) for rank in inside]
        below += n
    return found


async def _median_hours(
    conn: aiosqlite.Connection, until: str, window: tuple[str, str], split: _Split
) -> float | None:
    """The median of the hours from opening to `until` (a column) over the window's cases that
    have it, as statistics.median gives it (the mean of the two middle ones for an even count).

    The window's cases are counted by bucket (case_time_days for the whole days, the cases of
    the partial ones raw); the one or two middle ranks fall in a bucket, where `_nth_ms` finds
    the exact duration. Hours are the milliseconds ÷ 3,600,000 as the report always had them.
    """
    arms, params = [], []
    if split.days:
        arms.append(
            "SELECT bucket, SUM(n) FROM case_time_days WHERE kind = ? AND day >= ? AND day < ? "
            "GROUP BY bucket"
        )
        params += [_TIME_KINDS[until], *split.days]
    for piece in split.raw:
        # Named: with ANALYZE's statistics SQLite read these partial days off the duration's
        # index, skipping through every bucket and duration (166 ms a call at 200,000 cases).
        arms.append(
            f"SELECT {_bucket_sql(until)}, COUNT(*) FROM cases INDEXED BY cases_loop "
            f"WHERE opened_at >= ? AND opened_at < ? AND {until} IS NOT NULL GROUP BY 1"
        )
        params += piece
    counts: dict[int, int] = {}
    for bucket, n in await _rows(conn, " UNION ALL ".join(arms), params) if arms else []:
        counts[bucket] = counts.get(bucket, 0) + n
    total = sum(counts.values())
    if total == 0:
        return None
    middle = sorted({(total - 1) // 2, total // 2})
    values: list[float] = []
    below = 0
    for bucket in sorted(counts):
        ranks = [r - below for r in middle if below <= r < below + counts[bucket]]
        if ranks:  # both middle ranks usually share a bucket: one walk for the two
            values += [ms / 1000 / 3600 for ms in await _nth_ms(conn, until, bucket, ranks, window)]
        below += counts[bucket]
    return values[0] if len(values) == 1 else (values[0] + values[1]) / 2


_RECOVERED_RAW = (
    "SELECT COUNT(*) FROM case_recovery WHERE recovered = 1 AND opened_at >= :{lo} "
    "AND opened_at < :{hi} AND (prev_opened IS NULL OR prev_opened < :{start})"
)
_RECOVERED_STEPS = (
    "SELECT COALESCE(SUM(customers), 0) FROM recovery_steps WHERE span = :span AND day <= :day"
)
# The recovered complaints of [lo, hi) whose customer's previous one was opened in [after,
# before), a partial day: looked up among that day's customers' complaints.
_RECOVERED_NEXT = (
    "SELECT COUNT(*) FROM case_recovery INDEXED BY case_recovery_customer "
    "WHERE customer_id IN (SELECT customer_id FROM case_recovery INDEXED BY "
    "case_recovery_opened WHERE recovered = 1 AND opened_at >= :S AND opened_at < :s) "
    "AND recovered = 1 AND opened_at >= :s AND opened_at < :E "
    "AND prev_opened >= :S AND prev_opened < :s"
)


async def _recovered(conn: aiosqlite.Connection, start: datetime, end: datetime) -> int:
    """Customers of the window's closed complaints who came back within RECOVERY_KEPT: each
    customer's first such complaint in the window (migration 0022).

    For the report's period lengths, from recovery_steps (migration 0031) as the buyers are
    (bot/reports/buyers.py): the sum of steps for the period from the UTC midnight S before
    `start` to the one E before `end`, with the complaints of [E, end) counted, those of
    [S, start) taken off, and those of [start, E) whose customer's previous one is in
    [S, start) counted (the steps hold them as not the customer's first)."""
    first, last = utc_midnight(start), utc_midnight(end)
    days = (last - first) / _DAY
    params: dict[str, object] = {
        "s": to_db(start),
        "e": to_db(end),
        "S": to_db(first),
        "E": to_db(last),
    }
    if days not in STEP_SPANS:  # also when E - S is not whole days
        return int(
            (await _rows(conn, _RECOVERED_RAW.format(lo="s", hi="e", start="s"), params))[0][0]
        )
    params |= {"span": int(days), "day": day_number(last)}
    arms = [(1, _RECOVERED_STEPS)]
    if end > last:
        arms.append((1, _RECOVERED_RAW.format(lo="E", hi="e", start="s")))
    if start > first:
        arms.append((-1, _RECOVERED_RAW.format(lo="S", hi="s", start="S")))
        arms.append((1, _RECOVERED_NEXT))
    sql = " UNION ALL ".join(f"SELECT {i}, * FROM ({arm})" for i, (_, arm) in enumerate(arms))
    rows = sorted(await _rows(conn, sql, params))
    return sum(sign * int(n) for (sign, _), (_, n) in zip(arms, rows, strict=True))


async def loop_counts(conn: aiosqlite.Connection, start: datetime, end: datetime) -> LoopCounts:
    """A return counts within RECOVERY_KEPT of a resolved complaint (migration 0016's window).

    Read from migration 0016's aggregates: the same figures as counting the cases of the window
    one by one (tests/test_loop_counts.py), at a cost that does not grow with the years of cases.
    """
    window = (to_db(start), to_db(end))
    split = _Split.of(start, end)
    opened, in_target, confirmed, reopened = await _counts(conn, split)
    first = await _median_hours(conn, "first_answered_at", window, split)
    resolution = await _median_hours(conn, "closed_at", window, split)
    recovered = await _recovered(conn, start, end)
    return LoopCounts(opened, in_target, confirmed, reopened, recovered, first, resolution)


async def export_rows(conn: aiosqlite.Connection) -> list[tuple[CaseRow, str, bool, int]]:
    """Every case with the shop's customer id, whether the customer was forgotten, and how many
    messages (texts said by either side) it holds."""
    async with conn.execute(
        f"SELECT {_CASE_COLUMNS}, cu.external_id, cu.forgotten_at, "
        "(SELECT COUNT(*) FROM case_messages m WHERE m.case_id = c.id AND m.event = 'message') "
        "AS messages FROM cases c JOIN customers cu ON cu.id = c.customer_id ORDER BY c.id"
    ) as cur:
        return [
            (_case(row), row["external_id"], row["forgotten_at"] is not None, row["messages"])
            for row in await cur.fetchall()
        ]


# Reminders sent in [:start, :end) with a buy-again case opened after them: from the cases opened
# since :start (cases_buy_again, migration 0024) to their reminder (outbox_ref; named, as without
# ANALYZE's statistics SQLite walked every reminder of the period for each case instead).
BUY_AGAIN_SQL = (
    "SELECT COUNT(DISTINCT o.id) FROM cases c INDEXED BY cases_buy_again "
    "CROSS JOIN outbox o INDEXED BY outbox_ref "
    "WHERE c.topic = 'buy_again' AND c.opened_at >= :start "
    "AND o.kind = :kind AND o.ref_id = c.order_item_id AND o.status = 'sent' "
    "AND o.sent_at >= :start AND o.sent_at < :end AND o.sent_at <= c.opened_at"
)


async def buy_again_between(conn: aiosqlite.Connection, start: datetime, end: datetime) -> int:
    """Restock reminders sent in [start, end) that got a «Купить снова» intent."""
    async with conn.execute(
        BUY_AGAIN_SQL, {"kind": RESTOCK, "start": to_db(start), "end": to_db(end)}
    ) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


# --- the dashboard's list ----------------------------------------------------------------------
@dataclass(frozen=True)
class ListedCase:
    case: CaseRow
    customer_name: str | None  # the name, else the shop's id; None once forgotten
    rating: int | None  # a complaint's stars
    first_text: str | None  # the customer's first words (a complaint's comment before them)
    messages: int  # texts said by either side


def _newest_ids(
    statuses: tuple[str, ...] | None, topic: str | None, limit: int
) -> tuple[str, list[object]]:
    """A query of the ids of the newest `limit` cases of each status (of any, for None), each
    status walked backwards off cases_status (status, id). Planned without ANALYZE's statistics
    (the bot's database has none), `status IN (…) ORDER BY id DESC` sorted every case of those
    statuses first: 440 ms for the open list of a shop with 84,000 open cases."""
    where, params = ("AND c.topic = ?", [topic]) if topic is not None else ("", [])
    if statuses is not None and not statuses:
        return "SELECT NULL AS id WHERE 0", []
    if statuses is None:
        return (
            f"SELECT c.id FROM cases c WHERE 1 {where} ORDER BY c.id DESC LIMIT ?",
            [*params, limit],
        )
    arm = (
        "SELECT id FROM (SELECT c.id FROM cases c INDEXED BY cases_status "
        f"WHERE c.status = ? {where} ORDER BY c.id DESC LIMIT ?)"
    )
    return (
        " UNION ALL ".join(arm for _ in statuses),
        [value for status in statuses for value in (status, *params, limit)],
    )


async def listed_cases(
    conn: aiosqlite.Connection,
    *,
    statuses: tuple[str, ...] | None,
    topic: str | None,
    limit: int,
) -> list[ListedCase]:
    """The newest cases first, of these statuses (None: any) and topic (None: any)."""
    picked, params = _newest_ids(statuses, topic, limit)
    async with conn.execute(
        f"SELECT {_CASE_COLUMNS}, COALESCE(cu.name, cu.external_id) AS customer, "
        "cu.forgotten_at, r.rating, r.comment, "
        "(SELECT m.text FROM case_messages m WHERE m.case_id = c.id AND m.author = 'customer' "
        " AND m.text IS NOT NULL ORDER BY m.id LIMIT 1) AS first_text, "
        "(SELECT COUNT(*) FROM case_messages m WHERE m.case_id = c.id AND m.event = 'message') "
        "AS messages "
        f"FROM ({picked}) AS pick CROSS JOIN cases c ON c.id = pick.id "
        "JOIN customers cu ON cu.id = c.customer_id "
        "LEFT JOIN reviews r ON r.id = c.review_id ORDER BY c.id DESC LIMIT ?",
        (*params, limit),
    ) as cur:
        rows = await cur.fetchall()
    return [
        ListedCase(
            case=_case(row),
            customer_name=None if row["forgotten_at"] else row["customer"],
            rating=row["rating"],
            first_text=None if row["forgotten_at"] else (row["comment"] or row["first_text"]),
            messages=row["messages"],
        )
        for row in rows
    ]


# The raw count that case_counts (migration 0017, kept by triggers) replaces; the property test
# holds the two equal.
COUNT_BY_STATUS_SQL = "SELECT status, COUNT(*) FROM cases GROUP BY status"


async def count_by_status(conn: aiosqlite.Connection) -> dict[str, int]:
    """Cases by status, however old: four rows, whatever the number of cases."""
    async with conn.execute("SELECT status, cases FROM case_counts WHERE cases > 0") as cur:
        return {row[0]: row[1] for row in await cur.fetchall()}


async def count_unanswered_past_due(conn: aiosqlite.Connection, now: datetime) -> int:
    """Open cases the shop has never answered whose due time has passed."""
    async with conn.execute(
        # Named: without ANALYZE's statistics (the bot's database has none) SQLite counted every
        # open case off cases_status instead.
        "SELECT COUNT(*) FROM cases INDEXED BY cases_unanswered_due "
        "WHERE status = 'open' AND first_answered_at IS NULL AND due_at < ?",
        (to_db(now),),
    ) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


# --- what admins are shown ---------------------------------------------------------------------
@dataclass(frozen=True)
class CustomerCard:
    external_id: str
    name: str | None
    phone: str | None
    telegram_id: int | None
    reachable: bool  # linked, subscribed, not blocked, not forgotten
    forgotten: bool = False  # /forget: no name, no texts, nothing more is sent


async def customer_card(conn: aiosqlite.Connection, customer_id: int) -> CustomerCard | None:
    async with conn.execute(
        "SELECT external_id, name, phone, telegram_id, subscribed, unreachable_at, forgotten_at "
        "FROM customers WHERE id = ?",
        (customer_id,),
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return None
    reachable = (
        row["telegram_id"] is not None
        and bool(row["subscribed"])
        and row["unreachable_at"] is None
        and row["forgotten_at"] is None
    )
    return CustomerCard(
        row["external_id"],
        row["name"],
        row["phone"],
        row["telegram_id"],
        reachable,
        forgotten=row["forgotten_at"] is not None,
    )


@dataclass(frozen=True)
class ItemCard:
    name: str
    quantity: int
    order_id: str  # the shop's order id
    purchased_at: datetime


async def item_card(conn: aiosqlite.Connection, item_id: int) -> ItemCard | None:
    async with conn.execute(
        "SELECT i.name, i.quantity, o.order_id, o.purchased_at FROM order_items i "
        "JOIN orders o ON o.id = i.order_id WHERE i.id = ?",
        (item_id,),
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return None
    return ItemCard(row["name"], row["quantity"], row["order_id"], from_db(row["purchased_at"]))
