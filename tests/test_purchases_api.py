"""The purchases API through real HTTP against the running app; rows checked in SQLite."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from bot.app import BotApp
from bot.clock import FakeClock
from bot.customers import batch, purchases
from bot.emulator import BotAPIEmulator
from bot.settings import Settings
from handlers.web.purchases import FailedAuthLimiter
from storage.timestamps import from_db
from tests.conftest import START
from tests.ingest_helpers import Api, counts, outbox, purchase, rows, started_without_polling


@pytest.fixture
async def app(make_settings: Callable[..., Settings], clock: FakeClock) -> AsyncIterator[BotApp]:
    application = await started_without_polling(make_settings(), clock)
    yield application
    await application.stop()


@pytest.fixture
async def api(app: BotApp) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as session:
        yield Api(app, session)


# --- the happy path ---------------------------------------------------------------------------
async def test_purchase_is_recorded_with_its_messages(app: BotApp, api: Api) -> None:
    status, body = await api.purchase(purchase())

    assert status == 201
    [customer] = await rows(app.db, "SELECT * FROM customers")
    assert body == {
        "order_id": "A-1",
        "customer_link": f"https://t.me/feedback_test_bot?start=c_{customer['link_token']}",
    }
    assert customer["external_id"] == "cust-1"
    assert customer["phone"] == "+79991234567"
    assert customer["name"] == "Анна"
    assert customer["telegram_id"] is None
    [order] = await rows(app.db, "SELECT * FROM orders")
    assert from_db(order["purchased_at"]) == START  # 12:00+03:00 is 09:00 UTC
    [item] = await rows(app.db, "SELECT * FROM order_items")
    assert (item["sku"], item["name"], item["quantity"], item["restock_days"]) == (
        "TEA-1",
        "Чай улун",
        2,
        30,
    )
    [review] = await rows(app.db, "SELECT * FROM reviews")
    assert review["status"] == "pending"
    assert order["review_id"] == review["id"]

    [request] = await outbox(app.db, "review_request")
    assert request["customer_id"] == customer["id"]
    assert request["ref_id"] == review["id"]
    assert request["status"] == "pending"
    assert from_db(request["due_at"]) == START + timedelta(days=7)
    [restock] = await outbox(app.db, "restock")
    assert restock["ref_id"] == item["id"]
    assert from_db(restock["due_at"]) == START + timedelta(days=30 - 3)


async def test_repeated_order_answers_the_same_and_writes_nothing(app: BotApp, api: Api) -> None:
    first = await api.purchase(purchase())
    before = await counts(app.db)

    again = await api.purchase(purchase())

    assert first[0] == 201
    assert again == (200, first[1])
    assert await counts(app.db) == before


async def test_concurrent_duplicates_store_one_order(app: BotApp, api: Api) -> None:
    results = await asyncio.gather(*(api.purchase(purchase()) for _ in range(5)))

    assert sorted(status for status, _ in results) == [200, 200, 200, 200, 201]
    assert len({str(body) for _, body in results}) == 1
    assert (await counts(app.db))["orders"] == 1
    assert len(await outbox(app.db, "review_request")) == 1


async def test_order_id_reused_for_another_customer_is_a_conflict(app: BotApp, api: Api) -> None:
    await api.purchase(purchase())
    before = await counts(app.db)

    status, body = await api.purchase(purchase(customer="someone-else"))

    assert status == 409
    assert body["errors"][0]["field"] == "order_id"
    assert await counts(app.db) == before


async def test_customer_data_updates_when_given_and_stays_when_not(app: BotApp, api: Api) -> None:
    await api.purchase(purchase("A-1", name="Анна", phone="89991234567"))
    await api.purchase(purchase("A-2", name=None, phone=None))
    [customer] = await rows(app.db, "SELECT name, phone FROM customers")
    assert customer == {"name": "Анна", "phone": "+79991234567"}

    await api.purchase(purchase("A-3", name="Анна Петрова", phone="+7 912 000-11-22"))
    [customer] = await rows(app.db, "SELECT name, phone FROM customers")
    assert customer == {"name": "Анна Петрова", "phone": "+79120001122"}


# --- reviews ----------------------------------------------------------------------------------
async def test_orders_close_together_share_one_review_request(
    app: BotApp, api: Api, clock: FakeClock
) -> None:
    await api.purchase(purchase("A-1", at=START))
    clock.advance(days=2)
    assert (await api.purchase(purchase("A-2", at=clock.now())))[0] == 201

    [review] = await rows(app.db, "SELECT id FROM reviews")
    orders = await rows(app.db, "SELECT review_id FROM orders ORDER BY id")
    assert [o["review_id"] for o in orders] == [review["id"], review["id"]]
    [request] = await outbox(app.db, "review_request")
    assert from_db(request["due_at"]) == START + timedelta(days=7)  # the first one's, untouched


async def test_new_request_waits_for_the_minimum_interval(
    app: BotApp, api: Api, clock: FakeClock
) -> None:
    await api.purchase(purchase("A-1", at=START))
    # The outbox sent the first request (what the other half of the feature records).
    sent_at = START + timedelta(days=7)
    async with app.db.write() as conn:
        await conn.execute(
            "UPDATE reviews SET status = 'requested', requested_at = ?",
            (sent_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),),
        )
        await conn.execute("UPDATE outbox SET status = 'sent' WHERE kind = 'review_request'")
    clock.set(START + timedelta(days=8))

    await api.purchase(purchase("A-2", at=START + timedelta(days=8), items=[_item("X", None)]))

    reviews = await rows(app.db, "SELECT id, status FROM reviews ORDER BY id")
    assert [r["status"] for r in reviews] == ["requested", "pending"]
    requests = await outbox(app.db, "review_request")
    # Purchase + 7 days (day 15) is later than the last request + 7 days (day 14).
    assert from_db(requests[-1]["due_at"]) == START + timedelta(days=15)


async def test_cancelled_review_is_not_reused(app: BotApp, api: Api) -> None:
    await api.purchase(purchase("A-1"))
    async with app.db.write() as conn:
        await conn.execute("UPDATE outbox SET status = 'cancelled'")

    await api.purchase(purchase("A-2", at=START + timedelta(hours=1)))

    orders = await rows(app.db, "SELECT review_id FROM orders ORDER BY id")
    assert orders[0]["review_id"] != orders[1]["review_id"]
    assert [r["status"] for r in await outbox(app.db, "review_request")] == [
        "cancelled",
        "pending",
    ]


async def test_stale_purchase_is_stored_without_messages(app: BotApp, api: Api) -> None:
    status, _ = await api.purchase(purchase(at=START - timedelta(days=60)))

    assert status == 201
    assert (await counts(app.db))["orders"] == 1
    assert await outbox(app.db) == []


# --- restock ----------------------------------------------------------------------------------
def _item(sku: str, days: int | None, name: str = "Товар") -> dict[str, Any]:
    item: dict[str, Any] = {"sku": sku, "name": name, "quantity": 1}
    if days is not None:
        item["restock_days"] = days
    return item


async def test_catalogue_restock_days_apply_and_items_override_them(app: BotApp, api: Api) -> None:
    assert (await api.product("CAT", {"name": "Корм", "restock_days": 20}))[0] == 201
    assert (await api.product("CAT2", {"name": "Корм 2", "restock_days": 20}))[0] == 201

    await api.purchase(purchase(items=[_item("CAT", None), _item("CAT2", 10), _item("X", None)]))

    due = {
        r["sku"]: from_db(r["due_at"]) - START
        for r in await rows(
            app.db,
            "SELECT i.sku, x.due_at FROM outbox x JOIN order_items i ON i.id = x.ref_id "
            "WHERE x.kind = 'restock'",
        )
    }
    assert due == {"CAT": timedelta(days=17), "CAT2": timedelta(days=7)}


async def test_repurchase_cancels_the_older_reminder(
    app: BotApp, api: Api, clock: FakeClock
) -> None:
    await api.purchase(purchase("A-1", at=START, items=[_item("TEA", 30)]))
    clock.advance(days=5)
    await api.purchase(purchase("A-2", at=clock.now(), items=[_item("TEA", 30)]))

    first, second = await outbox(app.db, "restock")
    assert first["status"] == "cancelled"
    assert "A-2" in first["last_error"]
    assert second["status"] == "pending"
    assert from_db(second["due_at"]) == START + timedelta(days=5 + 27)


async def test_late_arriving_older_order_does_not_cancel_the_newer_reminder(
    app: BotApp, api: Api
) -> None:
    await api.purchase(purchase("A-2", at=START, items=[_item("TEA", 30)]))
    await api.purchase(purchase("A-1", at=START - timedelta(days=3), items=[_item("TEA", 30)]))

    [reminder] = await outbox(app.db, "restock")
    assert reminder["status"] == "pending"
    assert from_db(reminder["due_at"]) == START + timedelta(days=27)


@pytest.mark.parametrize(("days_after_sent", "converted"), [(3, True), (14, True), (15, False)])
async def test_repurchase_after_a_sent_reminder_is_a_conversion(
    app: BotApp, api: Api, clock: FakeClock, days_after_sent: int, converted: bool
) -> None:
    await api.purchase(purchase("A-1", at=START, items=[_item("TEA", 30)]))
    sent_at = START + timedelta(days=27)
    async with app.db.write() as conn:
        await conn.execute(
            "UPDATE outbox SET status = 'sent', sent_at = ? WHERE kind = 'restock'",
            (sent_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),),
        )
    again = sent_at + timedelta(days=days_after_sent)
    clock.set(again)

    await api.purchase(purchase("A-2", at=again, items=[_item("TEA", 30)]))

    first = (await outbox(app.db, "restock"))[0]
    assert first["status"] == "sent"
    assert (first["converted_at"] is not None) is converted
    if converted:
        assert from_db(first["converted_at"]) == again


async def test_refused_product_gets_no_reminder(app: BotApp, api: Api) -> None:
    await api.purchase(purchase("A-1", items=[_item("TEA", 30), _item("CUP", 60)]))
    async with app.db.write() as conn:  # «Больше не напоминать» pressed for TEA
        await conn.execute(
            "INSERT INTO restock_optouts (customer_id, sku, created_at) "
            "SELECT id, 'TEA', '2026-01-12T09:00:00.000000Z' FROM customers"
        )

    await api.purchase(purchase("A-2", at=START + timedelta(hours=1), items=[_item("TEA", 30)]))

    statuses = [
        (r["sku"], r["order_id"], r["status"])
        for r in await rows(
            app.db,
            "SELECT i.sku, o.order_id, x.status FROM outbox x JOIN order_items i "
            "ON i.id = x.ref_id JOIN orders o ON o.id = i.order_id "
            "WHERE x.kind = 'restock' ORDER BY x.id",
        )
    ]
    # A-1's TEA reminder is superseded by A-2, which gets none: TEA was refused.
    assert statuses == [("TEA", "A-1", "cancelled"), ("CUP", "A-1", "pending")]


# --- the catalogue ----------------------------------------------------------------------------
async def test_product_put_creates_then_replaces(app: BotApp, api: Api) -> None:
    body = {"name": "Чай", "restock_days": 30, "reorder_url": "https://shop.example/tea"}
    assert await api.product("TEA-1", body) == (201, {"sku": "TEA-1", **body})
    assert await api.product("TEA-1", {"name": "Чай зелёный"}) == (
        200,
        {"sku": "TEA-1", "name": "Чай зелёный", "restock_days": None, "reorder_url": None},
    )
    [product] = await rows(app.db, "SELECT * FROM products")
    assert (product["name"], product["restock_days"], product["reorder_url"]) == (
        "Чай зелёный",
        None,
        None,
    )


@pytest.mark.parametrize(
    ("sku", "body", "field"),
    [
        ("TEA", {"restock_days": 3}, "name"),
        ("TEA", {"name": "Чай", "restock_days": 0}, "restock_days"),
        ("TEA", {"name": "Чай", "reorder_url": "javascript:alert(1)"}, "reorder_url"),
        ("TEA", {"name": "Чай", "price": 10}, "price"),
        ("x" * 65, {"name": "Чай"}, "sku"),
        ("%00", {"name": "Чай"}, "sku"),
    ],
)
async def test_bad_product_is_refused(
    app: BotApp, api: Api, sku: str, body: dict[str, Any], field: str
) -> None:
    status, answer = await api.product(sku, body)

    assert status == 422
    assert field in [e["field"] for e in answer]
    assert (await counts(app.db))["products"] == 0


# --- refusals ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "fields"),
    [
        (lambda b: b.pop("items"), ["items"]),
        (lambda b: b.update(items=[]), ["items"]),
        (lambda b: b["items"][0].update(quantity="2"), ["items.0.quantity"]),
        (lambda b: b["items"][0].update(quantity=0), ["items.0.quantity"]),
        (lambda b: b["items"][0].update(restock_days=-1), ["items.0.restock_days"]),
        (lambda b: b.update(purchased_at="2026-01-12T12:00:00"), ["purchased_at"]),
        (lambda b: b.update(purchased_at="2030-01-01T00:00:00Z"), ["purchased_at"]),
        (lambda b: b.update(purchased_at="yesterday"), ["purchased_at"]),
        (lambda b: b["customer"].update(phone="12345"), ["customer.phone"]),
        (lambda b: b["customer"].pop("id"), ["customer.id"]),
        (lambda b: b.update(order_id=""), ["order_id"]),
        (lambda b: b.update(order_id=17), ["order_id"]),
        (
            lambda b: (b["items"][0].update(sku="a\x00b"), b["customer"].update(name="x" * 201)),
            ["items.0.sku", "customer.name"],
        ),
    ],
)
async def test_malformed_purchase_is_refused_naming_each_field(
    app: BotApp, api: Api, change: Callable[[dict[str, Any]], Any], fields: list[str]
) -> None:
    body = purchase()
    change(body)

    status, answer = await api.purchase(body)

    assert status == 422
    assert isinstance(answer, list)  # the "JSON list of errors"
    assert sorted(e["field"] for e in answer) == sorted(fields)
    assert all(e["message"] for e in answer)
    assert set((await counts(app.db)).values()) == {0}


@pytest.mark.parametrize("raw", [b"", b"{", b"not json", b"\xff\xfe", b'{"order_id": }'])
async def test_unparseable_json_is_400(app: BotApp, api: Api, raw: bytes) -> None:
    status, payload = await api.purchase(None, raw=raw)

    assert status == 400
    assert payload["error"] == "the body is not valid JSON"
    assert (await counts(app.db))["orders"] == 0


async def test_not_an_object_is_422(app: BotApp, api: Api) -> None:
    status, payload = await api.purchase([purchase()])

    assert status == 422
    assert payload[0]["field"] == "body"


async def test_form_body_is_refused_with_a_hint(app: BotApp, api: Api) -> None:
    status, payload, _ = await api.call(
        "POST",
        "/api/v1/purchases",
        raw="order_id=1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert status == 415
    assert "application/json" in payload["error"]


async def test_body_over_one_mebibyte_is_413_json(app: BotApp, api: Api) -> None:
    body = purchase()
    body["customer"]["name"] = "x" * (1024 * 1024)

    status, payload = await api.purchase(body)

    assert status == 413
    assert "1 MiB" in payload["error"]
    assert (await counts(app.db))["orders"] == 0


async def test_chunked_body_over_one_mebibyte_is_413_json(app: BotApp, api: Api) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b" " * 100_000

    async with api.session.post(
        api.base + "/api/v1/purchases",
        data=chunks(),
        headers={"Authorization": "Bearer test-api-token", "Content-Type": "application/json"},
    ) as response:
        assert response.status == 413
        assert "error" in await response.json()
    assert (await counts(app.db))["orders"] == 0


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Bearer test-api-token-and-more"},
        {"Authorization": "Basic test-api-token"},
        {"Authorization": "test-api-token"},
    ],
)
async def test_missing_or_wrong_token_is_401(
    app: BotApp, api: Api, headers: dict[str, str]
) -> None:
    status, payload, answer_headers = await api.call(
        "POST", "/api/v1/purchases", purchase(), token=None, headers=headers
    )

    assert status == 401
    assert "token" in payload["error"]
    assert answer_headers.get("WWW-Authenticate") == "Bearer"
    assert (await counts(app.db))["orders"] == 0


async def test_failed_attempts_are_rate_limited(app: BotApp, api: Api) -> None:
    for _ in range(5):
        assert (await api.purchase(purchase(), token="guess"))[0] == 401

    status, _, headers = await api.call("POST", "/api/v1/purchases", purchase(), token="guess")
    assert status == 429  # further guesses wait for the window to pass
    assert 1 <= int(headers["Retry-After"]) <= 60
    # The right token is served all the while: failures from a shared address (a proxy, an
    # office NAT) never lock the shop out.
    assert (await api.purchase(purchase()))[0] == 201


def test_rate_limit_forgets_old_failures() -> None:
    """The window slides on a monotonic clock (here a fake one)."""
    now = [1000.0]
    limiter = FailedAuthLimiter(monotonic=lambda: now[0])
    for _ in range(4):
        limiter.record_failure("10.0.0.1")
    now[0] += 61
    for _ in range(4):
        limiter.record_failure("10.0.0.1")
    assert limiter.retry_after("10.0.0.1") is None
    limiter.record_failure("10.0.0.1")
    assert limiter.retry_after("10.0.0.1") == 60


async def test_without_api_token_every_call_is_refused(
    start_app: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.app"):
        app = await start_app(api_token=None)
    async with aiohttp.ClientSession() as session:
        api = Api(app, session)
        status, payload = await api.purchase(purchase())
        assert (await api.product("TEA", {"name": "Чай"}, token=""))[0] == 401

    assert status == 401
    assert "API_TOKEN is not set" in payload["error"]
    warnings = [r for r in caplog.records if "API_TOKEN" in r.getMessage()]
    assert len(warnings) == 1
    assert (await counts(app.db))["orders"] == 0


async def test_unknown_paths_and_methods_answer_json(app: BotApp, api: Api) -> None:
    status, payload, _ = await api.call("GET", "/api/v1/purchases")
    assert status == 405
    assert "error" in payload
    status, payload, _ = await api.call("POST", "/api/v1/nothing", {})
    assert status == 404
    assert "error" in payload


async def test_failure_midway_writes_nothing(
    app: BotApp, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def enqueue_fails(*args: Any, **kwargs: Any) -> int:
        # After the order, its items and the review rows, before the outbox rows.
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(batch, "enqueue_many", enqueue_fails)

    status, payload = await api.purchase(purchase())

    assert status == 500
    assert "nothing was stored" in payload["error"]
    assert set((await counts(app.db)).values()) == {0}


async def test_telegram_down_before_first_link_means_retry_later(
    tg: BotAPIEmulator, make_settings: Callable[..., Settings], clock: FakeClock
) -> None:
    tg.fail("getMe", 10, status=502)  # down from the start: the bot's first getMe fails too
    app = await started_without_polling(make_settings(), clock)  # polling would call getMe
    try:
        async with aiohttp.ClientSession() as session:
            api = Api(app, session)
            status, _, headers = await api.call("POST", "/api/v1/purchases", purchase())
            assert status == 503
            assert headers["Retry-After"]
            assert (await counts(app.db))["orders"] == 0

            tg.faults.clear()
            assert (await api.purchase(purchase()))[0] == 201
    finally:
        await app.stop()


def test_timing_from_settings(settings: Settings) -> None:
    timing = purchases.Timing.from_settings(settings)
    assert timing.review_delay == timedelta(days=7)
    assert timing.restock_lead == timedelta(days=3)
    assert purchases.review_due(datetime(2026, 1, 1, tzinfo=UTC), None, timing) == datetime(
        2026, 1, 8, tzinfo=UTC
    )
