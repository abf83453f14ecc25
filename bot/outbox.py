"""What handlers may ask of the outbox: to run soon. Keeps handlers off the scheduler's insides."""

from __future__ import annotations

from typing import Protocol


class OutboxPort(Protocol):
    def kick(self) -> None:
        """Send what is due now instead of waiting for the next tick."""
        ...
