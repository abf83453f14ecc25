"""CSV import of purchases (filled in by the customers feature)."""

from __future__ import annotations

from pathlib import Path

from bot.settings import Settings


async def run_import(settings: Settings, path: Path) -> int:
    raise NotImplementedError("CSV import is part of the customers feature")
