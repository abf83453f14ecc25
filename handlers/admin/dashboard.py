"""/dashboard: a one-time sign-in link to the web dashboard, valid 10 minutes."""

from __future__ import annotations

from html import escape

from aiogram.filters import Command
from aiogram.types import LinkPreviewOptions, Message

from bot.clock import Clock
from bot.dashboard import service
from bot.dashboard.links import DashboardLinks
from bot.i18n import _
from handlers.routes import Routes
from storage import Database

routes = Routes(__name__)


@routes.message(Command("dashboard"))
async def dashboard(
    message: Message, db: Database, clock: Clock, dashboard_links: DashboardLinks
) -> None:
    assert message.from_user is not None
    token = await service.issue_link(db, message.from_user.id, clock.now())
    link = dashboard_links.sign_in(token)
    await message.answer(
        _(
            "🔐 Your sign-in link to the dashboard: it works once, for 10 minutes, and only for "
            "you — do not forward it.\n{link}"
        ).format(link=escape(link)),
        # A preview would fetch the link from Telegram's servers; it would not sign them in
        # (the page signs in by a script), but there is no reason to hand it out.
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )
