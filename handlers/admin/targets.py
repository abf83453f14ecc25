"""/target N: the company score the next wave should reach."""

from __future__ import annotations

from html import escape

from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.clock import Clock
from bot.i18n import I18n, Translator, _
from bot.reports.render import fmt
from bot.reports.targets import TARGET_MAX, TARGET_MIN, parse_target, set_target
from bot.settings import Settings
from handlers.routes import Routes
from storage import Database

routes = Routes(__name__)


@routes.message(Command("target"))
async def target(
    message: Message,
    command: CommandObject,
    db: Database,
    clock: Clock,
    settings: Settings,
    i18n: I18n,
) -> None:
    assert message.from_user is not None
    value = parse_target(command.args)
    if value is None:
        await message.answer(
            _(
                "The target is a whole number from {min} to {max} (the company score of the next "
                "wave), e.g. /target 23"
            ).format(min=TARGET_MIN, max=TARGET_MAX)
        )
        return
    result = await set_target(
        db, value, message.from_user.id, clock.now(), min_group=settings.survey_min_group
    )
    lines = [
        _("🎯 Target for the next wave: {target} of {max}.").format(target=value, max=TARGET_MAX)
    ]
    latest = result.latest
    tr = Translator(i18n, i18n.current_locale)
    if latest is not None and latest.mean_total is not None:
        lines.append(
            _("Now: {mean} in «{title}»; gap {gap}.").format(
                mean=fmt(latest.mean_total, tr=tr),
                title=escape(latest.wave.title),
                gap=fmt(value - latest.mean_total, tr=tr),
            )
        )
    lines.append(_("The report shows it until a wave reaches it."))
    await message.answer("\n".join(lines))
