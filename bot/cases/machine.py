"""The case state machine, as pure code: which event is allowed in which state, and what follows.

A case is the loop with one customer about one subject (a complaint after a low rating, a
free-text question, a «Купить снова» without a shop link):

    open ──shop replies──▶ answered ──«Решено»──▶ resolved ──«Да» / 3 days──▶ closed
      ▲                                              │
      └─────────────«Нет» (reopened), or the customer writes again──────────────┘

- `open`: the shop owes an answer (new, reopened, or the customer wrote after «Решено»).
- `answered`: the shop has answered; the customer's replies still reach the admins.
- `resolved`: the shop pressed «Решено»; the customer was asked «Вопрос решён?».
- `closed`: for good. Nothing is relayed any more in either direction: a customer who writes
  again starts a new case, and an admin's reply to a closed case is refused, never delivered.

The use cases (bot/cases/service.py) read the state, call `step`, and write what it says in
one transaction; the outbox renderers check `may_deliver` again at send time, so a reply
queued just before the case closed is not delivered either.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Topic(StrEnum):
    COMPLAINT = "complaint"  # a rating up to NEGATIVE_RATING_MAX
    QUESTION = "question"  # free text outside any step of a conversation
    BUY_AGAIN = "buy_again"  # «Купить снова» on a restock reminder without a shop link


class Closure(StrEnum):
    CONFIRMED = "confirmed"  # the customer pressed «Да»
    TIMEOUT = "timeout"  # no answer to «Вопрос решён?» in CONFIRM_WAIT: resolved by the shop


class Event(StrEnum):
    CUSTOMER_WROTE = "customer_wrote"
    SHOP_REPLIED = "shop_replied"
    SHOP_RESOLVED = "shop_resolved"
    CUSTOMER_CONFIRMED = "customer_confirmed"  # «Да»
    CUSTOMER_REJECTED = "customer_rejected"  # «Нет»
    CONFIRMATION_TIMED_OUT = "confirmation_timed_out"


class Effect(StrEnum):
    """What the use case must do besides changing the status (each through the outbox)."""

    RELAY_TO_ADMINS = "relay_to_admins"  # the customer's words, to every admin
    DELIVER_TO_CUSTOMER = "deliver_to_customer"  # the shop's answer, with the shop's name
    TELL_ADMINS_WHO_ANSWERED = "tell_admins_who_answered"  # every admin sees who and when
    ASK_CONFIRMATION = "ask_confirmation"  # «Вопрос решён?» Да / Нет
    ALERT_ADMINS_REOPENED = "alert_admins_reopened"
    TELL_ADMINS_CONFIRMED = "tell_admins_confirmed"
    FIRST_ANSWER = "first_answer"  # note the time of the shop's first answer (response time)
    CLOSE = "close"  # note closed_at and how


class Refusal(StrEnum):
    CLOSED = "closed"  # the case is closed: nothing more is relayed
    ALREADY = "already"  # e.g. «Решено» pressed twice: the first press stands
    STALE = "stale"  # an event that does not fit the state (a «Да» long after a reopening)


@dataclass(frozen=True)
class Transition:
    status: Status
    effects: tuple[Effect, ...] = ()
    closure: Closure | None = None
    reopened: bool = False


def step(status: Status, event: Event, *, answered_before: bool) -> Transition | Refusal:
    """The next state of a case in `status` after `event`, or why the event does not apply.

    `answered_before`: the shop has answered this case at least once (so a reply is not the
    first answer, which is what the response-time figures measure).
    """
    if status is Status.CLOSED:
        # A closed case takes nothing: a confirmation or a timeout arriving twice is stale,
        # everything else (a reply, a message) must not be relayed.
        if event in (Event.CUSTOMER_CONFIRMED, Event.CONFIRMATION_TIMED_OUT):
            return Refusal.ALREADY
        return Refusal.CLOSED
    match event:
        case Event.CUSTOMER_WROTE:
            # After «Решено» the customer writing again means it is not solved for them: the
            # shop owes an answer again (but it is not a «Нет», so not counted as reopened).
            after = Status.OPEN if status is Status.RESOLVED else status
            return Transition(after, (Effect.RELAY_TO_ADMINS,))
        case Event.SHOP_REPLIED:
            effects = [Effect.DELIVER_TO_CUSTOMER, Effect.TELL_ADMINS_WHO_ANSWERED]
            if not answered_before:
                effects.append(Effect.FIRST_ANSWER)
            # A reply while the customer is asked to confirm leaves the question standing.
            after = Status.RESOLVED if status is Status.RESOLVED else Status.ANSWERED
            return Transition(after, tuple(effects))
        case Event.SHOP_RESOLVED:
            if status is Status.RESOLVED:
                return Refusal.ALREADY
            return Transition(Status.RESOLVED, (Effect.ASK_CONFIRMATION,))
        case Event.CUSTOMER_CONFIRMED:
            if status is not Status.RESOLVED:
                return Refusal.STALE
            return Transition(
                Status.CLOSED, (Effect.CLOSE, Effect.TELL_ADMINS_CONFIRMED), Closure.CONFIRMED
            )
        case Event.CUSTOMER_REJECTED:
            if status is not Status.RESOLVED:
                return Refusal.STALE
            return Transition(Status.OPEN, (Effect.ALERT_ADMINS_REOPENED,), reopened=True)
        case Event.CONFIRMATION_TIMED_OUT:
            if status is not Status.RESOLVED:
                return Refusal.STALE
            return Transition(Status.CLOSED, (Effect.CLOSE,), Closure.TIMEOUT)
    raise AssertionError(f"unknown event {event}")  # pragma: no cover


def may_deliver(status: Status) -> bool:
    """May a message of this case still reach the other side? Never once it is closed."""
    return status is not Status.CLOSED


def subject_key(topic: Topic, *, review_id: int | None = None, item_id: int | None = None) -> str:
    """The one key of what a case is about: one active case per customer and key."""
    if topic is Topic.COMPLAINT:
        assert review_id is not None
        return f"review:{review_id}"
    if topic is Topic.BUY_AGAIN:
        assert item_id is not None
        return f"item:{item_id}"
    return "question"
