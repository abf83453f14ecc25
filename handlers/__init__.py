"""aiogram routers, one module per feature, composed in the order they must match."""

from __future__ import annotations

from aiogram import F, Router

from handlers import (
    cases,
    claim,
    customers,
    errors,
    fallback,
    plans,
    privacy,
    provenance,
    reachability,
    refusals,
    restock,
    reviews,
    start,
    survey,
)
from handlers.admin import get_admin_router


def get_routers() -> list[Router]:
    """Fresh routers for one Dispatcher: admins first, then features, then the catch-alls."""
    routers = [
        provenance.routes.build(),  # forwarded commands, presses outside the private chat
        get_admin_router(),
        survey.button_routes.build(),  # the busiest updates first (see handlers/survey.py)
        # Texts the bot asked for (a note, a comment, a suggestion) before anyone else's
        # text handlers; its filter matches only a chat with such a question pending.
        plans.routes.build(),
        customers.routes.build(),
        reviews.routes.build(),
        restock.routes.build(),
        privacy.routes.build(),
        start.routes.build(),
        claim.routes.build(),
        survey.routes.build(),
        # After every conversation step above (a review's comment first): free text from a
        # customer is a message to the shop.
        cases.routes.build(),
        refusals.routes.build(),
        fallback.routes.build(),
    ]
    for router in routers:
        # Private chats only: the bot talks to people one by one (answers are confidential).
        router.message.filter(F.chat.type == "private")
    # Blocking and unblocking (my_chat_member, private chats only: see handlers/reachability.py).
    return [*routers, reachability.routes.build(), errors.routes.build()]
