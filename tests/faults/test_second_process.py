"""Two bots on one database by mistake: the second refuses to start, so nothing goes twice.

The first bot holds an exclusive lock on `<database>.lock` for as long as it runs; the kernel
drops the lock when the process ends, however it ends, so a crash never leaves a stale lock.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.clock import SystemClock
from bot.emulator import BotAPIEmulator
from storage import Database
from tests.bot_process import ROOT
from tests.faults.forked_bot import KEEP_ENV, ForkedBot
from tests.faults.survey_setup import ADMIN_ID, open_wave_with_employees

EMPLOYEES = [9001, 9002, 9003]


def bot_env(tg: BotAPIEmulator, db_path: Path) -> dict[str, str]:
    return {
        "BOT_TOKEN": tg.token,
        "TELEGRAM_API_URL": tg.base_url,
        "DATABASE_PATH": str(db_path),
        "ADMIN_IDS": str(ADMIN_ID),
        "PSEUDONYM_SECRET": "second-process-secret",
        "SCHEDULER_TICK_SECONDS": "0.2",
        "SEND_HOURS": "0-24",
        "REPORT_CRON": "",
        "HTTP_PORT": "0",
    }


async def run_command(env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    """`python -m bot run`, the real command, to its end."""
    clean = {k: v for k, v in os.environ.items() if not k.isupper() or k in KEEP_ENV}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env={**clean, "PYTHONPATH": str(ROOT), **env},
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(60):
            stdout, stderr = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


@pytest.mark.slow
async def test_a_second_bot_on_the_same_database_refuses_to_start(
    tg: BotAPIEmulator, tmp_path: Path, forked_bot: Callable[..., ForkedBot]
) -> None:
    db_path = tmp_path / "bot.sqlite3"
    database = Database(db_path)
    await database.open()
    await open_wave_with_employees(database, EMPLOYEES, SystemClock().now())
    await database.close()
    people = [tg.user(t, f"E{t}") for t in EMPLOYEES]

    first = forked_bot(bot_env(tg, db_path), tmp_path)
    await first.start()
    for person in people:
        await tg.wait_for(lambda p=person: bool(p.bot_messages()))
    menus_before = len(tg.calls_of("setMyCommands"))

    code, stdout, stderr = await run_command(bot_env(tg, db_path), tmp_path)

    assert code == 2
    assert stderr.strip().splitlines() == [
        f"feedback-bot: another bot process is already running on {db_path} "
        f"(lock file {db_path}.lock); stop it first"
    ]
    assert "Traceback" not in stdout + stderr
    assert len(tg.calls_of("setMyCommands")) == menus_before  # it never got as far as Telegram

    # The first bot carries on alone: each message is answered once, each question sent once.
    visitor = tg.user(9100, "Visitor")
    visitor.send("/help")
    await tg.wait_for(lambda: bool(visitor.bot_messages()))
    await asyncio.sleep(0.5)  # room for a second answer, if a second bot were polling
    assert len(visitor.bot_messages()) == 1
    for person in people:
        assert len([t for t in person.texts() if "Вопрос 1 из 6" in t]) == 1

    # A crash releases the lock with the process: the next start is not blocked by a stale one.
    first.kill()
    second = forked_bot(bot_env(tg, db_path), tmp_path)
    await second.start()
    visitor.send("/help")
    await tg.wait_for(lambda: len(visitor.bot_messages()) == 2)
    assert await second.terminate() == 0
