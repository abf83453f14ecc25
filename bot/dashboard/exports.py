"""Downloads on the dashboard: the CSV files of /export and the .xlsx workbook."""

from __future__ import annotations

from bot.i18n import Translator
from bot.reports.export import build_exports
from bot.reports.workbook import FILENAME, workbook_bytes
from bot.settings import Settings
from bot.survey.scoring import QUESTIONS
from storage import Database


async def workbook(db: Database, settings: Settings, tr: Translator) -> bytes:
    async with db.read() as conn:
        return await workbook_bytes(
            conn, tr, QUESTIONS, min_group=settings.survey_min_group, tz=settings.tz
        )


async def export_named(db: Database, settings: Settings, tr: Translator, name: str) -> bytes:
    """One file by name: feedback.xlsx, or one of /export's CSV files (exactly as sent there)."""
    if name == FILENAME:
        return await workbook(db, settings, tr)
    for item in await build_exports(db, settings):
        if item.filename == name:
            return item.content
    raise KeyError(name)
