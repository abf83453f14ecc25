"""Cases on the dashboard: negative-review alerts as a list, a thread, a reply and «resolved».

Until the customer-loop cases (issue 11) land, a case is an alert. Resolving goes through
`bot.reviews.resolve_alert`, the very function the «Resolved» button in Telegram calls; a reply
is stored and queued to the customer through the outbox (kind `alert_reply`), in one
transaction, so it is paced and retried like every other message.

The figures (open cases, the median time to the first answer) are computed here once and shown
by every surface from this object.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from html import escape

import aiosqlite

from bot.cases import service as case_service
from bot.cases.machine import Refusal as CaseRefusal
from bot.customers.messages import customer_chat
from bot.i18n import Translator
from bot.outbox import Kind, OutboxRow, Outgoing, Postpone, RenderContext, Rendered, Skip
from bot.reviews import service as reviews
from bot.reviews.service import AlertView
from bot.settings import Settings
from storage import Database
from storage import cases as cases_q
from storage import dashboard as store
from storage.outbox import ALERT_REPLY, enqueue
from storage.timestamps import from_db, to_db

REPLY_MAX = 3500  # a Telegram message is 4096; room for the heading
LIST_LIMIT = 200


class CaseFilter(Enum):
    open = "open"
    resolved = "resolved"
    all = "all"


@dataclass(frozen=True)
class CaseRow:
    alert_id: int
    created_at: datetime
    rating: int | None
    nps: int | None
    customer: str  # name, or the shop's id
    comment: str | None
    resolved_at: datetime | None
    resolved_by_name: str | None
    replies: int

    @property
    def resolved(self) -> bool:
        return self.resolved_at is not None


@dataclass(frozen=True)
class CaseSummary:
    open: int  # every open case, however old
    total: int
    since: datetime  # the period the next two figures are about
    answered: int  # cases opened since then with a first answer (a reply or «resolved»)
    median_first_answer: timedelta | None  # None: no such case answered yet


@dataclass(frozen=True)
class Reply:
    id: int
    admin_id: int
    text: str
    created_at: datetime
    status: str | None  # the outbox row's: pending, sent, failed, ...


@dataclass(frozen=True)
class CaseThread:
    view: AlertView
    created_at: datetime
    replies: list[Reply]


_LIST_SQL = """
SELECT a.id, a.created_at, a.resolved_at, a.resolved_by_name, r.rating, r.nps, r.comment,
       COALESCE(c.name, c.external_id) AS customer, c.forgotten_at,
       (SELECT COUNT(*) FROM alert_replies x WHERE x.alert_id = a.id) AS replies
FROM alerts a JOIN reviews r ON r.id = a.review_id JOIN customers c ON c.id = r.customer_id
{where} ORDER BY a.id DESC LIMIT ?
"""


async def case_list(
    conn: aiosqlite.Connection, which: CaseFilter = CaseFilter.open, *, limit: int = LIST_LIMIT
) -> list[CaseRow]:
    where = {
        CaseFilter.open: "WHERE a.resolved_at IS NULL",
        CaseFilter.resolved: "WHERE a.resolved_at IS NOT NULL",
        CaseFilter.all: "",
    }[which]
    async with conn.execute(_LIST_SQL.format(where=where), (limit,)) as cur:
        rows = await cur.fetchall()
    return [
        CaseRow(
            alert_id=r["id"],
            created_at=from_db(r["created_at"]),
            rating=r["rating"],
            nps=r["nps"],
            customer="—" if r["forgotten_at"] else r["customer"],
            comment=None if r["forgotten_at"] else r["comment"],
            resolved_at=from_db(r["resolved_at"]) if r["resolved_at"] else None,
            resolved_by_name=r["resolved_by_name"],
            replies=r["replies"],
        )
        for r in rows
    ]


async def case_summary(conn: aiosqlite.Connection, since: datetime) -> CaseSummary:
    """Open cases, and the median time from an alert to its first answer for the cases opened
    since `since` (a period, so the figure costs the same at any number of old cases)."""
    async with conn.execute(
        "SELECT (SELECT COUNT(*) FROM alerts WHERE resolved_at IS NULL) AS open, "
        "(SELECT COUNT(*) FROM alerts) AS total"
    ) as cur:
        counts = await cur.fetchone()
    async with conn.execute(
        "SELECT a.created_at, a.resolved_at, "
        "(SELECT MIN(x.created_at) FROM alert_replies x WHERE x.alert_id = a.id) AS replied_at "
        "FROM alerts a WHERE a.created_at >= ?",
        (to_db(since),),
    ) as cur:
        rows = await cur.fetchall()
    waits: list[float] = []
    for r in rows:
        answers = [from_db(t) for t in (r["resolved_at"], r["replied_at"]) if t]
        if answers:
            waits.append((min(answers) - from_db(r["created_at"])).total_seconds())
    median = timedelta(seconds=statistics.median(waits)) if waits else None
    return CaseSummary(counts["open"], counts["total"], since, len(waits), median)


async def case_thread(conn: aiosqlite.Connection, alert_id: int) -> CaseThread | None:
    view = await reviews.alert_view(conn, alert_id)
    if view is None:
        return None
    async with conn.execute("SELECT created_at FROM alerts WHERE id = ?", (alert_id,)) as cur:
        created = await cur.fetchone()
    async with conn.execute(
        "SELECT x.id, x.admin_id, x.text, x.created_at, ob.status FROM alert_replies x "
        "LEFT JOIN outbox ob ON ob.kind = ? AND ob.ref_id = x.id "
        "WHERE x.alert_id = ? ORDER BY x.id",
        (ALERT_REPLY, alert_id),
    ) as cur:
        replies = [
            Reply(r["id"], r["admin_id"], r["text"], from_db(r["created_at"]), r["status"])
            for r in await cur.fetchall()
        ]
    # Since the cases feature, the shop's answers are the case's messages (`shop_replies`).
    case = await cases_q.case_of_review(conn, view.alert.review.id)
    if case is not None:
        replies += [
            Reply(m.id, m.admin_id or 0, m.text or "", m.created_at, delivery)
            for m, delivery in await cases_q.thread_of(conn, case.id)
            if m.author == "shop" and m.event == "message"
        ]
    return CaseThread(view, from_db(created["created_at"]), replies)


class ReplyRefused(Enum):
    empty = "empty"
    too_long = "too_long"
    no_case = "no_case"
    forgotten = "forgotten"  # the customer asked to be forgotten
    closed = "closed"  # the case is closed: nothing more is relayed


def clean_reply(text: str | None) -> str | ReplyRefused:
    cleaned = (text or "").strip()
    if not cleaned:
        return ReplyRefused.empty
    if len(cleaned) > REPLY_MAX:
        return ReplyRefused.too_long
    return cleaned


async def _review_of_alert(conn: aiosqlite.Connection, alert_id: int) -> aiosqlite.Row | None:
    async with conn.execute(
        "SELECT a.review_id, r.customer_id, c.forgotten_at FROM alerts a JOIN reviews r ON r.id = "
        "a.review_id JOIN customers c ON c.id = r.customer_id WHERE a.id = ?",
        (alert_id,),
    ) as cur:
        return await cur.fetchone()


async def reply_to_case(
    db: Database,
    *,
    alert_id: int,
    admin_id: int,
    admin_name: str,
    text: str | None,
    now: datetime,
    settings: Settings,
) -> int | ReplyRefused:
    """The shop's answer to a complaint, by the same use case as «Ответить клиенту» in Telegram
    (`bot.cases.service.shop_replies`: the customer gets it under the shop's name, the other
    admins see it, the case is answered). A complaint from before the cases feature has no case:
    its answer is stored and sent as the shop's answer to the review. Returns the message's id."""
    cleaned = clean_reply(text)
    if isinstance(cleaned, ReplyRefused):
        return cleaned
    async with db.write() as conn:
        row = await _review_of_alert(conn, alert_id)
        if row is None:
            return ReplyRefused.no_case
        if row["forgotten_at"] is not None:
            return ReplyRefused.forgotten
        case = await cases_q.case_of_review(conn, row["review_id"])
        if case is not None:
            replied = await case_service.shop_replies(
                conn,
                case_id=case.id,
                admin_id=admin_id,
                admin_name=admin_name,
                text=cleaned,
                now=now,
                rules=case_service.Rules.from_settings(settings),
            )
            if isinstance(replied, CaseRefusal):
                return ReplyRefused.closed
            return replied.message_id
        reply_id = await store.insert_reply(conn, alert_id, admin_id, cleaned, now)
        await enqueue(
            conn,
            kind=ALERT_REPLY,
            due_at=now,
            now=now,
            customer_id=row["customer_id"],
            ref_id=reply_id,
        )
    return reply_id


async def resolve_case(
    db: Database,
    *,
    alert_id: int,
    admin_id: int,
    admin_name: str,
    now: datetime,
    settings: Settings,
) -> reviews.Resolution | None:
    """«Решено», by the same use case as the button in Telegram: with a case, the customer is
    asked «Вопрос решён?» (`bot.cases.service.resolve`, which records the alert resolved too)."""
    async with db.write() as conn:
        row = await _review_of_alert(conn, alert_id)
        case = await cases_q.case_of_review(conn, row["review_id"]) if row is not None else None
        resolved = None
        if case is not None:
            resolved = await case_service.resolve(
                conn,
                case_id=case.id,
                admin_id=admin_id,
                admin_name=admin_name,
                now=now,
                rules=case_service.Rules.from_settings(settings),
            )
    if case is None:
        return await reviews.resolve_alert(
            db, alert_id=alert_id, admin_id=admin_id, admin_name=admin_name, now=now
        )
    async with db.read() as conn:
        view = await reviews.alert_view(conn, alert_id)
    if view is None:
        return None
    return reviews.Resolution(view, by_me=not isinstance(resolved, CaseRefusal))


def reply_message(tr: Translator, text: str) -> str:
    return "💬 <b>" + tr("The shop's answer to your review") + "</b>\n" + escape(text)


async def render_alert_reply(
    ctx: RenderContext, conn: aiosqlite.Connection, row: OutboxRow
) -> Rendered:
    target = await customer_chat(ctx, conn, row)
    if isinstance(target, Skip | Postpone):
        return target
    chat_id, tr = target
    async with conn.execute("SELECT text FROM alert_replies WHERE id = ?", (row.ref_id,)) as cur:
        found = await cur.fetchone()
    if found is None:
        return Skip("failed", "no such reply")
    return Outgoing(chat_id=chat_id, text=reply_message(tr, found["text"]))


KINDS: tuple[Kind, ...] = (Kind(ALERT_REPLY, render_alert_reply),)
