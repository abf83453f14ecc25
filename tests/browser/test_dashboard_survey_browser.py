"""The survey page in a real Chromium: the action plan and the anonymous comments (issue 12).

The plan of the newest wave with initiatives (action, owner, due date, status) and the earlier
ones still open; the closed wave's comments only in groups of SURVEY_COMMENT_MIN_GROUP or more
(`bot.plans.comments.visible_comments`, the rules of `bot.disclosure`), exactly as /report.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from bot.app import BotApp
from bot.emulator import BotAPIEmulator
from tests.browser.harness import chromium, chromium_or_skip, screenshot
from tests.browser.test_dashboard_browser import origin, signed_in_page
from tests.plans_helpers import plan, report, team, wave
from tests.test_plans_flow import COMMENTS, FIRST, SALES, STOCK

pytestmark = pytest.mark.slow


async def survey_page_text(app: BotApp, tg: BotAPIEmulator, name: str) -> tuple[str, str, str]:
    """The page's #plan and #comments sections (empty when absent) and all of main."""
    async with chromium(origin(app)) as browser:
        cm, page, watch = await signed_in_page(browser, tg, "phone")
        try:
            await page.goto(f"{origin(app)}/dashboard/survey")
            sections = []
            for selector in ("#plan", "#comments"):
                found = page.locator(selector)
                sections.append(await found.inner_text() if await found.count() else "")
            main = await page.inner_text("main")
            html = await page.content()
            await screenshot(page, name)
            assert watch.clean(), watch.summary()
        finally:
            await cm.__aexit__(None, None, None)
    return sections[0], sections[1], main + "\n" + html


async def test_the_survey_page_shows_the_plan_and_the_pooled_comments(
    start_app: Callable[..., Any], tg: BotAPIEmulator
) -> None:
    chromium_or_skip()
    app: BotApp = await start_app(voc_cron="")
    people = await team(tg, {"Продажи": SALES, "Склад": STOCK})
    await wave(tg, app, people, FIRST, COMMENTS, "Волна 1")
    await plan(tg, app, question=4, title="Разбор жалоб каждую неделю", owner=people[2001],
               due="Через месяц")  # fmt: skip
    await plan(tg, app, question=4, title="Общая CRM для продаж и склада", owner=people[2002],
               due="К следующей волне")  # fmt: skip
    telegram = await report(tg)
    plan_text, comments, _ = await survey_page_text(app, tg, "dashboard-survey-plan-phone")

    assert "План действий" in plan_text
    assert "«Волна 1»" in plan_text
    rows = [line for line in plan_text.splitlines() if "Разбор жалоб" in line or "CRM" in line]
    assert len(rows) == 2, plan_text
    assert "E2001" in plan_text
    assert "E2002" in plan_text
    assert "к следующей волне" in plan_text.lower()
    assert re.search(r"\d\d\.\d\d\.20\d\d", plan_text)  # the month's due date
    assert "запланирована" in plan_text.lower()

    # Склад's two alone would be a group of 2 < 5: nobody's department is named, and the seven
    # comments are shown together, as in /report.
    for comment in COMMENTS.values():
        if comment is not None:
            assert comment in comments
            assert comment in telegram
    assert "Другие отделы" in comments
    headings = {line.strip() for line in comments.splitlines()}
    assert "Склад" not in headings
    assert "Продажи" not in headings


async def test_a_small_groups_comments_never_appear_on_the_page(
    start_app: Callable[..., Any], tg: BotAPIEmulator
) -> None:
    """Four commenters of six, under SURVEY_COMMENT_MIN_GROUP (5): not one comment is on the
    page (nor in its HTML); the page says how many are not shown and why."""
    chromium_or_skip()
    app: BotApp = await start_app(voc_cron="")
    people = await team(tg, {"Продажи": (2001, 2002, 2003, 2004, 2005, 2006)})
    scores = {uid: [3, 3, 3, 3, 3, 3] for uid in people}
    four = {uid: f"Мешает пункт {uid}" for uid in (2001, 2002, 2003, 2004)}
    await wave(tg, app, people, scores, four, "Волна 1")
    _, comments, everything = await survey_page_text(app, tg, "dashboard-survey-hidden-phone")
    assert "Мешает пункт" not in everything
    assert "Не показаны: 4" in comments
    assert "меньше 5" in comments


async def test_a_department_under_the_minimum_is_never_named_beside_its_comments(
    start_app: Callable[..., Any], tg: BotAPIEmulator
) -> None:
    """With a minimum of 3, sales has 5 commenters (a group of its own), the warehouse 2 (under
    the minimum): the warehouse's words appear only without its name, in a pool that holds at
    least the minimum too (here sales joins it: a pool of 2 alone would be too small)."""
    chromium_or_skip()
    app: BotApp = await start_app(voc_cron="", survey_comment_min_group=3)
    people = await team(tg, {"Продажи": SALES, "Склад": STOCK})
    scores = {uid: [3, 3, 3, 3, 3, 3] for uid in people}
    said = {uid: f"Мешает {uid}" for uid in (*SALES, 2006, 2007)}
    await wave(tg, app, people, scores, said, "Волна 1")
    _, comments, _ = await survey_page_text(app, tg, "dashboard-survey-pooled-phone")
    assert "Склад" not in comments  # never named (its people's words do not say it here)
    warehouse = [f"Мешает {uid}" for uid in (2006, 2007)]
    assert all(w in comments for w in warehouse)
    # Each shown group holds at least the minimum of comments.
    groups = re.split(r"\n(?=Продажи\n|Другие отделы\n)", comments)[1:]
    assert groups, comments
    for group in groups:
        assert group.count("Мешает") >= 3, group
