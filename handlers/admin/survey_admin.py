"""Admins run the survey: invitation links, departments, opening and closing waves."""

from __future__ import annotations

from html import escape

from aiogram import Bot
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.clock import Clock
from bot.i18n import _
from bot.outbox import OutboxPort
from bot.settings import Settings
from bot.survey import service as survey_service
from bot.survey.service import SurveyError
from handlers.routes import Routes
from storage import Database

routes = Routes(__name__)


def survey_error_text(error: SurveyError) -> str:
    return {
        "department_missing": _("Name the department: /invite Sales"),
        "department_too_long": _("The department name is too long (at most 64 characters)."),
        "title_too_long": _("The title is too long (at most 100 characters)."),
        "wave_already_open": _("A survey is already open. Close it with /survey_close first."),
        "no_open_wave": _("There is no open survey."),
        "no_employees": _(
            "Nobody would be asked: no employee has joined yet. Send an invitation link first: "
            "/invite Sales"
        ),
        "title_used": _(
            "A survey with this title exists already; the report would show two waves under one "
            "name. Choose another title, e.g. /survey_start {title}"
        ).format(title=escape(error.suggestion or "")),
    }.get(error.code, _("That did not work."))


@routes.message(Command("invite"))
async def invite(
    message: Message, command: CommandObject, db: Database, clock: Clock, bot: Bot
) -> None:
    assert message.from_user is not None
    try:
        payload, department = await survey_service.create_invite(
            db, command.args, message.from_user.id, clock.now()
        )
    except SurveyError as exc:
        await message.answer(survey_error_text(exc))
        return
    me = await bot.me()
    link = f"https://t.me/{me.username}?start={payload}"
    await message.answer(
        _(
            "Invitation link for «{department}»:\n{link}\n\nSend it to the department's employees: "
            "whoever opens it joins the department."
        ).format(department=escape(department), link=link)
    )


@routes.message(Command("departments"))
async def departments(message: Message, db: Database) -> None:
    rows = await survey_service.departments(db)
    if not rows:
        await message.answer(_("No departments yet. Create one with /invite Sales"))
        return
    lines = [_("<b>Departments</b> (members):")]
    lines += [f"• {escape(name)}: {members}" for name, members in rows]
    await message.answer("\n".join(lines))


@routes.message(Command("survey_start"))
async def survey_start(
    message: Message,
    command: CommandObject,
    db: Database,
    clock: Clock,
    settings: Settings,
    outbox: OutboxPort,
) -> None:
    assert message.from_user is not None
    try:
        opened = await survey_service.start_wave(
            db,
            command.args,
            message.from_user.id,
            clock.now(),
            reminder_days=settings.survey_reminder_days,
        )
    except SurveyError as exc:
        await message.answer(survey_error_text(exc))
        return
    outbox.kick()
    await message.answer(
        _(
            "The survey «{title}» is open. The first question goes to {n} employee(s); those who "
            "do not finish get one reminder in {days} day(s). Close it with /survey_close."
        ).format(
            title=escape(opened.wave.title),
            n=opened.invited,
            days=f"{settings.survey_reminder_days:g}",
        )
    )


@routes.message(Command("survey_close"))
async def survey_close(message: Message, db: Database, clock: Clock) -> None:
    try:
        wave = await survey_service.close_wave(db, clock.now())
    except SurveyError as exc:
        await message.answer(survey_error_text(exc))
        return
    await message.answer(
        _("The survey «{title}» is closed. See the results with /report.").format(
            title=escape(wave.title)
        )
    )
