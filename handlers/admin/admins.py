"""/admins: list, add and remove admins in the bot, each change confirmed and recorded."""

from __future__ import annotations

from aiogram import Bot
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.admins.service import Refusal, Roster
from bot.callbacks import AdminsAction, AdminsCb
from bot.clock import Clock
from bot.i18n import _
from bot.settings import Settings
from bot.texts import N_
from handlers.admin_menus import hide_admin_menus, show_admin_menus
from handlers.replies import show
from handlers.routes import Routes

routes = Routes(__name__)

USAGE = N_(
    "Admins: {ids}\n\nAdd one: /admins add 123456789 (a Telegram id)\n"
    "Remove one: /admins remove 123456789"
)


def refusal_text(refusal: Refusal) -> str:
    return {
        Refusal.already: _("This person is an admin already; nothing changed."),
        Refusal.not_admin: _("This person is not an admin; nothing changed."),
        Refusal.from_environment: _(
            "This admin is set in ADMIN_IDS: remove the id there and restart the bot."
        ),
        Refusal.last_admin: _("This is the last admin: add another one first."),
    }.get(refusal, _("That did not work."))


def _listing(roster: Roster) -> str:
    ids = ", ".join(
        f"{i}" + ("" if i not in roster.environment else " (ADMIN_IDS)") for i in sorted(roster.ids)
    )
    return _(USAGE).format(ids=ids or "—")


@routes.message(Command("admins"))
async def admins(message: Message, command: CommandObject, roster: Roster) -> None:
    words = (command.args or "").split()
    if len(words) != 2 or words[0] not in ("add", "remove") or not words[1].isdigit():
        await message.answer(_listing(roster))
        return
    action, target = AdminsAction(words[0]), int(words[1])
    if not 1 <= target < 2**63:
        await message.answer(_listing(roster))
        return
    question = (
        _("Make {id} an admin? They will see every report and the dashboard.")
        if action is AdminsAction.ADD
        else _("Remove {id} from the admins?")
    ).format(id=target)
    button = InlineKeyboardButton(
        text=_("Confirm"), callback_data=AdminsCb(action=action, user=target).pack()
    )
    await message.answer(question, reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]]))


@routes.callback_query(AdminsCb.filter())
async def confirm(
    callback: CallbackQuery,
    callback_data: AdminsCb,
    roster: Roster,
    clock: Clock,
    bot: Bot,
    settings: Settings,
) -> None:
    actor = callback.from_user.id
    if callback_data.action is AdminsAction.ADD:
        refused = await roster.add(actor, callback_data.user, clock.now())
        done = _("{id} is an admin now.")
    else:
        refused = await roster.remove(actor, callback_data.user, clock.now())
        done = _("{id} is no longer an admin.")
    text = refusal_text(refused) if refused else done.format(id=callback_data.user)
    await callback.answer()
    await show(callback, text, None)
    if refused is None:
        if callback_data.action is AdminsAction.ADD:
            await show_admin_menus(bot, settings, callback_data.user)
        else:
            await hide_admin_menus(bot, settings, callback_data.user)
