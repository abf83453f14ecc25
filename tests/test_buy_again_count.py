"""The loop's «Купить снова» count read from the intents (storage.cases.BUY_AGAIN_SQL, migration
0024's index) equals the count driven by the reminders it replaced, on random reminders (sent or
not, of several kinds, for several items) and cases (buy-again or not, opened before or after
the reminder), for random windows."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

from hypothesis import example, given, settings
from hypothesis import strategies as st

from storage.cases import BUY_AGAIN_SQL
from storage.migrations import load_migrations
from storage.outbox import RESTOCK
from storage.timestamps import to_db

T0 = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
ITEMS = (1, 2, 3)
BY_REMINDERS = (
    "SELECT COUNT(DISTINCT o.id) FROM outbox o "
    "JOIN cases c ON c.order_item_id = o.ref_id AND c.topic = 'buy_again' "
    "WHERE o.kind = ? AND o.status = 'sent' AND o.sent_at >= ? AND o.sent_at < ? "
    "AND c.opened_at >= o.sent_at"
)

# Minutes from T0 in a few days, some shared, so a case may open at its reminder's moment.
moment = st.sampled_from([0, 60, 1440]) | st.integers(0, 4 * 1440)
reminder = st.tuples(
    st.sampled_from([RESTOCK, RESTOCK, "review_request"]),
    st.sampled_from(ITEMS),
    st.sampled_from(["sent", "sent", "pending", "failed"]),
    moment,
)
case = st.tuples(
    st.sampled_from(["buy_again", "buy_again", "complaint"]), st.sampled_from(ITEMS), moment
)


def _at(minutes: int) -> str:
    return to_db(T0 + timedelta(minutes=minutes))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(reminder, max_size=8),
    st.lists(case, max_size=8),
    st.lists(st.tuples(moment, moment), min_size=1, max_size=4),
)
# An intent at the very moment of its reminder counts; one before it does not.
@example([(RESTOCK, 1, "sent", 60)], [("buy_again", 1, 60), ("buy_again", 1, 0)], [(0, 120)])
def test_the_count_from_the_intents_equals_the_count_from_the_reminders(
    reminders: list[tuple[str, int, str, int]],
    cases: list[tuple[str, int, int]],
    windows: list[tuple[int, int]],
) -> None:
    conn = sqlite3.connect(":memory:")
    for migration in load_migrations():
        conn.executescript(migration.sql)
    conn.execute(
        "INSERT INTO customers (id, external_id, link_token, created_at) VALUES (1, 'c', 't', ?)",
        (_at(0),),
    )
    for kind, item, status, at in reminders:
        conn.execute(
            "INSERT INTO outbox (kind, customer_id, ref_id, due_at, status, sent_at, created_at) "
            "VALUES (?, 1, ?, ?, ?, ?, ?)",
            (kind, item, _at(at), status, _at(at) if status == "sent" else None, _at(0)),
        )
    for n, (topic, item, at) in enumerate(cases):
        conn.execute(
            "INSERT INTO cases (customer_id, topic, subject, order_item_id, status, opened_at, "
            "due_at) VALUES (1, ?, ?, ?, 'closed', ?, ?)",
            (topic, f"s{n}", item, _at(at), _at(at)),
        )
    for a, b in windows:
        start, end = _at(min(a, b)), _at(max(a, b) + 1)
        expected = conn.execute(BY_REMINDERS, (RESTOCK, start, end)).fetchone()
        got = conn.execute(BUY_AGAIN_SQL, {"kind": RESTOCK, "start": start, "end": end}).fetchone()
        assert got == expected, (start, end)
