"""Customers answer restock reminders: «Remind me in a week», «Don't remind me again», «Buy again».

Thin: every press goes to `bot.restock.service`, which checks it against the database.
"""

from __future__ import annotations

from aiogram.types import CallbackQuery

from bot.callbacks import RestockAction, RestockCb
from bot.clock import Clock
from bot.i18n import I18n, Translator, _
from bot.outbox import OutboxPort
from bot.restock import service as restock
from bot.restock.messages import buy_again_text, restock_keyboard, snoozed_text, stopped_text
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
    outbox: OutboxPort,
) -> None:
    tr = Translator(i18n, i18n.current_locale)
    tz = settings.tz
    shop = settings.shop_name
    if callback_data.action is RestockAction.BUY_AGAIN:
        wanted = await restock.buy_again(
            db,
            telegram_id=callback.from_user.id,
            item_id=callback_data.item,
            now=clock.now(),
            settings=settings,
        )
        if isinstance(wanted, restock.Refusal):
            await callback.answer(refusal_text(wanted))
            return
        outbox.kick()  # the admins' alert
        await callback.answer(_("Saved, thank you!"))
        text = buy_again_text(tr, wanted.item, tz, shop)
        await show(callback, text, restock_keyboard(tr, wanted.item, buy=False, snooze=False))
        return
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
        text = snoozed_text(tr, snoozed.item, snoozed.until, tz, shop)
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
    text = stopped_text(tr, stopped.item, tz, shop)
    await show(
        callback, text, restock_keyboard(tr, stopped.item, snooze=False, stop=False, buy=False)
    )
