"""Helpers for the purchases tests: request bodies, calls to the running app's API, row counts."""

from __future__ import annotations

import io
import json
from datetime import datetime
from typing import Any

import aiohttp

from bot.app import BotApp, build_app
from bot.clock import Clock
from bot.settings import Settings
from storage import Database
from tests.app_start import first_tick

API_TOKEN = "test-api-token"
TABLES = ("customers", "products", "orders", "order_items", "reviews", "restock_optouts", "outbox")


def purchase(
    order_id: str = "A-1",
    customer: str = "cust-1",
    *,
    phone: str | None = "+7 (999) 123-45-67",
    name: str | None = "Анна",
    at: str | datetime = "2026-01-12T12:00:00+03:00",
    items: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    body_customer: dict[str, Any] = {"id": customer}
    if phone is not None:
        body_customer["phone"] = phone
    if name is not None:
        body_customer["name"] = name
    return {
        "order_id": order_id,
        "customer": body_customer,
        "purchased_at": at.isoformat() if isinstance(at, datetime) else at,
        "items": items
        if items is not None
        else [{"sku": "TEA-1", "name": "Чай улун", "quantity": 2, "restock_days": 30}],
    }


class Api:
    """The app's HTTP API as a shop's system calls it."""

    def __init__(self, app: BotApp, session: aiohttp.ClientSession) -> None:
        self.base = f"http://127.0.0.1:{app.http_port}"
        self.session = session

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | str | None = None,
        token: str | None = API_TOKEN,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        sent_headers = {"Content-Type": "application/json"}
        if token is not None:
            sent_headers["Authorization"] = f"Bearer {token}"
        sent_headers.update(headers or {})
        data = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode()
        payload_data = io.BytesIO(data.encode() if isinstance(data, str) else data)
        async with self.session.request(
            method, self.base + path, data=payload_data, headers=sent_headers
        ) as response:
            text = await response.text()
            try:
                payload = json.loads(text)
            except json.JSONDecodeError:
                payload = text
            return response.status, payload, dict(response.headers)

    async def purchase(self, body: Any, **kwargs: Any) -> tuple[int, Any]:
        status, payload, _headers = await self.call("POST", "/api/v1/purchases", body, **kwargs)
        return status, payload

    async def product(self, sku: str, body: Any, **kwargs: Any) -> tuple[int, Any]:
        status, payload, _headers = await self.call(
            "PUT", f"/api/v1/products/{sku}", body, **kwargs
        )
        return status, payload


async def started_without_polling(settings: Settings, clock: Clock) -> BotApp:
    """The production app, minus polling: for API tests, which need no updates (and stop at
    once instead of waiting out a long poll)."""
    app = build_app(settings, clock=clock, handle_as_tasks=False)
    try:
        await app.start(polling=False)
        await first_tick(app)
    except BaseException:
        await app.stop()  # its HTTP session and database are open: close them before failing
        raise
    return app


async def counts(db: Database) -> dict[str, int]:
    out = {}
    async with db.read() as conn:
        for table in TABLES:
            async with conn.execute(f"SELECT COUNT(*) FROM {table}") as cur:
                row = await cur.fetchone()
            out[table] = row[0]
    return out


async def rows(db: Database, sql: str, *params: Any) -> list[dict[str, Any]]:
    async with db.read() as conn, conn.execute(sql, params) as cur:
        return [dict(r) for r in await cur.fetchall()]


async def outbox(db: Database, kind: str | None = None) -> list[dict[str, Any]]:
    if kind is None:
        return await rows(db, "SELECT * FROM outbox ORDER BY id")
    return await rows(db, "SELECT * FROM outbox WHERE kind = ? ORDER BY id", kind)
