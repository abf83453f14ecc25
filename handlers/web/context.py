"""What web entry points are given by the composition root: long-lived parts, not the app."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram import Bot

from bot.clock import Clock
from bot.outbox import OutboxPort
from bot.pseudonym import Pseudonymizer
from bot.settings import Settings
from storage import Database


@dataclass(frozen=True)
class WebContext:
    settings: Settings
    bot: Bot
    db: Database
    clock: Clock
    outbox: OutboxPort
    pseudonyms: Pseudonymizer  # keyed at start, once the database has accepted the key
