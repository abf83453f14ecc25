"""Respondent pseudonyms: HMAC of the wave and the Telegram id, with a key kept outside the
database (its fingerprint is in the database: bot/disclosure/guard.py refuses a wrong key).

A person has a different pseudonym in every wave, so answers of two waves cannot be joined by
it. Waves opened before per-wave pseudonyms (`per_wave_from`) keep the one pseudonym they were
answered with, so an open one still finds its answers.
"""

from __future__ import annotations

import hashlib
import hmac


def wave_pseudonym(key: bytes, wave_id: int, telegram_id: int) -> str:
    """A respondent's pseudonym in one wave: the same person has another one in the next."""
    message = f"wave:{int(wave_id)}:{int(telegram_id)}".encode()
    # 20 hex chars (80 bits): collisions are out of reach for any company's head count.
    return "r_" + hmac.new(key, message, hashlib.sha256).hexdigest()[:20]


def legacy_pseudonym(key: bytes, telegram_id: int) -> str:
    """The pseudonym of waves opened before per-wave pseudonyms (one for every wave)."""
    digest = hmac.new(key, str(int(telegram_id)).encode(), hashlib.sha256)
    return "r_" + digest.hexdigest()[:20]


def export_pseudonym(key: bytes, wave_id: int, respondent: str) -> str:
    """The pseudonym an export shows: different in every wave (waves stored with one pseudonym
    for all included), and not the stored one, so an export cannot be joined to the database."""
    message = f"export:{int(wave_id)}:{respondent}".encode()
    return "p_" + hmac.new(key, message, hashlib.sha256).hexdigest()[:16]


class Pseudonymizer:
    """The key in use; the app sets it at start, once the database has accepted it."""

    def __init__(
        self,
        key: bytes | None = None,
        per_wave_from: int = 1,
        *,
        identity_key: bytes | None = None,
    ) -> None:
        self._key: bytes | None = None
        self._identity_key: bytes | None = None
        self.per_wave_from = per_wave_from
        if key is not None:
            self.use(key, per_wave_from)
        if identity_key is not None:
            self.use_identity(identity_key)

    def use(self, key: bytes, per_wave_from: int) -> None:
        if not key:
            raise ValueError("empty pseudonym key")
        self._key = key
        self.per_wave_from = per_wave_from

    def use_identity(self, key: bytes) -> None:
        """The key of identity hashes (`keyed`): apart from the pseudonym key, so that
        `rotate-pseudonym-key` leaves them as they are (bot/customers/identity.py)."""
        if not key:
            raise ValueError("empty identity key")
        self._identity_key = key

    @property
    def key(self) -> bytes:
        if self._key is None:
            raise RuntimeError("the pseudonym key is not set (the app has not started)")
        return self._key

    def __call__(self, telegram_id: int, wave_id: int) -> str:
        if wave_id < self.per_wave_from:
            return legacy_pseudonym(self.key, telegram_id)
        return wave_pseudonym(self.key, wave_id, telegram_id)

    def for_export(self, wave_id: int, respondent: str) -> str:
        return export_pseudonym(self.key, wave_id, respondent)

    def scoped(self, scope: str, telegram_id: int) -> str:
        """A pseudonym for another purpose (e.g. one pulse round), unlinkable to the survey's."""
        message = f"{scope}:{int(telegram_id)}".encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()[:20]

    def keyed(self, label: str, value: str) -> str:
        """A keyed hash of `value` that must stay the same for years (`label` keeps uses apart):
        a forgotten customer's e-mail kept as the shop's customer id. Keyed by the identity
        key, not the pseudonym key: rotating that one must not let a forgotten person's next
        order be recorded under their e-mail again."""
        if self._identity_key is None:
            raise RuntimeError("the identity key is not set (the app has not started)")
        digest = hmac.new(self._identity_key, f"{label}\x00{value}".encode(), hashlib.sha256)
        return digest.hexdigest()[:32]
