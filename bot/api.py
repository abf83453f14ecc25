"""The purchases HTTP API (issue: customers). Routes are added to the bot's aiohttp app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from bot.app import BotApp


def setup_api(web_app: web.Application, app: BotApp) -> None:
    """Add /api/v1/... routes. Filled in by the customers feature."""
