"""Cases over the real database, any order of events (hypothesis):

- never two cases of one customer and subject that are not closed;
- never a reply to a closed case delivered: the reply is refused, and a shop message queued
  before the case closed is skipped when the outbox renders it.
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.cases import messages, service
from bot.cases.machine import Refusal, Topic
from bot.clock import FakeClock
from bot.i18n import build_i18n
from bot.outbox import OutboxRow, RenderContext, Skip
from bot.settings import Settings
from storage import Database
from storage.outbox import CASE_TO_CUSTOMER
from storage.timestamps import from_db, to_db

START = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
RULES = service.Rules(admin_ids=frozenset({1, 2}), response_hours=24, window=(0, 24), tz=UTC)
CUSTOMERS = (1, 2)
REVIEWS = {1: (1, 2), 2: (3, 4)}  # customer → their reviews

customer = st.sampled_from(CUSTOMERS)
event = st.one_of(
    st.tuples(st.just("complaint"), customer, st.integers(0, 1)),
    st.tuples(st.just("write"), customer, st.integers(0, 5)),
    st.tuples(st.just("reply"), st.integers(0, 5), st.sampled_from((1, 2))),
    st.tuples(st.just("resolve"), st.integers(0, 5), st.sampled_from((1, 2))),
    st.tuples(st.just("confirm"), st.integers(0, 5), st.booleans()),
    st.tuples(st.just("wait"), st.integers(1, 100), st.just(0)),
)


async def _setup(db: Database) -> None:
    now = to_db(START)
    async with db.write() as conn:
        for cid in CUSTOMERS:
            await conn.execute(
                "INSERT INTO customers (id, external_id, name, link_token, telegram_id, "
                "language, created_at) VALUES (?, ?, 'Анна', ?, ?, 'ru', ?)",
                (cid, f"c-{cid}", f"tok-{cid}", 7000 + cid, now),
            )
            for rid in REVIEWS[cid]:
                await conn.execute(
                    "INSERT INTO reviews (id, customer_id, created_at, status) "
                    "VALUES (?, ?, ?, 'answered')",
                    (rid, cid, now),
                )


async def _case_ids(db: Database) -> list[int]:
    async with db.read() as conn, conn.execute("SELECT id FROM cases ORDER BY id") as cur:
        return [row[0] for row in await cur.fetchall()]


async def _check(db: Database, ctx: RenderContext) -> None:
    async with db.read() as conn:
        async with conn.execute(
            "SELECT customer_id, subject FROM cases WHERE status != 'closed' "
            "GROUP BY customer_id, subject HAVING COUNT(*) > 1"
        ) as cur:
            assert await cur.fetchall() == []
        # Nothing is written into a case after it closed: its last message is the closing one.
        async with conn.execute(
            "SELECT c.id FROM cases c WHERE c.status = 'closed' AND (SELECT m.event FROM "
            "case_messages m WHERE m.case_id = c.id ORDER BY m.id DESC LIMIT 1) "
            "NOT IN ('confirmed', 'closed')"
        ) as cur:
            assert await cur.fetchall() == []
        # A customer-bound row of a closed case is never rendered into a message.
        async with conn.execute(
            "SELECT o.id, o.kind, o.customer_id, o.ref_id, o.due_at, o.attempts FROM outbox o "
            "JOIN case_messages m ON m.id = o.ref_id JOIN cases c ON c.id = m.case_id "
            "WHERE o.kind = ? AND c.status = 'closed'",
            (CASE_TO_CUSTOMER,),
        ) as cur:
            rows = await cur.fetchall()
        for row in rows:
            outbox_row = OutboxRow(
                id=row[0],
                kind=row[1],
                customer_id=row[2],
                employee_id=None,
                chat_id=None,
                ref_id=row[3],
                due_at=from_db(row[4]),
                attempts=row[5],
            )
            rendered = await messages.render_to_customer(ctx, conn, outbox_row)
            assert isinstance(rendered, Skip), rendered


async def _run(events: list[tuple[str, int, int]], folder: Path) -> None:
    db = Database(folder / "cases.sqlite3")
    await db.open(process_lock=False)
    clock = FakeClock(START)
    ctx = RenderContext(
        settings=Settings(_env_file=None, bot_token="1:x", admin_ids="1,2"),  # type: ignore[call-arg]
        clock=clock,
        i18n=build_i18n(),
        pseudonyms=None,  # type: ignore[arg-type]
    )
    try:
        await _setup(db)
        for name, a, b in events:
            now = clock.now()
            ids = await _case_ids(db)
            pick = ids[a % len(ids)] if ids else None
            async with db.write() as conn:
                if name == "complaint":
                    await service.open_case(
                        conn,
                        customer_id=a,
                        topic=Topic.COMPLAINT,
                        review_id=REVIEWS[a][b],
                        now=now,
                        rules=RULES,
                        notify_admins=False,
                    )
                elif name == "write":
                    await service.customer_writes(
                        conn,
                        customer_id=a,
                        text="слово",
                        now=now,
                        rules=RULES,
                        case_id=(ids[b % len(ids)] if ids and b % 2 else None),
                    )
                elif name == "reply" and pick is not None:
                    before = await service.q.get_case(conn, pick)
                    result = await service.shop_replies(
                        conn, case_id=pick, admin_id=b, admin_name="A", text="ответ",
                        now=now, rules=RULES,
                    )  # fmt: skip
                    assert before is not None
                    if before.status == "closed":
                        assert result is Refusal.CLOSED
                elif name == "resolve" and pick is not None:
                    await service.resolve(
                        conn, case_id=pick, admin_id=b, admin_name="A", now=now, rules=RULES
                    )
                elif name == "confirm" and pick is not None:
                    case = await service.q.get_case(conn, pick)
                    assert case is not None
                    await service.confirm(
                        conn, case_id=pick, customer_id=case.customer_id, solved=bool(b),
                        now=now, rules=RULES,
                    )  # fmt: skip
                elif name == "wait":
                    clock.advance(hours=a)
                    await service.sweep(conn, clock.now())
            clock.advance(seconds=1)
            await _check(db, ctx)
    finally:
        await db.close()


@settings(max_examples=60)
@given(st.lists(event, max_size=25))
def test_any_order_of_events_keeps_one_active_case_and_never_delivers_to_a_closed_one(
    events: list[tuple[str, int, int]],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(_run(events, Path(folder)))


def test_the_confirmation_waits_three_days() -> None:
    async def run(folder: Path) -> None:
        db = Database(folder / "c.sqlite3")
        await db.open(process_lock=False)
        try:
            await _setup(db)
            async with db.write() as conn:
                opened = await service.open_case(
                    conn, customer_id=1, topic=Topic.QUESTION, now=START, rules=RULES, text="?"
                )
                await service.resolve(
                    conn, case_id=opened.case.id, admin_id=1, admin_name="A", now=START,
                    rules=RULES,
                )  # fmt: skip
                assert await service.sweep(conn, START + timedelta(days=3)) == 0
                assert await service.sweep(conn, START + timedelta(days=3, seconds=1)) == 1
                case = await service.q.get_case(conn, opened.case.id)
            assert case is not None
            assert case.closed_how == "timeout"
        finally:
            await db.close()

    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(run(Path(folder)))
