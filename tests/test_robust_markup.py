"""Every renderer with hostile values: each message the bot sends parses as Telegram HTML and fits.

A department `Отдел <B2B>` made joining fail («что-то пошло не так»), and the first question was
never shown. The property test below takes every path a value typed by a person or sent by a
shop can reach (the welcome and «moved» messages, survey questions and results, every outbox
kind, alerts, «Решено», restock reminders, /report, /departments, /export captions) and checks
through the emulator — which parses HTML the way Telegram does and refuses what Telegram
refuses — that every call was accepted, texts at most 4096 characters after parsing, captions at
most 1024, and that every outbox kind was among the messages sent.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.app import BotApp
from bot.clock import FakeClock
from bot.emulator import BotAPIEmulator
from bot.emulator.spec import visible_text
from tests.conftest import ADMIN_ID
from tests.robust_helpers import buy, link, order

WENT_WRONG = ("что-то пошло не так", "Something went wrong")
SENDS = ("sendMessage", "sendPhoto", "sendDocument", "editMessageText", "editMessageCaption")

HOSTILE = [
    "Отдел <B2B>",
    "<b>bold</b>",
    "</i>",
    "a & b <c> d",
    "&amp; &lt; &#33; &",
    "<a href='https://evil.example'>pay</a>",
    "<tg-spoiler>x",
    "\"quoted\" 'single'",
]
hostile = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(st.sampled_from("<>&\"';/ab АБ"), min_size=1, max_size=30),
).filter(lambda s: bool(s.strip()) and not s.strip().startswith("/"))

SHARED_APP = settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_ids = itertools.count(1)
BONUS = "🎁 <PROMO-10> & скидка"
SHOP = "Лавка <№1> & Co"


@pytest.fixture
async def app(start_app: Callable[..., Any]) -> BotApp:
    """The production app with a bonus text, so that the bonus kind is sent too, and a shop
    name with markup in it."""
    return await start_app(review_bonus_text=BONUS, shop_name=SHOP)


def visible_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


async def invite(tg: BotAPIEmulator, department: str) -> str:
    boss = tg.user(ADMIN_ID, "Olga")
    boss.send(f"/invite {department}")
    await tg.settle()
    return next(
        line.split("?start=", 1)[1]
        for line in boss.last["text"].splitlines()
        if line.startswith("https://")
    )


# Kinds that features merged after this test was written send; this property does not drive
# them yet (each has its own tests with hostile texts; see the closing note of this stop).
NOT_DRIVEN_HERE = frozenset(
    {
        "alert_reply", "event_out", "plan_checkin", "plan_overdue", "plan_owner", "plan_owner_gone",
        "pulse_invite", "voc_suggestion", "winback",
    }
)  # fmt: skip


# --- the welcome and «moved» messages -------------------------------------------------------------
async def test_joining_a_department_with_markup_in_its_name_shows_it_as_typed(
    app: BotApp, tg: BotAPIEmulator
) -> None:
    first = await invite(tg, "Отдел <B2B>")
    second = await invite(tg, "Sales & <Marketing>")
    boss = tg.user(ADMIN_ID, "Olga")

    ivan = tg.user(6001, "Иван")
    ivan.send(f"/start {first}")
    await tg.settle()
    # A wave needs an employee to start (issue 13): Ivan joined, now it opens and asks him.
    boss.send("/survey_start Волна")
    await tg.settle()
    await app.outbox.tick()
    await tg.settle()
    texts = ivan.texts()
    assert not any(w in t for t in texts for w in WENT_WRONG), texts
    assert any("«Отдел <B2B>»" in t for t in texts), texts
    assert any(m.get("reply_markup") for m in ivan.bot_messages()), "no first question shown"

    ivan.send(f"/start {second}")
    await tg.settle()
    moved = next(t for t in ivan.texts() if "Sales & <Marketing>" in t)
    assert "«Отдел <B2B>»" in moved  # «moved from … to …», both as typed


# --- every renderer ----------------------------------------------------------------------
@SHARED_APP
@given(
    department=hostile,
    title=hostile,
    customer=hostile,
    items=st.lists(hostile, min_size=1, max_size=4),
    comment=st.one_of(hostile, st.just("<" * 1000), st.just("&" * 999 + "ы")),
    admin_name=hostile,
    shop_id=hostile,
)
@example(
    department="Отдел <B2B>",
    title="<b>Волна</b>",
    customer="<i>Анна",
    items=["Чашки <фарфор> & блюдца"],
    comment="вот <фото> брака",
    admin_name="</b>",
    shop_id="<C&1>",
)
async def test_every_message_parses_and_fits_whatever_the_names(
    app: BotApp,
    tg: BotAPIEmulator,
    clock: FakeClock,
    department: str,
    title: str,
    customer: str,
    items: list[str],
    comment: str,
    admin_name: str,
    shop_id: str,
) -> None:
    n = next(_ids)
    first_call = len(tg.calls)
    async with app.db.read() as conn, conn.execute("SELECT COALESCE(MAX(id), 0) FROM outbox") as c:
        first_row = (await c.fetchone())[0]
    boss = tg.user(ADMIN_ID, "Olga")
    boss.first_name = admin_name

    # Employees: the welcome, the wave's invitation and reminder, the questions, the result.
    payload = await invite(tg, department)
    keen, late = tg.user(100_000 + 2 * n, "Keen"), tg.user(100_001 + 2 * n, "Late")
    for person in (keen, late):
        person.send(f"/start {payload}")
    await tg.settle()
    boss.send("/survey_close")
    await tg.settle()
    boss.send(f"/survey_start {title} {n}")  # one app for every example: titles must differ
    await tg.settle()
    await app.outbox.tick()
    for _ in range(6):
        keen.click("4")
        await tg.settle()
    clock.advance(days=app.settings.survey_reminder_days, seconds=1)
    await app.outbox.tick()

    # A customer: review request, reminder, stars, NPS, comment, alert, its comment, bonus,
    # the case (reminders, answers both ways, a photo), «Решено», restock reminder.
    external_id = f"{' '.join(shop_id.split())[:40]}-{n}"
    body = order(
        f"ORD-{n}",
        external_id,
        at=clock.now().isoformat(),
        name=customer,
        items=[
            {"sku": f"SKU-{n}-{i}", "name": name, "quantity": i + 1, "restock_days": 20}
            for i, name in enumerate(items)
        ],
    )
    anna = tg.user(200_000 + n, "Анна")
    await link(tg, anna, await buy(app.http_port, body))
    clock.advance(days=app.settings.review_delay_days, seconds=1)
    await app.outbox.tick()
    clock.advance(days=app.settings.review_reminder_days, seconds=1)
    await app.outbox.tick()
    anna.click("1⭐")
    await tg.settle()
    await app.outbox.tick()
    anna.click("3")
    await tg.settle()
    anna.send(comment)
    await tg.settle()
    await app.outbox.tick()
    # The complaint's case: unanswered until its due and overdue reminders; then the admin
    # answers (a text and a photo with a caption), the customer writes back, «Решено».
    clock.advance(days=5)
    await app.outbox.tick()
    boss.click("Ответить клиенту")
    await tg.settle()
    boss.send(f"Ответ: {comment}")
    await tg.settle()
    boss.click("Ответить клиенту")
    await tg.settle()
    boss.send_media("photo", caption=f"{comment} {customer}" * 40)
    await tg.settle()
    await app.outbox.tick()
    anna.send(f"{comment} — {admin_name}")
    await tg.settle()
    await app.outbox.tick()
    boss.click("Решено")
    await tg.settle()
    await app.outbox.tick()
    clock.advance(days=20)
    await app.outbox.tick()

    # Admins' reading, and forgetting the customer (which shows who it is first).
    for command in ("/report", "/departments", "/export", f"/forget_customer {external_id}"):
        boss.send(command)
        await tg.settle()

    calls = tg.calls[first_call:]
    refused = [(c.method, c.status, c.error) for c in calls if c.status != 200]
    assert not refused, refused
    for call in calls:
        if call.method not in SENDS:
            continue
        params = call.params
        if "text" in params:
            assert visible_length(visible_text(params["text"], params.get("parse_mode"))) <= 4096
        if params.get("caption"):
            caption = visible_text(params["caption"], params.get("parse_mode"))
            assert visible_length(caption) <= 1024
    for person in (boss, keen, late, anna):
        assert not any(w in t for t in person.texts() for w in WENT_WRONG), person.texts()
    # Every message the customer sees names the shop, as typed (issue 11).
    unnamed = [t for t in anna.texts() if not t.startswith(f"🏪 {SHOP}")]
    assert not unnamed, unnamed

    async with (
        app.db.read() as conn,
        conn.execute(
            "SELECT DISTINCT kind FROM outbox WHERE id > ? AND status = 'sent'", (first_row,)
        ) as cur,
    ):
        sent = {row[0] for row in await cur.fetchall()}
    missing = set(app.outbox.kinds) - sent - NOT_DRIVEN_HERE
    assert not missing, f"outbox kinds never rendered here: {missing}"
