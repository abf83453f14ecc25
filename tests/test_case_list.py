"""The dashboard's case list (storage.cases.listed_cases): the newest cases of the chosen
statuses and topic, however the cases are spread, exactly as `status IN (…) ORDER BY id DESC`
gives them; it reads them per status off cases_status instead of sorting every match."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import aiosqlite
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.dashboard.cases import STATUSES as FILTERS
from storage import cases as q
from storage.migrations import load_migrations
from storage.timestamps import to_db

NOW = to_db(datetime(2026, 1, 12, 9, 0, tzinfo=UTC))
STATUSES = ("open", "answered", "resolved", "closed")
TOPICS = ("complaint", "question", "buy_again")

case = st.tuples(st.sampled_from(STATUSES), st.sampled_from(TOPICS))


async def _listed(cases: list[tuple[str, str]], limit: int) -> None:
    async with aiosqlite.connect(":memory:") as conn:
        conn.row_factory = aiosqlite.Row
        for migration in load_migrations():
            await conn.executescript(migration.sql)
        await conn.execute(
            "INSERT INTO customers (id, external_id, link_token, created_at) "
            "VALUES (1, 'c', 't', ?)",
            (NOW,),
        )
        await conn.executemany(
            "INSERT INTO cases (customer_id, topic, subject, status, opened_at, due_at) "
            "VALUES (1, ?, ?, ?, ?, ?)",
            [(topic, f"s:{n}", status, NOW, NOW) for n, (status, topic) in enumerate(cases)],
        )
        for statuses in (*FILTERS.values(), ()):
            for topic in (None, *TOPICS):
                listed = await q.listed_cases(conn, statuses=statuses, topic=topic, limit=limit)
                expected = [
                    n + 1
                    for n, (status, kind) in reversed(list(enumerate(cases)))
                    if (statuses is None or status in statuses) and topic in (None, kind)
                ][:limit]
                assert [item.case.id for item in listed] == expected, (statuses, topic)


@settings(max_examples=60, deadline=None)
@given(st.lists(case, max_size=30), st.integers(min_value=1, max_value=6))
# The open list's two statuses interleaved, more of each than the limit.
@example([("open", "question"), ("answered", "question")] * 5, 3)
def test_the_list_is_the_newest_cases_of_the_filter(
    cases: list[tuple[str, str]], limit: int
) -> None:
    asyncio.run(_listed(cases, limit))
