"""Where admins open the dashboard: the sign-in link /dashboard sends, and the Mini App button."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from aiogram import Bot
from aiogram.types import MenuButtonDefault, MenuButtonWebApp, WebAppInfo

from bot.i18n import build_i18n
from bot.liveness import describe
from bot.settings import Settings
from bot.texts import N_

log = logging.getLogger(__name__)

MENU_TEXT = N_("Dashboard")


@dataclass(frozen=True)
class DashboardLinks:
    """The dashboard's address: DASHBOARD_URL, else this machine's HTTP_HOST and the port the
    web app really listens on (HTTP_PORT=0 picks one at start)."""

    settings: Settings
    port: Callable[[], int | None]

    @property
    def base(self) -> str:
        if self.settings.dashboard_url:
            return self.settings.dashboard_url
        host = self.settings.http_host
        if host in ("0.0.0.0", "::", ""):  # noqa: S104  (listening everywhere: name this machine)
            host = "127.0.0.1"
        return f"http://{host}:{self.port() or self.settings.http_port}/dashboard"

    def sign_in(self, token: str) -> str:
        return f"{self.base}/login?token={token}"

    @property
    def mini_app(self) -> bool:
        """Telegram opens Mini Apps over https only."""
        return (self.settings.dashboard_url or "").startswith("https://")


async def register_menu_button(bot: Bot, settings: Settings, admin_ids: frozenset[int]) -> None:
    """Each admin's menu button opens the dashboard as a Mini App (best effort, like commands)."""
    url = settings.dashboard_url or ""
    if not url.startswith("https://"):
        return
    text = build_i18n().gettext(MENU_TEXT, locale=settings.default_language)
    for admin_id in sorted(admin_ids):
        try:
            await bot.set_chat_menu_button(
                chat_id=admin_id,
                menu_button=MenuButtonWebApp(text=text, web_app=WebAppInfo(url=url + "/")),
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # any failure: a non-JSON 500 is no TelegramAPIError
            log.warning("dashboard menu button for %s not set: %s", admin_id, describe(exc))


async def clear_menu_button(bot: Bot, settings: Settings, admin_id: int) -> None:
    """A removed admin's menu button no longer opens the dashboard (best effort)."""
    if not (settings.dashboard_url or "").startswith("https://"):
        return  # none was set
    try:
        await bot.set_chat_menu_button(chat_id=admin_id, menu_button=MenuButtonDefault())
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # any failure: a non-JSON 500 is no TelegramAPIError
        log.warning("dashboard menu button for %s not removed: %s", admin_id, describe(exc))
