"""Shops' webhooks through real HTTP against the running app: signatures, mapping, idempotency."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

from bot.app import BotApp
from bot.clock import FakeClock
from bot.integrations.signatures import hmac_base64
from bot.settings import Settings
from tests.ingest_helpers import Api, counts, purchase, rows, started_without_polling

SHOPS = Path(__file__).parent / "fixtures" / "shops"
SHOPIFY_SECRET = "shpss_test_secret"
WOO_SECRET = "woocommerce"  # the secret the published signed body was signed with
CRM_TOKEN = "crm-token"


@pytest.fixture
async def app(make_settings: Callable[..., Settings], clock: FakeClock) -> AsyncIterator[BotApp]:
    settings = make_settings(
        shopify_webhook_secret=SHOPIFY_SECRET,
        woocommerce_webhook_secret=WOO_SECRET,
        retailcrm_webhook_token=CRM_TOKEN,
    )
    application = await started_without_polling(settings, clock)
    yield application
    await application.stop()


@pytest.fixture
async def api(app: BotApp) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as session:
        yield Api(app, session)


async def post(api: Api, system: str, raw: bytes, headers: dict[str, str], **kw: Any):
    status, payload, _ = await api.call(
        "POST", f"/api/v1/integrations/{system}", raw=raw, token=None, headers=headers, **kw
    )
    return status, payload


def shopify_body() -> bytes:
    return (SHOPS / "shopify_orders_create.json").read_bytes()


async def test_signed_shopify_order_is_recorded_once_with_prices(app: BotApp, api: Api) -> None:
    raw = shopify_body()
    headers = {
        "X-Shopify-Hmac-Sha256": hmac_base64(SHOPIFY_SECRET, raw),
        "X-Shopify-Topic": "orders/create",
    }

    status, answer = await post(api, "shopify", raw, headers)

    assert status == 201
    assert answer["order_id"] == "#9999"
    assert answer["skipped_items"] == 1  # the gift card
    assert answer["customer_link"].startswith("https://t.me/feedback_test_bot?start=c_")
    [customer] = await rows(app.db, "SELECT external_id, name, email FROM customers")
    assert customer == {
        "external_id": "jon@example.com",
        "name": "Steve Shipper",
        "email": "jon@example.com",
    }
    items = await rows(
        app.db, "SELECT sku, quantity, price_cents, currency FROM order_items ORDER BY id"
    )
    assert items == [
        {"sku": "IPOD2008PINK", "quantity": 1, "price_cents": 19900, "currency": "USD"},
        {"sku": "IPOD2008PINK", "quantity": 1, "price_cents": 19900, "currency": "USD"},
    ]
    # Shopify retries a delivery it did not see answered: the same order again changes nothing.
    before = await counts(app.db)
    again = await post(api, "shopify", raw, {**headers, "X-Shopify-Topic": "orders/paid"})
    assert again[0] == 200
    assert await counts(app.db) == before


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Shopify-Hmac-Sha256": "bm90IGl0"},
        {"X-Shopify-Hmac-Sha256": hmac_base64("another secret", shopify_body())},
    ],
)
async def test_shopify_signature_mismatch_is_401_and_writes_nothing(
    app: BotApp, api: Api, headers: dict[str, str]
) -> None:
    status, answer = await post(api, "shopify", shopify_body(), headers)

    assert status == 401
    assert "signature" in answer["error"]
    assert set((await counts(app.db)).values()) == {0}


async def test_a_changed_body_under_an_old_signature_is_refused(app: BotApp, api: Api) -> None:
    raw = shopify_body()
    signature = hmac_base64(SHOPIFY_SECRET, raw)
    forged = raw.replace(b'"199.00"', b'"1.00"')

    status, _ = await post(api, "shopify", forged, {"X-Shopify-Hmac-Sha256": signature})

    assert status == 401
    assert set((await counts(app.db)).values()) == {0}


async def test_bad_signatures_are_limited_but_a_right_one_always_goes_through(
    app: BotApp, api: Api
) -> None:
    raw = shopify_body()
    wrong = {"X-Shopify-Hmac-Sha256": hmac_base64("not-the-secret", raw)}
    statuses = [(await post(api, "shopify", raw, wrong))[0] for _ in range(8)]
    assert statuses[:5] == [401] * 5
    assert 429 in statuses[5:]  # guessing is throttled …

    status, _ = await post(
        api, "shopify", raw, {"X-Shopify-Hmac-Sha256": hmac_base64(SHOPIFY_SECRET, raw)}
    )
    assert status == 201  # … but the shop itself, from the same address, is never locked out


async def test_other_shopify_topics_are_acknowledged_and_ignored(app: BotApp, api: Api) -> None:
    raw = b'{"id": 1, "title": "a product"}'
    headers = {
        "X-Shopify-Hmac-Sha256": hmac_base64(SHOPIFY_SECRET, raw),
        "X-Shopify-Topic": "products/update",
    }

    status, answer = await post(api, "shopify", raw, headers)

    assert status == 200
    assert answer == {"ignored": "topic products/update"}


async def test_woocommerce_body_signed_by_woocommerce_passes_the_check(
    app: BotApp, api: Api
) -> None:
    signed = json.loads((SHOPS / "woocommerce_webhook_signed.json").read_text())
    raw = signed["body"].encode()

    status, answer = await post(api, "woocommerce", raw, signed["headers"])

    # The signature is WooCommerce's own and matches; this published body (a partial order)
    # has no id and no date, so the schema refuses it, naming the fields; nothing is written.
    assert status == 422
    assert [e["field"] for e in answer] == ["order_id", "purchased_at"]
    assert set((await counts(app.db)).values()) == {0}
    tampered = await post(api, "woocommerce", raw + b" ", signed["headers"])
    assert tampered[0] == 401


async def test_woocommerce_guest_order_and_ping(app: BotApp, api: Api) -> None:
    raw = (SHOPS / "woocommerce_order_created.json").read_bytes()
    headers = {
        "X-WC-Webhook-Signature": hmac_base64(WOO_SECRET, raw),
        "X-WC-Webhook-Topic": "order.created",
    }

    status, answer = await post(api, "woocommerce", raw, headers)

    assert status == 201
    assert answer["order_id"] == "1194"
    [customer] = await rows(app.db, "SELECT external_id, phone, email FROM customers")
    assert customer["external_id"] == "vishal@example.com"  # customer_id 0: a guest by e-mail
    [order] = await rows(app.db, "SELECT purchased_at FROM orders")
    assert order["purchased_at"] == "2019-07-19T20:38:30.000000Z"  # date_created_gmt
    ping = b"webhook_id=12"
    status, answer = await post(
        api,
        "woocommerce",
        ping,
        {
            "X-WC-Webhook-Signature": hmac_base64(WOO_SECRET, ping),
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert (status, answer) == (200, {"ignored": "ping"})


async def test_retailcrm_trigger_json_with_bearer_and_form_with_query_token(
    app: BotApp, api: Api
) -> None:
    order = json.loads((SHOPS / "retailcrm_order.json").read_text())
    status, answer = await post(
        api,
        "retailcrm",
        json.dumps({"order": order}).encode(),
        {"Authorization": f"Bearer {CRM_TOKEN}"},
    )
    assert status == 201
    assert answer["order_id"] == "171"
    [item] = await rows(app.db, "SELECT sku, quantity, price_cents FROM order_items")
    assert item == {"sku": "DC23-PINK", "quantity": 2, "price_cents": 2500000}

    second = {**order, "externalId": "172"}
    form = urlencode({"order": json.dumps(second)}).encode()
    status, payload, _ = await api.call(
        "POST",
        f"/api/v1/integrations/retailcrm?token={CRM_TOKEN}",
        raw=form,
        token=None,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 201
    assert payload["order_id"] == "172"


async def test_retailcrm_wrong_token_is_401(app: BotApp, api: Api) -> None:
    order = (SHOPS / "retailcrm_order.json").read_bytes()
    for headers in ({}, {"Authorization": "Bearer nope"}):
        status, answer = await post(api, "retailcrm", order, headers)
        assert status == 401
        assert "token" in answer["error"]
    assert set((await counts(app.db)).values()) == {0}


async def test_webhooks_are_off_without_their_secret(
    make_settings: Callable[..., Settings], clock: FakeClock
) -> None:
    app = await started_without_polling(make_settings(), clock)
    try:
        async with aiohttp.ClientSession() as session:
            api = Api(app, session)
            raw = shopify_body()
            status, answer = await post(
                api, "shopify", raw, {"X-Shopify-Hmac-Sha256": hmac_base64("", raw)}
            )
        assert status == 401
        assert "SHOPIFY_WEBHOOK_SECRET" in answer["error"]
    finally:
        await app.stop()


async def test_api_takes_price_currency_email_and_warns_of_unknown_fields(
    app: BotApp, api: Api
) -> None:
    body = purchase(
        items=[
            {
                "sku": "HNY",
                "name": "Мёд",
                "quantity": 0.5,
                "price": "1 190,50",
                "currency": "rub",
                "colour": "gold",
            }
        ]
    )
    body["customer"]["email"] = "Anna@Example.RU"
    body["coupon"] = "FREE"

    status, answer = await api.purchase(body)

    assert status == 201
    assert answer["warnings"] == [
        "ignored unknown field coupon",
        "ignored unknown field items.0.colour",
    ]
    [item] = await rows(app.db, "SELECT quantity, price_cents, currency FROM order_items")
    assert item == {"quantity": 0.5, "price_cents": 119050, "currency": "RUB"}
    [customer] = await rows(app.db, "SELECT email FROM customers")
    assert customer == {"email": "anna@example.ru"}
