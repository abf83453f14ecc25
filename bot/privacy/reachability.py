"""Whether a person can hear from the bot: Telegram's my_chat_member, in private chats.

A person who blocks the bot is marked unreachable at once (so nothing is rendered for them and
sent into a 403); one who unblocks it (or restarts it) is reachable again, so their next survey
wave, review requests and restock reminders go out. Messages that fell due while they had
blocked the bot stay cancelled: a reminder weeks late helps nobody. The mark was also set by a
403 from Telegram, which this clears the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage import Database
from storage import customers as customers_q
from storage import survey as survey_q


@dataclass(frozen=True)
class Reachability:
    customers: int  # customer records of this Telegram account that changed
    employees: int


async def set_reachable(
    db: Database, telegram_id: int, reachable: bool, now: datetime
) -> Reachability:
    """Record that this Telegram account blocked the bot (False) or came back (True)."""
    async with db.write() as conn:
        customers = await customers_q.set_reachable_by_telegram(conn, telegram_id, reachable, now)
        employees = await survey_q.set_employee_reachable_by_telegram(
            conn, telegram_id, reachable, now
        )
    return Reachability(customers, employees)
