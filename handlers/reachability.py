"""my_chat_member in private chats: a person blocked the bot, or came back to it."""

from __future__ import annotations

import logging

from aiogram import F
from aiogram.filters import KICKED, MEMBER, ChatMemberUpdatedFilter
from aiogram.types import ChatMemberUpdated

from bot.clock import Clock
from bot.privacy import reachability
from handlers.routes import Routes
from storage import Database

log = logging.getLogger(__name__)

routes = Routes(__name__)


@routes.my_chat_member(F.chat.type == "private", ChatMemberUpdatedFilter(KICKED))
async def blocked(event: ChatMemberUpdated, db: Database, clock: Clock) -> None:
    await reachability.set_reachable(db, event.from_user.id, False, clock.now())
    log.info("a person blocked the bot: marked unreachable")


@routes.my_chat_member(F.chat.type == "private", ChatMemberUpdatedFilter(MEMBER))
async def came_back(event: ChatMemberUpdated, db: Database, clock: Clock) -> None:
    await reachability.set_reachable(db, event.from_user.id, True, clock.now())
    log.info("a person unblocked the bot: reachable again")
