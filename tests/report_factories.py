"""Known facts written straight into the database, for checking report figures by hand.

The report reads the schema, not the flows that fill it, so its tests set the rows up directly
(the flows have their own tests); every helper writes one committed transaction.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime, timedelta

from storage import Database
from storage.timestamps import to_db

_ids = itertools.count(1)


class Facts:
    def __init__(self, db: Database, now: datetime) -> None:
        self.db = db
        self.now = now

    # --- the survey ---------------------------------------------------------------------------
    async def department(self, name: str) -> int:
        async with self.db.write() as conn:
            cur = await conn.execute(
                "INSERT INTO departments (name, created_at) VALUES (?, ?)", (name, to_db(self.now))
            )
        assert cur.lastrowid is not None
        return cur.lastrowid

    async def wave(
        self, title: str, *, opened_at: datetime | None = None, closed: bool = True
    ) -> int:
        opened = opened_at or self.now
        async with self.db.write() as conn:
            cur = await conn.execute(
                "INSERT INTO waves (title, opened_by, opened_at, closed_at) VALUES (?, 1, ?, ?)",
                (title, to_db(opened), to_db(opened + timedelta(days=7)) if closed else None),
            )
        assert cur.lastrowid is not None
        return cur.lastrowid

    async def respondents(
        self,
        wave_id: int,
        department_id: int | None,
        answers: Sequence[Sequence[int]],
        *,
        invited_extra: int = 0,
    ) -> list[str]:
        """Employees invited to the wave, each answering the given scores (a prefix: partial)."""
        pseudonyms = []
        async with self.db.write() as conn:
            dept = department_id
            if dept is None:
                async with conn.execute("SELECT id FROM departments LIMIT 1") as cur:
                    row = await cur.fetchone()
                dept = row[0] if row else None
            for scores in [*answers, *([()] * invited_extra)]:
                n = next(_ids)
                if dept is not None:
                    cur = await conn.execute(
                        "INSERT INTO employees (telegram_id, department_id, joined_at) "
                        "VALUES (?, ?, ?)",
                        (900_000 + n, dept, to_db(self.now)),
                    )
                    await conn.execute(
                        "INSERT INTO wave_invitations VALUES (?, ?, ?, ?)",
                        (wave_id, cur.lastrowid, dept, to_db(self.now)),
                    )
                respondent = f"r_{n:020x}"
                pseudonyms.append(respondent)
                for question, score in enumerate(scores, start=1):
                    await conn.execute(
                        "INSERT INTO survey_answers VALUES (?, ?, ?, ?, ?, ?)",
                        (wave_id, respondent, department_id, question, score, to_db(self.now)),
                    )
        return pseudonyms

    # --- customers ----------------------------------------------------------------------------
    async def customer(self, external_id: str | None = None, **columns: object) -> int:
        n = next(_ids)
        values = {
            "external_id": external_id or f"C{n}",
            "link_token": f"tok{n}",
            "created_at": to_db(self.now),
            **columns,
        }
        names = ", ".join(values)
        marks = ", ".join("?" * len(values))
        async with self.db.write() as conn:
            cur = await conn.execute(
                f"INSERT INTO customers ({names}) VALUES ({marks})", tuple(values.values())
            )
        assert cur.lastrowid is not None
        return cur.lastrowid

    async def order(
        self,
        customer_id: int,
        at: datetime,
        *,
        order_id: str | None = None,
        review_id: int | None = None,
        items: Sequence[tuple[str, str]] = (),
    ) -> tuple[int, list[int]]:
        """An order (and its items as (sku, name)); returns (order row id, item ids)."""
        async with self.db.write() as conn:
            cur = await conn.execute(
                "INSERT INTO orders (order_id, customer_id, purchased_at, created_at, review_id) "
                "VALUES (?, ?, ?, ?, ?)",
                (order_id or f"O{next(_ids)}", customer_id, to_db(at), to_db(at), review_id),
            )
            order_row = cur.lastrowid
            item_ids = []
            for sku, name in items:
                cur = await conn.execute(
                    "INSERT INTO order_items (order_id, sku, name, quantity, restock_days) "
                    "VALUES (?, ?, ?, 1, 30)",
                    (order_row, sku, name),
                )
                item_ids.append(cur.lastrowid)
        assert order_row is not None
        return order_row, [i for i in item_ids if i is not None]

    async def review(
        self,
        customer_id: int,
        *,
        requested_at: datetime | None = None,
        rating: int | None = None,
        rated_at: datetime | None = None,
        nps: int | None = None,
        nps_at: datetime | None = None,
        comment: str | None = None,
    ) -> int:
        answered = rating is not None or nps is not None
        async with self.db.write() as conn:
            cur = await conn.execute(
                "INSERT INTO reviews (customer_id, created_at, requested_at, rating, rated_at, "
                "nps, nps_at, comment, commented_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    customer_id,
                    to_db(requested_at or self.now),
                    to_db(requested_at) if requested_at else None,
                    rating,
                    to_db(rated_at or requested_at or self.now) if rating is not None else None,
                    nps,
                    to_db(nps_at or rated_at or requested_at or self.now)
                    if nps is not None
                    else None,
                    comment,
                    to_db(rated_at or self.now) if comment else None,
                    "answered" if answered else ("requested" if requested_at else "pending"),
                ),
            )
        assert cur.lastrowid is not None
        return cur.lastrowid

    async def alert(self, review_id: int, *, resolved: bool) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                "INSERT INTO alerts (review_id, created_at, resolved_by, resolved_at) "
                "VALUES (?, ?, ?, ?)",
                (review_id, to_db(self.now), 1 if resolved else None,
                 to_db(self.now) if resolved else None),
            )  # fmt: skip

    async def restock(
        self,
        customer_id: int,
        item_id: int,
        *,
        sent_at: datetime | None,
        converted: bool = False,
        status: str | None = None,
    ) -> int:
        async with self.db.write() as conn:
            cur = await conn.execute(
                "INSERT INTO outbox (kind, customer_id, ref_id, due_at, status, sent_at, "
                "converted_at, created_at) VALUES ('restock', ?, ?, ?, ?, ?, ?, ?)",
                (
                    customer_id,
                    item_id,
                    to_db(sent_at or self.now),
                    status or ("sent" if sent_at else "pending"),
                    to_db(sent_at) if sent_at else None,
                    to_db(self.now) if converted else None,
                    to_db(self.now),
                ),
            )
        assert cur.lastrowid is not None
        return cur.lastrowid

    async def count(self, sql: str, *params: object) -> int:
        async with self.db.read() as conn, conn.execute(sql, params) as cur:
            row = await cur.fetchone()
        assert row is not None
        return int(row[0])
