"""Shop systems' webhooks, as each system sends them, on the bot's web server.

    POST /api/v1/integrations/shopify      orders/create, orders/paid; X-Shopify-Hmac-Sha256
    POST /api/v1/integrations/woocommerce  order.created, order.updated; X-WC-Webhook-Signature
    POST /api/v1/integrations/retailcrm    a trigger's order (JSON, or a form with `order`);
                                           Authorization: Bearer <token> or ?token=<token>

A body whose signature (or token) does not match is refused with 401 before it is read as
JSON, and nothing is written. Each order goes through the same recording as the purchases API
(idempotent by order id: a repeated delivery answers 200 and changes nothing). Other topics (a
WooCommerce ping, a product webhook) answer 200 with what was ignored, so the system does not
retry them. Refusals are JSON `{"error": "..."}` in plain words, as the API's.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from typing import TYPE_CHECKING, Any

from aiohttp import web
from pydantic import ValidationError

from bot.customers.phones import InvalidPhone, to_e164
from bot.customers.schema import PurchaseIn
from bot.integrations import mapping as systems
from bot.integrations.signatures import bearer, shopify_valid, token_valid, woocommerce_valid
from handlers.web.purchases import (
    BUSY_RETRY_SECONDS,
    MAX_BODY,
    PREFIX,
    FailedAuthLimiter,
    PurchasesApi,
    _error,
    _validation_error,
    refuse_failed_auth,
)

if TYPE_CHECKING:
    from handlers.web.context import WebContext

log = logging.getLogger(__name__)

SHOPIFY_TOPICS = frozenset({"orders/create", "orders/paid"})
WOOCOMMERCE_TOPICS = frozenset({"order.created", "order.updated"})
# WooCommerce orders in these states are not purchases to follow up.
WOOCOMMERCE_SKIP_STATUS = frozenset({"cancelled", "failed", "refunded", "trash", "checkout-draft"})


def _phone_key(text: str) -> str:
    try:
        return to_e164(text)
    except InvalidPhone as exc:
        raise ValueError(str(exc)) from None


def _secret(value: Any) -> str:
    return value.get_secret_value() if value is not None else ""


class Integrations:
    def __init__(self, ctx: WebContext, api: PurchasesApi) -> None:
        self.ctx = ctx
        self.api = api
        self.limiter = FailedAuthLimiter()

    async def _raw(self, request: web.Request) -> bytes | web.Response:
        if request.content_length is not None and request.content_length > MAX_BODY:
            return _error(
                413, f"the body is larger than {MAX_BODY} bytes (1 MiB); nothing was stored"
            )
        try:
            return await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _error(
                413, f"the body is larger than {MAX_BODY} bytes (1 MiB); nothing was stored"
            )

    def _refuse(self, request: web.Request, system: str, why: str) -> web.Response:
        """A failed authentication: 401, or 429 past the limit. Only failures are limited, so
        a right signature is always served (issue 10, item 13), as in the purchases API."""
        client = request.remote or "unknown"
        return refuse_failed_auth(
            self.limiter, client, _error(401, why), why=f"{system} webhook ({why})"
        )

    async def _store(self, system: str, mapped: systems.Mapped, *, topic: str) -> web.Response:
        if mapped.body is None:
            return web.json_response(
                {
                    "ignored": "the order has no item with a SKU",
                    "skipped_items": mapped.skipped_items,
                }
            )
        now = self.ctx.clock.now()
        try:
            purchase = PurchaseIn.model_validate(mapped.body, strict=False, context={"now": now})
        except ValidationError as exc:
            return _validation_error(exc, f"{system} order")
        try:
            return await self.api.record(
                purchase, now, extra={"skipped_items": mapped.skipped_items, "topic": topic}
            )
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc).lower() and "busy" not in str(exc).lower():
                raise
            return _error(
                503,
                "the database is busy; retry shortly (nothing was stored)",
                headers={"Retry-After": str(BUSY_RETRY_SECONDS)},
            )

    # --- Shopify ----------------------------------------------------------------------------
    async def shopify(self, request: web.Request) -> web.StreamResponse:
        secret = _secret(self.ctx.settings.shopify_webhook_secret)
        if not secret:
            return self._refuse(
                request, "shopify", "Shopify webhooks are off: SHOPIFY_WEBHOOK_SECRET is not set"
            )
        raw = await self._raw(request)
        if isinstance(raw, web.Response):
            return raw
        if not shopify_valid(secret, raw, request.headers.get("X-Shopify-Hmac-Sha256")):
            return self._refuse(
                request, "shopify", "the X-Shopify-Hmac-Sha256 signature does not match"
            )
        topic = request.headers.get("X-Shopify-Topic", "orders/create")
        if topic not in SHOPIFY_TOPICS:
            return web.json_response({"ignored": f"topic {topic}"})
        payload = _json(raw)
        if isinstance(payload, web.Response):
            return payload
        try:
            mapped = systems.shopify(payload, _phone_key)
        except systems.NotAnOrder as exc:
            return _error(422, str(exc))
        return await self._store("shopify", mapped, topic=topic)

    # --- WooCommerce ------------------------------------------------------------------------
    async def woocommerce(self, request: web.Request) -> web.StreamResponse:
        secret = _secret(self.ctx.settings.woocommerce_webhook_secret)
        if not secret:
            return self._refuse(
                request,
                "woocommerce",
                "WooCommerce webhooks are off: WOOCOMMERCE_WEBHOOK_SECRET is not set",
            )
        raw = await self._raw(request)
        if isinstance(raw, web.Response):
            return raw
        if not woocommerce_valid(secret, raw, request.headers.get("X-WC-Webhook-Signature")):
            return self._refuse(
                request, "woocommerce", "the X-WC-Webhook-Signature signature does not match"
            )
        topic = request.headers.get("X-WC-Webhook-Topic", "order.created")
        if request.content_type != "application/json" and raw.startswith(b"webhook_id="):
            return web.json_response({"ignored": "ping"})  # sent once when the webhook is saved
        if topic not in WOOCOMMERCE_TOPICS:
            return web.json_response({"ignored": f"topic {topic}"})
        payload = _json(raw)
        if isinstance(payload, web.Response):
            return payload
        if isinstance(payload, dict) and str(payload.get("status", "")) in WOOCOMMERCE_SKIP_STATUS:
            return web.json_response({"ignored": f"order status {payload['status']}"})
        try:
            mapped = systems.woocommerce(payload, _phone_key, self.ctx.settings.tz)
        except systems.NotAnOrder as exc:
            return _error(422, str(exc))
        return await self._store("woocommerce", mapped, topic=topic)

    # --- RetailCRM --------------------------------------------------------------------------
    async def retailcrm(self, request: web.Request) -> web.StreamResponse:
        token = _secret(self.ctx.settings.retailcrm_webhook_token)
        if not token:
            return self._refuse(
                request,
                "retailcrm",
                "RetailCRM webhooks are off: RETAILCRM_WEBHOOK_TOKEN is not set",
            )
        given = bearer(request.headers.get("Authorization")) or request.query.get("token")
        if not token_valid(token, given):
            return self._refuse(
                request,
                "retailcrm",
                "missing or wrong token: send 'Authorization: Bearer <token>' or '?token=<token>'",
            )
        raw = await self._raw(request)
        if isinstance(raw, web.Response):
            return raw
        try:
            payload = systems.retailcrm_body(raw, request.content_type)
        except systems.NotAnOrder as exc:
            return _error(422, str(exc))
        except (ValueError, UnicodeDecodeError):
            return _error(400, "the body is not valid JSON (nor a form with an order field)")
        try:
            mapped = systems.retailcrm(payload, _phone_key, self.ctx.settings.tz)
        except systems.NotAnOrder as exc:
            return _error(422, str(exc))
        return await self._store("retailcrm", mapped, topic="order")


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return _error(400, "the body is not valid JSON")


def setup_integrations(web_app: web.Application, ctx: WebContext, api: PurchasesApi) -> None:
    hooks = Integrations(ctx, api)
    web_app.router.add_post(f"{PREFIX}/integrations/shopify", hooks.shopify)
    web_app.router.add_post(f"{PREFIX}/integrations/woocommerce", hooks.woocommerce)
    web_app.router.add_post(f"{PREFIX}/integrations/retailcrm", hooks.retailcrm)
