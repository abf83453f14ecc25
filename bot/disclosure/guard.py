"""The pseudonym key's guard: the bot starts only with the key its database was used with.

A lost key used to be replaced silently, and everyone who had answered an open wave was then
asked again and counted twice. Now the database keeps the key's fingerprint, and a missing,
wrong, empty or corrupt key stops the start with one line saying what to do; replacing the key
is an explicit command (`python -m bot rotate-pseudonym-key`) that closes the open wave first.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from pathlib import Path

from bot.disclosure.keys import KeyCheck, KeyFileError, check_key, fingerprint, parse_key_file
from bot.settings import Settings
from storage import Database
from storage import disclosure as store

ROTATE = "python -m bot rotate-pseudonym-key"
_WHAT_TO_DO = f"put the old key back, or run `{ROTATE}` (it closes the open survey wave first)"


class PseudonymKeyError(Exception):
    """The key cannot be used with this database; the message is one line."""


def key_file_path(settings: Settings) -> Path:
    return settings.database_path.parent / (settings.database_path.name + ".pseudonym-key")


def identity_key_path(settings: Settings) -> Path:
    return settings.database_path.parent / (settings.database_path.name + ".identity-key")


def identity_key(settings: Settings, current: bytes) -> bytes:
    """The key of identity hashes (a forgotten customer's e-mail kept as the shop's id,
    bot/customers/identity.py), from `<DATABASE_PATH>.identity-key`.

    `rotate-pseudonym-key` replaces the pseudonym key; hashes made under it would then match
    no later order, and a forgotten person's next order would be recorded under their e-mail
    again. So identity hashes have a key of their own, never rotated. The file is made on
    the first start that lacks it, from `current` (the pseudonym key this database was used
    with), so the hashes made before it existed, under that key, still match.
    """
    path = identity_key_path(settings)
    if path.exists():
        key = path.read_bytes().strip()
        if not key:
            raise PseudonymKeyError(
                f"the identity key file {path} is empty; put back the copy you kept "
                "(without it, forgotten customers' later orders would not be recognised)"
            )
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(current + b"\n")
    path.chmod(0o600)
    return current


def _env_key(settings: Settings) -> bytes | None:
    secret = settings.pseudonym_secret
    return secret.get_secret_value().encode() if secret and secret.get_secret_value() else None


def read_key(settings: Settings) -> tuple[bytes | None, str]:
    """(the key, where it comes from); the key is None when there is no key file yet.

    Raises KeyFileError for an empty or corrupt key file.
    """
    env = _env_key(settings)
    if env is not None:
        return env, "PSEUDONYM_SECRET"
    path = key_file_path(settings)
    if not path.exists():
        return None, str(path)
    return parse_key_file(path.read_bytes(), str(path)), str(path)


async def guard_key(db: Database, settings: Settings, now: datetime) -> tuple[bytes, int]:
    """The key to use and the first wave with per-wave pseudonyms; PseudonymKeyError if the
    key is not this database's. The first start records the key's fingerprint."""
    try:
        key, where = read_key(settings)
    except KeyFileError as exc:
        raise PseudonymKeyError(f"{exc}; {_WHAT_TO_DO}") from None
    async with db.write() as conn:
        stored = await store.key_fingerprint(conn)
        if key is None:
            if stored is not None or await store.open_wave_has_answers(conn):
                raise PseudonymKeyError(
                    f"the pseudonym key file {where} is missing, and this database was used "
                    f"with a key; {_WHAT_TO_DO}"
                )
            key = settings.resolve_pseudonym_secret()  # creates the key file
        check = check_key(stored, key)
        if check is KeyCheck.MISMATCH:
            raise PseudonymKeyError(
                f"the pseudonym key in {where} is not the key this database was used with; "
                f"{_WHAT_TO_DO}"
            )
        if check is KeyCheck.NEW:
            await store.set_key_fingerprint(conn, fingerprint(key), now)
        return key, await store.per_wave_from(conn)


def new_key(settings: Settings, now: datetime) -> tuple[bytes, str, Path | None]:
    """A key for `rotate-pseudonym-key`: (key, where, the old key file moved aside or None).

    With PSEUDONYM_SECRET set, that is the new key (the admin changed it); otherwise a fresh key
    file is written, and an old one is kept beside it, renamed, in case it is wanted back.
    """
    env = _env_key(settings)
    if env is not None:
        return env, "PSEUDONYM_SECRET", None
    path = key_file_path(settings)
    kept = None
    if path.exists():
        kept = path.with_name(path.name + ".replaced-" + now.strftime("%Y%m%d-%H%M%S"))
        path.rename(kept)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    path.write_text(key + "\n", encoding="utf-8")
    path.chmod(0o600)
    return key.encode(), str(path), kept


async def keep_identity_key(db: Database, settings: Settings) -> bool:
    """Before a rotation: make sure identity hashes keep the key they were made with.

    A bot started since identity keys exist has its file already. One that has not (an
    upgrade, then a rotation before any start) still hashed under the pseudonym key: if the key
    in use now is still this database's, it becomes the identity key. False when the old key
    is gone already (PSEUDONYM_SECRET changed before the command) and no identity key exists.
    """
    if identity_key_path(settings).exists():
        return True
    try:
        key, _ = read_key(settings)
    except KeyFileError:
        key = None
    async with db.read() as conn:
        stored = await store.key_fingerprint(conn)
    if stored is None:
        return True  # never started: nothing was hashed yet
    if key is None or check_key(stored, key) is not KeyCheck.MATCH:
        return False
    identity_key(settings, key)
    return True


async def record_key(db: Database, key: bytes, now: datetime) -> None:
    async with db.write() as conn:
        await store.set_key_fingerprint(conn, fingerprint(key), now)


__all__ = [
    "ROTATE",
    "KeyFileError",
    "PseudonymKeyError",
    "guard_key",
    "identity_key",
    "identity_key_path",
    "keep_identity_key",
    "key_file_path",
    "new_key",
    "read_key",
    "record_key",
]
