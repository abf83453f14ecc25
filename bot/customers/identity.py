"""The shop's customer id when it is an e-mail (or a guest's phone): after /forget it is kept
as a keyed hash.

Shopify's export has no customer id, so a customer there is known by e-mail (bot.customers.
formats.rows.guest_id), and other shops use the e-mail as their id too. /forget must not leave
the address in `customers.external_id`; it becomes `h:<keyed hash>`, and every later order for
that e-mail is mapped to the same hash before it is recorded, so it still belongs to the
forgotten (anonymous) record and messages nobody. The key is the identity key
(`<DATABASE_PATH>.identity-key`, kept outside the database, bot/disclosure/guard.py), not the
pseudonym key: `rotate-pseudonym-key` must not make the hashes match nothing.
"""

from __future__ import annotations

import aiosqlite

from bot.customers.formats.rows import GUEST_PHONE_PREFIX
from bot.customers.schema import PurchaseIn
from bot.pseudonym import Pseudonymizer
from storage import customers as q

HASH_PREFIX = "h:"
LABEL = "shop-customer-email"


def looks_like_email(external_id: str) -> bool:
    """An id that is a person's contact: an e-mail, or a guest's `tel:+7…` (formats.rows)."""
    if external_id.startswith(HASH_PREFIX):
        return False
    return "@" in external_id or external_id.startswith(GUEST_PHONE_PREFIX)


def hashed_id(keys: Pseudonymizer, email: str) -> str:
    return HASH_PREFIX + keys.keyed(LABEL, email.strip().lower())


async def resolve_forgotten(
    conn: aiosqlite.Connection, purchases: list[PurchaseIn], keys: Pseudonymizer
) -> list[PurchaseIn]:
    """The purchases, with e-mail customer ids of forgotten customers replaced by their hash."""
    candidates = {
        p.customer.id: hashed_id(keys, p.customer.id)
        for p in purchases
        if looks_like_email(p.customer.id)
    }
    if not candidates:
        return purchases
    known = await q.existing_external_ids(conn, list(candidates.values()))
    if not known:
        return purchases
    out = []
    for p in purchases:
        hashed = candidates.get(p.customer.id)
        if hashed in known:
            p = p.model_copy(update={"customer": p.customer.model_copy(update={"id": hashed})})
        out.append(p)
    return out
