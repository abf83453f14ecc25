"""Cases on the dashboard: the customer-loop cases (issue 11) as a list, a thread, a reply and
«resolved».

Everything is read from the cases feature (`storage.cases`: cases and case_messages) and every
action goes through its use cases, the very functions the buttons in Telegram call:
`bot.cases.service.shop_replies` («Ответить клиенту»: the customer reads the answer under the
shop's name, the other admins see it, the case is answered) and `bot.cases.service.resolve`
(«Решено»: the customer is asked «Вопрос решён?»). Each runs in one transaction with its outbox
rows, so it is paced and retried like every other message.

The median time to the first answer comes from the report's own query
(`storage.cases.loop_counts`) over the same cohort, so the page and /report agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from html import escape

import aiosqlite

from bot.cases import service as case_service
from bot.cases.machine import Refusal as CaseRefusal
from bot.cases.machine import Status, Topic
from bot.customers.messages import customer_chat
from bot.i18n import Translator
from bot.outbox import Kind, OutboxRow, Outgoing, Postpone, RenderContext, Rendered, Skip
from bot.reports.loop import HOUR, LoopFigures
from bot.reports.periods import periods
from bot.settings import Settings
from storage import Database
from storage import cases as q
from storage import reviews as reviews_q
from storage.cases import CaseMessage, CaseRow, CustomerCard, ItemCard
from storage.outbox import ALERT_REPLY

REPLY_MAX = case_service.TEXT_MAX_LEN
LIST_LIMIT = 200


class CaseFilter(Enum):
    """The list's status filter: «open» is every case the shop has not resolved yet."""

    open = "open"  # open (the shop owes an answer) or answered
    resolved = "resolved"  # «Вопрос решён?» asked, waiting for the customer
    closed = "closed"
    all = "all"


STATUSES: dict[CaseFilter, tuple[str, ...] | None] = {
    CaseFilter.open: (Status.OPEN.value, Status.ANSWERED.value),
    CaseFilter.resolved: (Status.RESOLVED.value,),
    CaseFilter.closed: (Status.CLOSED.value,),
    CaseFilter.all: None,
}
TOPICS = tuple(t.value for t in Topic)


def late(case: CaseRow, now: datetime) -> bool:
    """Not answered by its due time (ALERT_RESPONSE_HOURS counted in the send window)."""
    answered = case.first_answered_at
    return answered > case.due_at if answered is not None else now > case.due_at


@dataclass(frozen=True)
class CaseLine:
    """One line of the list."""

    case: CaseRow
    customer: str | None  # None: the customer asked to be forgotten
    rating: int | None
    preview: str | None
    messages: int
    age: timedelta
    late: bool

    @property
    def id(self) -> int:
        return self.case.id


@dataclass(frozen=True)
class CaseSummary:
    open: int  # open or answered: the shop has not resolved them yet
    waiting: int  # open: the shop owes an answer now
    overdue: int  # of those, past their due time without any answer
    total: int
    since: datetime  # the period the median is about
    median_first_answer: timedelta | None  # the report's loop figure; None: none answered


async def case_list(
    conn: aiosqlite.Connection,
    now: datetime,
    which: CaseFilter = CaseFilter.open,
    *,
    topic: str | None = None,
    limit: int = LIST_LIMIT,
) -> list[CaseLine]:
    listed = await q.listed_cases(
        conn, statuses=STATUSES[which], topic=topic if topic in TOPICS else None, limit=limit
    )
    return [
        CaseLine(
            case=item.case,
            customer=item.customer_name,
            rating=item.rating,
            preview=item.first_text,
            messages=item.messages,
            age=now - item.case.opened_at,
            late=late(item.case, now) and item.case.status != Status.CLOSED,
        )
        for item in listed
    ]


async def case_summary(
    conn: aiosqlite.Connection, now: datetime, days: int, *, loop: LoopFigures | None = None
) -> CaseSummary:
    """Counts of every case, however old, and the median time to the first answer of the cases
    opened in the last `days` (the report's loop figure, by its function): `loop`, the report's
    figures of that period when the page has them already, or read here."""
    counts = await q.count_by_status(conn)
    window = periods(now, days).current
    if loop is not None:
        hours = loop.median_first_answer
    else:
        hours = (await q.loop_counts(conn, window.start, window.end)).median_first_answer
    return CaseSummary(
        open=counts.get(Status.OPEN.value, 0) + counts.get(Status.ANSWERED.value, 0),
        waiting=counts.get(Status.OPEN.value, 0),
        overdue=await q.count_unanswered_past_due(conn, now),
        total=sum(counts.values()),
        since=window.start,
        median_first_answer=timedelta(seconds=hours * HOUR) if hours is not None else None,
    )


@dataclass(frozen=True)
class ThreadMessage:
    message: CaseMessage
    delivery: str | None  # the outbox row's status of its way to the customer, if any


@dataclass(frozen=True)
class Complaint:
    rating: int | None
    nps: int | None
    comment: str | None
    items: list[str]
    orders: list[str]


@dataclass(frozen=True)
class CaseThread:
    case: CaseRow
    customer: CustomerCard | None
    complaint: Complaint | None  # the review a complaint is about
    item: ItemCard | None  # the item of a «Купить снова»
    messages: list[ThreadMessage]
    late: bool

    @property
    def may_reply(self) -> bool:
        forgotten = self.customer is None or self.customer.forgotten
        return self.case.status != Status.CLOSED and not forgotten

    @property
    def may_resolve(self) -> bool:
        return self.case.status in (Status.OPEN, Status.ANSWERED)


async def case_thread(conn: aiosqlite.Connection, case_id: int, now: datetime) -> CaseThread | None:
    case = await q.get_case(conn, case_id)
    if case is None:
        return None
    customer = await q.customer_card(conn, case.customer_id)
    complaint = None
    if case.review_id is not None:
        review = await reviews_q.get_review(conn, case.review_id)
        if review is not None:
            items = await reviews_q.review_items(conn, case.review_id)
            forgotten = customer is None or customer.forgotten
            complaint = Complaint(
                rating=review.rating,
                nps=review.nps,
                comment=None if forgotten else review.comment,
                items=[i.name + (f" ×{i.quantity}" if i.quantity > 1 else "") for i in items],
                orders=await reviews_q.review_order_ids(conn, case.review_id),
            )
    item = await q.item_card(conn, case.order_item_id) if case.order_item_id else None
    messages = [ThreadMessage(m, d) for m, d in await q.thread_of(conn, case.id)]
    return CaseThread(case, customer, complaint, item, messages, late(case, now))


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


async def reply_to_case(
    db: Database,
    *,
    case_id: int,
    admin_id: int,
    admin_name: str,
    text: str | None,
    now: datetime,
    settings: Settings,
) -> int | ReplyRefused:
    """The shop's answer, by the same use case as «Ответить клиенту» in Telegram. Returns the
    case message's id."""
    cleaned = clean_reply(text)
    if isinstance(cleaned, ReplyRefused):
        return cleaned
    async with db.write() as conn:
        case = await q.get_case(conn, case_id)
        if case is None:
            return ReplyRefused.no_case
        card = await q.customer_card(conn, case.customer_id)
        if card is None or card.forgotten:
            return ReplyRefused.forgotten
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


@dataclass(frozen=True)
class Resolution:
    by_me: bool  # False: it was resolved (or closed) already


async def resolve_case(
    db: Database,
    *,
    case_id: int,
    admin_id: int,
    admin_name: str,
    now: datetime,
    settings: Settings,
) -> Resolution | None:
    """«Решено», by the same use case as the button in Telegram (`bot.cases.service.resolve`,
    which asks the customer «Вопрос решён?» and records a complaint's alert resolved too)."""
    async with db.write() as conn:
        if await q.get_case(conn, case_id) is None:
            return None
        resolved = await case_service.resolve(
            conn,
            case_id=case_id,
            admin_id=admin_id,
            admin_name=admin_name,
            now=now,
            rules=case_service.Rules.from_settings(settings),
        )
    return Resolution(by_me=not isinstance(resolved, CaseRefusal))


# --- replies of the dashboard before the cases feature ------------------------------------------
# Nothing queues `alert_reply` any more; the kind stays so that a row an older version queued
# in an existing database is still delivered (or ended) rather than failing as unknown.
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
