"""The timing rules of bot/customers/purchases.py: unit tests and hypothesis properties.

The last property runs `record_purchase` on a real SQLite file for random purchase histories.
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.customers.purchases import (
    CONVERSION_WINDOW,
    STALE_AFTER,
    Timing,
    effective_restock_days,
    is_conversion,
    is_stale,
    record_purchase,
    restock_due,
    review_due,
)
from bot.customers.schema import PurchaseIn
from storage import Database
from storage.timestamps import from_db

T0 = datetime(2026, 1, 12, 9, tzinfo=UTC)
DEFAULT = Timing(timedelta(days=7), timedelta(days=7), timedelta(days=3))

moments = st.datetimes(
    min_value=datetime(2020, 1, 1),  # noqa: DTZ001 (hypothesis wants naive bounds)
    max_value=datetime(2030, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
durations = st.floats(min_value=0, max_value=60).map(lambda d: timedelta(days=d))
timings = st.builds(Timing, durations, durations, durations)


def test_review_due_examples() -> None:
    assert review_due(T0, None, DEFAULT) == T0 + timedelta(days=7)
    # Asked 2 days ago: the next request waits for the interval.
    assert review_due(T0, T0 + timedelta(days=5), DEFAULT) == T0 + timedelta(days=12)
    # Asked long ago: the usual delay.
    assert review_due(T0, T0 - timedelta(days=30), DEFAULT) == T0 + timedelta(days=7)


def test_restock_due_examples() -> None:
    assert restock_due(T0, 30, DEFAULT) == T0 + timedelta(days=27)
    # A lead as long as the period would put the reminder at the purchase itself.
    assert restock_due(T0, 3, DEFAULT) == T0 + timedelta(days=1)
    assert restock_due(T0, 1, DEFAULT) == T0 + timedelta(days=1)
    assert restock_due(T0, 4, DEFAULT) == T0 + timedelta(days=1)
    assert restock_due(T0, 5, DEFAULT) == T0 + timedelta(days=2)


def test_item_restock_days_override_the_catalogue() -> None:
    assert effective_restock_days(10, 30) == 10
    assert effective_restock_days(None, 30) == 30
    assert effective_restock_days(None, None) is None


def test_conversion_window_edges() -> None:
    assert is_conversion(T0, T0)
    assert is_conversion(T0, T0 + CONVERSION_WINDOW)
    assert not is_conversion(T0, T0 + CONVERSION_WINDOW + timedelta(seconds=1))
    assert not is_conversion(T0, T0 - timedelta(seconds=1))


def test_stale_edges() -> None:
    assert not is_stale(T0 - STALE_AFTER, T0)
    assert is_stale(T0 - STALE_AFTER - timedelta(seconds=1), T0)
    assert not is_stale(T0 + timedelta(days=100), T0)


@given(moments, st.one_of(st.none(), moments), timings)
def test_review_never_early_and_never_later_than_needed(
    purchased: datetime, last: datetime | None, timing: Timing
) -> None:
    due = review_due(purchased, last, timing)
    assert due >= purchased + timing.review_delay
    if last is not None:
        assert due >= last + timing.review_min_interval
    # The latest of the two bounds, not later.
    bounds = [purchased + timing.review_delay]
    if last is not None:
        bounds.append(last + timing.review_min_interval)
    assert due == max(bounds)


@given(moments, st.integers(min_value=1, max_value=3650), timings)
def test_restock_after_the_purchase_and_before_it_runs_out(
    purchased: datetime, days: int, timing: Timing
) -> None:
    due = restock_due(purchased, days, timing)
    assert purchased < due <= purchased + timedelta(days=days)
    if timedelta(days=days) - timing.restock_lead >= timedelta(days=1):
        assert due == purchased + timedelta(days=days) - timing.restock_lead


@given(moments, st.integers(min_value=1, max_value=3649), timings)
def test_restock_later_for_longer_lasting_products(
    purchased: datetime, days: int, timing: Timing
) -> None:
    assert restock_due(purchased, days, timing) <= restock_due(purchased, days + 1, timing)


# --- histories on a real database ---------------------------------------------------------------
histories = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=120),  # day of the purchase
        st.sampled_from(["TEA", "CUP"]),
        st.one_of(st.none(), st.integers(min_value=1, max_value=60)),  # restock_days
    ),
    min_size=1,
    max_size=8,
    unique_by=lambda purchase: purchase[0],  # one purchase a day: "the latest" is well defined
)


def _purchase(n: int, day: int, sku: str, days: int | None) -> PurchaseIn:
    item: dict[str, object] = {"sku": sku, "name": sku, "quantity": 1}
    if days is not None:
        item["restock_days"] = days
    return PurchaseIn.model_validate(
        {
            "order_id": f"O-{n}",
            "customer": {"id": "c1"},
            "purchased_at": (T0 + timedelta(days=day)).isoformat(),
            "items": [item],
        },
        strict=False,
    )


async def _replay(history: list[tuple[int, str, int | None]]) -> list[dict[str, object]]:
    with tempfile.TemporaryDirectory() as folder:
        db = Database(Path(folder) / "db.sqlite3")
        await db.open(process_lock=False)
        try:
            now = T0  # orders arrive in any order, all "now"
            for n, (day, sku, days) in enumerate(history):
                async with db.write() as conn:
                    await record_purchase(conn, _purchase(n, day, sku, days), DEFAULT, now)
            async with (
                db.read() as conn,
                conn.execute(
                    "SELECT x.kind, x.status, x.due_at, i.sku, o.purchased_at, o.order_id "
                    "FROM outbox x LEFT JOIN order_items i ON x.kind = 'restock' "
                    "AND i.id = x.ref_id LEFT JOIN orders o ON o.id = i.order_id"
                ) as cur,
            ):
                return [dict(r) for r in await cur.fetchall()]
        finally:
            await db.close()


@settings(max_examples=40, deadline=None)
@given(histories)
def test_at_most_one_pending_reminder_per_sku_and_it_is_the_latest(
    history: list[tuple[int, str, int | None]],
) -> None:
    outbox = asyncio.run(_replay(history))

    review_requests = [r for r in outbox if r["kind"] == "review_request"]
    assert len(review_requests) == 1  # all within one pending review (none was sent)
    for sku in ("TEA", "CUP"):
        pending = [r for r in outbox if r["sku"] == sku and r["status"] == "pending"]
        assert len(pending) <= 1
        bought = [day for day, s, _ in history if s == sku]
        if pending:
            # The reminder belongs to the latest purchase of the SKU...
            assert from_db(str(pending[0]["purchased_at"])) == T0 + timedelta(days=max(bought))
        latest = [d for day, s, d in history if s == sku and day == max(bought, default=-1)]
        if latest and latest[0] is not None:
            # ...and the latest purchase with a restock period always has one.
            assert pending
