"""Shop systems' webhook bodies, signed and mapped as they are published (pure)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.integrations import mapping
from bot.integrations.signatures import (
    bearer,
    hmac_base64,
    shopify_valid,
    token_valid,
    woocommerce_valid,
)

SHOPS = Path(__file__).parent / "fixtures" / "shops"
MSK = ZoneInfo("Europe/Moscow")


def phone_key(text: str) -> str:
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) < 10:
        raise ValueError("too few digits")
    return "+" + digits


def test_a_body_signed_by_woocommerce_itself_verifies() -> None:
    signed = json.loads((SHOPS / "woocommerce_webhook_signed.json").read_text())
    body = signed["body"].encode()
    header = signed["headers"]["X-WC-Webhook-Signature"]
    assert woocommerce_valid(signed["secret"], body, header)
    assert not woocommerce_valid("other", body, header)
    assert not woocommerce_valid(signed["secret"], body + b" ", header)
    assert not woocommerce_valid("", body, header)


@given(st.binary(max_size=300), st.text(min_size=1, max_size=30))
def test_shopify_signature_is_base64_hmac_of_the_raw_body(body: bytes, secret: str) -> None:
    assert shopify_valid(secret, body, hmac_base64(secret, body))
    assert not shopify_valid(secret, body + b"x", hmac_base64(secret, body))
    assert not shopify_valid(secret, body, None)


def test_tokens() -> None:
    assert bearer("Bearer abc") == "abc"
    assert bearer("Basic abc") is None
    assert token_valid("abc", "abc")
    assert not token_valid("abc", "abd")
    assert not token_valid("", "")


def test_shopify_order_maps_by_order_name_and_email_and_skips_the_gift_card() -> None:
    payload = json.loads((SHOPS / "shopify_orders_create.json").read_text())
    out = mapping.shopify(payload, phone_key)
    assert out.skipped_items == 1
    body = out.body
    assert body is not None
    assert body["order_id"] == "#9999"
    assert body["customer"]["id"] == "jon@example.com"
    assert body["customer"]["name"] == "Steve Shipper"
    assert body["purchased_at"] == "2024-11-10T10:30:00-05:00"
    assert [(i["sku"], i["quantity"], i["price"], i["currency"]) for i in body["items"]] == [
        ("IPOD2008PINK", 1, "199.00", "USD"),
        ("IPOD2008PINK", 1, "199.00", "USD"),
    ]


def test_woocommerce_guest_order_uses_gmt_time_and_email() -> None:
    payload = json.loads((SHOPS / "woocommerce_order_created.json").read_text())
    body = mapping.woocommerce(payload, phone_key, MSK).body
    assert body is not None
    assert body["order_id"] == "1194"
    assert body["customer"]["id"] == "vishal@example.com"  # customer_id 0: a guest
    assert body["purchased_at"] == "2019-07-19T20:38:30+00:00"
    assert body["items"] == [
        {
            "sku": "woo-hoodie-blue-logo",
            "name": "Hoodie - Blue, Yes",
            "quantity": 2,
            "price": "2026",
            "currency": "USD",
        }
    ]


def test_woocommerce_signed_body_without_sku_uses_the_product_id() -> None:
    signed = json.loads((SHOPS / "woocommerce_webhook_signed.json").read_text())
    with pytest.raises(mapping.NotAnOrder):
        mapping.woocommerce("not an order", phone_key, MSK)
    body = mapping.woocommerce(json.loads(signed["body"]), phone_key, MSK).body
    assert body is not None
    assert body["items"][0]["sku"] == "23"
    assert body["customer"]["id"] == "jamy@example.com"
    assert body["order_id"] == ""  # this published body has no id: the schema refuses it


def test_retailcrm_order_naive_time_offer_article_and_no_external_customer() -> None:
    payload = json.loads((SHOPS / "retailcrm_order.json").read_text())
    out = mapping.retailcrm(payload, phone_key, MSK)
    assert out.skipped_items == 1  # the service line has no offer
    body = out.body
    assert body is not None
    assert body["order_id"] == "171"
    assert body["customer"]["id"] == "ldcrkxrfb@emltmp.com"
    assert body["purchased_at"] == "2017-07-15T11:23:38+00:00"  # 14:23:38 in Moscow
    assert body["items"][0]["sku"] == "DC23-PINK"
    assert body["items"][0]["quantity"] == 2
    assert Decimal(body["items"][0]["price"]) == 25000


def test_retailcrm_trigger_bodies_json_or_form() -> None:
    order = json.loads((SHOPS / "retailcrm_order.json").read_text())
    as_json = json.dumps({"order": order}).encode()
    assert mapping.retailcrm_body(as_json, "application/json") == order
    from urllib.parse import urlencode

    form = urlencode({"order": json.dumps(order)}).encode()
    assert mapping.retailcrm_body(form, "application/x-www-form-urlencoded") == order
    with pytest.raises(mapping.NotAnOrder):
        mapping.retailcrm_body(b"x=1", "application/x-www-form-urlencoded")


def test_an_order_of_gift_cards_only_is_nothing_to_record() -> None:
    payload = {
        "name": "#1",
        "created_at": "2024-01-01T00:00:00Z",
        "line_items": [{"sku": "", "gift_card": True, "quantity": 1}],
    }
    out = mapping.shopify(payload, phone_key)
    assert out.body is None
    assert out.skipped_items == 1
