"""The employee survey through the wire: joining, answering, changing, resuming, refusing."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from bot.app import BotApp
from bot.emulator import BotAPIEmulator
from storage.outbox import SURVEY_REMINDER
from tests.survey_helpers import admin, answer, db_count, invite_link, join, start_wave

PAYLOAD_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


async def test_invite_link_registers_the_employee(app: BotApp, tg: BotAPIEmulator) -> None:
    link = await invite_link(tg, "Продажи")
    assert link.startswith("https://t.me/feedback_test_bot?start=")
    assert PAYLOAD_RE.match(link.split("?start=")[1])

    anna = tg.user(1001, "Anna")
    await join(tg, anna, link)
    assert "Вы зарегистрированы в отделе «Продажи»" in anna.last["text"]
    assert await db_count(app, "SELECT COUNT(*) FROM employees WHERE telegram_id = 1001") == 1

    await join(tg, anna, link)
    assert "уже зарегистрированы" in anna.last["text"]
    assert await db_count(app, "SELECT COUNT(*) FROM employees") == 1

    admin(tg).send("/departments")
    await tg.settle()
    assert "Продажи: 1" in admin(tg).last["text"]


async def test_an_invitation_link_moves_an_employee(app: BotApp, tg: BotAPIEmulator) -> None:
    sales, support = await invite_link(tg, "Продажи"), await invite_link(tg, "Поддержка")
    anna = tg.user(1001, "Anna")
    await join(tg, anna, sales)
    await join(tg, anna, support)
    assert "из отдела «Продажи» в отдел «Поддержка»" in anna.last["text"]
    assert await db_count(app, "SELECT COUNT(*) FROM employees") == 1


async def test_unknown_or_malformed_payload_registers_nobody(
    app: BotApp, tg: BotAPIEmulator
) -> None:
    await invite_link(tg, "Продажи")
    stranger = tg.user(1002, "Boris")
    for payload in ("j_AAAAAAAAAAAAAAAAAAAAAAAA", "j_short", "j_" + "x" * 62, "j_<b>x</b>"):
        stranger.send(f"/start {payload}")
        await tg.settle()
        assert "ссылка-приглашение недействительна" in stranger.last["text"]
    assert await db_count(app, "SELECT COUNT(*) FROM employees") == 0


async def test_invite_needs_a_department(app: BotApp, tg: BotAPIEmulator) -> None:
    admin(tg).send("/invite")
    await tg.settle()
    assert "Укажите отдел" in admin(tg).last["text"]
    admin(tg).send("/invite " + "Д" * 65)
    await tg.settle()
    assert "Слишком длинное" in admin(tg).last["text"]
    assert await db_count(app, "SELECT COUNT(*) FROM invites") == 0


async def test_full_survey_shows_total_and_level(app: BotApp, tg: BotAPIEmulator) -> None:
    link = await invite_link(tg, "Продажи")
    anna = tg.user(1001, "Anna")
    await join(tg, anna, link)
    await start_wave(tg, app)

    first = anna.last
    assert first["text"].startswith("📋 Начался опрос «Волна 1»")
    assert "Вопрос 1 из 6" in first["text"]
    assert "Думаем ли мы о клиенте, принимая решения?" in first["text"]
    assert "1 — совсем плохо, 5 — всё отлично" in first["text"]
    labels = [b["text"] for b in first["reply_markup"]["inline_keyboard"][0]]
    assert labels == ["1", "2", "3", "4", "5"]

    await answer(tg, anna, [4, 3, 5, 2, 4, 4])
    final = anna.last
    assert final["message_id"] == first["message_id"], "the same message is edited throughout"
    assert "Ваш результат: 22 из 30" in final["text"]
    assert "Формирующийся уровень" in final["text"]
    assert "Ключевые принципы реализуются" in final["text"]
    assert await db_count(app, "SELECT COUNT(*) FROM survey_answers") == 6
    assert await db_count(app, "SELECT SUM(score) FROM survey_answers") == 22


async def test_english_employee_sees_english(app: BotApp, tg: BotAPIEmulator) -> None:
    link = await invite_link(tg, "Sales")
    john = tg.user(1003, "John", language_code="en")
    await join(tg, john, link)
    assert "Welcome!" in john.last["text"]
    await start_wave(tg, app)
    assert "Question 1 of 6" in john.last["text"]
    await answer(tg, john, [5, 5, 5, 5, 5, 5])
    assert "Your total: 30 of 30" in john.last["text"]
    assert "Mature level" in john.last["text"]


async def test_back_changes_the_previous_answer(app: BotApp, tg: BotAPIEmulator) -> None:
    link = await invite_link(tg, "Продажи")
    anna = tg.user(1001, "Anna")
    await join(tg, anna, link)
    await start_wave(tg, app)
    await answer(tg, anna, [2, 3])
    anna.click("◀ Назад")
    await tg.settle()
    assert "Вопрос 2 из 6" in anna.last["text"]
    assert "Ваш текущий ответ: 3" in anna.last["text"]
    anna.click("5")
    await tg.settle()
    assert "Вопрос 3 из 6" in anna.last["text"], "after a change, the next unanswered question"
    assert await db_count(app, "SELECT score FROM survey_answers WHERE question = 2") == 5
    assert await db_count(app, "SELECT COUNT(*) FROM survey_answers") == 2


async def test_double_press_stores_one_answer(app: BotApp, tg: BotAPIEmulator) -> None:
    link = await invite_link(tg, "Продажи")
    anna = tg.user(1001, "Anna")
    await join(tg, anna, link)
    await start_wave(tg, app)
    question_one = copy.deepcopy(anna.last)
    anna.click("4", message=question_one)
    anna.click("2", message=question_one)  # a second press before the message changed
    await tg.settle()
    assert await db_count(app, "SELECT COUNT(*) FROM survey_answers") == 1
    assert await db_count(app, "SELECT score FROM survey_answers WHERE question = 1") == 4
    answers = [a.get("text") for a in anna.callback_answers()]
    assert answers[-1] == "Ваш ответ на этот вопрос уже сохранён."
    assert "Вопрос 2 из 6" in anna.last["text"]


async def test_forged_callbacks_write_nothing(app: BotApp, tg: BotAPIEmulator) -> None:
    link = await invite_link(tg, "Продажи")
    anna = tg.user(1001, "Anna")
    await join(tg, anna, link)
    await start_wave(tg, app)
    forged = [
        "sa1:999:1:3:0",  # a wave that does not exist
        "sa1:1:7:3:0",  # question 7
        "sa1:1:0:3:0",  # question 0
        "sa1:1:1:9:0",  # score 9
        "sa1:1:1:-1:0",  # negative score
        "sa1:1:3:3:0",  # question 3 before question 1
        "sa1:x:1:1:0",  # not a number
        "sa1:1:1",  # too few parts
        "zz9:whatever",  # unknown prefix
        "sb1:1:5",  # «Back» to a question never answered
    ]
    for data in forged:
        anna.press_data(data)
    await tg.settle()
    answers = anna.callback_answers()
    assert len(answers) == len(forged), "every press is answered, so no spinner hangs"
    assert all(a.get("text") for a in answers), "every refusal says something"
    assert await db_count(app, "SELECT COUNT(*) FROM survey_answers") == 0
    assert "Вопрос 1 из 6" in anna.last["text"]


async def test_presses_from_non_employees_are_refused(app: BotApp, tg: BotAPIEmulator) -> None:
    link = await invite_link(tg, "Продажи")
    anna = tg.user(1001, "Anna")
    await join(tg, anna, link)
    await start_wave(tg, app)
    mallory = tg.user(6666, "Mallory")
    mallory.press_data("sa1:1:1:1:0", message=anna.last)
    await tg.settle()
    assert "только зарегистрированные сотрудники" in mallory.callback_answers()[-1]["text"]
    assert await db_count(app, "SELECT COUNT(*) FROM survey_answers") == 0


async def test_closed_wave_refuses_presses(app: BotApp, tg: BotAPIEmulator) -> None:
    link = await invite_link(tg, "Продажи")
    anna = tg.user(1001, "Anna")
    await join(tg, anna, link)
    await start_wave(tg, app)
    await answer(tg, anna, [3])
    admin(tg).send("/survey_close")
    await tg.settle()
    assert "закрыт" in admin(tg).last["text"]
    anna.click("4")
    await tg.settle()
    assert anna.callback_answers()[-1]["text"] == "Этот опрос уже закрыт. Спасибо!"
    assert await db_count(app, "SELECT COUNT(*) FROM survey_answers") == 1
    admin(tg).send("/survey_close")
    await tg.settle()
    assert admin(tg).last["text"] == "Открытого опроса нет."


async def test_only_one_open_wave(app: BotApp, tg: BotAPIEmulator) -> None:
    await join(tg, tg.user(1001, "Anna"), await invite_link(tg, "Продажи"))
    await start_wave(tg, app, "Первая")
    admin(tg).send("/survey_start Вторая")
    await tg.settle()
    assert "Опрос уже открыт" in admin(tg).last["text"]
    assert await db_count(app, "SELECT COUNT(*) FROM waves") == 1


async def test_joining_during_an_open_wave_brings_the_first_question(
    app: BotApp, tg: BotAPIEmulator
) -> None:
    link = await invite_link(tg, "Продажи")
    await join(tg, tg.user(1001, "Anna"), link)  # a wave needs someone to ask
    await start_wave(tg, app)
    late = tg.user(1004, "Late")
    await join(tg, late, link)
    assert "Вопрос 1 из 6" in late.last["text"]
    await answer(tg, late, [1])
    assert "Вопрос 2 из 6" in late.last["text"]


async def test_survey_command_resumes_where_left(app: BotApp, tg: BotAPIEmulator) -> None:
    link = await invite_link(tg, "Продажи")
    anna = tg.user(1001, "Anna")
    await join(tg, anna, link)
    anna.send("/survey")
    await tg.settle()
    assert "Сейчас опрос не проводится" in anna.last["text"]
    await start_wave(tg, app)
    await answer(tg, anna, [5, 4, 3])
    anna.send("/survey")
    await tg.settle()
    assert "Вопрос 4 из 6" in anna.last["text"]
    stranger = tg.user(1005, "Stranger")
    stranger.send("/survey")
    await tg.settle()
    assert "только зарегистрированные сотрудники" in stranger.last["text"]


async def test_restart_loses_no_answer(
    app: BotApp, tg: BotAPIEmulator, start_app: Callable[..., Any]
) -> None:
    link = await invite_link(tg, "Продажи")
    anna = tg.user(1001, "Anna")
    await join(tg, anna, link)
    await start_wave(tg, app)
    await answer(tg, anna, [5, 4, 3])
    await app.stop()

    restarted = await start_app()  # a new Dispatcher and connection over the same file
    anna.send("/survey")
    await tg.settle()
    assert "Вопрос 4 из 6" in anna.last["text"]
    await answer(tg, anna, [2, 1, 5])
    assert "Ваш результат: 20 из 30" in anna.last["text"]
    assert "Переходный уровень" in anna.last["text"]
    assert await db_count(restarted, "SELECT COUNT(*) FROM survey_answers") == 6


async def test_answers_are_stored_by_pseudonym(app: BotApp, tg: BotAPIEmulator) -> None:
    link = await invite_link(tg, "Продажи")
    anna = tg.user(1001, "Anna")
    await join(tg, anna, link)
    await start_wave(tg, app)
    await answer(tg, anna, [1, 2, 3, 4, 5, 1])
    async with app.db.read() as conn, conn.execute("SELECT * FROM survey_answers") as cur:
        rows = [dict(r) for r in await cur.fetchall()]
    assert {r["respondent"] for r in rows} != {"1001"}
    assert all("1001" not in str(value) for row in rows for value in row.values())


async def test_non_admins_are_refused_admin_commands(app: BotApp, tg: BotAPIEmulator) -> None:
    link = await invite_link(tg, "Продажи")
    anna = tg.user(1001, "Anna")
    await join(tg, anna, link)
    before = [
        await db_count(app, f"SELECT COUNT(*) FROM {table}")
        for table in ("waves", "invites", "departments")
    ]
    for command in (
        "/invite Хакеры",
        "/survey_start Фейк",
        "/survey_close",
        "/report",
        "/export",
        "/departments",
        "/target 25",
    ):
        anna.send(command)
        await tg.settle()
        assert anna.last["text"] == "Извините, эта команда доступна только администраторам бота."
    after = [
        await db_count(app, f"SELECT COUNT(*) FROM {table}")
        for table in ("waves", "invites", "departments")
    ]
    assert before == after
    assert anna.documents() == []


async def test_reminder_goes_only_to_those_who_have_not_finished(
    app: BotApp, tg: BotAPIEmulator, clock: Any
) -> None:
    link = await invite_link(tg, "Продажи")
    done, pending = tg.user(1001, "Done"), tg.user(1002, "Pending")
    await join(tg, done, link)
    await join(tg, pending, link)
    await start_wave(tg, app)
    await answer(tg, done, [3, 3, 3, 3, 3, 3])
    await answer(tg, pending, [3, 3])

    clock.advance(days=2, hours=23)
    await app.outbox.tick()
    assert not any("Напоминаем" in t for t in pending.texts())

    clock.advance(hours=1)
    await app.outbox.tick()
    assert pending.last["text"].startswith("⏰ Напоминаем: опрос «Волна 1» ждёт ваших ответов.")
    assert "Вопрос 3 из 6" in pending.last["text"]
    assert not any("Напоминаем" in t for t in done.texts())
    assert (
        await db_count(
            app, "SELECT COUNT(*) FROM outbox WHERE kind = ? AND status = 'sent'", SURVEY_REMINDER
        )
        == 1
    )


async def test_blocked_employee_does_not_stall_the_others(app: BotApp, tg: BotAPIEmulator) -> None:
    link = await invite_link(tg, "Продажи")
    gone, staying = tg.user(1001, "Gone"), tg.user(1002, "Staying")
    await join(tg, gone, link)
    await join(tg, staying, link)
    gone.block()
    await start_wave(tg, app)
    assert "Вопрос 1 из 6" in staying.last["text"]
    assert (
        await db_count(
            app,
            "SELECT COUNT(*) FROM employees "
            "WHERE telegram_id = 1001 AND unreachable_at IS NOT NULL",
        )
        == 1
    )
    assert (
        await db_count(
            app, "SELECT COUNT(*) FROM outbox WHERE employee_id = 1 AND status = 'pending'"
        )
        == 0
    )
