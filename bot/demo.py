"""The offline demo (filled in by the reports feature)."""

from __future__ import annotations

from pathlib import Path


async def run_demo(out: Path) -> int:
    raise NotImplementedError("the demo is part of the reports feature")
