"""Customers answer restock reminders: «Remind me in a week», «Don't remind me again».

Thin: every press goes to `bot.restock.service`, which checks it against the database.
"""

from __future__ import annotations

from aiogram.types import CallbackQuery

from bot.callbacks import RestockAction, RestockCb
from bot.clock import Clock
from bot.i18n import I18n, Translator, _
from bot.restock import service as restock
from bot.restock.messages import restock_keyboard, snoozed_text, stopped_text
from bot.settings import Settings
from handlers.replies import show
from handlers.routes import Routes
from storage import Database

routes = Routes(__name__)


def refusal_text(refusal: restock.Refusal) -> str:
    return {
        restock.Refusal.INVALID: _("This button is no longer active."),
        restock.Refusal.OPTED_OUT: _("You will not get reminders about this product."),
    }[refusal]


@routes.callback_query(RestockCb.filter())
async def restock_action(
    callback: CallbackQuery,
    callback_data: RestockCb,
    db: Database,
    clock: Clock,
    settings: Settings,
    i18n: I18n,
) -> None:
    tr = Translator(i18n, i18n.current_locale)
    tz = settings.tz
    if callback_data.action is RestockAction.SNOOZE:
        snoozed = await restock.snooze(
            db, telegram_id=callback.from_user.id, item_id=callback_data.item, now=clock.now()
        )
        if isinstance(snoozed, restock.Refusal):
            await callback.answer(refusal_text(snoozed))
            return
        if snoozed.already:
            await callback.answer(_("A reminder is already set. Thank you!"))
        else:
            await callback.answer(_("I will remind you in a week."))
        text = snoozed_text(tr, snoozed.item, snoozed.until, tz)
        # «Don't remind me again» stays: snoozing does not rule it out.
        await show(callback, text, restock_keyboard(tr, snoozed.item, snooze=False))
        return
    stopped = await restock.stop_reminders(
        db, telegram_id=callback.from_user.id, item_id=callback_data.item, now=clock.now()
    )
    if isinstance(stopped, restock.Refusal):
        await callback.answer(refusal_text(stopped))
        return
    if stopped.already:
        await callback.answer(refusal_text(restock.Refusal.OPTED_OUT))
    else:
        await callback.answer(_("Done: no more reminders about this product."))
    text = stopped_text(tr, stopped.item, tz)
    await show(callback, text, restock_keyboard(tr, stopped.item, snooze=False, stop=False))
