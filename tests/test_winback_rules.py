"""Win-back rules and event signatures (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.events.signing import signature, verify
from bot.winback.rules import is_lapsed, may_send, segment, threshold, usual_interval

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_threshold_is_the_larger_of_the_setting_and_twice_the_usual_interval() -> None:
    every_60_days = [T0 + timedelta(days=60 * n) for n in range(4)]
    assert usual_interval(every_60_days) == timedelta(days=60)
    assert threshold(30, usual_interval(every_60_days)) == timedelta(days=120)
    assert threshold(90, timedelta(days=10)) == timedelta(days=90)
    assert threshold(45, usual_interval([T0])) == timedelta(days=45)


def test_lapsed_and_once_per_period() -> None:
    assert is_lapsed(T0, timedelta(days=30), T0 + timedelta(days=31))
    assert not is_lapsed(T0, timedelta(days=30), T0 + timedelta(days=30))
    assert may_send(None, 30, T0)
    assert not may_send(T0, 30, T0 + timedelta(days=29))
    assert may_send(T0, 30, T0 + timedelta(days=30))


def test_segments() -> None:
    limit = timedelta(days=60)
    assert segment(1, T0, limit, T0 + timedelta(days=10)) == "new"
    assert segment(3, T0, limit, T0 + timedelta(days=10)) == "repeat"
    assert segment(3, T0, limit, T0 + timedelta(days=45)) == "at_risk"
    assert segment(1, T0, limit, T0 + timedelta(days=61)) == "lapsed"


@given(
    st.lists(st.integers(min_value=0, max_value=2000), min_size=2, max_size=20), st.integers(1, 365)
)
def test_a_customer_is_never_lapsed_before_the_setting_nor_before_twice_their_interval(
    days: list[int], winback_days: int
) -> None:
    purchases = [T0 + timedelta(days=d) for d in days]
    limit = threshold(winback_days, usual_interval(purchases))
    assert limit >= timedelta(days=winback_days)
    interval = usual_interval(purchases)
    if interval is not None:
        assert limit >= 2 * interval


@given(st.binary(max_size=200), st.integers(min_value=1_600_000_000, max_value=2_000_000_000))
def test_signatures_verify_and_refuse_replays_and_changes(body: bytes, t: int) -> None:
    header = signature("s3cret", body, t)
    assert verify("s3cret", body, header, now=t + 10)
    assert not verify("s3cret", body, header, now=t + 301)  # replayed later
    assert not verify("other", body, header, now=t)
    assert not verify("s3cret", body + b"!", header, now=t)
