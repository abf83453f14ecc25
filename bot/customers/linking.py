"""Customer use cases: linking a Telegram account (deep link or shared phone) and opting out.

Every function takes the database and the current time, returns a plain result, and writes
what it changes in one transaction. The handlers in `handlers/customers.py` call these; the
restock buttons («Больше не напоминать», «Напомнить через неделю») live in
`bot.restock.service`, next to the message they belong to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

import aiosqlite

from bot.customers.phones import from_telegram_contact
from storage import Database
from storage import customers as q
from storage.customers import Customer
from storage.outbox import cancel_pending, release_waiting

LINK_PREFIX = "c_"
# What new_link_token() makes is 24 characters; accept a little range around it but nothing that
# could not be a token (a deep-link payload is at most 64 characters of [A-Za-z0-9_-]).
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,62}$")


def link_token_from_payload(payload: str | None) -> str | None:
    """The link token in a `/start c_...` payload, or None when it cannot be one."""
    if not payload or not payload.startswith(LINK_PREFIX):
        return None
    token = payload.removeprefix(LINK_PREFIX)
    return token if _TOKEN_RE.match(token) else None


class LinkOutcome(Enum):
    LINKED = "linked"  # this Telegram account now receives the customer's messages
    ALREADY = "already"  # it did already (subscribed again if it had sent /stop)
    TAKEN = "taken"  # another Telegram account holds this customer; nothing changed
    NOT_FOUND = "not_found"  # no such link / no purchase with this phone; nothing changed
    NOT_OWN = "not_own"  # a contact that is not the sender's own; nothing changed
    BAD_PHONE = "bad_phone"  # a contact whose number cannot be read; nothing changed
    # The receipt link of a customer with a phone: the person must share that phone first.
    # Nothing about the customer is shown, nothing is linked.
    NEEDS_PHONE = "needs_phone"


@dataclass(frozen=True)
class LinkResult:
    outcome: LinkOutcome
    customer: Customer | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in (LinkOutcome.LINKED, LinkOutcome.ALREADY)


async def link_by_payload(
    db: Database, payload: str | None, telegram_id: int, language: str, now: datetime
) -> LinkResult:
    """`/start c_<token>`: the link from the shop's receipt or message.

    The link is a bearer token: whoever holds the receipt (or a photo of it) can open it. So
    when the shop gave the customer's phone, the link alone links nobody: the person is asked
    for their contact, and `link_by_contact` links them if the number matches. Without a phone
    the link is all there is, and it links (unchecked: a matching phone later wins over it).
    """
    token = link_token_from_payload(payload)
    if token is None:
        return LinkResult(LinkOutcome.NOT_FOUND)
    async with db.write() as conn:
        customer = await q.customer_by_link_token(conn, token)
        if customer is None:
            return LinkResult(LinkOutcome.NOT_FOUND)
        if customer.phone is not None and customer.telegram_id != telegram_id:
            await q.put_link_claim(conn, telegram_id, customer.id, now)
            return LinkResult(LinkOutcome.NEEDS_PHONE)
        return await _link(conn, customer, telegram_id, language, now)


async def link_by_contact(
    db: Database,
    phone_number: str,
    contact_user_id: int | None,
    telegram_id: int,
    language: str,
    now: datetime,
) -> LinkResult:
    """A contact shared through the request_contact button: match its phone to purchases.

    Only the sender's own contact counts: Telegram verified that number for that account,
    whereas anyone can forward someone else's card.
    """
    if contact_user_id != telegram_id:
        return LinkResult(LinkOutcome.NOT_OWN)
    phone = from_telegram_contact(phone_number)
    if phone is None:
        return LinkResult(LinkOutcome.BAD_PHONE)
    async with db.write() as conn:
        claimed = await q.take_link_claim(conn, telegram_id)
        candidates = await q.customers_by_phone(conn, phone)
        if not candidates:
            return LinkResult(LinkOutcome.NOT_FOUND)

        # The customer whose receipt link this person opened, when the phone is theirs; else
        # already ours; else the free one who bought most recently; else one held by the link
        # alone (the phone proves more than a link anyone could have opened). A customer whose
        # account proved the phone stays theirs: the phone may have changed hands.
        def may_take(c: Customer) -> bool:
            return c.telegram_id in (None, telegram_id) or not c.phone_checked

        chosen = (
            next((c for c in candidates if c.id == claimed and may_take(c)), None)
            or next((c for c in candidates if c.telegram_id == telegram_id), None)
            or next((c for c in candidates if c.telegram_id is None), None)
            or next((c for c in candidates if may_take(c)), None)
        )
        if chosen is None:
            return LinkResult(LinkOutcome.TAKEN, candidates[0])
        return await _link(conn, chosen, telegram_id, language, now, phone_checked=True)


async def _link(
    conn: aiosqlite.Connection,
    customer: Customer,
    telegram_id: int,
    language: str,
    now: datetime,
    *,
    phone_checked: bool = False,
) -> LinkResult:
    held_by_other = customer.telegram_id is not None and customer.telegram_id != telegram_id
    if held_by_other and not (phone_checked and not customer.phone_checked):
        return LinkResult(LinkOutcome.TAKEN, customer)
    if customer.telegram_id == telegram_id:
        await q.set_subscribed(conn, customer.id, True)
        await q.set_language(conn, customer.id, language)
        if phone_checked:
            await q.set_phone_checked(conn, customer.id)
        outcome = LinkOutcome.ALREADY
    else:
        # A matching phone takes the customer over from an account that had the link alone.
        await q.set_telegram(
            conn, customer.id, telegram_id, language, now, phone_checked=phone_checked
        )
        # Messages that fell due while nobody could receive them go out now.
        await release_waiting(conn, customer.id, now)
        outcome = LinkOutcome.LINKED
    linked = await q.customer_by_id(conn, customer.id)
    return LinkResult(outcome, linked)


async def is_known(db: Database, telegram_id: int) -> bool:
    """Whether this Telegram account is a linked customer or a registered employee."""
    async with db.read() as conn:
        return await q.is_known_person(conn, telegram_id)


async def customer_of(db: Database, telegram_id: int) -> Customer | None:
    """The customer this Telegram account is linked to, if any."""
    async with db.read() as conn:
        return await q.customer_by_telegram_id(conn, telegram_id)


@dataclass(frozen=True)
class Stopped:
    customer_id: int
    cancelled: int  # queued messages cancelled now
    was_subscribed: bool


async def unsubscribe(db: Database, telegram_id: int, now: datetime) -> Stopped | None:
    """/stop: no message of any kind any more, starting with those already queued."""
    async with db.write() as conn:
        customer = await q.customer_by_telegram_id(conn, telegram_id)
        if customer is None:
            return None
        await q.set_subscribed(conn, customer.id, False)
        cancelled = await cancel_pending(
            conn, customer_id=customer.id, reason="the customer sent /stop"
        )
        # A review never asked stays unasked; the next purchase after /start opens a new one.
        await q.cancel_unsent_reviews(conn, customer.id)
    return Stopped(customer.id, cancelled, customer.subscribed)


async def resubscribe(db: Database, telegram_id: int, language: str) -> Customer | None:
    """Plain /start from a linked customer: messages again from future purchases on.

    Rows cancelled by /stop stay cancelled: a stale review request weeks later helps nobody.
    """
    async with db.write() as conn:
        customer = await q.customer_by_telegram_id(conn, telegram_id)
        if customer is None:
            return None
        await q.set_subscribed(conn, customer.id, True)
        await q.set_language(conn, customer.id, language)
    return customer
