"""The dashboard over HTTP: signing in through Telegram, refusals, CSRF, the action log, headers.

The real app against the Bot API emulator: an admin sends /dashboard, the bot answers with a
one-time link, and an HTTP client opens it like a browser would.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

from bot.app import BotApp
from bot.clock import FakeClock
from bot.dashboard.signin import COOKIE_NAME, init_data_hash
from bot.emulator import BotAPIEmulator
from tests.conftest import ADMIN_ID, TOKEN

LINK = re.compile(r"(http://[^\s\"<>]+/dashboard/login\?token=[A-Za-z0-9_-]+)")


async def ask_link(tg: BotAPIEmulator, user_id: int = ADMIN_ID) -> str:
    admin = tg.user(user_id, "Ольга", language_code="ru")
    admin.send("/dashboard")
    await tg.settle()
    found = LINK.search(admin.last["text"])
    assert found, admin.last["text"]
    return found.group(1)


def _base(app: BotApp) -> str:
    return f"http://127.0.0.1:{app.http_port}"


async def sign_in(http: aiohttp.ClientSession, app: BotApp, link: str) -> aiohttp.ClientResponse:
    """What the login page's script does: post the link's token from the dashboard's origin."""
    async with http.get(link) as page:
        assert page.status == 200
        html = await page.text()
    token = re.search(r'name="token" value="([^"]*)"', html)
    assert token
    return await http.post(
        _base(app) + "/dashboard/login",
        data={"token": token.group(1)},
        headers={"Origin": _base(app)},
        allow_redirects=False,
    )


def _cookie(response: aiohttp.ClientResponse) -> str:
    return response.cookies[COOKIE_NAME].value


async def _csrf(http: aiohttp.ClientSession, app: BotApp, cookie: str) -> str:
    async with http.get(_base(app) + "/dashboard/", cookies={COOKIE_NAME: cookie}) as page:
        assert page.status == 200
        found = re.search(r'name="csrf" value="([^"]+)"', await page.text())
    assert found
    return found.group(1)


async def _actions(app: BotApp) -> list[tuple[int, str]]:
    async with (
        app.db.read() as conn,
        conn.execute("SELECT admin_id, action FROM dashboard_actions ORDER BY id") as cur,
    ):
        return [(r[0], r[1]) for r in await cur.fetchall()]


@pytest.fixture
async def http() -> Any:
    # No cookie jar: each request says which session it carries, as a test should.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        yield session


async def test_the_link_signs_in_once_with_a_safe_cookie(
    app: BotApp, tg: BotAPIEmulator, http: aiohttp.ClientSession
) -> None:
    link = await ask_link(tg)
    response = await sign_in(http, app, link)
    assert response.status == 303
    assert response.headers["Location"] == "/dashboard/"
    header = response.headers["Set-Cookie"]
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert "Max-Age=43200" in header
    assert "Path=/dashboard" in header
    assert "Secure" not in header  # plain http on this machine
    cookie = _cookie(response)
    async with http.get(_base(app) + "/dashboard/", cookies={COOKIE_NAME: cookie}) as page:
        assert page.status == 200
        html = await page.text()
        assert "Индекс зрелости" in html
        assert "Выйти" in html
        csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    assert "script-src 'self'" in csp
    again = await sign_in(http, app, link)
    assert again.status == 403
    assert "уже входили" in await again.text()
    assert await _actions(app) == [(ADMIN_ID, "signed_in")]


async def test_the_link_expires_after_ten_minutes(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock, http: aiohttp.ClientSession
) -> None:
    link = await ask_link(tg)
    clock.advance(minutes=10)
    response = await sign_in(http, app, link)
    assert response.status == 403
    assert "истёк" in await response.text()


async def test_a_forged_link_and_a_cross_site_login_are_refused(
    app: BotApp, tg: BotAPIEmulator, http: aiohttp.ClientSession
) -> None:
    forged = f"{_base(app)}/dashboard/login?token=forged-token"
    response = await sign_in(http, app, forged)
    assert response.status == 403
    assert "недействительна" in await response.text()
    link = await ask_link(tg)
    token = link.split("token=")[1]
    cross = await http.post(
        _base(app) + "/dashboard/login",
        data={"token": token},
        headers={"Origin": "https://evil.example"},
        allow_redirects=False,
    )
    assert cross.status == 403
    # The cross-site attempt did not use the link up: the admin can still sign in with it.
    assert (await sign_in(http, app, link)).status == 303


async def test_a_non_admin_gets_no_link_and_no_page(
    app: BotApp, tg: BotAPIEmulator, http: aiohttp.ClientSession
) -> None:
    stranger = tg.user(77, "Гость", language_code="ru")
    stranger.send("/dashboard")
    await tg.settle()
    assert all("/dashboard/login" not in t for t in stranger.texts())
    async with http.get(_base(app) + "/dashboard/survey") as page:
        assert page.status == 401
        assert "/dashboard" in await page.text()


async def test_a_session_ends_after_twelve_hours_and_on_sign_out(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock, http: aiohttp.ClientSession
) -> None:
    cookie = _cookie(await sign_in(http, app, await ask_link(tg)))
    csrf = await _csrf(http, app, cookie)
    clock.advance(hours=12)
    async with http.get(_base(app) + "/dashboard/", cookies={COOKIE_NAME: cookie}) as page:
        assert page.status == 401
    cookie = _cookie(await sign_in(http, app, await ask_link(tg)))
    csrf = await _csrf(http, app, cookie)
    async with http.post(
        _base(app) + "/dashboard/logout",
        data={"csrf": csrf},
        cookies={COOKIE_NAME: cookie},
        headers={"Origin": _base(app)},
    ) as out:
        assert out.status == 200
        assert "Вы вышли" in await out.text()
    async with http.get(_base(app) + "/dashboard/", cookies={COOKIE_NAME: cookie}) as page:
        assert page.status == 401
    assert await _actions(app) == [
        (ADMIN_ID, "signed_in"),
        (ADMIN_ID, "signed_in"),
        (ADMIN_ID, "signed_out"),
    ]


async def test_a_post_without_the_csrf_token_does_nothing(
    app: BotApp, tg: BotAPIEmulator, http: aiohttp.ClientSession
) -> None:
    cookie = _cookie(await sign_in(http, app, await ask_link(tg)))
    csrf = await _csrf(http, app, cookie)
    for data, origin in (({}, _base(app)), ({"csrf": "wrong"}, _base(app)),
                         ({"csrf": csrf}, "https://evil.example")):  # fmt: skip
        async with http.post(
            _base(app) + "/dashboard/logout",
            data=data,
            cookies={COOKIE_NAME: cookie},
            headers={"Origin": origin},
        ) as out:
            assert out.status == 403
            assert "не с дашборда" in await out.text()
    async with http.get(_base(app) + "/dashboard/", cookies={COOKIE_NAME: cookie}) as page:
        assert page.status == 200  # still signed in
    assert await _actions(app) == [(ADMIN_ID, "signed_in")]


async def test_a_removed_admin_is_signed_out_at_once(
    start_app: Callable[..., Any], tg: BotAPIEmulator, http: aiohttp.ClientSession
) -> None:
    app = await start_app()
    cookie = _cookie(await sign_in(http, app, await ask_link(tg)))
    await app.stop()
    app = await start_app(admin_ids="2")  # admin 1 removed from ADMIN_IDS
    async with http.get(_base(app) + "/dashboard/", cookies={COOKIE_NAME: cookie}) as page:
        assert page.status == 403
        assert "только администраторам" in await page.text()
    assert (ADMIN_ID, "session_ended") in await _actions(app)


def _init_data(user_id: int, token: str = TOKEN, when: int | None = None, app: Any = None) -> str:
    fields = {
        "user": json.dumps({"id": user_id, "first_name": "Ольга"}),
        "auth_date": str(when if when is not None else int(app.clock.now().timestamp())),
        "query_id": "AAE",
    }
    fields["hash"] = init_data_hash(fields, token)
    return urlencode(fields)


async def test_behind_https_the_cookies_may_travel_inside_telegrams_iframe(
    start_app: Callable[..., Any], http: aiohttp.ClientSession
) -> None:
    """Served over https (DASHBOARD_URL, a TLS proxy in front), the Mini App runs inside
    web.telegram.org's iframe, a third-party context where a SameSite=Lax cookie is never sent:
    the session (and language) cookies say SameSite=None; Secure there. CSRF tokens and the
    Origin check keep cross-site posts out either way."""
    app = await start_app(dashboard_url="https://shop.example/dashboard")
    response = await http.post(
        _base(app) + "/dashboard/webapp",
        data={"init_data": _init_data(ADMIN_ID, app=app)},
        headers={"Origin": _base(app)},
        allow_redirects=False,
    )
    assert response.status == 303
    header = response.headers["Set-Cookie"]
    assert "SameSite=None" in header
    assert "Secure" in header
    assert "HttpOnly" in header
    assert "Max-Age=43200" in header
    assert "Path=/dashboard" in header
    jar = {COOKIE_NAME: _cookie(response)}
    async with http.get(_base(app) + "/dashboard/?lang=en", cookies=jar) as page:
        assert page.status == 200
        lang = page.headers["Set-Cookie"]
    assert "dashboard_lang=en" in lang
    assert "SameSite=None" in lang
    assert "Secure" in lang
    async with http.get(_base(app) + "/dashboard/", cookies=jar) as page:
        csrf = re.search(r'name="csrf" value="([^"]+)"', await page.text())
    assert csrf
    async with http.post(
        _base(app) + "/dashboard/logout",
        data={"csrf": csrf.group(1)},
        cookies=jar,
        headers={"Origin": _base(app)},
    ) as out:
        ended = out.headers["Set-Cookie"]
    assert f'{COOKIE_NAME}=""' in ended or f"{COOKIE_NAME}=;" in ended
    assert "Max-Age=0" in ended
    assert "SameSite=None" in ended
    assert "Secure" in ended


async def test_the_mini_app_signs_in_with_checked_init_data(
    app: BotApp, http: aiohttp.ClientSession
) -> None:
    async def post(data: str) -> aiohttp.ClientResponse:
        return await http.post(
            _base(app) + "/dashboard/webapp",
            data={"init_data": data},
            headers={"Origin": _base(app)},
            allow_redirects=False,
        )

    good = await post(_init_data(ADMIN_ID, app=app))
    assert good.status == 303
    assert COOKIE_NAME in good.cookies
    forged = await post(_init_data(ADMIN_ID, token="999:other-bot", app=app))
    assert forged.status == 403
    assert "Подпись Telegram" in await forged.text()
    stranger = await post(_init_data(77, app=app))
    assert stranger.status == 403
    old = int((app.clock.now() - timedelta(days=2)).timestamp())
    stale = await post(_init_data(ADMIN_ID, when=old, app=app))
    assert stale.status == 403
    assert await _actions(app) == [(ADMIN_ID, "signed_in")]


async def test_the_menu_button_opens_the_mini_app_when_the_address_is_https(
    start_app: Callable[..., Any], tg: BotAPIEmulator
) -> None:
    await start_app(dashboard_url="https://shop.example/dashboard")
    calls = tg.calls_of("setChatMenuButton")
    assert calls
    button = calls[-1].params["menu_button"]
    button = json.loads(button) if isinstance(button, str) else button
    assert button["type"] == "web_app"
    assert button["web_app"]["url"] == "https://shop.example/dashboard/"
    assert calls[-1].params["chat_id"] in (ADMIN_ID, str(ADMIN_ID))


async def test_no_menu_button_without_https(app: BotApp, tg: BotAPIEmulator) -> None:
    assert tg.calls_of("setChatMenuButton") == []


async def test_downloads_and_a_refused_reply(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock, http: aiohttp.ClientSession
) -> None:
    from tests.factories import press
    from tests.test_reviews import asked

    anna = tg.user(7020, "Анна")
    await asked(app, tg, clock, anna)
    await press(tg, anna, "1⭐")
    cookie = _cookie(await sign_in(http, app, await ask_link(tg)))
    csrf = await _csrf(http, app, cookie)
    jar = {COOKIE_NAME: cookie}
    async with http.get(_base(app) + "/dashboard/exports/feedback.xlsx", cookies=jar) as got:
        assert got.status == 200
        assert got.headers["Content-Type"].startswith("application/vnd.openxmlformats")
        assert (await got.read()).startswith(b"PK")  # a zip: the workbook
    async with http.get(_base(app) + "/dashboard/exports/reviews.csv", cookies=jar) as got:
        assert (await got.read()).startswith(b"\xef\xbb\xbf")
    async with http.get(_base(app) + "/dashboard/exports/..%2Fbot.sqlite3", cookies=jar) as got:
        assert got.status == 404
    async with app.db.read() as conn, conn.execute("SELECT id FROM cases") as cur:
        (case_id,) = await cur.fetchone()  # type: ignore[misc]
    async with http.post(
        f"{_base(app)}/dashboard/cases/{case_id}/reply",
        data={"csrf": csrf, "text": "   "},
        cookies=jar,
        headers={"Origin": _base(app)},
    ) as refused:
        assert refused.status == 400
        assert "Ответ пустой" in await refused.text()
    async with (
        app.db.read() as conn,
        conn.execute("SELECT COUNT(*) FROM outbox WHERE kind = 'alert_reply'") as cur,
    ):
        assert (await cur.fetchone())[0] == 0  # type: ignore[index]
    async with http.get(f"{_base(app)}/dashboard/cases/999999", cookies=jar) as missing:
        assert missing.status == 404
        assert "Такого обращения нет" in await missing.text()
    actions = await _actions(app)
    assert actions == [
        (ADMIN_ID, "signed_in"),
        (ADMIN_ID, "exported"),
        (ADMIN_ID, "exported"),
    ]


async def test_a_reply_and_resolve_from_the_dashboard_go_through_the_customers_case(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock, http: aiohttp.ClientSession
) -> None:
    """The same use cases as «Ответить клиенту» and «Решено» in Telegram: the customer gets the
    answer under the shop's name and is asked «Вопрос решён?»; the case is answered, resolved."""
    from tests.factories import press
    from tests.test_reviews import asked

    anna = tg.user(7021, "Анна")
    await asked(app, tg, clock, anna)
    await press(tg, anna, "1⭐")
    cookie = _cookie(await sign_in(http, app, await ask_link(tg)))
    csrf = await _csrf(http, app, cookie)
    jar = {COOKIE_NAME: cookie}
    async with app.db.read() as conn, conn.execute("SELECT id FROM cases") as cur:
        (case_id,) = await cur.fetchone()  # type: ignore[misc]
    headers = {"Origin": _base(app)}
    async with http.post(
        f"{_base(app)}/dashboard/cases/{case_id}/reply",
        data={"csrf": csrf, "text": "Простите! Вышлем новый чай завтра."},
        cookies=jar,
        headers=headers,
        allow_redirects=False,
    ) as sent:
        assert sent.status == 303
    await app.outbox.tick()
    await tg.settle()
    assert "Простите! Вышлем новый чай завтра." in anna.last["text"]
    assert anna.last["text"].startswith("🏪")  # under the shop's name, as from Telegram
    async with app.db.read() as conn, conn.execute("SELECT status FROM cases") as cur:
        assert [r[0] for r in await cur.fetchall()] == ["answered"]
    async with http.post(
        f"{_base(app)}/dashboard/cases/{case_id}/resolve",
        data={"csrf": csrf},
        cookies=jar,
        headers=headers,
        allow_redirects=False,
    ) as resolved:
        assert resolved.status == 303
    await app.outbox.tick()
    await tg.settle()
    assert "Вопрос решён?" in anna.last["text"]
    async with app.db.read() as conn, conn.execute("SELECT status FROM cases") as cur:
        assert [r[0] for r in await cur.fetchall()] == ["resolved"]
    async with (
        app.db.read() as conn,
        conn.execute("SELECT COUNT(*) FROM outbox WHERE kind = 'alert_reply'") as cur,
    ):
        assert (await cur.fetchone())[0] == 0  # type: ignore[index]
