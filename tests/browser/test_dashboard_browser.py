"""The dashboard in a real Chromium, on the demo's data, at a phone's and a laptop's width.

Every page: signed in by the bot's link, rendered with no console error and no request to any
other host, its figures equal to the Telegram report's (the same objects, formatted by the same
helpers), and a screenshot under tests/artifacts/. A reply from the cases page reaches the
customer through the fake Bot API.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from bot.app import BotApp
from bot.clock import FakeClock
from bot.dashboard.signin import init_data_hash
from bot.demo import API_TOKEN, Demo
from bot.emulator import BotAPIEmulator
from bot.reports import numbers
from bot.reports.assemble import build_report
from bot.reports.periods import ReportRequest
from tests.browser.harness import WIDTHS, chromium, chromium_or_skip, screenshot
from tests.conftest import ADMIN_ID, TOKEN
from tests.factories import TEA, buy, link, press
from tests.test_dashboard_web import ask_link
from tests.test_reviews import asked

pytestmark = pytest.mark.slow

PAGES = ("", "survey", "customers", "cases", "exports")


@pytest.fixture
async def demo_app(start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock) -> BotApp:
    """Three weeks of the demo's small shop and two survey waves (about 4 s)."""
    chromium_or_skip()

    def fast(app: BotApp) -> None:
        app.outbox.sender.pacer.per_chat_interval = 0.0  # the demo's clock runs fast

    app = await start_app(configure=fast, send_rate=1000, api_token=API_TOKEN)
    await Demo(tg, app, clock, days=21, customers=8).run()
    return app


def origin(app: BotApp) -> str:
    return f"http://127.0.0.1:{app.http_port}"


async def signed_in_page(browser: Any, tg: BotAPIEmulator, width: str) -> Any:
    page_cm = browser.page(width)
    page, watch = await page_cm.__aenter__()
    await page.goto(await ask_link(tg))
    await page.wait_for_url(re.compile(r"/dashboard/$"))
    return page_cm, page, watch


async def test_every_page_at_phone_and_desktop_width(demo_app: BotApp, tg: BotAPIEmulator) -> None:
    async with chromium(origin(demo_app)) as browser:
        for width in WIDTHS:
            cm, page, watch = await signed_in_page(browser, tg, width)
            try:
                for name in PAGES:
                    await page.goto(f"{origin(demo_app)}/dashboard/{name}")
                    await page.wait_for_load_state("networkidle")
                    assert await page.locator("main h1").count() == 1
                    # Every image (the SVG charts) loaded.
                    broken = await page.evaluate(
                        "[...document.images].filter(i => !i.complete || !i.naturalWidth)"
                        ".map(i => i.src)"
                    )
                    assert broken == []
                    # Nothing wider than the screen except inside a scrolling table.
                    overflow = await page.evaluate(
                        "document.documentElement.scrollWidth - window.innerWidth"
                    )
                    assert overflow <= 1, (
                        f"{name or 'overview'} at {width} overflows by {overflow}px"
                    )
                    await screenshot(page, f"dashboard-{name or 'overview'}-{width}")
                # The English version of a page too.
                await page.goto(f"{origin(demo_app)}/dashboard/customers?lang=en")
                assert "Customers, last 30 days" in await page.inner_text("main")
                await screenshot(page, f"dashboard-customers-en-{width}")
                assert watch.clean(), watch.summary()
            finally:
                await cm.__aexit__(None, None, None)


async def test_page_figures_equal_the_reports(demo_app: BotApp, tg: BotAPIEmulator) -> None:
    app = demo_app
    report = await build_report(app.db, app.settings, ReportRequest(days=30), app.clock.now())
    assert report.survey is not None
    assert report.customers is not None
    cur = report.customers.current
    expected_overview = {
        "index": numbers.number(report.survey.latest.mean_total or 0, 1),
        "nps": numbers.signed(cur.nps.score, 0) if cur.nps.score is not None else "нет данных",
        "csat": numbers.percent(cur.ratings.csat) if cur.ratings.csat is not None else "нет данных",
    }
    expected_customers = {
        **{k: v for k, v in expected_overview.items() if k != "index"},
        "buyers": str(cur.buyers),
        "negative": str(cur.ratings.negative),
    }
    means = report.survey.latest.question_means
    assert means is not None
    expected_survey = {f"q{i + 1}": numbers.number(m, 2) for i, m in enumerate(means)}
    async with chromium(origin(app)) as browser:
        cm, page, watch = await signed_in_page(browser, tg, "desktop")
        try:
            for path, expected in (
                ("", expected_overview),
                ("customers", expected_customers),
                ("survey", expected_survey),
            ):
                await page.goto(f"{origin(app)}/dashboard/{path}")
                for figure, value in expected.items():
                    shown = await page.inner_text(f"[data-figure='{figure}']")
                    assert shown == value, (path, figure)
            assert watch.clean(), watch.summary()
        finally:
            await cm.__aexit__(None, None, None)


async def test_a_reply_from_the_cases_page_reaches_the_customer(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock
) -> None:
    """The reply goes through the cases feature (`bot.cases.service.shop_replies`), as the
    «Ответить клиенту» button does: the customer reads it under the shop's name, the case is
    answered, and the report's loop figures count the first answer."""
    chromium_or_skip()
    app = await start_app(shop_name="Чайная лавка", alert_response_hours=24)
    anna = tg.user(7020, "Анна")
    await asked(app, tg, clock, anna)
    await press(tg, anna, "1⭐")
    await press(tg, anna, "2")
    anna.send("Чай пришёл мятый")
    await tg.settle()
    await app.outbox.tick()
    async with app.db.read() as conn, conn.execute("SELECT id FROM cases") as cur:
        (case_id,) = await cur.fetchone()  # type: ignore[misc]
    before = len(anna.texts())
    clock.advance(hours=2)  # the shop answers two hours after the complaint
    async with chromium(origin(app)) as browser:
        cm, page, watch = await signed_in_page(browser, tg, "phone")
        try:
            await page.goto(f"{origin(app)}/dashboard/cases")
            row = await page.inner_text(f"#cases tr[data-case='{case_id}']")
            assert "Чай пришёл мятый" in row
            assert "Жалоба · 1/5" in row
            assert "Анна" in row
            assert "ждёт ответа магазина" in row
            assert "2 ч 0 мин назад" in row  # its age: opened two hours ago
            assert "просрочено" not in row  # due 24 h of the send window after it opened
            overflow = await page.evaluate("document.documentElement.scrollWidth - innerWidth")
            assert overflow <= 1  # at a phone's width the table scrolls inside its box
            await screenshot(page, "dashboard-cases-list-phone")
            await page.click(f"a[href='/dashboard/cases/{case_id}']")
            await page.fill("#reply-text", "Извините! Заменим чай бесплатно.")
            await page.click("#reply-form button[type=submit]")
            await page.wait_for_url(re.compile(rf"/dashboard/cases/{case_id}\?sent=1$"))
            await app.outbox.tick()
            await tg.settle()
            answer = anna.texts()[before:]
            assert len(answer) == 1, answer
            assert answer[0].startswith("🏪 Чайная лавка"), answer
            assert "Извините! Заменим чай бесплатно." in answer[0]
            await page.reload()
            thread = await page.inner_text("#thread")
            assert "Заменим чай бесплатно" in thread
            assert "доставлено" in thread
            assert "отвечено" in await page.inner_text("#case-status")
            await page.click("#resolve-form button[type=submit]")
            await page.wait_for_url(re.compile(rf"/dashboard/cases/{case_id}$"))
            assert "Решено" in await page.inner_text("#thread")
            assert "решено, клиента спросили" in await page.inner_text("#case-status")
            assert await page.locator("#resolve-form").count() == 0
            await page.goto(f"{origin(app)}/dashboard/cases?status=resolved")
            assert await page.locator(f"#cases tr[data-case='{case_id}']").count() == 1
            await page.goto(f"{origin(app)}/dashboard/cases")
            assert await page.locator(f"#cases tr[data-case='{case_id}']").count() == 0
            # The median time to the first answer, as the report's loop figures count it (2 h).
            assert "2 ч 0 мин" in await page.inner_text("#cases-summary")
            await page.goto(f"{origin(app)}/dashboard/")
            assert "2 ч 0 мин" in await page.inner_text("main")
            await app.outbox.tick()
            await tg.settle()
            assert "Вопрос решён?" in anna.last["text"]
            await screenshot(page, "dashboard-case-replied-phone")
            assert watch.clean(), watch.summary()
        finally:
            await cm.__aexit__(None, None, None)
    async with (
        app.db.read() as conn,
        conn.execute(
            "SELECT admin_id, action FROM dashboard_actions WHERE action != 'signed_in' ORDER BY id"
        ) as cur,
    ):
        assert [tuple(r) for r in await cur.fetchall()] == [
            (ADMIN_ID, "replied"),
            (ADMIN_ID, "resolved"),
        ]
    async with (
        app.db.read() as conn,
        conn.execute("SELECT resolved_by FROM alerts") as cur,
    ):
        assert (await cur.fetchone())[0] == ADMIN_ID  # type: ignore[index]
    async with (
        app.db.read() as conn,
        conn.execute("SELECT status, first_answered_by FROM cases") as cur,
    ):
        assert [tuple(r) for r in await cur.fetchall()] == [("resolved", ADMIN_ID)]
    # The report's loop figures count the dashboard's answer as the shop's first answer.
    clock.advance(minutes=1)  # a period ends before now: the case opened in it
    report = await build_report(app.db, app.settings, ReportRequest(days=30), app.clock.now())
    assert report.loop is not None
    assert report.loop.current.opened == 1
    assert report.loop.current.median_first_answer == 2.0
    assert report.loop.current.in_target == 1


async def test_a_question_case_on_the_dashboard_through_the_whole_loop(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock
) -> None:
    """A free-text question from the cases table: listed with its topic, words and due time,
    late once ALERT_RESPONSE_HOURS of the send window pass; answered from the page (the customer
    gets it in Telegram); the customer's answer and «Нет» show in the thread, reopened."""
    chromium_or_skip()
    app = await start_app(shop_name="Чайная лавка", alert_response_hours=2)
    anna = tg.user(7030, "Анна")
    await link(tg, await buy(app, "A-1", "cust-7030", TEA), anna)
    anna.send("Когда будет улун?")
    await tg.settle()
    await app.outbox.tick()
    async with app.db.read() as conn, conn.execute("SELECT id, topic FROM cases") as cur:
        ((case_id, topic),) = [tuple(r) for r in await cur.fetchall()]
    assert topic == "question"
    clock.advance(hours=3)  # past the two hours of the target, inside the send window
    async with chromium(origin(app)) as browser:
        cm, page, watch = await signed_in_page(browser, tg, "desktop")
        try:
            await page.goto(f"{origin(app)}/dashboard/cases?status=open&topic=question")
            row = await page.inner_text(f"#cases tr[data-case='{case_id}']")
            assert "Вопрос" in row
            assert "Когда будет улун?" in row
            assert "просрочено" in row
            assert "просрочено: 1" in await page.inner_text("#cases-summary")
            await page.goto(f"{origin(app)}/dashboard/cases?topic=complaint")
            assert await page.locator(f"#cases tr[data-case='{case_id}']").count() == 0
            await page.goto(f"{origin(app)}/dashboard/cases/{case_id}")
            await page.fill("#reply-text", "Улун будет в пятницу.")
            await page.click("#reply-form button[type=submit]")
            await page.wait_for_url(re.compile(rf"/dashboard/cases/{case_id}\?sent=1$"))
            await app.outbox.tick()
            await tg.settle()
            assert anna.last["text"].startswith("🏪 Чайная лавка")
            assert "Улун будет в пятницу." in anna.last["text"]
            anna.send("Спасибо, а зелёный?")
            await tg.settle()
            await page.reload()
            thread = await page.inner_text("#thread")
            assert thread.index("Когда будет улун?") < thread.index("Улун будет в пятницу.")
            assert thread.index("Улун будет в пятницу.") < thread.index("Спасибо, а зелёный?")
            assert "отвечено" in await page.inner_text("#case-status")
            assert "просрочено" in await page.inner_text("#case-due")  # answered after the due
            await page.click("#resolve-form button[type=submit]")
            await page.wait_for_url(re.compile(rf"/dashboard/cases/{case_id}$"))
            await app.outbox.tick()
            await tg.settle()
            assert "Вопрос решён?" in anna.last["text"]
            await press(tg, anna, "Нет")
            await page.reload()
            assert "открыто снова: 1" in await page.inner_text("#case-status")
            assert "ждёт ответа магазина" in await page.inner_text("#case-status")
            assert "не решён" in await page.inner_text("#thread")
            await screenshot(page, "dashboard-case-question-desktop")
            assert watch.clean(), watch.summary()
        finally:
            await cm.__aexit__(None, None, None)


async def test_a_photo_in_a_case_shows_in_its_thread(
    start_app: Callable[..., Any], tg: BotAPIEmulator
) -> None:
    """Telegram keeps the file: the thread says a photo came, with its caption, both ways."""
    chromium_or_skip()
    app = await start_app(shop_name="Чайная лавка")
    olga = tg.user(ADMIN_ID, "Olga")
    anna = tg.user(7031, "Анна")
    await link(tg, await buy(app, "A-1", "cust-7031", TEA), anna)
    anna.send_media("photo", caption="Вот <скол> на чашке")
    await tg.settle()
    await app.outbox.tick()
    await press(tg, olga, "Ответить клиенту", message=olga.last)
    olga.send_media("voice")
    await tg.settle()
    await app.outbox.tick()
    async with app.db.read() as conn, conn.execute("SELECT id FROM cases") as cur:
        ((case_id,),) = [tuple(r) for r in await cur.fetchall()]
    async with chromium(origin(app)) as browser:
        cm, page, watch = await signed_in_page(browser, tg, "phone")
        try:
            await page.goto(f"{origin(app)}/dashboard/cases/{case_id}")
            thread = await page.inner_text("#thread")
            assert "📷 фото" in thread
            assert "Вот <скол> на чашке" in thread  # as typed, not as markup
            assert thread.index("📷 фото") < thread.index("🎤 голосовое сообщение")
            assert watch.clean(), watch.summary()
        finally:
            await cm.__aexit__(None, None, None)


async def test_refusals_in_the_browser(app: BotApp, tg: BotAPIEmulator) -> None:
    chromium_or_skip()
    async with chromium(origin(app)) as browser:
        link = await ask_link(tg)
        async with browser.page("phone") as (page, watch):
            await page.goto(link)
            await page.wait_for_url(re.compile(r"/dashboard/$"))
        async with browser.page("phone") as (page, watch):
            await page.goto(link)  # the same link again, in another browser
            assert "уже входили" in await page.inner_text("#refusal")
            await screenshot(page, "dashboard-refused-reused-phone")
        async with browser.page("desktop") as (page, watch):
            await page.goto(f"{origin(app)}/dashboard/login?token=forged")
            assert "недействительна" in await page.inner_text("#refusal")
        # A Mini App opened with initData signed by another bot's token.
        fields = {
            "user": json.dumps({"id": ADMIN_ID, "first_name": "Ольга"}),
            "auth_date": str(int(app.clock.now().timestamp())),
        }
        for token, text in (("999:forged", "Подпись Telegram"), (TOKEN, None)):
            signed = {**fields, "hash": init_data_hash(fields, token)}
            fragment = "tgWebAppData=" + quote(urlencode(signed)) + "&tgWebAppVersion=7.0"
            async with browser.page("phone") as (page, watch):
                await page.goto(f"{origin(app)}/dashboard/#{fragment}")
                if text is None:
                    await page.wait_for_url(re.compile(r"/dashboard/$"))
                    await page.wait_for_selector("[data-figure='nps']")
                    await screenshot(page, "dashboard-mini-app-phone")
                else:
                    await page.wait_for_selector("#refusal")
                    assert text in await page.inner_text("#refusal")
                # A refused page (401, 403) is one console line in Chromium; nothing else may be.
                refused = [e for e in watch.console_errors if not re.search(r"status of 40[13]", e)]
                assert refused == [], watch.summary()
                assert watch.page_errors == [], watch.summary()
                assert watch.other_hosts == [], watch.summary()
