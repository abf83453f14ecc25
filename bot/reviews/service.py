"""Review use cases: the customer's answers, negative-review alerts, and the review's timeline.

Timeline of one review (the purchases feature creates it with its `review_request` row):
- the request goes out (status `requested`) and one `review_reminder` is queued
  REVIEW_REMINDER_DAYS later; it is skipped if the customer has rated by then;
- still unrated REVIEW_REMINDER_DAYS after the reminder's time (2 × REVIEW_REMINDER_DAYS after
  the request), the review expires (status `expired`, by the sweep each tick, or at once when
  the customer presses late); a late rating is still stored (and a low one still opens a
  complaint), the customer is thanked, and nothing more is asked or reminded;
- a request that could never be sent (never linked, /stop, blocked) ends with its outbox row.
Answers: the stars (status `answered`), then NPS 0..10, then (REVIEW_ASK_EFFORT) the effort
1..5 or «Skip», then a comment or «Skip»; a review with its NPS and no comment a day later is
completed without one. Completion queues the bonus (REVIEW_BONUS_TEXT) whatever the rating:
the bot never routes only happy customers onward. A low rating opens a complaint case
(bot/cases/): the admins' alert carries «Ответить клиенту».

Every function checks that the press makes sense for this person now (callback data can be
forged or stale) and writes everything it changes in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING

from bot.admins.service import current_admins
from bot.cases import service as cases
from bot.cases.machine import Refusal as CaseRefusal
from bot.cases.machine import Topic, subject_key
from bot.events import service as events
from storage import cases as cases_q
from storage import customers as customers_q
from storage import reviews as q
from storage.outbox import (
    NEGATIVE_ALERT,
    NEGATIVE_ALERT_COMMENT,
    REVIEW_BONUS,
    REVIEW_REMINDER,
    REVIEW_REQUEST,
    cancel_for_ref,
    enqueue,
)
from storage.reviews import Alert, ItemLine, Review

if TYPE_CHECKING:
    import aiosqlite

    from bot.outbox import Media, OutboxRow, RenderContext, Skip
    from bot.settings import Settings
    from storage import Database

RATING_MIN, RATING_MAX = 1, 5
NPS_MIN, NPS_MAX = 0, 10
EFFORT_MIN, EFFORT_MAX = 1, 5
EFFORT_SKIP = 0  # the «Skip» button of the effort question
POSITIVE_MIN = 4  # ratings that ask «what did you like?»
# How long after the NPS answer a text message counts as the review's comment.
COMMENT_WAIT = timedelta(days=1)
COMMENT_MAX_LEN = 1000


class Refusal(Enum):
    INVALID = "invalid"  # not this customer's review, values out of range, never asked
    STALE = "stale"  # a step out of order (e.g. NPS before stars)
    ALREADY = "already"  # this step is answered; the first answer stands
    EXPIRED = "expired"  # the request expired or was cancelled


@dataclass(frozen=True)
class ReviewState:
    review: Review
    items: list[ItemLine]
    negative: bool
    shop: str = ""  # SHOP_NAME as set (the messages name «our shop» when it is empty)
    ask_effort: bool = False  # REVIEW_ASK_EFFORT: the effort question comes after NPS
    late: bool = False  # rated after the request expired: stored, thanked, nothing more asked

    @property
    def positive(self) -> bool:
        return self.review.rating is not None and self.review.rating >= POSITIVE_MIN


def expires_at(requested_at: datetime, reminder_days: float) -> datetime:
    """An unrated request expires one reminder interval after the reminder."""
    return requested_at + 2 * timedelta(days=reminder_days)


def is_negative(rating: int | None, settings: Settings) -> bool:
    return rating is not None and rating <= settings.negative_rating_max


async def _own_review(
    conn: aiosqlite.Connection, telegram_id: int, review_id: int
) -> Review | Refusal:
    customer_id = await customers_q.customer_id_for_telegram(conn, telegram_id)
    review = await q.get_review(conn, review_id) if customer_id is not None else None
    if review is None or review.customer_id != customer_id:
        # Someone else's review and a review that does not exist look the same from outside.
        return Refusal.INVALID
    return review


async def _state(
    conn: aiosqlite.Connection, review_id: int, settings: Settings, *, late: bool = False
) -> ReviewState:
    review = await q.get_review(conn, review_id)
    assert review is not None
    items = await q.review_items(conn, review_id)
    return ReviewState(
        review,
        items,
        is_negative(review.rating, settings),
        shop=settings.shop_name.strip(),
        ask_effort=settings.review_ask_effort,
        late=late,
    )


# --- the customer's answers ---------------------------------------------------------------------
async def rate(
    db: Database,
    *,
    telegram_id: int,
    review_id: int,
    rating: int,
    now: datetime,
    settings: Settings,
) -> ReviewState | Refusal:
    """Store the stars; a low rating alerts every admin (through the outbox, durably)."""
    if not RATING_MIN <= rating <= RATING_MAX:
        return Refusal.INVALID
    async with db.write() as conn:
        review = await _own_review(conn, telegram_id, review_id)
        if isinstance(review, Refusal):
            return review
        if review.rating is not None:
            return Refusal.ALREADY
        if review.status == "cancelled":
            return Refusal.EXPIRED  # /stop or /forget ended it: nothing is stored any more
        if review.status == "pending" and not await q.request_went_out(conn, review.id):
            return Refusal.INVALID  # never asked: no button of ours carries this id yet
        requested_at = review.requested_at or now
        # A late rating is still an answer worth keeping; only the rest of the conversation
        # (and every reminder) is over.
        late = review.status == "expired" or now >= expires_at(
            requested_at, settings.review_reminder_days
        )
        await q.set_rating(conn, review.id, rating, now)
        await cancel_for_ref(conn, kinds=(REVIEW_REMINDER,), ref_id=review.id, reason="answered")
        if is_negative(rating, settings):
            alert_id = await q.insert_alert(conn, review.id, now)
            if alert_id is not None:
                await _alert_admins(conn, NEGATIVE_ALERT, alert_id, settings, now)
                await events.publish(
                    conn,
                    settings,
                    events.REVIEW_NEGATIVE,
                    await events.review_data(conn, review.id),
                    now,
                )
                await cases.open_case(
                    conn,
                    customer_id=review.customer_id,
                    topic=Topic.COMPLAINT,
                    review_id=review.id,
                    now=now,
                    rules=cases.Rules.from_settings(settings),
                    notify_admins=False,  # the alert is the admins' news of it
                )
        return await _state(conn, review.id, settings, late=late)


async def score_nps(
    db: Database,
    *,
    telegram_id: int,
    review_id: int,
    score: int,
    now: datetime,
    settings: Settings,
) -> ReviewState | Refusal:
    if not NPS_MIN <= score <= NPS_MAX:
        return Refusal.INVALID
    async with db.write() as conn:
        review = await _own_review(conn, telegram_id, review_id)
        if isinstance(review, Refusal):
            return review
        if review.rating is None:
            return Refusal.EXPIRED if review.status in ("expired", "cancelled") else Refusal.STALE
        if review.nps is not None:
            return Refusal.ALREADY
        await q.set_nps(conn, review.id, score, now)
        return await _state(conn, review.id, settings)


async def score_effort(
    db: Database,
    *,
    telegram_id: int,
    review_id: int,
    score: int,
    now: datetime,
    settings: Settings,
) -> ReviewState | Refusal:
    """The effort answer (CES) 1..5, or EFFORT_SKIP; the comment step follows either way."""
    if score != EFFORT_SKIP and not EFFORT_MIN <= score <= EFFORT_MAX:
        return Refusal.INVALID
    async with db.write() as conn:
        review = await _own_review(conn, telegram_id, review_id)
        if isinstance(review, Refusal):
            return review
        if review.nps is None:
            return Refusal.STALE
        if review.completed_at is not None or review.ces is not None:
            return Refusal.ALREADY
        if score != EFFORT_SKIP:
            await q.set_ces(conn, review.id, score, now)
        return await _state(conn, review.id, settings)


async def conversation_messages(db: Database, review_id: int) -> list[tuple[int, int]]:
    """(chat, message) of the review's request and reminder, for taking their buttons away."""
    async with db.read() as conn:
        return await q.review_message_ids(conn, review_id)


async def skip_comment(
    db: Database, *, telegram_id: int, review_id: int, now: datetime, settings: Settings
) -> ReviewState | Refusal:
    async with db.write() as conn:
        review = await _own_review(conn, telegram_id, review_id)
        if isinstance(review, Refusal):
            return review
        if review.nps is None:
            return Refusal.STALE
        if review.completed_at is not None:
            return Refusal.ALREADY
        await _complete(conn, review, now, settings, comment=None)
        return await _state(conn, review.id, settings)


async def awaiting_comment(db: Database, telegram_id: int, now: datetime) -> bool:
    """Is this person's next text message the comment of a review?"""
    async with db.read() as conn:
        customer_id = await customers_q.customer_id_for_telegram(conn, telegram_id)
        if customer_id is None:
            return False
        return await q.review_awaiting_comment(conn, customer_id, now - COMMENT_WAIT) is not None


def clean_comment(text: str | None) -> str | None:
    """The comment as stored: trimmed, at most COMMENT_MAX_LEN characters; None when empty."""
    cleaned = (text or "").strip()
    if not cleaned:
        return None
    if len(cleaned) > COMMENT_MAX_LEN:
        cleaned = cleaned[: COMMENT_MAX_LEN - 1].rstrip() + "…"
    return cleaned


async def add_comment(
    db: Database,
    *,
    telegram_id: int,
    text: str | None,
    now: datetime,
    settings: Settings,
    media: Media | None = None,
) -> ReviewState | None:
    """Store a text message (or a photo's caption) as the comment of the review awaiting one;
    None when none is. A photo or a file of a complaint goes into its case, after the words."""
    comment = clean_comment(text)
    if comment is None:
        return None
    async with db.write() as conn:
        customer_id = await customers_q.customer_id_for_telegram(conn, telegram_id)
        if customer_id is None:
            return None
        review = await q.review_awaiting_comment(conn, customer_id, now - COMMENT_WAIT)
        if review is None:
            return None
        await _complete(conn, review, now, settings, comment=comment)
        alert_id = await q.alert_id_of_review(conn, review.id)
        if alert_id is not None:
            # The admins saw the stars already; now they get the words.
            await _alert_admins(conn, NEGATIVE_ALERT_COMMENT, alert_id, settings, now)
        if media is not None:
            await _attach(conn, review, media, now, settings)
        return await _state(conn, review.id, settings)


async def attach_to_complaint(
    db: Database, *, telegram_id: int, media: Media, now: datetime, settings: Settings
) -> bool:
    """A photo or a file without words while a complaint waits for its comment: it reaches the
    admins in the complaint's case, and the comment still waits. False when there is no
    complaint to attach it to (a 5⭐ review: nothing to pass on)."""
    async with db.write() as conn:
        customer_id = await customers_q.customer_id_for_telegram(conn, telegram_id)
        if customer_id is None:
            return False
        review = await q.review_awaiting_comment(conn, customer_id, now - COMMENT_WAIT)
        if review is None:
            return False
        return await _attach(conn, review, media, now, settings)


async def _attach(
    conn: aiosqlite.Connection, review: Review, media: Media, now: datetime, settings: Settings
) -> bool:
    case = await cases_q.active_case(
        conn, review.customer_id, subject_key(Topic.COMPLAINT, review_id=review.id)
    )
    if case is None:
        return False
    written = await cases.customer_writes(
        conn,
        customer_id=review.customer_id,
        text=None,
        media=media,
        now=now,
        rules=cases.Rules.from_settings(settings),
        case_id=case.id,
    )
    return not isinstance(written, CaseRefusal)


async def _alert_admins(
    conn: aiosqlite.Connection, kind: str, alert_id: int, settings: Settings, now: datetime
) -> None:
    """One outbox row per admin, in the caller's transaction: a crash cannot lose the alert."""
    for admin_id in sorted(await current_admins(conn, settings.admin_ids)):
        await enqueue(conn, kind=kind, due_at=now, now=now, chat_id=admin_id, ref_id=alert_id)


async def _complete(
    conn: aiosqlite.Connection,
    review: Review,
    now: datetime,
    settings: Settings,
    *,
    comment: str | None,
) -> bool:
    if not await q.complete(conn, review.id, now, comment):
        return False
    await events.publish(
        conn, settings, events.REVIEW_COMPLETED, await events.review_data(conn, review.id), now
    )
    if settings.review_bonus_text:
        await enqueue(
            conn,
            kind=REVIEW_BONUS,
            due_at=now,
            now=now,
            customer_id=review.customer_id,
            ref_id=review.id,
        )
    return True


# --- admins ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AlertView:
    alert: Alert
    items: list[ItemLine]
    orders: list[str]  # the shop's order ids


async def alert_view(conn: aiosqlite.Connection, alert_id: int) -> AlertView | None:
    alert = await q.get_alert(conn, alert_id)
    if alert is None:
        return None
    items = await q.review_items(conn, alert.review.id)
    return AlertView(alert, items, await q.review_order_ids(conn, alert.review.id))


@dataclass(frozen=True)
class Resolution:
    view: AlertView
    by_me: bool  # False: someone had resolved it before this press


async def resolve_alert(
    db: Database, *, alert_id: int, admin_id: int, admin_name: str, now: datetime
) -> Resolution | None:
    """Record who resolved the alert (the first press wins); None for an unknown alert."""
    async with db.write() as conn:
        if await q.get_alert(conn, alert_id) is None:
            return None
        by_me = await q.resolve_alert(conn, alert_id, admin_id, admin_name[:128], now)
        view = await alert_view(conn, alert_id)
    assert view is not None
    return Resolution(view, by_me)


# --- the outbox's hooks -------------------------------------------------------------------------
async def request_sent(
    ctx: RenderContext, conn: aiosqlite.Connection, row: OutboxRow, message_id: int, now: datetime
) -> None:
    """The request is out: note it, move the orders not yet due to a later request, and queue
    the one reminder."""
    if row.ref_id is None or not await q.mark_requested(conn, row.ref_id, now):
        return  # noted before (the row went twice after a crash): one reminder is enough
    await _move_orders_not_due(ctx, conn, row.ref_id, row.customer_id, now)
    await enqueue(
        conn,
        kind=REVIEW_REMINDER,
        due_at=now + timedelta(days=ctx.settings.review_reminder_days),
        now=now,
        customer_id=row.customer_id,
        ref_id=row.ref_id,
    )


def asked_by(ctx: RenderContext, now: datetime) -> datetime:
    """Orders bought by this time are due to be asked about now (REVIEW_DELAY_DAYS)."""
    return now - timedelta(days=ctx.settings.review_delay_days)


async def _move_orders_not_due(
    ctx: RenderContext,
    conn: aiosqlite.Connection,
    review_id: int,
    customer_id: int | None,
    now: datetime,
) -> None:
    """Orders of a request just sent whose delay has not passed get a request of their own:
    due when the first of them is, and not within REVIEW_MIN_INTERVAL_DAYS of this one."""
    orders = await q.review_orders(conn, review_id)
    cutoff = asked_by(ctx, now)
    later = [(order_id, at) for order_id, at in orders if at > cutoff]
    if customer_id is None or not later or len(later) == len(orders):
        return  # all due (or, should none be, the request named them all)
    delay = timedelta(days=ctx.settings.review_delay_days)
    due = max(
        min(at for _, at in later) + delay,
        now + timedelta(days=ctx.settings.review_min_interval_days),
    )
    successor = await customers_q.insert_review(conn, customer_id, now)
    await customers_q.move_orders_to_review(conn, [order_id for order_id, _ in later], successor)
    await enqueue(
        conn,
        kind=REVIEW_REQUEST,
        due_at=due,
        now=now,
        customer_id=customer_id,
        ref_id=successor,
    )


async def request_skipped(
    ctx: RenderContext, conn: aiosqlite.Connection, row: OutboxRow, skip: Skip, now: datetime
) -> None:
    """The request will never go (never linked, /stop, blocked): the review ends with it."""
    if row.ref_id is not None:
        status = "expired" if skip.status == "expired" else "cancelled"
        await q.set_status_if(conn, row.ref_id, status, was=("pending",))


async def sweep(conn: aiosqlite.Connection, ctx: RenderContext, now: datetime) -> int:
    """Once per tick: expire unanswered requests, complete reviews whose comment never came."""
    reminder = timedelta(days=ctx.settings.review_reminder_days)
    changed = await q.expire_unanswered(conn, now - 2 * reminder)
    for review_id in await q.reviews_without_comment(conn, now - COMMENT_WAIT):
        review = await q.get_review(conn, review_id)
        if review is not None and await _complete(conn, review, now, ctx.settings, comment=None):
            changed += 1
    return changed
