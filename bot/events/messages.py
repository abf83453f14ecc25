"""The `event_out` outbox kind: posts a stored event to WEBHOOK_OUT_URL, signed.

Headers: `X-Feedback-Event` (the type), `X-Feedback-Event-Id`, and `X-Feedback-Signature:
t=<unix time>,v1=<hex HMAC-SHA256(WEBHOOK_OUT_SECRET, "<t>." + body)>` (bot/events/signing.py).
Any answer but 2xx, a timeout or a refused connection is retried: 10 s, doubling, at most an
hour apart, for as long as it takes (the row keeps its attempts and last error). Not paced by
the Telegram sender and not held to SEND_HOURS: it is for a machine.
"""

from __future__ import annotations

import json
from datetime import timedelta

import aiohttp
import aiosqlite

from bot.events.signing import EVENT_ID_HEADER, EVENT_KIND_HEADER, SIGNATURE_HEADER, signature
from bot.outbox import Delivered, Kind, Post, RenderContext, Rendered, Skip
from storage import outbox
from storage.outbox import EVENT_OUT, OutboxRow

TIMEOUT_SECONDS = 10
FIRST_RETRY = timedelta(seconds=10)
MAX_RETRY = timedelta(hours=1)


def retry_delay(attempts: int) -> timedelta:
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), MAX_RETRY)


async def render_event(ctx: RenderContext, conn: aiosqlite.Connection, row: OutboxRow) -> Rendered:
    if not ctx.settings.webhook_out_url:
        return Skip("cancelled", "WEBHOOK_OUT_URL is empty: events out are off")
    stored = await outbox.event_body(conn, row.ref_id or 0)
    if stored is None:
        return Skip("failed", "the event's body is gone")
    return Post(stored[1])


async def post_event(ctx: RenderContext, row: OutboxRow, post: Post) -> Delivered:
    settings = ctx.settings
    raw = post.body.encode()
    now = ctx.clock.now()
    secret = settings.webhook_out_secret.get_secret_value() if settings.webhook_out_secret else ""
    headers = {"Content-Type": "application/json", "User-Agent": "feedback-bot events"}

    parsed = json.loads(post.body)
    headers[EVENT_ID_HEADER] = str(parsed.get("id", ""))
    headers[EVENT_KIND_HEADER] = str(parsed.get("type", ""))
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, raw, int(now.timestamp()))
    error: str
    try:
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.post(str(settings.webhook_out_url), data=raw, headers=headers) as response,
        ):
            if 200 <= response.status < 300:
                return Delivered(True)
            error = f"HTTP {response.status} from the receiver"
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
    return Delivered(False, error, now + retry_delay(row.attempts))


KINDS: tuple[Kind, ...] = (
    Kind(EVENT_OUT, render_event, respects_send_window=False, deliver=post_event),
)
