"""What customers receive from the outbox: review requests, reminders, restock reminders.

Filled in by the customers feature; each kind renders its row when it is due.
"""

from __future__ import annotations

from scheduler.kinds import Kind

KINDS: tuple[Kind, ...] = ()
