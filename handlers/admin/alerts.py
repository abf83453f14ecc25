"""Admins act on negative-review alerts: «Resolved» records who did it, once."""

from __future__ import annotations

from aiogram.types import CallbackQuery

from bot.callbacks import AlertResolveCb
from bot.clock import Clock
from bot.i18n import I18n, Translator, _
from bot.reviews import service as reviews
from bot.reviews.alerts import alert_text
from bot.settings import Settings
from handlers.replies import show
from handlers.routes import Routes
from storage import Database

routes = Routes(__name__)


@routes.callback_query(AlertResolveCb.filter())
async def resolve(
    callback: CallbackQuery,
    callback_data: AlertResolveCb,
    db: Database,
    clock: Clock,
    settings: Settings,
    i18n: I18n,
) -> None:
    user = callback.from_user
    name = user.full_name + (f" (@{user.username})" if user.username else "")
    resolution = await reviews.resolve_alert(
        db, alert_id=callback_data.alert, admin_id=user.id, admin_name=name, now=clock.now()
    )
    if resolution is None:
        await callback.answer(_("This button is no longer active."))
        return
    alert = resolution.view.alert
    if resolution.by_me:
        await callback.answer(_("Marked as resolved. Thank you!"))
    else:
        who = alert.resolved_by_name or str(alert.resolved_by)
        await callback.answer(_("Already resolved by {name}.").format(name=who), show_alert=True)
    # The alert was written in the default language; its edit keeps to it.
    tr = Translator(i18n, settings.default_language)
    await show(callback, alert_text(tr, resolution.view, settings.tz), None)
