"""Text from people is never markup: hostile names, comments and titles show exactly as typed.

Messages go out with parse_mode=HTML. A customer named `<b>Boss</b>`, a comment `</i>` or a
department `Sales & <Marketing>` must reach the admin as those very characters: not bold, not
a Telegram «can't parse entities» error (which would lose the alert), not a link. The emulator
parses the HTML the way Telegram does, so `message["text"]` is what a person would see.
"""

from __future__ import annotations

import functools
import itertools
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from bot.app import BotApp
from bot.emulator import BotAPIEmulator
from bot.emulator.spec import visible_text
from bot.i18n import Translator, build_i18n
from bot.privacy import service as privacy
from bot.reviews.alerts import alert_text
from bot.reviews.service import AlertView
from bot.survey import service as survey_service
from storage.reviews import Alert, ItemLine, Review
from tests.factories import Item, buy, link, one
from tests.survey_helpers import admin

START = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)

SHARED_APP = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

INJECTIONS = [
    "<b>bold</b>",
    "</i>",
    "<a href='https://evil.example'>pay here</a>",
    '<tg-spoiler>x</tg-spoiler> <code class="language-py">y</code>',
    "&amp; &lt; &#33; &",
    "<script>alert(1)</script>",
    "*bold* _italic_ `code` [link](https://evil.example) ~strike~ ||spoiler||",
    "<",
    "a > b < c",
    "<blockquote expandable>q",
]
MARKUP_CHARS = "<>&\"'*_`[]()~|#!/\\;= "

hostile_text = st.one_of(
    st.sampled_from(INJECTIONS),
    st.text(
        st.one_of(
            st.sampled_from(MARKUP_CHARS),
            st.characters(categories=["L", "N", "P", "S"]),
        ),
        min_size=1,
        max_size=40,
    ),
).filter(lambda s: bool(s.strip()) and not s.lstrip().startswith("/"))


def visible(message: dict[str, Any]) -> str:
    return message.get("text") or message.get("caption") or ""


# --- what admins type: department names ------------------------------------------------------
@SHARED_APP
@given(name=hostile_text)
@example(name="Sales & <Marketing>")
async def test_department_names_show_as_typed(app: BotApp, tg: BotAPIEmulator, name: str) -> None:
    boss = admin(tg)
    boss.send(f"/invite {name}")
    await tg.settle()
    stored = " ".join(name.split())
    assume(len(stored) <= 64)  # longer ones are refused (tests/test_survey_flow.py)
    assert f"«{stored}»" in visible(boss.last)
    boss.send("/departments")
    await tg.settle()
    assert f"• {stored}: 0" in visible(boss.last)


employees = itertools.count(1)
used_titles: set[str] = set()  # a title is used once: the next /survey_start with it is refused


@SHARED_APP
@given(title=hostile_text)
@example(title="<b>Q1</b> & «итоги»")
async def test_wave_titles_show_as_typed_to_admins_and_employees(
    app: BotApp, tg: BotAPIEmulator, title: str
) -> None:
    # A new employee each time (the one before leaves): Telegram's one message per second per
    # chat would otherwise set the pace.
    employee = tg.user(33_000 + next(employees), "Anna")
    payload, _ = await survey_service.create_invite(app.db, "Продажи", 1, app.clock.now())
    await survey_service.join(app.db, payload, employee.id, "ru", app.clock.now(), reminder_days=3)
    boss = admin(tg)
    boss.send(f"/survey_start {title}")
    await tg.settle()
    stored = " ".join(title.split())
    if stored and stored.casefold() in used_titles:
        assert "с таким названием уже был" in visible(boss.last)
    elif len(stored) <= 100:  # longer ones are refused (tests/test_survey_flow.py)
        used_titles.add(stored.casefold())
        assert f"«{stored}»" in visible(boss.last)
        await app.outbox.tick()
        assert f"«{stored}»" in visible(employee.last)  # the first question's introduction
        boss.send("/survey_close")
        await tg.settle()
        assert f"«{stored}»" in visible(boss.last)
    await privacy.leave(app.db, employee.id, app.clock.now())


# --- what customers type: their name (via the shop), items, comments in admin alerts ----------
alert_values = st.fixed_dictionaries(
    {
        "name": hostile_text,
        "external_id": hostile_text,
        "items": st.lists(hostile_text.filter(lambda t: len(t) <= 30), min_size=1, max_size=3),
        "order": hostile_text,
        "comment": st.none() | hostile_text,
        "resolver": st.none() | hostile_text,
    }
)


@functools.cache
def russian() -> Translator:
    return Translator(build_i18n(), "ru")


@settings(max_examples=200, deadline=None, derandomize=True)
@given(values=alert_values)
def test_alert_texts_show_every_customer_value_as_typed(values: dict[str, Any]) -> None:
    """The alert as rendered, parsed as Telegram parses HTML: every value is there verbatim."""
    review = Review(1, 1, "answered", START, 1, 3, START, values["comment"], None)
    resolver = values["resolver"]
    alert = Alert(
        7,
        review,
        values["name"],
        "+79991234567",
        values["external_id"],
        1 if resolver is not None else None,
        resolver,
        START if resolver is not None else None,
    )
    view = AlertView(alert, [ItemLine(name, 1) for name in values["items"]], [values["order"]])
    tr = russian()
    for comment_only in (False, True):
        shown = visible_text(
            alert_text(tr, view, ZoneInfo("Europe/Moscow"), comment_only=comment_only), "HTML"
        )
        assert values["name"] in shown
        assert values["external_id"] in shown
        assert values["order"] in shown
        if not comment_only:
            for name in values["items"]:
                assert name in shown
        if values["comment"] is not None:
            assert values["comment"] in shown
        if resolver is not None:
            assert resolver in shown


async def test_an_alert_through_the_wire_shows_hostile_texts_as_typed(
    app: BotApp, tg: BotAPIEmulator
) -> None:
    """One full path (purchase → link → request → 1 star → NPS → comment → two alerts), with
    the nastiest texts at every step: the property above covers the variety."""
    boss = admin(tg)
    customer = tg.user(50_001, "Customer")
    name, item, comment = "<b>Boss</b> & Co", "Чашки <фарфор> &amp; блюдца", "</i> *x* [a](b) <"
    recorded = await buy(app, "M-1", "hostile-1", Item("SKU-1", item), name=name)
    await link(tg, recorded, customer)
    app.clock.advance(days=7)
    await app.outbox.tick()

    customer.click("1⭐")
    await tg.settle()
    await app.outbox.tick()
    alert = visible(boss.last)
    assert "1 из 5" in alert
    assert name in alert
    assert item in alert

    customer.click("3")  # the NPS question that follows
    await tg.settle()
    customer.send(comment)
    await tg.settle()
    await app.outbox.tick()
    assert await one(app, "SELECT comment FROM reviews WHERE id = ?", recorded.review_id) == comment
    assert comment in visible(boss.last)
