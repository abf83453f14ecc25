"""The internal service pulse through the fake Bot API: employees rate the departments they work
with; the report shows the index and the who-serves-whom matrix with small cells hidden."""

from __future__ import annotations

from bot.app import BotApp
from bot.callbacks import PulsePickCb
from bot.emulator import BotAPIEmulator, FakeUser
from tests.plans_helpers import report, select, team, tick
from tests.survey_helpers import admin

SALES = (2001, 2002, 2003, 2004)
STOCK = (2005, 2006, 2007)
IT = (2008,)


async def rate(tg: BotAPIEmulator, user: FakeUser, ratings: dict[str, int]) -> None:
    for department in ratings:
        user.click(department)
        await tg.settle()
    user.click("Готово")
    await tg.settle()
    for _ in ratings:
        # The bot asks about the picked departments one by one: answer the one it names.
        asked = next(d for d in ratings if f"«{d}»" in user.last["text"])
        user.click(str(ratings[asked]))
        await tg.settle()


async def test_a_pulse_with_small_cells_hidden(tg: BotAPIEmulator, app: BotApp) -> None:
    people = await team(tg, {"Продажи": SALES, "Склад": STOCK, "ИТ": IT})
    boss = admin(tg)
    boss.send("/pulse_start")
    await tg.settle()
    assert "опрошено сотрудников: 8" in boss.last["text"]
    await tick(tg, app, 1)
    assert "Продажи" not in str(people[2001].last["reply_markup"])  # never one's own department

    for uid in SALES:
        await rate(tg, people[uid], {"Склад": 2, "ИТ": 4})
    for uid in STOCK:
        await rate(tg, people[uid], {"Продажи": 5})
    await rate(tg, people[2008], {"Склад": 1, "Продажи": 3})
    assert "Спасибо" in people[2008].last["text"]

    # One's own department is refused (a forged press), and so is unpicking a rated one.
    late = people[2005]
    own = await select(app, "SELECT id FROM departments WHERE name = 'Склад'")
    late.press_data(PulsePickCb(round=1, department=own[0]["id"]).pack())
    await tg.settle()
    assert "кроме своего" in late.callback_answers()[-1]["text"]
    rated = await select(app, "SELECT id FROM departments WHERE name = 'Продажи'")
    late.press_data(PulsePickCb(round=1, department=rated[0]["id"]).pack())
    await tg.settle()
    assert await select(app, "SELECT COUNT(*) AS n FROM pulse_ratings") == [{"n": 13}]
    # While the pulse is open the report counts raters only (no differencing by the minute).
    text = await report(tg, "")
    assert "Пульс открыт: пока оценили 8" in text
    assert "Склад: " not in text.split("Пульс внутреннего сервиса")[1]
    boss.send("/pulse_close")
    await tg.settle()
    text = await report(tg, "")
    assert "Пульс внутреннего сервиса" in text
    # Склад: 4 Продажи raters (2) + 1 ИТ rater (1): index shown over 5 raters, the ИТ cell
    # hidden, and the Продажи cell hidden too (else 5 × index − 4 × 2 gives the ИТ rater's 1).
    assert "Склад: 1.8 (5)" in text
    assert "Продажи → Склад" not in text
    assert "ИТ → Склад" not in text
    # Продажи: 3 Склад raters (5) + 1 ИТ rater (3): the same rule.
    assert "Продажи: 4.5 (4)" in text
    assert "Склад → Продажи" not in text
    # ИТ: rated by 4 Продажи people only: the index and the single cell are one group.
    assert "ИТ: 4.0 (4)" in text
    assert "Продажи → ИТ: 4.0" in text
    chart = next(f for f in boss.documents() if f.filename == "pulse.png")
    assert chart.content.startswith(b"\x89PNG")
    assert await select(app, "SELECT COUNT(*) AS n FROM pulse_ratings WHERE score IS NULL") == [
        {"n": 0}
    ]


async def test_a_second_pulse_waits_for_the_first_to_close(tg: BotAPIEmulator, app: BotApp) -> None:
    boss = admin(tg)
    boss.send("/pulse_start")
    await tg.settle()
    boss.send("/pulse_start")
    await tg.settle()
    assert "уже открыт" in boss.last["text"]
    boss.send("/pulse_close")
    await tg.settle()
    assert await select(app, "SELECT COUNT(*) AS n FROM pulse_rounds WHERE closed_at IS NULL") == [
        {"n": 0}
    ]
