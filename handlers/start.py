"""/start: employees join by invitation; anyone else hears what the bot is."""

from __future__ import annotations

from html import escape

from aiogram import F
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import Message

from bot.admins.service import Roster
from bot.clock import Clock
from bot.commands import ADMIN_COMMANDS
from bot.i18n import I18n, Translator, _
from bot.pseudonym import Pseudonymizer
from bot.settings import Settings
from bot.survey import service as survey_service
from bot.survey.messages import next_step_message
from handlers.fallback import welcome_text
from handlers.routes import Routes
from storage import Database

routes = Routes(__name__)


@routes.message(CommandStart(deep_link=True, magic=F.args.startswith(survey_service.INVITE_PREFIX)))
async def join_by_invite(
    message: Message,
    command: CommandObject,
    db: Database,
    clock: Clock,
    settings: Settings,
    pseudonyms: Pseudonymizer,
    i18n: I18n,
) -> None:
    assert message.from_user is not None
    locale = i18n.current_locale
    joined = await survey_service.join(
        db,
        command.args or "",
        message.from_user.id,
        locale,
        clock.now(),
        reminder_days=settings.survey_reminder_days,
    )
    if joined is None:
        await message.answer(
            _("This invitation link is not valid. Ask your manager or HR for a new one.")
        )
        return
    if joined.already_member:
        text = _("You are already registered in the department «{department}».")
    elif joined.moved_from:
        text = _("Done: you moved from «{old}» to the department «{department}».")
    else:
        text = _(
            "Welcome! You are registered in the department «{department}». When a survey "
            "starts, the questions will come here."
        )
    # Department names are typed by admins: text, never markup (`/invite Отдел <B2B>`).
    await message.answer(
        text.format(department=escape(joined.department), old=escape(joined.moved_from or ""))
    )
    progress = await survey_service.progress_for(db, pseudonyms, message.from_user.id, clock.now())
    if isinstance(progress, survey_service.Progress):
        text, markup = next_step_message(Translator(i18n, locale), progress)
        await message.answer(text, reply_markup=markup)


@routes.message(CommandStart())
@routes.message(Command("help"))
async def hello(
    message: Message, db: Database, settings: Settings, i18n: I18n, roster: Roster
) -> None:
    if message.from_user is None:
        return
    text = await welcome_text(message, db, settings, i18n)
    if roster.is_admin(message.from_user.id):
        # An admin's /help lists what only admins can do.
        lines = [_("<b>Admin commands</b>")]
        lines += [f"/{name} — {_(description)}" for name, description in ADMIN_COMMANDS]
        text += "\n\n" + "\n".join(lines)
    await message.answer(text)
