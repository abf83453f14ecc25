"""The admins' dashboard at /dashboard: a sub-application of the bot's own aiohttp app.

Server-rendered with Jinja2 (aiohttp-jinja2); styles and scripts are static files of this
package and a strict Content-Security-Policy forbids every other host, inline scripts included.
Pages are thin: check the session, gather one report object, render one template.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from handlers.web.dashboard import pages
from handlers.web.dashboard.deps import DEPS, PREFIX, DashboardDeps

__all__ = ["DashboardDeps", "build_dashboard", "setup_dashboard"]

HERE = Path(__file__).parent

# default-src 'none': only what is listed loads. No inline script or style, no other host; the
# page may be framed only by Telegram's web client (the Mini App) and by itself.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'self' https://web.telegram.org"
)


@web.middleware
async def security_headers(
    request: web.Request, handler: Callable[[web.Request], object]
) -> web.StreamResponse:
    try:
        response = await handler(request)  # type: ignore[misc]
    except web.HTTPException as exc:
        response = exc
        _headers(response, request)
        raise
    _headers(response, request)
    return response


def _headers(response: web.StreamResponse, request: web.Request) -> None:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    # A sign-in token sits in the link's query: never hand it on to another site. (Not
    # no-referrer: then browsers send «Origin: null» with the dashboard's own forms.)
    response.headers["Referrer-Policy"] = "same-origin"
    if not request.path.startswith(PREFIX + "/static/"):
        response.headers["Cache-Control"] = "no-store"


def build_dashboard(deps: DashboardDeps) -> web.Application:
    sub = web.Application(middlewares=[security_headers])
    sub[DEPS] = deps
    aiohttp_jinja2.setup(
        sub,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
        default_helpers=False,
    )
    pages.add_routes(sub)
    sub.router.add_static("/static/", HERE / "static", name="static")
    return sub


def setup_dashboard(web_app: web.Application, deps: DashboardDeps) -> None:
    """Mount the dashboard on the bot's web app."""
    web_app.add_subapp(PREFIX, build_dashboard(deps))
