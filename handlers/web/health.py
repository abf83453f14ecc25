"""GET /healthz: the process is up and serving."""

from __future__ import annotations

from aiohttp import web


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def setup_health(web_app: web.Application) -> None:
    web_app.router.add_get("/healthz", healthz)
