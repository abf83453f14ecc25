"""The Telegram webhook: updates posted by Telegram, checked by their secret token."""

from __future__ import annotations

from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web


def webhook_path(url: str) -> str:
    return urlsplit(url).path or "/webhook"


def setup_webhook(
    web_app: web.Application,
    dispatcher: Dispatcher,
    bot: Bot,
    *,
    url: str,
    secret: str,
    handle_in_background: bool,
) -> None:
    SimpleRequestHandler(
        dispatcher, bot, secret_token=secret, handle_in_background=handle_in_background
    ).register(web_app, path=webhook_path(url))
