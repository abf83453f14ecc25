"""Signing in to the dashboard, as pure functions: one-time links, sessions, initData, CSRF.

- A link is a random token given to an admin in Telegram; only its SHA-256 is stored, it works
  once and for LINK_TTL.
- A session is another random token in an HttpOnly cookie; only its hash is stored, with the
  admin, a CSRF token and an expiry SESSION_TTL after sign-in.
- A Mini App proves who opened it with `initData`, signed by Telegram with a key derived from
  the bot token (https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app):
  secret_key = HMAC_SHA256(key="WebAppData", msg=bot_token); the data-check-string is every
  field but `hash`, as `key=value`, sorted by key, joined by «\\n»; `hash` is the hex
  HMAC_SHA256(key=secret_key, msg=data_check_string).
- A POST carries the session's CSRF token in a form field; a cookie alone (a cross-site form)
  is not enough.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from urllib.parse import parse_qsl

LINK_TTL = timedelta(minutes=10)
SESSION_TTL = timedelta(hours=12)
# initData older than this is refused: a Mini App opened a day ago and kept open is re-opened.
INIT_DATA_TTL = timedelta(hours=1)
TOKEN_BYTES = 32
COOKIE_NAME = "dashboard_session"


def new_token() -> str:
    """A random token for a link, a session or a form (256 bits, URL-safe)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What the database keeps of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def same_token(given: str | None, expected: str) -> bool:
    """Compare in constant time, so the time taken tells nothing about the expected value."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


class Refused(Enum):
    """Why a sign-in or a request was refused (each has its own page text)."""

    unknown = "unknown"  # no such link or session (forged, mistyped)
    used = "used"  # the link was already used
    expired = "expired"  # the link or the session is too old
    ended = "ended"  # the session was ended («Выйти», or the admin was removed)
    not_admin = "not_admin"  # the person is not (or no longer) an admin
    bad_signature = "bad_signature"  # initData not signed with this bot's token
    malformed = "malformed"  # initData without a user, a date or a hash


# --- links and sessions --------------------------------------------------------------------
@dataclass(frozen=True)
class LinkRow:
    admin_id: int
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True)
class SessionRow:
    admin_id: int
    csrf_token: str
    expires_at: datetime
    ended_at: datetime | None


def check_link(row: LinkRow | None, now: datetime) -> Refused | None:
    """None when the link may sign in now; else why not."""
    if row is None:
        return Refused.unknown
    if row.used_at is not None:
        return Refused.used
    if now >= row.expires_at:
        return Refused.expired
    return None


def check_session(row: SessionRow | None, now: datetime, *, is_admin: bool) -> Refused | None:
    """None when the session is good now; else why not. An admin removed since sign-in is
    refused at once, not when the session would expire."""
    if row is None:
        return Refused.unknown
    if row.ended_at is not None:
        return Refused.ended
    if now >= row.expires_at:
        return Refused.expired
    if not is_admin:
        return Refused.not_admin
    return None


# --- Mini App initData ---------------------------------------------------------------------
@dataclass(frozen=True)
class WebAppUser:
    id: int
    first_name: str
    username: str | None
    auth_date: datetime


def init_data_hash(fields: dict[str, str], bot_token: str) -> str:
    """The `hash` Telegram puts into initData with these fields (used by the check and tests)."""
    check_string = "\n".join(f"{key}={fields[key]}" for key in sorted(fields) if key != "hash")
    secret_key = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    return hmac.new(secret_key, check_string.encode(), hashlib.sha256).hexdigest()


def check_init_data(
    init_data: str, bot_token: str, now: datetime, *, max_age: timedelta = INIT_DATA_TTL
) -> WebAppUser | Refused:
    """The person who opened the Mini App, or why the data is refused."""
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return Refused.malformed
    fields = dict(pairs)
    if len(fields) != len(pairs) or "hash" not in fields:
        return Refused.malformed  # a repeated key could be read two ways
    if not same_token(fields["hash"], init_data_hash(fields, bot_token)):
        return Refused.bad_signature
    try:
        auth_date = datetime.fromtimestamp(int(fields["auth_date"]), tz=UTC)
        user = json.loads(fields["user"])
        user_id = int(user["id"])
    except (KeyError, ValueError, TypeError):
        return Refused.malformed
    if not isinstance(user, dict) or user_id <= 0:
        return Refused.malformed
    if now - auth_date > max_age or auth_date - now > timedelta(minutes=5):
        return Refused.expired
    return WebAppUser(
        id=user_id,
        first_name=str(user.get("first_name", "")),
        username=user.get("username") if isinstance(user.get("username"), str) else None,
        auth_date=auth_date,
    )
