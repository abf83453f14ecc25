"""The CSV import's batch path gives the database record_purchase would, order after order.

Hypothesis draws a history already in the database (with reminders sent, requests asked,
products refused or in the catalogue, a forgotten customer) and a batch of new purchases (with
repeated and conflicting order ids); both paths run on identical databases and the results are
compared row by row (ids and random link tokens aside).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.customers.batch import record_batch
from bot.customers.purchases import OrderConflict, Timing, record_purchase
from bot.customers.schema import PurchaseIn
from storage import Database
from storage.timestamps import to_db

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)
TIMING = Timing(timedelta(days=7), timedelta(days=7), timedelta(days=3))
CUSTOMERS = ["c1", "c2", "c3"]
SKUS = ["TEA", "CUP", "PEN"]

purchases = st.builds(
    lambda order, customer, day, skus, days, named: {
        "order_id": f"O-{order}",
        "customer": {
            "id": customer,
            **({"name": f"Name {customer} {day}", "phone": "+79991234567"} if named else {}),
        },
        "purchased_at": (T0 + timedelta(days=day)).isoformat(),
        "items": [
            {"sku": sku, "name": sku, "quantity": 1, **({"restock_days": d} if d else {})}
            for sku, d in zip(skus, days, strict=False)
        ],
    },
    order=st.integers(0, 12),
    customer=st.sampled_from(CUSTOMERS),
    day=st.integers(-40, 10),
    skus=st.lists(st.sampled_from(SKUS), min_size=1, max_size=3),
    days=st.lists(st.sampled_from([None, 5, 20, 60]), min_size=3, max_size=3),
    named=st.booleans(),
)

setups = st.fixed_dictionaries(
    {
        "history": st.lists(purchases, max_size=6),
        "sent": st.lists(st.tuples(st.integers(0, 30), st.integers(-30, 5)), max_size=4),
        "requested": st.lists(st.tuples(st.integers(0, 10), st.integers(-30, 5)), max_size=2),
        "optouts": st.lists(st.tuples(st.sampled_from(CUSTOMERS), st.sampled_from(SKUS))),
        "products": st.dictionaries(st.sampled_from(SKUS), st.sampled_from([None, 10, 30])),
        "forgotten": st.one_of(st.none(), st.sampled_from(CUSTOMERS)),
        "batch": st.lists(purchases, min_size=1, max_size=10),
    }
)


@functools.cache
def _template() -> Path:
    """A migrated empty database, copied for every example (migrating is the slow part)."""
    path = Path(tempfile.mkdtemp()) / "template.sqlite3"

    async def migrate() -> None:
        db = Database(path)
        await db.open(process_lock=False)
        await db.close()

    asyncio.run(migrate())
    return path


def _model(body: dict[str, Any]) -> PurchaseIn:
    return PurchaseIn.model_validate(body, strict=False)


async def _prepare(db: Database, setup: dict[str, Any]) -> None:
    now = T0 - timedelta(days=45)
    async with db.write() as conn:
        for body in setup["history"]:
            with contextlib.suppress(OrderConflict):
                await record_purchase(conn, _model(body), TIMING, now)
        outbox = [r["id"] for r in await conn.execute_fetchall("SELECT id FROM outbox")]
        for n, day in setup["sent"]:
            if outbox:
                await conn.execute(
                    "UPDATE outbox SET status = 'sent', sent_at = ? WHERE id = ?",
                    (to_db(T0 + timedelta(days=day)), outbox[n % len(outbox)]),
                )
        reviews = [r["id"] for r in await conn.execute_fetchall("SELECT id FROM reviews")]
        for n, day in setup["requested"]:
            if reviews:
                review = reviews[n % len(reviews)]
                await conn.execute(
                    "UPDATE reviews SET status = 'requested', requested_at = ? WHERE id = ?",
                    (to_db(T0 + timedelta(days=day)), review),
                )
                await conn.execute(
                    "UPDATE outbox SET status = 'sent' WHERE kind = 'review_request' "
                    "AND ref_id = ?",
                    (review,),
                )
        for customer, sku in setup["optouts"]:
            await conn.execute(
                "INSERT OR IGNORE INTO restock_optouts (customer_id, sku, created_at) "
                "SELECT id, ?, ? FROM customers WHERE external_id = ?",
                (sku, to_db(now), customer),
            )
        for sku, days in setup["products"].items():
            await conn.execute(
                "INSERT INTO products (sku, name, restock_days, updated_at) VALUES (?, ?, ?, ?)",
                (sku, sku, days, to_db(now)),
            )
        if setup["forgotten"]:
            await conn.execute(
                "UPDATE customers SET name = NULL, phone = NULL, forgotten_at = ? "
                "WHERE external_id = ?",
                (to_db(now), setup["forgotten"]),
            )


async def _snapshot(db: Database) -> dict[str, Any]:
    async with db.read() as conn:

        async def rows(sql: str) -> list[Any]:
            return [tuple(r) for r in await conn.execute_fetchall(sql)]

        review_orders = (
            "(SELECT group_concat(order_id, '+') FROM "
            "(SELECT order_id FROM orders WHERE review_id = {} ORDER BY order_id))"
        )
        return {
            "customers": sorted(
                await rows("SELECT external_id, name, phone, forgotten_at FROM customers"),
                key=repr,
            ),
            "orders": sorted(
                await rows(
                    "SELECT o.order_id, c.external_id, o.purchased_at, "
                    + review_orders.format("o.review_id")
                    + " FROM orders o JOIN customers c ON c.id = o.customer_id"
                ),
                key=repr,
            ),
            "items": sorted(
                await rows(
                    "SELECT o.order_id, i.sku, i.name, i.quantity, i.restock_days "
                    "FROM order_items i JOIN orders o ON o.id = i.order_id"
                ),
                key=repr,
            ),
            "reviews": sorted(
                await rows(
                    "SELECT c.external_id, r.status, r.requested_at, "
                    + review_orders.format("r.id")
                    + " FROM reviews r JOIN customers c ON c.id = r.customer_id"
                ),
                key=repr,
            ),
            "outbox": sorted(
                await rows(
                    "SELECT x.kind, c.external_id, x.due_at, x.status, x.last_error, "
                    "x.converted_at, x.sent_at, CASE x.kind WHEN 'restock' THEN "
                    "(SELECT o.order_id || '/' || i.sku FROM order_items i "
                    "JOIN orders o ON o.id = i.order_id WHERE i.id = x.ref_id) ELSE "
                    + review_orders.format("x.ref_id")
                    + " END FROM outbox x JOIN customers c ON c.id = x.customer_id"
                ),
                key=repr,
            ),
        }


async def _run(
    setup: dict[str, Any], batch: bool, template: Path
) -> tuple[dict[str, Any], list[str]]:
    now = T0 + timedelta(days=5)
    bodies = sorted(
        (_model(b) for b in setup["batch"]), key=lambda p: p.purchased_at
    )  # as the import orders them
    with tempfile.TemporaryDirectory() as folder:
        shutil.copy(template, Path(folder) / "db.sqlite3")
        db = Database(Path(folder) / "db.sqlite3")
        await db.open(process_lock=False)
        try:
            await _prepare(db, setup)
            conflicts: list[str] = []
            async with db.write() as conn:
                if batch:
                    result = await record_batch(conn, bodies, TIMING, now)
                    conflicts = [bodies[i].order_id for i, _ in result.conflicts]
                else:
                    for body in bodies:
                        try:
                            await record_purchase(conn, body, TIMING, now)
                        except OrderConflict:
                            conflicts.append(body.order_id)
            return await _snapshot(db), conflicts
        finally:
            await db.close()


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(setups)
def test_batch_equals_one_by_one(setup: dict[str, Any]) -> None:
    template = _template()
    one_by_one = asyncio.run(_run(setup, False, template))
    batched = asyncio.run(_run(setup, True, template))

    assert batched[1] == one_by_one[1]  # the same conflicts
    for table in one_by_one[0]:
        assert batched[0][table] == one_by_one[0][table], table


def test_empty_and_all_known_batches() -> None:
    async def scenario() -> None:
        with tempfile.TemporaryDirectory() as folder:
            db = Database(Path(folder) / "db.sqlite3")
            await db.open(process_lock=False)
            try:
                body = _model(
                    {
                        "order_id": "A",
                        "customer": {"id": "c1"},
                        "purchased_at": T0.isoformat(),
                        "items": [{"sku": "TEA", "name": "Tea", "quantity": 1}],
                    }
                )
                async with db.write() as conn:
                    assert (await record_batch(conn, [], TIMING, T0)).created == []
                    first = await record_batch(conn, [body], TIMING, T0)
                    again = await record_batch(conn, [body, body], TIMING, T0)
                assert first.created == [0]
                assert again.skipped == [0, 1]
                assert again.created == []
            finally:
                await db.close()

    asyncio.run(scenario())
