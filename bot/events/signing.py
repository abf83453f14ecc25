"""How the bot signs the events it posts to WEBHOOK_OUT_URL, and how a receiver checks them.

`X-Feedback-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + raw body)>`.
The timestamp is inside what is signed, so a captured request cannot be replayed later: a
receiver refuses one whose `t` is more than a few minutes from its own clock (`verify` does).
Each event also carries its id (`X-Feedback-Event-Id` and `"id"` in the body), the same on every
retry, so a receiver that saw it already can answer 200 and do nothing.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Feedback-Signature"
EVENT_ID_HEADER = "X-Feedback-Event-Id"
EVENT_KIND_HEADER = "X-Feedback-Event"
TOLERANCE_SECONDS = 300


def signature(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(
    secret: str, body: bytes, header: str | None, now: int, tolerance: int = TOLERANCE_SECONDS
) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent."""
    if not header:
        return False
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))
