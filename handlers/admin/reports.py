"""/report and /export for admins."""

from __future__ import annotations

from aiogram.filters import Command
from aiogram.types import BufferedInputFile, Message

from bot.export import survey_answers_csv
from bot.i18n import I18n, Translator, _
from bot.reports.render import survey_section
from bot.reports.survey import survey_summary
from bot.settings import Settings
from handlers.routes import Routes
from storage import Database
from storage import survey as survey_q

routes = Routes(__name__)


@routes.message(Command("report"))
async def report(message: Message, db: Database, settings: Settings, i18n: I18n) -> None:
    tr = Translator(i18n, i18n.current_locale)
    async with db.read() as conn:
        waves = await survey_q.latest_waves(conn, limit=1)
        summary = await survey_summary(conn, waves[0], settings.survey_min_group) if waves else None
    if summary is None:
        await message.answer(_("No survey yet. Start one with /survey_start"))
        return
    await message.answer(survey_section(tr, summary))


@routes.message(Command("export"))
async def export(message: Message, db: Database) -> None:
    async with db.read() as conn:
        survey_csv = await survey_answers_csv(conn)
    await message.answer_document(
        BufferedInputFile(survey_csv, filename="survey_answers.csv"),
        caption=_("Survey answers by pseudonym (no Telegram ids)."),
    )
