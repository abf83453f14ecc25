"""Respondent pseudonyms: HMAC of the Telegram id with a key kept outside the database."""

from __future__ import annotations

import hashlib
import hmac


class Pseudonymizer:
    def __init__(self, key: bytes) -> None:
        if not key:
            raise ValueError("empty pseudonym key")
        self._key = key

    def __call__(self, telegram_id: int) -> str:
        digest = hmac.new(self._key, str(int(telegram_id)).encode(), hashlib.sha256)
        # 20 hex chars (80 bits): collisions are out of reach for any company's head count.
        return "r_" + digest.hexdigest()[:20]
