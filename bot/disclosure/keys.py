"""The pseudonym key: its fingerprint, reading its file, and the pseudonyms derived from it.

The database keeps a fingerprint of the key (an HMAC of a fixed label under the key), never the
key: it tells a wrong key from the right one, and gives nothing that helps to guess the key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from enum import Enum

from bot.pseudonym import export_pseudonym, legacy_pseudonym, wave_pseudonym

FINGERPRINT_LABEL = b"feedback-bot pseudonym key fingerprint v1"
KEY_MIN_LENGTH = 16
# What `secrets.token_urlsafe` writes; anything else in the file is damage, not a key.
_KEY_FILE_RE = re.compile(r"^[A-Za-z0-9_-]+$")


class KeyFileError(ValueError):
    """The key file cannot be used as it is; the message is one line saying why."""


def fingerprint(key: bytes) -> str:
    return "v1:" + hmac.new(key, FINGERPRINT_LABEL, hashlib.sha256).hexdigest()


class KeyCheck(Enum):
    NEW = "new"  # the database has no fingerprint yet: this key becomes its key
    MATCH = "match"
    MISMATCH = "mismatch"


def check_key(stored: str | None, key: bytes) -> KeyCheck:
    if stored is None:
        return KeyCheck.NEW
    return KeyCheck.MATCH if hmac.compare_digest(stored, fingerprint(key)) else KeyCheck.MISMATCH


def parse_key_file(raw: bytes, path: str) -> bytes:
    """The key in a key file's bytes, or KeyFileError (empty, not text, or damaged)."""
    try:
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise KeyFileError(f"the pseudonym key file {path} is corrupt (not text)") from None
    if not text:
        raise KeyFileError(f"the pseudonym key file {path} is empty")
    if len(text) < KEY_MIN_LENGTH or not _KEY_FILE_RE.match(text):
        raise KeyFileError(f"the pseudonym key file {path} is corrupt (not a key)")
    return text.encode()


__all__ = [
    "KeyCheck",
    "KeyFileError",
    "check_key",
    "export_pseudonym",
    "fingerprint",
    "legacy_pseudonym",
    "parse_key_file",
    "wave_pseudonym",
]
