"""GET /healthz: 200 when the bot is alive in the ways that matter, else 503 saying why.

Alive means: Telegram answers (and accepts the token), polling runs (in polling mode) and the
database file is the one the bot opened. A monitor restarting on 503 then restarts a bot that
really is dead, not one that is only serving this page.
"""

from __future__ import annotations

from aiohttp import web

from bot.liveness import Liveness

LIVENESS_KEY: web.AppKey[Liveness] = web.AppKey("liveness", Liveness)


async def healthz(request: web.Request) -> web.Response:
    problems = request.app[LIVENESS_KEY].problems()
    if problems:
        return web.json_response({"ok": False, "problems": problems}, status=503)
    return web.json_response({"ok": True})


def setup_health(web_app: web.Application, liveness: Liveness) -> None:
    web_app[LIVENESS_KEY] = liveness
    web_app.router.add_get("/healthz", healthz)
