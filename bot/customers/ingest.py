"""One purchase from the API or a shop's webhook, written with whatever else arrives meanwhile.

A request is one purchase and gets one answer, all or nothing. Requests that arrive together
(16 webhook senders, a shop catching up after an outage) are written in one transaction by the
batch rules (`record_batch`, the same result as one `record_purchase` after another, see
tests/test_purchase_batch.py) through the database's group commit (storage/group_commit.py):
one writer, one BEGIN/COMMIT per queue-full instead of one per order. A purchase that fails
the batch (a constraint) is retried alone, so it fails alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.customers import identity
from bot.customers.batch import record_batch
from bot.customers.extras import record_extras
from bot.customers.purchases import OrderConflict, Timing
from bot.customers.schema import PurchaseIn
from bot.pseudonym import Pseudonymizer
from storage import Database
from storage import customers as q


@dataclass(frozen=True)
class Ingested:
    created: bool  # False: known already (nothing written), or a conflict
    link_token: str
    conflict: OrderConflict | None = None

    @property
    def link_payload(self) -> str:
        return "c_" + self.link_token


@dataclass(frozen=True)
class _Job:
    purchase: PurchaseIn
    timing: Timing
    now: datetime
    keys: Pseudonymizer


async def _apply(conn: aiosqlite.Connection, jobs: Sequence[_Job]) -> list[Ingested]:
    purchases = await identity.resolve_forgotten(conn, [j.purchase for j in jobs], jobs[0].keys)
    result = await record_batch(conn, purchases, jobs[0].timing, max(j.now for j in jobs))
    await record_extras(conn, [purchases[i] for i in result.created])
    rows = await q.link_rows(conn, list({p.customer.id for p in purchases}))
    tokens = {r.external_id: r.link_token for r in rows}
    created = set(result.created)
    conflicts = dict(result.conflicts)
    return [
        Ingested(i in created, tokens.get(p.customer.id, ""), conflicts.get(i))
        for i, p in enumerate(purchases)
    ]


async def ingest(
    db: Database, purchase: PurchaseIn, timing: Timing, now: datetime, keys: Pseudonymizer
) -> Ingested:
    """Record one purchase (idempotent by order id); returns what became of it."""
    # inline: the batch rules await nothing but the connection, so the whole transaction's
    # statements go to SQLite's thread in one round trip (storage/inline.py).
    return await db.group_commit(_apply, inline=True).submit(_Job(purchase, timing, now, keys))
