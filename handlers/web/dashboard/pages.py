"""The dashboard's pages and forms. Each one: the session, one report object, one template.

Figures come from the objects the Telegram /report renders (`bot.reports.assemble.build_report`)
and the cases summary (`bot.dashboard.cases`); no page computes a figure itself.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlsplit

import aiohttp_jinja2
from aiohttp import web

from bot.dashboard import cases, service
from bot.dashboard.signin import COOKIE_NAME, SESSION_TTL, Refused, same_token
from bot.i18n import Translator
from bot.plans.model import STATUS_TITLES
from bot.reports.assemble import Report, build_report
from bot.reports.periods import DEFAULT_PERIOD_DAYS, PERIOD_DAYS, ReportRequest
from bot.reports.survey import QUESTION_SHORT
from bot.texts import N_
from handlers.web.dashboard.charts import CHARTS, chart_svg
from handlers.web.dashboard.deps import DEPS, PREFIX, DashboardDeps
from handlers.web.dashboard.format import filters

log = logging.getLogger(__name__)

SESSION: web.RequestKey[service.Session] = web.RequestKey("dashboard_session", service.Session)
LANG_COOKIE = "dashboard_lang"
LANGUAGES = ("ru", "en")
# A week with fewer answers than this is drawn and shown as «too few answers», not as a score:
# two reviews would otherwise read as NPS +50 or CSAT 100 %.
TOO_FEW = 5

REFUSALS = {
    Refused.unknown: N_(
        "This sign-in link is not valid. Send /dashboard to the bot for a new one."
    ),
    Refused.used: N_(
        "This sign-in link has already been used. Send /dashboard to the bot for a new one."
    ),
    Refused.expired: N_(
        "This sign-in link or session has expired. Send /dashboard to the bot for a new one."
    ),
    Refused.ended: N_("You have signed out. Send /dashboard to the bot to sign in again."),
    Refused.not_admin: N_("The dashboard is for the bot's admins only."),
    Refused.bad_signature: N_("Telegram's signature of this Mini App did not match."),
    Refused.malformed: N_("Telegram's data for this Mini App is incomplete."),
}
NAV = (
    ("overview", N_("Overview")),
    ("survey", N_("Survey")),
    ("customers", N_("Customers")),
    ("cases", N_("Cases")),
    ("exports", N_("Exports")),
)
EXPORT_NOTES = {
    "feedback.xlsx": N_(
        "one workbook for Excel: a sheet per table, real dates and numbers, the question texts, "
        "the customer's name, phone and items beside each review"
    ),
    "survey_answers.csv": N_("survey answers by pseudonym"),
    "reviews.csv": N_("answered reviews"),
    "reminders.csv": N_("messages queued for customers"),
    "survey_comments.csv": N_("the closed waves' anonymous comments, by group"),
}
FILTER_NAMES = {
    "open": N_("Open"),
    "resolved": N_("Resolved"),
    "closed": N_("Closed"),
    "all": N_("All"),
}
CASE_WORDS = {
    "topic_names": {
        "complaint": N_("Complaint"),
        "question": N_("Question"),
        "buy_again": N_("Buy again"),
    },
    "status_names": {
        "open": N_("waiting for the shop"),
        "answered": N_("answered"),
        "resolved": N_("resolved, the customer is asked"),
        "closed": N_("closed"),
    },
    "status_css": {"open": "bad", "answered": "", "resolved": "good", "closed": "good"},
}
QUEUED, DELIVERED, NOT_DELIVERED = N_("queued"), N_("delivered"), N_("not delivered")
DELIVERY = {
    "pending": QUEUED,
    "sending": QUEUED,
    "sent": DELIVERED,
    "failed": NOT_DELIVERED,
    "cancelled": NOT_DELIVERED,
    "expired": NOT_DELIVERED,
}
NOT_FROM_HERE = N_("This form did not come from the dashboard; nothing was done.")
REPLY_REFUSALS = {
    cases.ReplyRefused.empty: N_("The reply is empty: write a few words to the customer."),
    cases.ReplyRefused.too_long: N_("The reply is too long: at most 3000 characters."),
    cases.ReplyRefused.no_case: N_("There is no such case."),
    cases.ReplyRefused.forgotten: N_("The customer asked to be forgotten: no reply can be sent."),
    cases.ReplyRefused.closed: N_("This case is closed: the customer confirmed it is solved."),
}


# --- the frame of every page ------------------------------------------------------------------
def _deps(request: web.Request) -> DashboardDeps:
    return request.app[DEPS]


def _locale(request: web.Request) -> str:
    asked = request.query.get("lang")
    if asked in LANGUAGES:
        return asked
    saved = request.cookies.get(LANG_COOKIE)
    return saved if saved in LANGUAGES else _deps(request).settings.default_language


def _secure(request: web.Request) -> bool:
    url = _deps(request).public_url or ""
    return request.secure or url.startswith("https://")


def _cookie_policy(request: web.Request) -> dict[str, Any]:
    """Over https the Mini App runs inside web.telegram.org's iframe, a third-party context
    where browsers send only SameSite=None cookies (which must be Secure); on plain http (local
    use) Lax, as None without Secure is refused. Cross-site posts are kept out by the CSRF
    token and the Origin check, not by SameSite."""
    secure = _secure(request)
    return {"secure": secure, "samesite": "None" if secure else "Lax"}


def _context(request: web.Request, page: str, **values: Any) -> dict[str, Any]:
    deps = _deps(request)
    locale = _locale(request)
    tr = Translator(deps.i18n, locale)
    return {
        "t": tr,
        "lang": locale,
        "page": page,
        "prefix": PREFIX,
        "session": request.get(SESSION),
        "nav": NAV,
        **filters(tr, locale, deps.settings.tz),
        **values,
    }


def _render(
    request: web.Request, template: str, page: str, *, status: int = 200, **values: Any
) -> web.Response:
    response = aiohttp_jinja2.render_template(
        template, request, _context(request, page, **values), status=status
    )
    if request.query.get("lang") in LANGUAGES:
        response.set_cookie(
            LANG_COOKIE, request.query["lang"], path=PREFIX, httponly=True,
            max_age=365 * 24 * 3600, **_cookie_policy(request),
        )  # fmt: skip
    return response


def _refused(request: web.Request, reason: Refused, *, status: int = 403) -> web.Response:
    return _render(request, "signin.html", "signin", status=status, refusal=REFUSALS[reason])


async def _session(request: web.Request) -> service.Session | Refused:
    deps = _deps(request)
    return await service.current_session(
        deps.db, request.cookies.get(COOKIE_NAME), deps.clock.now(), is_admin=deps.is_admin
    )


def _same_origin(request: web.Request) -> bool:
    """A browser names the page a POST came from; another site's form is refused."""
    origin = request.headers.get("Origin")
    if origin is None or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.host


async def _admin(request: web.Request) -> service.Session | web.Response:
    """The signed-in admin, or the page that says why not (a POST also needs its CSRF token)."""
    session = await _session(request)
    if session is Refused.unknown and COOKIE_NAME not in request.cookies:
        return _render(request, "signin.html", "signin", status=401, refusal=None)
    if isinstance(session, Refused):
        status = 401 if session in (Refused.unknown, Refused.expired, Refused.ended) else 403
        return _refused(request, session, status=status)
    request[SESSION] = session
    if request.method == "POST":
        form = await request.post()
        token = form.get("csrf")
        if not _same_origin(request) or not same_token(
            token if isinstance(token, str) else None, session.csrf
        ):
            return _render(request, "error.html", "error", status=403, message=NOT_FROM_HERE)
    return session


def _start_session(request: web.Request, session: service.Session) -> web.Response:
    response = web.Response(status=303, headers={"Location": PREFIX + "/"})
    response.set_cookie(
        COOKIE_NAME,
        session.token,
        path=PREFIX,
        httponly=True,
        max_age=int(SESSION_TTL.total_seconds()),
        **_cookie_policy(request),
    )
    return response


async def _report(request: web.Request, *, survey: bool, customers: bool, days: int) -> Report:
    deps = _deps(request)
    request_ = ReportRequest(survey=survey, customers=customers, days=days)
    return await build_report(deps.db, deps.settings, request_, deps.clock.now())


def _days(request: web.Request) -> int:
    raw = request.query.get("days", "")
    return int(raw) if raw.isdigit() and int(raw) in PERIOD_DAYS else DEFAULT_PERIOD_DAYS


# --- signing in -----------------------------------------------------------------------------
async def login_page(request: web.Request) -> web.Response:
    """The link from /dashboard: a page whose script posts the token at once. Opening it in a
    browser signs in; a link preview (which runs no script) does not use the link up."""
    token = request.query.get("token", "")
    return _render(request, "login.html", "signin", token=token)


async def login(request: web.Request) -> web.StreamResponse:
    deps = _deps(request)
    if not _same_origin(request):
        return _refused(request, Refused.unknown)
    form = await request.post()
    token = form.get("token")
    result = await service.redeem_link(
        deps.db, token if isinstance(token, str) else "", deps.clock.now(), is_admin=deps.is_admin
    )
    if isinstance(result, Refused):
        return _refused(request, result)
    return _start_session(request, result)


async def webapp(request: web.Request) -> web.StreamResponse:
    """The Mini App posts Telegram's initData here; a checked one starts a session."""
    deps = _deps(request)
    if not _same_origin(request):
        return _refused(request, Refused.unknown)
    form = await request.post()
    data = form.get("init_data")
    result = await service.webapp_session(
        deps.db, data if isinstance(data, str) else "", deps.bot_token, deps.clock.now(),
        is_admin=deps.is_admin,
    )  # fmt: skip
    if isinstance(result, Refused):
        return _refused(request, result)
    return _start_session(request, result)


async def logout(request: web.Request) -> web.StreamResponse:
    session = await _admin(request)
    if isinstance(session, web.Response):
        return session
    deps = _deps(request)
    await service.sign_out(deps.db, session, deps.clock.now())
    response = _render(request, "signin.html", "signin", refusal=REFUSALS[Refused.ended])
    # With the attributes it was set with: inside the iframe a Lax deletion would be refused.
    response.del_cookie(COOKIE_NAME, path=PREFIX, httponly=True, **_cookie_policy(request))
    return response


# --- pages ------------------------------------------------------------------------------------
async def overview(request: web.Request) -> web.Response:
    session = await _admin(request)
    if isinstance(session, web.Response):
        return session
    report = await _report(request, survey=True, customers=True, days=_days(request))
    deps = _deps(request)
    async with deps.db.read() as conn:
        summary = await cases.case_summary(
            conn,
            report.generated_at,
            report.request.days,
            loop=report.loop.current if report.loop else None,
        )
    return _render(request, "overview.html", "overview", report=report, cases=summary,
                   days=report.request.days, periods=PERIOD_DAYS)  # fmt: skip


async def survey_page(request: web.Request) -> web.Response:
    session = await _admin(request)
    if isinstance(session, web.Response):
        return session
    report = await _report(request, survey=True, customers=False, days=DEFAULT_PERIOD_DAYS)
    return _render(request, "survey.html", "survey", report=report, survey=report.survey,
                   questions=QUESTION_SHORT, plan_status=STATUS_TITLES)  # fmt: skip


async def customers_page(request: web.Request) -> web.Response:
    session = await _admin(request)
    if isinstance(session, web.Response):
        return session
    report = await _report(request, survey=False, customers=True, days=_days(request))
    return _render(request, "customers.html", "customers", report=report,
                   customers=report.customers, days=report.request.days, periods=PERIOD_DAYS,
                   too_few=TOO_FEW)  # fmt: skip


def _target_hours(request: web.Request) -> float:
    return _deps(request).settings.alert_response_hours


async def cases_page(request: web.Request) -> web.Response:
    session = await _admin(request)
    if isinstance(session, web.Response):
        return session
    raw = request.query.get("status", cases.CaseFilter.open.value)
    known = {f.value for f in cases.CaseFilter}
    which = cases.CaseFilter(raw) if raw in known else cases.CaseFilter.open
    topic = request.query.get("topic")
    topic = topic if topic in cases.TOPICS else None
    deps = _deps(request)
    now = deps.clock.now()
    async with deps.db.read() as conn:
        rows = await cases.case_list(conn, now, which, topic=topic)
        summary = await cases.case_summary(conn, now, DEFAULT_PERIOD_DAYS)
    return _render(
        request, "cases.html", "cases", rows=rows, which=which.value, cases=summary,
        filters_=[f.value for f in cases.CaseFilter], filter_names=FILTER_NAMES,
        topic=topic, topics=cases.TOPICS, target_hours=_target_hours(request), **CASE_WORDS,
    )  # fmt: skip


def _case_id(request: web.Request) -> int | None:
    raw = request.match_info.get("case", "")
    return int(raw) if raw.isdigit() and len(raw) < 12 else None


async def case_page(
    request: web.Request, *, notice: str | None = None, status: int = 200
) -> web.Response:
    session = await _admin(request)
    if isinstance(session, web.Response):
        return session
    case_id = _case_id(request)
    thread = None
    deps = _deps(request)
    if case_id is not None:
        async with deps.db.read() as conn:
            thread = await cases.case_thread(conn, case_id, deps.clock.now())
    if thread is None:
        return _render(
            request, "error.html", "cases", status=404, message=N_("There is no such case.")
        )
    return _render(request, "case.html", "cases", thread=thread, notice=notice, status=status,
                   reply_max=cases.REPLY_MAX, delivery=DELIVERY,
                   target_hours=_target_hours(request), **CASE_WORDS)  # fmt: skip


async def case_reply(request: web.Request) -> web.StreamResponse:
    session = await _admin(request)
    if isinstance(session, web.Response):
        return session
    deps = _deps(request)
    case_id = _case_id(request)
    text = (await request.post()).get("text")
    now = deps.clock.now()
    result = await cases.reply_to_case(
        deps.db, case_id=case_id or 0, admin_id=session.admin_id,
        admin_name=f"{session.admin_id} (dashboard)",
        text=text if isinstance(text, str) else None, now=now, settings=deps.settings,
    )  # fmt: skip
    if isinstance(result, cases.ReplyRefused):
        status = 404 if result is cases.ReplyRefused.no_case else 400
        return await case_page(request, notice=REPLY_REFUSALS[result], status=status)
    await service.record(
        deps.db, session.admin_id, "replied", f"case {case_id}, message {result}", now
    )
    deps.kick_outbox()
    raise web.HTTPSeeOther(f"{PREFIX}/cases/{case_id}?sent=1")


async def case_resolve(request: web.Request) -> web.StreamResponse:
    session = await _admin(request)
    if isinstance(session, web.Response):
        return session
    deps = _deps(request)
    case_id = _case_id(request)
    now = deps.clock.now()
    name = f"{session.admin_id} (dashboard)"
    resolution = await cases.resolve_case(
        deps.db,
        case_id=case_id or 0,
        admin_id=session.admin_id,
        admin_name=name,
        now=now,
        settings=deps.settings,
    )
    if resolution is None:
        return _render(
            request, "error.html", "cases", status=404, message=N_("There is no such case.")
        )
    if resolution.by_me:
        await service.record(deps.db, session.admin_id, "resolved", f"case {case_id}", now)
        deps.kick_outbox()
    raise web.HTTPSeeOther(f"{PREFIX}/cases/{case_id}")


async def exports_page(request: web.Request) -> web.Response:
    session = await _admin(request)
    if isinstance(session, web.Response):
        return session
    return _render(request, "exports.html", "exports", files=EXPORT_FILES, notes=EXPORT_NOTES)


EXPORT_FILES = (
    "feedback.xlsx",
    "survey_answers.csv",
    "survey_comments.csv",
    "reviews.csv",
    "reminders.csv",
)
_TYPES = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".csv": "text/csv; charset=utf-8",
}


async def export_file(request: web.Request) -> web.StreamResponse:
    session = await _admin(request)
    if isinstance(session, web.Response):
        return session
    from bot.dashboard.exports import export_named

    deps = _deps(request)
    name = request.match_info.get("name", "")
    if name not in EXPORT_FILES:
        raise web.HTTPNotFound
    tr = Translator(deps.i18n, _locale(request))
    content = await export_named(
        deps.db, deps.settings, deps.pseudonyms, tr, name, deps.clock.now()
    )
    await service.record(deps.db, session.admin_id, "exported", name, deps.clock.now())
    suffix = name[name.rindex(".") :]
    return web.Response(
        body=content,
        headers={
            "Content-Type": _TYPES[suffix],
            "Content-Disposition": f'attachment; filename="{name}"',
        },
    )


async def chart(request: web.Request) -> web.StreamResponse:
    session = await _admin(request)
    if isinstance(session, web.Response):
        return session
    name = request.match_info.get("name", "")
    if name not in CHARTS:
        raise web.HTTPNotFound
    survey = name in ("survey", "departments")
    report = await _report(request, survey=survey, customers=not survey, days=_days(request))
    tr = Translator(_deps(request).i18n, _locale(request))
    drawn = await asyncio.to_thread(chart_svg, tr, report, name)
    if drawn is None:
        raise web.HTTPNotFound
    return web.Response(body=drawn, content_type="image/svg+xml")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", overview)
    app.router.add_get("", overview)
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login)
    app.router.add_post("/webapp", webapp)
    app.router.add_post("/logout", logout)
    app.router.add_get("/survey", survey_page)
    app.router.add_get("/customers", customers_page)
    app.router.add_get("/cases", cases_page)
    app.router.add_get(r"/cases/{case}", case_page)
    app.router.add_post(r"/cases/{case}/reply", case_reply)
    app.router.add_post(r"/cases/{case}/resolve", case_resolve)
    app.router.add_get("/exports", exports_page)
    app.router.add_get("/exports/{name}", export_file)
    app.router.add_get("/charts/{name}.svg", chart)
