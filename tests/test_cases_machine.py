"""The case state machine (pure): any order of events keeps the loop's promises.

- nothing is ever relayed from or to a closed case, and a closed case stays closed;
- the shop's first answer is noted exactly once;
- only «Нет» on a resolved case counts as a reopening;
- the send-window arithmetic of response targets never counts a night hour.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from bot.cases.machine import (
    Closure,
    Effect,
    Event,
    Refusal,
    Status,
    Topic,
    Transition,
    may_deliver,
    step,
    subject_key,
)
from bot.cases.timing import add_window_hours

MOSCOW = ZoneInfo("Europe/Moscow")
RELAYS = {Effect.RELAY_TO_ADMINS, Effect.DELIVER_TO_CUSTOMER, Effect.ASK_CONFIRMATION}


@given(st.lists(st.sampled_from(list(Event)), max_size=40))
def test_any_order_of_events_never_relays_through_a_closed_case(events: list[Event]) -> None:
    status, answered = Status.OPEN, False
    first_answers = reopenings = 0
    for event in events:
        before = status
        outcome = step(status, event, answered_before=answered)
        if before is Status.CLOSED:
            assert isinstance(outcome, Refusal)  # closed for good: nothing goes through
            continue
        if isinstance(outcome, Refusal):
            continue
        assert isinstance(outcome, Transition)
        if RELAYS & set(outcome.effects):
            assert may_deliver(before)
        if Effect.FIRST_ANSWER in outcome.effects:
            first_answers += 1
        if Effect.DELIVER_TO_CUSTOMER in outcome.effects:
            answered = True
        if outcome.reopened:
            assert before is Status.RESOLVED
            assert event is Event.CUSTOMER_REJECTED
            reopenings += 1
        assert (outcome.status is Status.CLOSED) == (outcome.closure is not None)
        status = outcome.status
    assert first_answers == (1 if answered else 0)
    assert reopenings <= events.count(Event.CUSTOMER_REJECTED)


def test_the_whole_loop_in_order() -> None:
    path = [
        (Event.SHOP_REPLIED, Status.ANSWERED),
        (Event.CUSTOMER_WROTE, Status.ANSWERED),
        (Event.SHOP_RESOLVED, Status.RESOLVED),
        (Event.CUSTOMER_REJECTED, Status.OPEN),
        (Event.SHOP_REPLIED, Status.ANSWERED),
        (Event.SHOP_RESOLVED, Status.RESOLVED),
        (Event.CUSTOMER_CONFIRMED, Status.CLOSED),
    ]
    status, answered = Status.OPEN, False
    for event, expected in path:
        outcome = step(status, event, answered_before=answered)
        assert isinstance(outcome, Transition), (status, event)
        assert outcome.status is expected
        answered = answered or Effect.DELIVER_TO_CUSTOMER in outcome.effects
        status = outcome.status
    assert outcome.closure is Closure.CONFIRMED


def test_stale_and_repeated_presses_are_refused() -> None:
    assert step(Status.RESOLVED, Event.SHOP_RESOLVED, answered_before=True) is Refusal.ALREADY
    assert step(Status.OPEN, Event.CUSTOMER_CONFIRMED, answered_before=False) is Refusal.STALE
    assert step(Status.ANSWERED, Event.CUSTOMER_REJECTED, answered_before=True) is Refusal.STALE
    assert step(Status.CLOSED, Event.SHOP_REPLIED, answered_before=True) is Refusal.CLOSED
    assert step(Status.CLOSED, Event.CUSTOMER_CONFIRMED, answered_before=True) is Refusal.ALREADY
    timeout = step(Status.RESOLVED, Event.CONFIRMATION_TIMED_OUT, answered_before=True)
    assert isinstance(timeout, Transition)
    assert timeout.closure is Closure.TIMEOUT


def test_writing_after_resolved_puts_the_case_back_to_the_shop_without_counting_a_reopening() -> (
    None
):
    outcome = step(Status.RESOLVED, Event.CUSTOMER_WROTE, answered_before=True)
    assert isinstance(outcome, Transition)
    assert outcome.status is Status.OPEN
    assert not outcome.reopened


def test_subjects() -> None:
    assert subject_key(Topic.COMPLAINT, review_id=5) == "review:5"
    assert subject_key(Topic.BUY_AGAIN, item_id=9) == "item:9"
    assert subject_key(Topic.QUESTION) == "question"


# --- response targets in the send window ---------------------------------------------------------
def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=MOSCOW)


def test_a_day_of_window_hours_skips_the_nights() -> None:
    # Monday 20:00 Moscow, 9-21: 1 hour on Monday, 12 on Tuesday, 11 on Wednesday.
    assert add_window_hours(local(12, 20), 24, (9, 21), MOSCOW) == local(14, 20)
    # Started at night: the count begins when the window opens.
    assert add_window_hours(local(12, 23), 2, (9, 21), MOSCOW) == local(13, 11)
    assert add_window_hours(local(13, 3), 0, (9, 21), MOSCOW) == local(13, 9)
    # 0-24 is plain time.
    start = datetime(2026, 1, 12, 9, tzinfo=UTC)
    assert add_window_hours(start, 24, (0, 24), MOSCOW) == start + timedelta(hours=24)


def window_time_between(start: datetime, end: datetime, window: tuple[int, int]) -> timedelta:
    """Reference: the overlap of [start, end) with each local day's window, summed."""
    total = timedelta()
    day = start.astimezone(MOSCOW).date() - timedelta(days=1)
    while datetime.combine(day, time(0), MOSCOW) < end:
        opens = datetime.combine(day, time(window[0]), MOSCOW)
        closes = datetime.combine(day, time(0), MOSCOW) + timedelta(hours=window[1])
        overlap = min(end, closes) - max(start, opens)
        total += max(overlap, timedelta())
        day += timedelta(days=1)
    return total


@given(
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1)),  # noqa: DTZ001  (hypothesis draws naive datetimes)
    st.integers(min_value=0, max_value=200 * 60),
    st.tuples(st.integers(0, 23), st.integers(1, 24)).filter(lambda w: w[0] < w[1]),
)
def test_the_target_counts_exactly_its_hours_of_the_window(
    naive: datetime, minutes: int, window: tuple[int, int]
) -> None:
    start = naive.replace(tzinfo=UTC)
    due = add_window_hours(start, minutes / 60, window, MOSCOW)
    assert due >= start
    counted = window_time_between(start, due, window)
    assert abs(counted - timedelta(minutes=minutes)) < timedelta(seconds=1)
