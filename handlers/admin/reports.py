"""/report and /export for admins: thin wrappers over bot.reports and bot.reports.export."""

from __future__ import annotations

from aiogram import Bot
from aiogram.enums import ChatAction
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message

from bot.clock import Clock
from bot.i18n import I18n, Translator, _
from bot.liveness import best_effort
from bot.pseudonym import Pseudonymizer
from bot.reports.assemble import build_report
from bot.reports.delivery import send_report
from bot.reports.export import build_exports
from bot.reports.periods import parse_report_args
from bot.settings import Settings
from handlers.routes import Routes
from storage import Database

routes = Routes(__name__)


def report_usage() -> str:
    return _(
        "Usage:\n/report — the whole report\n/report survey — the survey only\n"
        "/report customers [7d|30d|90d|365d] — customers for a period (30d by default)"
    )


@routes.message(Command("report"))
async def report(
    message: Message,
    command: CommandObject,
    bot: Bot,
    db: Database,
    clock: Clock,
    settings: Settings,
    i18n: I18n,
) -> None:
    request = parse_report_args(command.args)
    if request is None:
        await message.answer(report_usage())
        return
    figures = await build_report(db, settings, request, clock.now())
    await send_report(bot, message.chat.id, Translator(i18n, i18n.current_locale), figures)


@routes.message(Command("export"))
async def export(
    message: Message,
    bot: Bot,
    db: Database,
    clock: Clock,
    settings: Settings,
    pseudonyms: Pseudonymizer,
    i18n: I18n,
) -> None:
    action = bot.send_chat_action(message.chat.id, ChatAction.UPLOAD_DOCUMENT)
    await best_effort(action, "«sending a file…»")
    tr = Translator(i18n, i18n.current_locale)
    exports = await build_exports(db, settings, pseudonyms, clock.now(), workbook=tr)
    for item in exports:
        await message.answer_document(
            BufferedInputFile(item.content, filename=item.filename), caption=item.caption(tr)
        )
