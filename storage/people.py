"""Who a Telegram user is to the bot: a linked customer, a registered employee, both or neither.

Read-only; admins are not stored (they are ADMIN_IDS in the settings).
"""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite


@dataclass(frozen=True)
class Roles:
    customer: bool
    employee: bool


async def roles_of(conn: aiosqlite.Connection, telegram_id: int) -> Roles:
    async with conn.execute(
        "SELECT EXISTS (SELECT 1 FROM customers WHERE telegram_id = ? AND forgotten_at IS NULL), "
        "EXISTS (SELECT 1 FROM employees WHERE telegram_id = ? AND left_at IS NULL)",
        (telegram_id, telegram_id),
    ) as cur:
        row = await cur.fetchone()
    assert row is not None
    return Roles(customer=bool(row[0]), employee=bool(row[1]))
