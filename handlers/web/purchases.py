"""The purchases HTTP API, mounted on the bot's aiohttp app (HTTP_HOST:HTTP_PORT).

    POST /api/v1/purchases        an order → 201 {"order_id", "customer_link"} (200 when repeated)
    PUT  /api/v1/products/{sku}   the catalogue entry for a SKU → 201 created / 200 replaced

Every call needs `Authorization: Bearer <API_TOKEN>`. Every answer under /api/ is JSON, errors
included: {"error": "..."}, except a body that does not validate: 422 with a JSON list
[{"field", "message", "type"}, ...] naming each bad field. Fields the schema does not know are
ignored and named in the answer's "warnings". Purchases arriving together are written in one
transaction (bot/customers/ingest.py), each still answered on its own.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import math
import sqlite3
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web
from pydantic import ValidationError

from bot.customers.ingest import ingest
from bot.customers.purchases import Timing
from bot.customers.schema import ProductIn, PurchaseIn, check_sku, error_list, unknown_fields
from storage import DatabaseFileGone
from storage import customers as q

if TYPE_CHECKING:
    from handlers.web.context import WebContext

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
MAX_BODY = 1024 * 1024  # the web app's client_max_size; repeated here to refuse early
# Failed authentications per client address before it is refused for a while.
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=1)
BUSY_RETRY_SECONDS = 5

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(status: int, message: str, **extra: Any) -> web.Response:
    headers = extra.pop("headers", None)
    return web.json_response({"error": message, **extra}, status=status, headers=headers)


class FailedAuthLimiter:
    """Counts failed authentications per client address in a sliding window.

    Past MAX_FAILURES in FAILURE_WINDOW further failures from that address get 429 +
    Retry-After until its oldest failure leaves the window: guessing a token then takes
    centuries. Only failures are limited: a call with the right token is always served, so
    an attacker behind the same proxy as the shop cannot lock the shop out. Time is
    `time.monotonic` (a wall-clock step — NTP, a resumed VM — neither lifts nor stretches a
    limit). Memory is bounded: addresses without recent failures are forgotten.
    """

    def __init__(
        self,
        *,
        limit: int = MAX_FAILURES,
        window: timedelta = FAILURE_WINDOW,
        max_clients: int = 10_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window.total_seconds()
        self.max_clients = max_clients
        self.monotonic = monotonic
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, client: str, now: float) -> deque[float] | None:
        failures = self._failures.get(client)
        if failures is None:
            return None
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[client]
            return None
        return failures

    def retry_after(self, client: str) -> int | None:
        """Seconds until a failure from this client is answered 401 again, or None."""
        now = self.monotonic()
        failures = self._recent(client, now)
        if failures is None or len(failures) < self.limit:
            return None
        wait = failures[-self.limit] + self.window - now
        return max(1, math.ceil(wait))

    def record_failure(self, client: str) -> None:
        now = self.monotonic()
        if client not in self._failures and len(self._failures) >= self.max_clients:
            for other in list(self._failures):
                self._recent(other, now)
            if len(self._failures) >= self.max_clients:
                # Still full of live entries: drop the one tracked longest.
                self._failures.pop(next(iter(self._failures)))
        self._failures.setdefault(client, deque(maxlen=self.limit * 2)).append(now)


def refuse_failed_auth(
    limiter: FailedAuthLimiter, client: str, unauthorised: web.Response, *, why: str
) -> web.Response:
    """A failed authentication: counted, logged with `why` and answered `unauthorised`, or 429
    with Retry-After past the limit. A refused guess past the limit is neither counted nor
    logged: the window is not stretched, nor the log flooded, by an attacker who keeps
    knocking."""
    wait = limiter.retry_after(client)
    if wait is not None:
        return _error(
            429,
            "too many failed authentication attempts; try again later",
            headers={"Retry-After": str(wait)},
        )
    limiter.record_failure(client)
    log.warning("%s: refused a call from %s", why, client)
    return unauthorised


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


class PurchasesApi:
    def __init__(self, app: WebContext) -> None:
        self.app = app
        self.limiter = FailedAuthLimiter()
        token = app.settings.api_token.get_secret_value() if app.settings.api_token else ""
        # Compared as SHA-256 digests with hmac.compare_digest: constant time, and the length
        # of the token does not show either.
        self._token_digest = _digest(token) if token else None
        # Keys an e-mail used as a forgotten customer's id (bot/customers/identity.py).
        self.keys = app.pseudonyms
        self._username: str | None = None  # the bot's @username, once Telegram has told it

    # --- guard --------------------------------------------------------------------------------
    def guarded(self, handler: Handler) -> Handler:
        async def guard(request: web.Request) -> web.StreamResponse:
            client = request.remote or "unknown"
            if self._token_digest is None:
                return _error(401, "the API is disabled: API_TOKEN is not set on the server")
            if not self._authorised(request.headers.get("Authorization", "")):
                return refuse_failed_auth(
                    self.limiter,
                    client,
                    _error(
                        401,
                        "missing or wrong API token: send 'Authorization: Bearer <API_TOKEN>'",
                        headers={"WWW-Authenticate": "Bearer"},
                    ),
                    why="purchases API (bad or no token)",
                )
            try:
                return await handler(request)
            except DatabaseFileGone:
                return _error(
                    503,
                    "the bot's database file is gone; nothing was stored (the admins are told "
                    "in the bot's log)",
                    headers={"Retry-After": str(BUSY_RETRY_SECONDS * 12)},
                )
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc).lower() and "busy" not in str(exc).lower():
                    raise
                log.warning("purchases API: database busy, asked the client to retry")
                return _error(
                    503,
                    "the database is busy; retry shortly (nothing was stored)",
                    headers={"Retry-After": str(BUSY_RETRY_SECONDS)},
                )

        return guard

    def _authorised(self, header: str) -> bool:
        assert self._token_digest is not None
        scheme, _, given = header.strip().partition(" ")
        if scheme.lower() != "bearer":
            given = ""
        return hmac.compare_digest(_digest(given.strip()), self._token_digest)

    # --- endpoints ------------------------------------------------------------------------------
    async def post_purchase(self, request: web.Request) -> web.StreamResponse:
        body = await _read_body(request)
        if isinstance(body, web.Response):
            return body
        now = self.app.clock.now()
        try:
            purchase = PurchaseIn.model_validate_json(body, context={"now": now})
        except ValidationError as exc:
            return _validation_error(exc, "purchase")
        try:
            raw = json.loads(body)
        except ValueError:  # cannot happen after the schema read it; keep the answer anyway
            raw = None
        warnings = [f"ignored unknown field {name}" for name in unknown_fields(raw)]
        return await self.record(purchase, now, warnings=warnings)

    async def record(
        self,
        purchase: PurchaseIn,
        now: datetime,
        *,
        warnings: list[str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> web.Response:
        """Store a checked purchase and answer with its customer link (API and webhooks)."""
        username = await self._bot_username()
        if username is None:
            return _error(
                503,
                "Telegram is unreachable, so the customer link cannot be made; retry shortly "
                "(nothing was stored)",
                headers={"Retry-After": str(BUSY_RETRY_SECONDS)},
            )
        timing = Timing.from_settings(self.app.settings)
        done = await ingest(self.app.db, purchase, timing, now, self.keys)
        if done.conflict is not None:
            return _error(
                409,
                f"order_id {done.conflict.order_id!r} is already recorded for another customer",
                errors=[{"field": "order_id", "message": "already used for another customer"}],
            )
        if done.created:
            log.info("purchase %s recorded", purchase.order_id)
            if purchase.purchased_at + timing.review_delay <= now:
                self.app.outbox.kick()  # a late order whose review request is due already
        answer: dict[str, Any] = {
            "order_id": purchase.order_id,
            "customer_link": f"https://t.me/{username}?start={done.link_payload}",
            **(extra or {}),
        }
        if warnings:
            answer["warnings"] = warnings
        return web.json_response(answer, status=201 if done.created else 200)

    async def put_product(self, request: web.Request) -> web.StreamResponse:
        try:
            sku = check_sku(request.match_info["sku"])
        except ValidationError as exc:
            return _validation_error(exc, "SKU in the path")
        body = await _read_body(request)
        if isinstance(body, web.Response):
            return body
        try:
            product = ProductIn.model_validate_json(body)
        except ValidationError as exc:
            return _validation_error(exc, "product")
        async with self.app.db.write() as conn:
            created = await q.upsert_product(
                conn,
                sku,
                product.name,
                product.restock_days,
                product.reorder_url,
                self.app.clock.now(),
            )
        return web.json_response(
            {"sku": sku, **product.model_dump()}, status=201 if created else 200
        )

    async def _bot_username(self) -> str | None:
        """The bot's @username for the customer link: asked of Telegram until it answers once
        (as aiogram's own cache of getMe), then kept, so a crowd of requests does not set a
        timeout each (bench/ingest.py: 16 webhook senders)."""
        if self._username is not None:
            return self._username
        try:
            async with asyncio.timeout(10):
                me = await self.app.bot.me()
        except Exception as exc:  # any failure means the same to the shop: retry later
            log.warning("purchases API: getMe failed: %s", exc)
            return None
        self._username = me.username
        return me.username


async def _read_body(request: web.Request) -> bytes | web.Response:
    content_type = request.headers.get("Content-Type", "")
    if content_type and request.content_type != "application/json":
        return _error(415, "send the body as JSON with 'Content-Type: application/json'")
    if request.content_length is not None and request.content_length > MAX_BODY:
        return _too_large()
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _too_large()


def _too_large() -> web.Response:
    return _error(413, f"the body is larger than {MAX_BODY} bytes (1 MiB); nothing was stored")


def _validation_error(exc: ValidationError, what: str) -> web.Response:
    errors = error_list(exc)
    if any(e["type"] == "json_invalid" for e in errors):
        return _error(400, "the body is not valid JSON", detail=errors[0]["message"])
    log.info("purchases API: invalid %s refused (%d errors); nothing was stored", what, len(errors))
    return web.json_response(errors, status=422)


@web.middleware
async def _json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Under /api/ even aiohttp's own refusals (404, 405, 413) and crashes answer in JSON."""
    if not request.path.startswith("/api/"):
        return await handler(request)
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {k: v for k, v in exc.headers.items() if k in ("Allow", "Retry-After")}
        return _error(exc.status, exc.reason, headers=headers)
    except ConnectionError:
        # The client went away mid-request (or was cut off as too slow): nothing was
        # stored, nobody is there to answer, and it is no fault of ours worth a traceback.
        log.info("purchases API: %s %s: the client went away", request.method, request.path)
        return _error(400, "the connection was lost before the request was complete")
    except Exception:
        log.exception("purchases API: %s %s failed", request.method, request.path)
        return _error(500, "internal error; nothing was stored")


def setup_api(web_app: web.Application, app: WebContext) -> PurchasesApi:
    """Add the /api/v1 routes (and JSON error answers under /api/) to the bot's web app."""
    api = PurchasesApi(app)
    web_app.middlewares.append(_json_errors)
    web_app.router.add_post(f"{PREFIX}/purchases", api.guarded(api.post_purchase))
    web_app.router.add_put(f"{PREFIX}/products/{{sku}}", api.guarded(api.put_product))
    return api
