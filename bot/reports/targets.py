"""Targets for the company's survey score: «now 18, next year 23»."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from bot.reports.survey import Target, WaveFigures, disclosed_figures, release_survey
from bot.survey.scoring import TOTAL_MAX, TOTAL_MIN
from storage import Database
from storage.survey import latest_waves
from storage.timestamps import to_db

TARGET_MIN = TOTAL_MIN  # 6
TARGET_MAX = TOTAL_MAX  # 30
_TARGET_RE = re.compile(r"^[0-9]{1,2}$")  # ASCII digits only: no «٢٣», no «23.5», no «+23»


def parse_target(raw: str | None) -> int | None:
    """The target in /target's argument, or None when it is not a whole number in 6..30."""
    text = (raw or "").strip()
    if not _TARGET_RE.match(text):
        return None
    value = int(text)
    return value if TARGET_MIN <= value <= TARGET_MAX else None


@dataclass(frozen=True)
class TargetSet:
    target: Target
    latest: WaveFigures | None  # where the company stands now


async def set_target(
    db: Database, value: int, admin_id: int, now: datetime, *, min_group: int
) -> TargetSet:
    """Record a target for the waves after the latest one; the newest target replaces older ones."""
    if not TARGET_MIN <= value <= TARGET_MAX:
        raise ValueError(f"a target is {TARGET_MIN}..{TARGET_MAX}, got {value}")
    async with db.write() as conn:
        waves = await latest_waves(conn, limit=1)
        base = waves[0] if waves else None
        await conn.execute(
            "INSERT INTO survey_targets (value, set_by, set_at, base_wave_id) VALUES (?, ?, ?, ?)",
            (value, admin_id, to_db(now), base.id if base else None),
        )
        latest = None
        if base is not None:
            # Where the company stands is a survey figure like any other (bot.disclosure).
            await release_survey(conn, min_group=min_group, now=now)
            latest = await disclosed_figures(conn, base, min_group)
    return TargetSet(Target(value, now, base.id if base else None), latest)
