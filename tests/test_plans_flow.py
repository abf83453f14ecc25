"""From a score to a change, through the fake Bot API with a moved clock: a wave, a plan of two
initiatives (one from an anonymous comment), monthly check-ins, the next wave's report with the
change beside the plan; owners who blocked the bot or left."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.app import BotApp
from bot.emulator import BotAPIEmulator
from tests.plans_helpers import plan, report, select, team, tick, wave
from tests.survey_helpers import admin

SALES = (2001, 2002, 2003, 2004, 2005)
STOCK = (2006, 2007, 2008)
FIRST = {uid: [4, 4, 4, 2, 4, 4] for uid in (*SALES, *STOCK)}  # Q4 is the weakest: 2.0
# At the next wave Q4 is 21 / 8 = 2.625: «+0.6».
SECOND = {uid: [4, 4, 4, 3 if uid in (*SALES,) else 2, 4, 4] for uid in (*SALES, *STOCK)}
COMMENTS: dict[int, str | None] = {
    2001: "Долго согласуем скидки для клиента",
    2002: "Жалобы не доходят до отдела продаж",
    2003: "Нет общего CRM",
    2004: "Отдел доставки не отвечает",
    2005: "Мало времени на клиента",
    2006: "Склад узнаёт о заказах последним",  # the warehouse is too small: never shown alone
    2007: "Нет обратной связи от продаж",
    2008: None,
}
FEB_1 = datetime(2026, 2, 1, 7, 0, tzinfo=UTC)  # 10:00 in Moscow: PLAN_CHECKIN_CRON's slot
MAR_1 = datetime(2026, 3, 1, 7, 0, tzinfo=UTC)


async def test_a_wave_a_plan_checkins_and_the_next_wave_shows_the_change_beside_the_plan(
    tg: BotAPIEmulator, start_app: Any, clock: Any
) -> None:
    app: BotApp = await start_app(voc_cron="")
    people = await team(tg, {"Продажи": SALES, "Склад": STOCK})
    await wave(tg, app, people, FIRST, COMMENTS, "Волна 1")

    # The comments: Склад's two alone would be a group of 2 < 5, so nobody's department is
    # named and the seven are shown together (shuffled). Склад's are stored without one.
    text = await report(tg)
    section = text.split("Что мешает нам быть ближе к клиенту")[1]
    for comment in COMMENTS.values():
        assert comment is None or comment in section
    assert "\nПродажи\n— " not in section
    assert "Другие отделы" in section
    stored = await select(app, "SELECT * FROM survey_comments")
    assert len(stored) == 7
    assert set(stored[0]) == {"id", "wave_id", "department_id", "body", "created_day"}
    assert {r["department_id"] for r in stored if r["body"] == COMMENTS[2006]} == {None}

    # Initiative 1 from a comment, with one button; its title is the comment.
    boss = admin(tg)
    boss.send("/comments")
    await tg.settle()
    assert "Самый слабый" not in boss.last["text"]
    boss.click("➕ 1")
    await tg.settle()
    prompt = boss.last["text"]
    assert "Самый слабый вопрос — первый: Q4" in prompt
    assert "Шаг развития:" in prompt
    first_button = boss.last["reply_markup"]["inline_keyboard"][0][0]["text"]
    assert first_button.startswith("Q4")
    await plan(tg, app, question=4, title=None, owner=people[2002], due="К следующей волне")
    # Initiative 2 by hand.
    await plan(tg, app, question=4, title="Разбор жалоб каждую неделю", owner=people[2001],
               due="Через месяц")  # fmt: skip
    made = await select(app, "SELECT id, title, owner_chat_id, source FROM initiatives ORDER BY id")
    assert [(r["owner_chat_id"], r["source"]) for r in made] == [(2002, "comment"), (2001, "admin")]
    assert made[0]["title"] in COMMENTS.values()
    assert "Вы отвечаете за инициативу" in people[2001].last["text"]
    assert "Разбор жалоб каждую неделю" in people[2001].last["text"]

    # February: both owners are asked; one works on it (with a note), one is done.
    clock.set(FEB_1)
    await tick(tg, app)
    assert "Как продвигается «Разбор жалоб каждую неделю»?" in people[2001].last["text"]
    assert "Как продвигается" in people[2002].last["text"]
    people[2001].click("🔄 в работе")
    await tg.settle()
    people[2001].click("📝 Добавить заметку")
    await tg.settle()
    people[2001].send("Обзвонили 40 клиентов")
    await tg.settle()
    assert "Заметка сохранена" in people[2001].last["text"]
    people[2002].click("✅ выполнена")
    await tg.settle()

    # March: only the open one is asked; it is overdue (due 12 February), and the admins hear.
    clock.set(MAR_1)
    before = len(people[2002].texts())
    await tick(tg, app)
    assert len(people[2002].texts()) == before
    assert "Как продвигается" in people[2001].last["text"]
    assert any("Просроченные инициативы: 1" in t for t in boss.texts())
    people[2001].click("✅ выполнена")
    await tg.settle()
    history = await select(
        app,
        "SELECT status, previous, note, by_chat_id FROM initiative_events"
        " WHERE initiative_id = 2 ORDER BY id",
    )
    assert [(h["previous"], h["status"], h["by_chat_id"]) for h in history] == [
        (None, "planned", 1),
        ("planned", "in_progress", 2001),
        ("in_progress", "in_progress", 2001),
        ("in_progress", "done", 2001),
    ]
    assert history[2]["note"] == "Обзвонили 40 клиентов"

    # The next wave: the change beside the plan.
    await wave(tg, app, people, SECOND, {}, "Волна 2")
    text = await report(tg)
    assert "Q4: +0.6 — 2 инициативы выполнены" in text
    assert "Разбор жалоб каждую неделю" in text

    # The comments export: wave and (only where allowed) department, never a respondent or time.
    boss.send("/export")
    await tg.settle()
    export = next(f for f in boss.documents() if f.filename == "survey_comments.csv")
    table = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert set(table[0]) == {"wave", "department", "comment"}
    assert sorted(r["comment"] for r in table) == sorted(c for c in COMMENTS.values() if c)
    assert {r["department"] for r in table} == {""}


async def test_owners_who_blocked_the_bot_or_left_are_reported_and_replaced(
    tg: BotAPIEmulator, start_app: Any, clock: Any
) -> None:
    app: BotApp = await start_app(voc_cron="")
    people = await team(tg, {"Продажи": (2001, 2002, 2003)})
    outsider = tg.user(3001, "Пётр")
    boss = admin(tg)

    outsider.block()
    await plan(tg, app, question=2, title="Карта пути клиента", owner=outsider, due="Через квартал")
    await tick(tg, app)
    assert "заблокировал бота" in boss.last["text"]
    assert "Карта пути клиента" in boss.last["text"]

    await plan(tg, app, question=3, title="Опрос после доставки", owner=people[2001],
               due="Через полгода")  # fmt: skip
    people[2001].send("/leave")
    await tg.settle()
    people[2001].click("Да, выйти")
    await tg.settle()
    await tick(tg, app)
    gone = [t for t in boss.texts() if "Опрос после доставки" in t and "вышел" in t]
    assert len(gone) == 1
    # The id of someone who left is forgotten by the plan too (their name stays).
    assert await select(
        app, "SELECT COUNT(*) AS n FROM initiatives WHERE owner_chat_id = 2001"
    ) == [{"n": 0}]
    assert await select(
        app, "SELECT COUNT(*) AS n FROM initiative_events WHERE by_chat_id = 2001"
    ) == [{"n": 0}]

    clock.set(FEB_1)
    await tick(tg, app)
    assert not any("Как продвигается" in t for t in outsider.texts())
    assert not any("Как продвигается" in t for t in people[2001].texts())
    assert len([t for t in boss.texts() if "вышел" in t]) == 1  # told once

    # A new owner for the blocked one: the button, then a person picked in Telegram.
    message = next(
        m for m in reversed(boss.bot_messages()) if "Карта пути клиента" in (m.get("text") or "")
    )
    boss.click("👤 Новый владелец", message=message)
    await tg.settle()
    boss.share_users(12, [people[2002]])
    await tg.settle()
    await tick(tg, app, 1)
    assert "Карта пути клиента" in people[2002].last["text"]
    owner = await select(
        app, "SELECT owner_chat_id, owner_unreachable_at FROM initiatives WHERE id = 1"
    )
    assert owner == [{"owner_chat_id": 2002, "owner_unreachable_at": None}]


async def test_bad_input_in_a_plan_changes_nothing(tg: BotAPIEmulator, app: BotApp) -> None:
    boss = admin(tg)
    boss.send("/plan")
    await tg.settle()
    boss.press_data("pq1:9")  # a forged question
    await tg.settle()
    assert await select(app, "SELECT step FROM plan_drafts") == [{"step": "question"}]
    boss.click("Q1 «Клиент в решениях»")
    await tg.settle()
    boss.send("x" * 201)
    await tg.settle()
    assert "от 1 до 200 символов" in boss.last["text"]
    boss.press_data("po1:424242")  # an owner the list never offered
    await tg.settle()
    boss.press_data("po1:1")  # «Me», but the dialogue is not at the owner yet
    await tg.settle()
    assert boss.callback_answers()[-1]["text"] == "Эта кнопка больше не действует."
    boss.press_data("pd1:decade")  # no such due preset
    await tg.settle()
    assert await select(app, "SELECT step FROM plan_drafts") == [{"step": "title"}]
    boss.send("/target 23 Нет такого")
    await tg.settle()
    assert "Нет отдела «Нет такого»" in boss.last["text"]
    stranger = tg.user(4040, "Чужой")
    stranger.send("/start")
    await tg.settle()
    stranger.press_data("ps1:1:done")
    await tg.settle()
    assert await select(app, "SELECT COUNT(*) AS n FROM initiatives") == [{"n": 0}]
    assert await select(app, "SELECT COUNT(*) AS n FROM department_targets") == [{"n": 0}]


async def test_comments_are_shown_only_past_the_threshold(
    tg: BotAPIEmulator, start_app: Any
) -> None:
    app: BotApp = await start_app(voc_cron="")
    people = await team(tg, {"Продажи": (2001, 2002, 2003, 2004, 2005, 2006)})
    scores = {uid: [3, 3, 3, 3, 3, 3] for uid in people}
    four = {uid: f"Мешает пункт {uid}" for uid in (2001, 2002, 2003, 2004)}
    await wave(tg, app, people, scores, four, "Волна 1")
    text = await report(tg)
    assert not any(c in text for c in four.values())
    assert "Не показаны: 4" in text
    admin(tg).send("/comments")
    await tg.settle()
    assert "ни один не показан" in admin(tg).last["text"]

    five = {uid: f"Мешает другое {uid}" for uid in (2001, 2002, 2003, 2004, 2005)}
    await wave(tg, app, people, scores, five, "Волна 2")
    text = await report(tg)
    assert all(c in text for c in five.values())
    assert "\nПродажи\n— " in text  # a department of 5 commenters is named


async def test_department_targets_show_their_gap_only_where_the_department_may_be_shown(
    tg: BotAPIEmulator, start_app: Any
) -> None:
    app: BotApp = await start_app(voc_cron="")
    # Склад (3) could be shown on its own, but ИТ's one answer would then follow from the
    # company's figures: the disclosure rules hide Склад too; Продажи (4) is shown.
    people = await team(
        tg, {"Продажи": (2001, 2002, 2003, 2004), "Склад": (2005, 2006, 2007), "ИТ": (2008,)}
    )
    scores = {uid: [3, 4, 3, 4, 3, 4] for uid in people}  # every total 21
    await wave(tg, app, people, scores, {}, "Волна 1")
    boss = admin(tg)
    boss.send("/target 23 продажи")  # department names match without regard to case
    await tg.settle()
    assert "Цель отдела «Продажи» на следующую волну: 23 из 30" in boss.last["text"]
    boss.send("/target 25 Склад")
    await tg.settle()
    text = await report(tg)
    assert "Продажи: цель 23, сейчас 21.00, разрыв 2.00" in text
    assert "Склад: цель 25; цифры отдела не показываются" in text
    assert await select(app, "SELECT value FROM department_targets ORDER BY id") == [
        {"value": 23},
        {"value": 25},
    ]


async def test_a_restart_at_the_checkin_time_sends_each_checkin_once(
    tg: BotAPIEmulator, start_app: Any, clock: Any
) -> None:
    app: BotApp = await start_app(voc_cron="")
    people = await team(tg, {"Продажи": (2001,)})
    await plan(tg, app, question=1, title="Клиент на планёрке", owner=people[2001],
               due="Через квартал")  # fmt: skip
    await app.stop()
    clock.set(FEB_1 + timedelta(hours=3))  # the bot was down at 10:00
    app = await start_app(voc_cron="")
    await tick(tg, app)
    await app.stop()
    app = await start_app(voc_cron="")
    await tick(tg, app)
    asked = [t for t in people[2001].texts() if "Как продвигается «Клиент на планёрке»?" in t]
    assert len(asked) == 1
    clock.set(MAR_1)
    await tick(tg, app)
    asked = [t for t in people[2001].texts() if "Как продвигается «Клиент на планёрке»?" in t]
    assert len(asked) == 2


async def test_a_note_asked_for_waits_a_day_then_a_text_is_no_note(
    tg: BotAPIEmulator, start_app: Any, clock: Any
) -> None:
    app: BotApp = await start_app(voc_cron="")
    people = await team(tg, {"Продажи": (2001,)})
    await plan(tg, app, question=5, title="Карта пути", owner=people[2001], due="Через месяц")
    owner = people[2001]
    owner.click("📝 Добавить заметку")
    await tg.settle()
    owner.send("x" * 1001)
    await tg.settle()
    assert "от 1 до 1000 символов" in owner.last["text"]
    owner.click("📝 Добавить заметку")
    await tg.settle()
    clock.advance(days=2)
    owner.send("Просто сообщение")
    await tg.settle()
    notes = await select(app, "SELECT COUNT(*) AS n FROM initiative_events WHERE note IS NOT NULL")
    assert notes == [{"n": 0}]


async def test_a_long_overdue_list_fits_one_message(
    tg: BotAPIEmulator, start_app: Any, clock: Any
) -> None:
    from datetime import date

    from storage import plans as store

    app: BotApp = await start_app(voc_cron="")
    boss = admin(tg)
    # Different owners: the sender allows one message a second per chat.
    owners = [tg.user(3001 + n, "Владелец " + "Ж" * 60) for n in range(14)]
    async with app.db.write() as conn:
        for n, owner in enumerate(owners):
            await store.insert_initiative(
                conn, question=1 + n % 6, title=f"{n} " + "Очень длинное название " * 8,
                owner_chat_id=owner.id, owner_name=owner.first_name, owner_employee_id=None,
                due_day=date(2026, 1, 20), due_next_wave=False, base_wave_id=None,
                source="admin", source_id=None, created_by=1, created_by_name=None,
                now=clock.now(),
            )  # fmt: skip
    clock.set(FEB_1)
    await tick(tg, app)
    overdue = next(t for t in boss.texts() if t.startswith("⏰"))
    assert "Просроченные инициативы: 14" in overdue
    assert "…и ещё" in overdue
    assert len(overdue) <= 4096
    assert all("Как продвигается" in o.last["text"] for o in owners)
