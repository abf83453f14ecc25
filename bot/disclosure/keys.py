"""The pseudonym key: its fingerprint, reading its file, and the pseudonyms derived from it.

The database keeps a fingerprint of the key (an HMAC of a fixed label under the key), never the
key: it tells a wrong key from the right one, and gives nothing that helps to guess the key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from enum import Enum

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
    """The pseudonym an export shows: different in every wave, even for waves stored with one
    pseudonym for all waves, and not the stored one (an export cannot be joined to the
    database)."""
    message = f"export:{int(wave_id)}:{respondent}".encode()
    return "p_" + hmac.new(key, message, hashlib.sha256).hexdigest()[:16]
