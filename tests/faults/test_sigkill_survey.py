"""SIGKILL at random moments of a survey wave, restart each time: no answered press is lost.

The bot runs as its own process. Employees press answers through the emulator the whole time;
a killer ends the process at seeded moments, some tied to what the bot is doing right then
(just after Telegram took an answer or an edit, in the middle of fetching updates), some
purely by time, and starts it again. What people saw is the contract: every press the bot
answered with «Saved» is in the database, and /survey picks up at the right question.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.callbacks import SurveyAnswerCb
from bot.clock import SystemClock
from bot.emulator import BotAPIEmulator, FakeUser
from bot.pseudonym import Pseudonymizer
from storage import Database
from tests.faults.forked_bot import ForkedBot
from tests.faults.survey_setup import ADMIN_ID, open_wave_with_employees, score_for

SEED = 20260112
SECRET = "sigkill-pseudonym-secret"
EMPLOYEES = list(range(8001, 8007))
KILLS = 5
SAVED = "Сохранено: "


@dataclass
class Presses:
    """Every press made: callback query id → (telegram id, question)."""

    made: dict[str, tuple[int, int]] = field(default_factory=dict)

    def answered(self, tg: BotAPIEmulator) -> dict[str, tuple[int, int]]:
        """The presses the bot confirmed as saved (what the person saw)."""
        confirmed = {
            str(c.params["callback_query_id"])
            for c in tg.calls_of("answerCallbackQuery")
            if c.status == 200 and str(c.params.get("text", "")).startswith(SAVED)
        }
        return {qid: press for qid, press in self.made.items() if qid in confirmed}


def current_question(user: FakeUser) -> tuple[dict[str, Any], SurveyAnswerCb] | None:
    """The newest message with score buttons, and what its buttons answer."""
    for message in reversed(user.bot_messages()):
        for row in message.get("reply_markup", {}).get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data", "")
                if data.startswith(SurveyAnswerCb.__prefix__ + ":"):
                    return message, SurveyAnswerCb.unpack(data)
    return None


def stored(db_path: Path) -> dict[tuple[str, int], int]:
    conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
    try:
        rows = conn.execute("SELECT respondent, question, score FROM survey_answers").fetchall()
    finally:
        conn.close()
    return {(r, q): s for r, q, s in rows}


async def drive(
    tg: BotAPIEmulator, user: FakeUser, target: int, presses: Presses, stop: asyncio.Event
) -> None:
    """One employee answering up to `target` questions, however often the bot dies under them.

    A press that gets no answer is pressed again; a message that stays on an answered
    question (the bot died between saving and editing) is moved on by pressing it again.
    """
    answered_up_to = 0
    while answered_up_to < target and not stop.is_set():
        found = current_question(user)
        if found is None:
            await _quietly(tg.wait_for(lambda: current_question(user) is not None, timeout=2))
            if current_question(user) is None:
                user.send("/survey")  # the first question has not come: ask for it
            continue
        message, shown = found
        if shown.question <= answered_up_to:

            def moved_on(done: int = answered_up_to) -> bool:
                now = current_question(user)
                return now is None or now[1].question > done

            await _quietly(tg.wait_for(moved_on, timeout=1))
            if moved_on():
                continue
            # Still on an answered question (the bot died between saving and editing):
            # pressing it again makes the bot show the right one.
        question = shown.question
        data = SurveyAnswerCb(
            wave=shown.wave, question=question, score=score_for(user.id, question)
        ).pack()
        query_id = user.press_data(data, message=message)
        presses.made[query_id] = (user.id, question)

        def resolved(query_id: str = query_id) -> bool:
            return any(str(a["callback_query_id"]) == query_id for a in user.callback_answers())

        await _quietly(tg.wait_for(resolved, timeout=2))
        answer = next(
            (a for a in user.callback_answers() if str(a["callback_query_id"]) == query_id), None
        )
        text = str(answer.get("text", "")) if answer is not None else ""
        if text.startswith(SAVED) or "уже сохранён" in text:
            answered_up_to = max(answered_up_to, question)


async def _quietly(waiting: Any) -> None:
    with contextlib.suppress(TimeoutError):  # the bot is down or restarting: try again
        await waiting


async def kill_at_random_moments(
    tg: BotAPIEmulator, bot: ForkedBot, rng: random.Random, kills: int
) -> list[str]:
    """Kill and restart the bot `kills` times; returns what each kill was tied to."""
    done = []
    for _ in range(kills):
        trigger = rng.choice(["answerCallbackQuery", "editMessageText", "getUpdates", "time"])
        if trigger == "time":
            await asyncio.sleep(rng.uniform(0.05, 0.6))
        else:
            wanted = len(tg.calls_of(trigger)) + rng.randint(1, 4)

            def reached(method: str = trigger, count: int = wanted) -> bool:
                return len(tg.calls_of(method)) >= count

            await _quietly(tg.wait_for(reached, timeout=5))
        bot.kill()
        done.append(trigger)
        await asyncio.sleep(rng.uniform(0.0, 0.2))  # presses pile up while it is down
        await bot.start()
    return done


@pytest.mark.slow
async def test_sigkill_during_a_wave_loses_no_answered_press(
    tg: BotAPIEmulator, tmp_path: Path, forked_bot: Callable[..., ForkedBot]
) -> None:
    rng = random.Random(SEED)
    db_path = tmp_path / "bot.sqlite3"
    database = Database(db_path)
    await database.open()
    wave_id = await open_wave_with_employees(database, EMPLOYEES, SystemClock().now())
    await database.close()

    bot = forked_bot(
        {
            "BOT_TOKEN": tg.token,
            "TELEGRAM_API_URL": tg.base_url,
            "DATABASE_PATH": str(db_path),
            "ADMIN_IDS": str(ADMIN_ID),
            "PSEUDONYM_SECRET": SECRET,
            "SCHEDULER_TICK_SECONDS": "0.2",
            "SEND_HOURS": "0-24",
            "REPORT_CRON": "",
        },
        tmp_path,
    )
    people = [tg.user(t, f"E{t}") for t in EMPLOYEES]
    # Most finish; two stop part-way, to see /survey resume in the middle after the last kill.
    targets = {p.id: 6 for p in people} | {people[0].id: rng.randint(1, 5), people[1].id: 3}
    presses = Presses()
    stop = asyncio.Event()

    await bot.start()
    drivers = [asyncio.create_task(drive(tg, p, targets[p.id], presses, stop)) for p in people]
    try:
        triggers = await kill_at_random_moments(tg, bot, rng, KILLS)
        async with asyncio.timeout(90):
            await asyncio.gather(*drivers)
    finally:
        stop.set()
        for task in drivers:
            task.cancel()
        await asyncio.gather(*drivers, return_exceptions=True)

    pseudonyms = Pseudonymizer(SECRET.encode())
    # 1. Every press the bot answered «Saved» is in the database, with its score.
    answers = stored(db_path)
    answered = presses.answered(tg)
    assert answered, "no press was answered at all"
    for telegram_id, question in answered.values():
        assert answers.get((pseudonyms(telegram_id, wave_id), question)) == score_for(
            telegram_id, question
        )
    # 2. Everyone got as far as they went, and not a question further.
    for person in people:
        mine = {q for (r, q) in answers if r == pseudonyms(person.id, wave_id)}
        assert mine == set(range(1, targets[person.id] + 1)), (person.id, mine, triggers)

    # 3. After one more crash, /survey resumes at the right question for everybody.
    bot.kill()
    await bot.start()
    for person in people:
        seen = len(person.bot_messages())
        person.send("/survey")
        await tg.wait_for(lambda p=person, n=seen: len(p.bot_messages()) > n, timeout=10)
        target = targets[person.id]
        expected = f"Вопрос {target + 1} из 6" if target < 6 else "Ваш результат"
        assert expected in person.last["text"], (person.id, person.last["text"])

    assert await bot.terminate() == 0, bot.log()
    assert bot.starts == KILLS + 2
