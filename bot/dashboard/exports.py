"""Downloads on the dashboard: the files of /export, the .xlsx workbook among them."""

from __future__ import annotations

from datetime import datetime

from bot.i18n import Translator
from bot.pseudonym import Pseudonymizer
from bot.reports.export import build_exports
from bot.settings import Settings
from storage import Database


async def export_named(
    db: Database,
    settings: Settings,
    pseudonyms: Pseudonymizer,
    tr: Translator,
    name: str,
    now: datetime,
) -> bytes:
    """One file by name, exactly as /export sends it (survey figures released first)."""
    for item in await build_exports(db, settings, pseudonyms, now, workbook=tr):
        if item.filename == name:
            return item.content
    raise KeyError(name)
