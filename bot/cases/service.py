"""Case use cases: plain async functions over a connection, in the caller's transaction.

Each reads the case, asks the state machine (`bot.cases.machine.step`) what the event means,
and writes the new state, the message and every outbox row that follows in the same
transaction, so a crash either keeps all of it or none. Who gets what:
- the customer's words → one `case_to_admin` row per admin;
- an admin's answer → one `case_to_customer` row (the shop's answer) and one `case_to_admin`
  row per other admin (who answered, and when);
- «Решено» → `case_to_customer` («Вопрос решён?»); «Нет» → `case_to_admin` to every admin;
- opening a case → `case_due` and `case_overdue` per admin, at ALERT_RESPONSE_HOURS and twice
  that, counted in the send window (they are skipped when the shop has answered by then).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

from bot.admins.service import current_admins
from bot.cases.machine import (
    Effect,
    Event,
    Refusal,
    Status,
    Topic,
    Transition,
    step,
    subject_key,
)
from bot.cases.timing import CONFIRM_WAIT, RECOVERY_WINDOW, add_window_hours
from bot.events import service as events
from bot.outbox import Media
from storage import cases as q
from storage import reviews as reviews_q
from storage.cases import CaseRow
from storage.outbox import (
    CASE_DUE,
    CASE_OVERDUE,
    CASE_TO_ADMIN,
    CASE_TO_CUSTOMER,
    cancel_for_ref,
    enqueue,
)

if TYPE_CHECKING:
    import aiosqlite

    from bot.settings import Settings

TEXT_MAX_LEN = 3000  # a relayed message, with the header, stays within Telegram's 4096
CAPTION_MAX_LEN = 600  # a photo's caption, with the header, stays within Telegram's 1024
ADMIN_NAME_MAX = 128


@dataclass(frozen=True)
class Rules:
    """What the case rules need from the settings."""

    admin_ids: frozenset[int]  # ADMIN_IDS; the admins added in the bot are read with them
    response_hours: float
    window: tuple[int, int]
    tz: tzinfo
    settings: Settings | None = None  # for the events out (WEBHOOK_OUT_URL); None: none

    @classmethod
    def from_settings(cls, settings: Settings) -> Rules:
        return cls(
            admin_ids=settings.admin_ids,
            response_hours=settings.alert_response_hours,
            window=settings.send_window,
            tz=settings.tz,
            settings=settings,
        )

    def due_at(self, opened_at: datetime) -> datetime:
        return add_window_hours(opened_at, self.response_hours, self.window, self.tz)

    def overdue_at(self, opened_at: datetime) -> datetime:
        return add_window_hours(opened_at, 2 * self.response_hours, self.window, self.tz)


async def _publish(
    conn: aiosqlite.Connection, rules: Rules, kind: str, case: CaseRow, now: datetime
) -> None:
    """Tell the shop's system (events out), in the transaction of the change."""
    if rules.settings is None or not rules.settings.webhook_out_url:
        return
    data = await events.case_data(
        conn,
        case_id=case.id,
        customer_id=case.customer_id,
        topic=case.topic,
        status=case.status,
        review_id=case.review_id,
        order_item_id=case.order_item_id,
    )
    await events.publish(conn, rules.settings, kind, data, now)


def clean_text(text: str | None, limit: int = TEXT_MAX_LEN) -> str | None:
    cleaned = (text or "").strip()
    if not cleaned:
        return None
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1].rstrip() + "…"
    return cleaned


def _content(text: str | None, media: Media | None) -> tuple[str | None, dict[str, str | None]]:
    """The text as stored (a caption when there is a file: shorter) and the file's columns."""
    if media is None:
        return clean_text(text), {}
    columns = {"media_kind": media.kind, "media_file_id": media.file_id}
    return clean_text(text, CAPTION_MAX_LEN), columns


async def _to_admins(
    conn: aiosqlite.Connection,
    message_id: int,
    rules: Rules,
    now: datetime,
    *,
    except_admin: int | None = None,
) -> None:
    for admin_id in sorted(await current_admins(conn, rules.admin_ids)):
        if admin_id != except_admin:
            await enqueue(
                conn, kind=CASE_TO_ADMIN, due_at=now, now=now, chat_id=admin_id, ref_id=message_id
            )


async def _to_customer(
    conn: aiosqlite.Connection, case: CaseRow, message_id: int, now: datetime
) -> None:
    await enqueue(
        conn,
        kind=CASE_TO_CUSTOMER,
        due_at=now,
        now=now,
        customer_id=case.customer_id,
        ref_id=message_id,
    )


async def _apply(conn: aiosqlite.Connection, case: CaseRow, event: Event) -> Transition | Refusal:
    """Ask the machine and store the new status (compare-and-set on the status read)."""
    outcome = step(Status(case.status), event, answered_before=case.first_answered_at is not None)
    if isinstance(outcome, Refusal):
        return outcome
    if outcome.status != case.status:
        # One writer at a time (db.write), so the status read in this transaction still holds.
        changed = await q.set_status(conn, case.id, outcome.status, was=case.status)
        assert changed
    if outcome.reopened:
        await q.note_reopened(conn, case.id)
    return outcome


# --- opening -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Opened:
    case: CaseRow
    created: bool  # False: the customer's active case of this subject continues
    message_id: int | None  # the case_messages row written now, if any


async def open_case(
    conn: aiosqlite.Connection,
    *,
    customer_id: int,
    topic: Topic,
    now: datetime,
    rules: Rules,
    review_id: int | None = None,
    item_id: int | None = None,
    text: str | None = None,
    media: Media | None = None,
    notify_admins: bool = True,
) -> Opened:
    """Open a case, or continue the active one of the same subject (never two at once).

    `notify_admins=False` when the admins hear of it another way (a complaint's alert).
    """
    subject = subject_key(topic, review_id=review_id, item_id=item_id)
    existing = await q.active_case(conn, customer_id, subject)
    if existing is not None:
        if text is None and media is None:
            return Opened(existing, False, None)
        written = await customer_writes(
            conn,
            customer_id=customer_id,
            text=text,
            media=media,
            now=now,
            rules=rules,
            case_id=existing.id,
        )
        assert not isinstance(written, Refusal)
        return Opened(written.case, False, written.message_id)
    case_id = await q.insert_case(
        conn,
        customer_id=customer_id,
        topic=topic,
        subject=subject,
        now=now,
        due_at=rules.due_at(now),
        review_id=review_id,
        order_item_id=item_id,
    )
    cleaned, files = _content(text, media)
    message_id = await q.add_message(
        conn, case_id, author="customer", event="opened", now=now, text=cleaned, **files
    )
    for admin_id in sorted(await current_admins(conn, rules.admin_ids)):
        for kind, due in ((CASE_DUE, rules.due_at(now)), (CASE_OVERDUE, rules.overdue_at(now))):
            await enqueue(conn, kind=kind, due_at=due, now=now, chat_id=admin_id, ref_id=case_id)
    if notify_admins:
        await _to_admins(conn, message_id, rules, now)
    case = await q.get_case(conn, case_id)
    assert case is not None
    opened_kind = events.BUY_AGAIN if topic is Topic.BUY_AGAIN else events.CASE_OPENED
    await _publish(conn, rules, opened_kind, case, now)
    return Opened(case, True, message_id)


# --- the customer ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Written:
    case: CaseRow
    message_id: int
    opened: bool  # True: this message opened a new case


async def customer_writes(
    conn: aiosqlite.Connection,
    *,
    customer_id: int,
    text: str | None,
    now: datetime,
    rules: Rules,
    case_id: int | None = None,
    media: Media | None = None,
) -> Written | Refusal:
    """The customer's free text (or a photo, a file… with its caption): continues `case_id`
    (or their latest active case), else opens a question. A closed case is never continued:
    the message starts a new one."""
    cleaned, files = _content(text, media)
    if cleaned is None and media is None:
        return Refusal.STALE
    case = await q.get_case(conn, case_id) if case_id is not None else None
    if case is not None and (case.customer_id != customer_id or case.status == Status.CLOSED):
        case = None
    if case is None:
        case = await q.latest_active_case(conn, customer_id)
    if case is None:
        opened = await open_case(
            conn,
            customer_id=customer_id,
            topic=Topic.QUESTION,
            now=now,
            rules=rules,
            text=cleaned,
            media=media,
        )
        assert opened.message_id is not None
        return Written(opened.case, opened.message_id, True)
    outcome = await _apply(conn, case, Event.CUSTOMER_WROTE)
    if isinstance(outcome, Refusal):  # pragma: no cover - closed cases were filtered out above
        return outcome
    message_id = await q.add_message(
        conn, case.id, author="customer", event="message", now=now, text=cleaned, **files
    )
    await _to_admins(conn, message_id, rules, now)
    fresh = await q.get_case(conn, case.id)
    assert fresh is not None
    return Written(fresh, message_id, False)


async def confirm(
    conn: aiosqlite.Connection,
    *,
    case_id: int,
    customer_id: int,
    solved: bool,
    now: datetime,
    rules: Rules,
) -> CaseRow | Refusal:
    """«Да» closes the case; «Нет» reopens it and alerts every admin again."""
    case = await q.get_case(conn, case_id)
    if case is None or case.customer_id != customer_id:
        return Refusal.STALE
    outcome = await _apply(
        conn, case, Event.CUSTOMER_CONFIRMED if solved else Event.CUSTOMER_REJECTED
    )
    if isinstance(outcome, Refusal):
        return outcome
    if outcome.closure is not None:
        await q.note_closed(conn, case.id, outcome.closure, now)
        message_id = await q.add_message(
            conn, case.id, author="customer", event="confirmed", now=now
        )
    else:
        message_id = await q.add_message(
            conn, case.id, author="customer", event="reopened", now=now
        )
    await _to_admins(conn, message_id, rules, now)
    fresh = await q.get_case(conn, case.id)
    assert fresh is not None
    return fresh


# --- admins ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Replied:
    case: CaseRow
    message_id: int


async def shop_replies(
    conn: aiosqlite.Connection,
    *,
    case_id: int,
    admin_id: int,
    admin_name: str,
    text: str | None,
    now: datetime,
    rules: Rules,
    media: Media | None = None,
) -> Replied | Refusal:
    """An admin's answer (a text, or a photo, a file… with its caption): to the customer as the
    shop's, and to the other admins as a note."""
    cleaned, files = _content(text, media)
    case = await q.get_case(conn, case_id)
    if case is None or (cleaned is None and media is None):
        return Refusal.STALE
    outcome = await _apply(conn, case, Event.SHOP_REPLIED)
    if isinstance(outcome, Refusal):
        return outcome
    if Effect.FIRST_ANSWER in outcome.effects:
        await q.note_first_answer(conn, case.id, admin_id, now)
        await cancel_for_ref(
            conn, kinds=(CASE_DUE, CASE_OVERDUE), ref_id=case.id, reason="answered"
        )
    message_id = await q.add_message(
        conn,
        case.id,
        author="shop",
        event="message",
        now=now,
        text=cleaned,
        admin_id=admin_id,
        admin_name=admin_name[:ADMIN_NAME_MAX],
        **files,
    )
    await _to_customer(conn, case, message_id, now)
    await _to_admins(conn, message_id, rules, now, except_admin=admin_id)
    fresh = await q.get_case(conn, case.id)
    assert fresh is not None
    await _publish(conn, rules, events.CASE_ANSWERED, fresh, now)
    return Replied(fresh, message_id)


async def resolve(
    conn: aiosqlite.Connection,
    *,
    case_id: int,
    admin_id: int,
    admin_name: str,
    now: datetime,
    rules: Rules,
) -> CaseRow | Refusal:
    """«Решено»: the customer is asked «Вопрос решён?»; the other admins are told who did it."""
    case = await q.get_case(conn, case_id)
    if case is None:
        return Refusal.STALE
    outcome = await _apply(conn, case, Event.SHOP_RESOLVED)
    if isinstance(outcome, Refusal):
        return outcome
    name = admin_name[:ADMIN_NAME_MAX]
    await q.note_resolved(conn, case.id, admin_id, name, now)
    if case.review_id is not None:
        # The complaint's alert counts as resolved in the report's negative reviews, as before.
        alert_id = await reviews_q.alert_id_of_review(conn, case.review_id)
        if alert_id is not None:
            await reviews_q.resolve_alert(conn, alert_id, admin_id, name, now)
    message_id = await q.add_message(
        conn, case.id, author="shop", event="resolved", now=now, admin_id=admin_id, admin_name=name
    )
    await _to_customer(conn, case, message_id, now)
    await _to_admins(conn, message_id, rules, now, except_admin=admin_id)
    fresh = await q.get_case(conn, case.id)
    assert fresh is not None
    await _publish(conn, rules, events.CASE_RESOLVED, fresh, now)
    return fresh


async def start_reply(
    conn: aiosqlite.Connection, *, case_id: int, admin_id: int, now: datetime
) -> CaseRow | Refusal:
    """«Ответить клиенту»: this admin's next text message answers the case."""
    case = await q.get_case(conn, case_id)
    if case is None:
        return Refusal.STALE
    if case.status == Status.CLOSED:
        return Refusal.CLOSED
    await q.set_reply_target(conn, admin_id, case.id, now)
    return case


# --- time and recovery -------------------------------------------------------------------------
async def sweep(conn: aiosqlite.Connection, now: datetime) -> int:
    """Once per tick: «Вопрос решён?» unanswered for CONFIRM_WAIT closes as resolved by the shop."""
    closed = 0
    for case_id in await q.waiting_confirmation_since(conn, now - CONFIRM_WAIT):
        case = await q.get_case(conn, case_id)
        assert case is not None
        outcome = await _apply(conn, case, Event.CONFIRMATION_TIMED_OUT)
        if isinstance(outcome, Refusal) or outcome.closure is None:
            continue
        await q.note_closed(conn, case.id, outcome.closure, now)
        await q.add_message(conn, case.id, author="system", event="closed", now=now)
        closed += 1
    return closed


def _may_recover(case: CaseRow) -> bool:
    return (
        case.topic == Topic.COMPLAINT
        and case.status == Status.CLOSED
        and case.resolved_at is not None
    )


async def recovered_customers(conn: aiosqlite.Connection, cases: list[CaseRow]) -> set[int]:
    """The customers of these cases whose complaint `recovery` would find recovered, with two
    queries for the whole list instead of two per case (the report's loop figures)."""
    closed = [c for c in cases if _may_recover(c)]
    if not closed:
        return set()
    earliest = min(c.resolved_at for c in closed if c.resolved_at is not None)
    returns: dict[int, list[datetime]] = {}
    for customer_id, when in await q.returns_after(
        conn, sorted({c.customer_id for c in closed}), earliest
    ):
        returns.setdefault(customer_id, []).append(when)
    recovered = set()
    for case in closed:
        assert case.resolved_at is not None
        start, end = case.resolved_at, case.resolved_at + RECOVERY_WINDOW
        if any(start < when <= end for when in returns.get(case.customer_id, ())):
            recovered.add(case.customer_id)
    return recovered


async def recovery(conn: aiosqlite.Connection, case: CaseRow) -> str | None:
    """How a complaint's customer came back: «rating» (a later 4–5) or «purchase», within
    RECOVERY_WINDOW after the complaint was resolved; None when they have not (yet)."""
    if not _may_recover(case) or case.resolved_at is None:
        return None
    found = await q.first_return(conn, case.customer_id, case.resolved_at)
    if found is None or found[0] > case.resolved_at + RECOVERY_WINDOW:
        return None
    return found[1]
