"""What the dashboard's pages are given by the composition root (long-lived parts, not the app)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from bot.clock import Clock
from bot.i18n import I18n
from bot.pseudonym import Pseudonymizer
from bot.settings import Settings
from storage import Database

PREFIX = "/dashboard"


@dataclass(frozen=True)
class DashboardDeps:
    db: Database
    settings: Settings
    clock: Clock
    i18n: I18n
    is_admin: Callable[[int], bool]
    kick_outbox: Callable[[], None]  # send queued messages now (a reply from the cases page)
    bot_token: str
    public_url: str | None  # DASHBOARD_URL: where admins open it (https: a Mini App too)
    pseudonyms: Pseudonymizer  # the export's per-wave pseudonyms (bot/disclosure's rules)


DEPS: web.AppKey[DashboardDeps] = web.AppKey("dashboard_deps", DashboardDeps)
