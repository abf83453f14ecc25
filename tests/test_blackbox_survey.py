"""The survey end to end with the real process: `python -m bot run`, SIGKILL mid-survey, restart.

Seven employees in two departments answer six questions each; the process is killed with SIGKILL
after everyone answered three, started again, and the survey continues at question four.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.emulator import BotAPIEmulator, FakeUser
from tests.bot_process import BotProcess

ADMIN = 1
WAIT = 30.0  # generous: a loaded CI machine starts Python slowly; nothing here sleeps
SCORES = {
    "Продажи": {2001: [5, 4, 4, 3, 4, 5], 2002: [3, 3, 3, 3, 3, 3], 2003: [4, 4, 4, 4, 4, 4],
                2004: [2, 3, 2, 3, 2, 3]},
    "Склад": {2005: [5, 5, 5, 5, 5, 5], 2006: [1, 2, 1, 2, 1, 2], 2007: [3, 4, 3, 4, 3, 4]},
}  # fmt: skip
TOTALS = {uid: sum(s) for dept in SCORES.values() for uid, s in dept.items()}  # mean 142 / 7


def shows(user: FakeUser, text: str) -> Callable[[], bool]:
    def check() -> bool:
        messages = user.bot_messages()
        return bool(messages) and text in (messages[-1].get("text") or "")

    return check


async def press_and_wait(tg: BotAPIEmulator, user: FakeUser, score: int, expect: str) -> None:
    user.click(str(score))
    try:
        await tg.wait_for(shows(user, expect), timeout=WAIT)
    except TimeoutError:
        raise AssertionError(
            f"{user.id} expected {expect!r}, sees {user.texts()[-2:]} "
            f"answers {user.callback_answers()[-2:]}"
        ) from None


async def test_seven_employees_survive_a_sigkill(
    tg: BotAPIEmulator, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    bot = BotProcess(
        {
            "BOT_TOKEN": tg.token,
            "TELEGRAM_API_URL": tg.base_url,
            "DATABASE_PATH": str(tmp_path / "bot.sqlite3"),
            "ADMIN_IDS": str(ADMIN),
            "PSEUDONYM_SECRET": "blackbox-secret",
            "SCHEDULER_TICK_SECONDS": "0.2",
            "SEND_HOURS": "0-24",
            "REPORT_CRON": "",
        },
        tmp_path / "bot.log",
    )
    request.addfinalizer(bot.close)
    await bot.start()
    admin = tg.user(ADMIN, "Olga")
    links = {}
    for department in SCORES:
        admin.send(f"/invite {department}")
        await tg.wait_for(shows(admin, f"«{department}»"), timeout=WAIT)
        links[department] = admin.last["text"].split("?start=")[1].split()[0]

    employees: dict[int, FakeUser] = {}
    for department, people in SCORES.items():
        for uid in people:
            employees[uid] = tg.user(uid, f"E{uid}")
            employees[uid].send(f"/start {links[department]}")
            await tg.wait_for(shows(employees[uid], f"«{department}»"), timeout=WAIT)

    admin.send("/survey_start Волна 2026")
    for user in employees.values():
        await tg.wait_for(shows(user, "Вопрос 1 из 6"), timeout=WAIT)

    for uid, user in employees.items():
        scores = next(s[uid] for s in SCORES.values() if uid in s)
        for number, score in enumerate(scores[:3], start=1):
            await press_and_wait(tg, user, score, f"Вопрос {number + 1} из 6")

    bot.kill()
    await bot.start()

    for uid, user in employees.items():
        before = len(user.bot_messages())
        user.send("/survey")
        # The old message already shows question 4; wait for the answer to /survey itself.
        await tg.wait_for(lambda u=user, n=before: len(u.bot_messages()) > n, timeout=WAIT)
        assert "Вопрос 4 из 6" in user.last["text"]
        scores = next(s[uid] for s in SCORES.values() if uid in s)
        for number, score in enumerate(scores[3:], start=4):
            expect = f"Вопрос {number + 1} из 6" if number < 6 else "Ваш результат"
            await press_and_wait(tg, user, score, expect)
        assert f"Ваш результат: {TOTALS[uid]} из 30" in user.last["text"]

    seen = len(admin.texts())
    admin.send("/report")
    await tg.wait_for(
        lambda: any("Индекс компании" in t for t in admin.texts()[seen:]), timeout=WAIT
    )
    report = "\n".join(admin.texts()[seen:])
    assert "20,29 из 30" in report  # 142 / 7
    assert "Переходный уровень" in report
    assert "ответили: 7" in report

    admin.send("/export")
    await tg.wait_for(
        lambda: any(f.filename == "survey_answers.csv" for f in admin.documents()), timeout=WAIT
    )
    export = next(f for f in admin.documents() if f.filename == "survey_answers.csv")
    content = export.content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(content)))
    assert len(rows) == 42
    assert not any(str(uid) in content for uid in employees)

    assert await bot.terminate() == 0, bot.log()
    assert tg.token not in bot.log()
    assert tg.token.split(":")[1] not in bot.log()
