"""`python -m bot run` under bad conditions: a rejected or placeholder token, no network, a
database path that cannot be used. Each ends in one clear line (or a clear wait), never in a
traceback or a bot that looks alive and receives nothing; SIGTERM ends it within 10 s in every
state.

These run the real command as a separate process against the Bot API emulator.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.emulator import BotAPIEmulator
from tests.bot_process import free_port
from tests.robust_helpers import ROOT, Command, bot_env, health, run_cli

TOKEN = "424242:ROBUST-token"
STOP_LIMIT = 10.0


@pytest.fixture
async def emulator() -> AsyncIterator[BotAPIEmulator]:
    async with BotAPIEmulator(TOKEN) as tg:
        yield tg


@pytest.fixture
def commands() -> Iterator[list[Command]]:
    made: list[Command] = []
    yield made
    for command in made:
        command.close()


def command(made: list[Command], env: dict[str, str], cwd: Path) -> Command:
    cmd = Command(env, cwd)
    made.append(cmd)
    cmd.start()
    return cmd


def problem_lines(text: str) -> list[str]:
    """Lines that are not aiogram's or the bot's ordinary INFO chatter."""
    return [line for line in text.splitlines() if line.strip() and " INFO " not in line]


# --- the token ------------------------------------------------------------------------------
async def test_a_rejected_token_is_one_clear_line_and_exit_2(
    emulator: BotAPIEmulator, tmp_path: Path, commands: list[Command]
) -> None:
    """Telegram answers 401 (a revoked token, a typo): say so in both languages and stop."""
    env = bot_env(emulator.base_url, "999999:REVOKED-token", tmp_path / "bot.sqlite3", free_port())
    cmd = command(commands, env, tmp_path)
    code = await cmd.exited(timeout=60)
    out = cmd.log()
    assert code == 2, out
    assert "Traceback" not in out
    assert "REVOKED" not in out  # the token itself is never printed
    problems = problem_lines(out)
    assert len(problems) == 1, out
    line = problems[0]
    assert "BOT_TOKEN" in line
    assert re.search("[а-яА-Я]", line), line  # Russian first …
    assert "rejected" in line.lower()  # … and English
    assert "Polling stopped" not in out


async def test_the_example_placeholder_is_refused_as_a_token(tmp_path: Path) -> None:
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    placeholder = re.search(r"^BOT_TOKEN=(.+)$", example, re.MULTILINE)
    assert placeholder is not None
    result = run_cli("run", env={"BOT_TOKEN": placeholder.group(1).strip()}, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "BOT_TOKEN" in lines[0]
    assert ".env.example" in lines[0]
    assert "Traceback" not in result.stderr


async def test_a_token_revoked_while_running_stops_the_process_with_exit_2(
    emulator: BotAPIEmulator, tmp_path: Path, commands: list[Command]
) -> None:
    port = free_port()
    cmd = command(
        commands, bot_env(emulator.base_url, TOKEN, tmp_path / "bot.sqlite3", port), tmp_path
    )
    await cmd.wait_log("bot started")
    await wait_health(port, 200)
    emulator.token = "424242:SOMETHING-else"  # BotFather: /revoke
    code = await cmd.exited(timeout=60)
    out = cmd.log()
    assert code == 2, out
    assert "Traceback" not in out
    assert any("BOT_TOKEN" in line for line in problem_lines(out)), out


# --- no network ---------------------------------------------------------------------------------
async def wait_health(port: int, status: int, timeout: float = 60) -> dict[str, object]:
    async with asyncio.timeout(timeout):
        while True:
            try:
                got, body = await health(port)
            except OSError:
                got, body = None, None
            if got == status:
                return body if isinstance(body, dict) else {"body": body}
            await asyncio.sleep(0.1)


async def test_no_network_at_start_retries_with_a_clear_line_and_health_says_why(
    tmp_path: Path, commands: list[Command]
) -> None:
    """Telegram unreachable (nothing listens at TELEGRAM_API_URL yet): the bot keeps trying,
    /healthz answers 503 and says why, and once Telegram is there the bot works."""
    telegram_port = free_port()
    port = free_port()
    env = bot_env(f"http://127.0.0.1:{telegram_port}", TOKEN, tmp_path / "bot.sqlite3", port)
    cmd = command(commands, env, tmp_path)
    body = await wait_health(port, 503)
    assert "telegram" in str(body).lower(), body
    out = await cmd.wait_log("unreachable")
    assert "unreachable" in out.lower(), out
    assert "retry" in out.lower(), out
    assert "Traceback" not in out
    assert cmd.proc is not None
    assert cmd.proc.poll() is None

    async with BotAPIEmulator(TOKEN) as tg:
        await tg.stop()
        await tg.start(port=telegram_port)
        await wait_health(port, 200)
        user = tg.user(5001, "Анна")
        user.send("/start")
        await tg.wait_for(lambda: bool(user.texts()), timeout=30)
        code, took = await cmd.terminate(STOP_LIMIT + 5)
    assert code == 0
    assert took < STOP_LIMIT


async def test_sigterm_while_telegram_is_unreachable_ends_within_10_s(
    tmp_path: Path, commands: list[Command]
) -> None:
    port = free_port()
    env = bot_env(f"http://127.0.0.1:{free_port()}", TOKEN, tmp_path / "bot.sqlite3", port)
    cmd = command(commands, env, tmp_path)
    await wait_health(port, 503)
    await asyncio.sleep(1)  # well into the retries
    code, took = await cmd.terminate(STOP_LIMIT + 20)
    out = cmd.log()
    assert code is not None, f"still running {took:.1f} s after SIGTERM: {out}"
    assert took < STOP_LIMIT, out
    assert code == 0, out
    assert "Traceback" not in out


async def test_sigterm_while_a_long_poll_hangs_ends_within_10_s(
    emulator: BotAPIEmulator, tmp_path: Path, commands: list[Command]
) -> None:
    port = free_port()
    cmd = command(
        commands, bot_env(emulator.base_url, TOKEN, tmp_path / "bot.sqlite3", port), tmp_path
    )
    await wait_health(port, 200)
    await emulator.wait_for(lambda: emulator._polling > 0, timeout=30)  # a long poll is open
    emulator.fail("getUpdates", 1000, status=500, delay=120)  # Telegram stops answering
    # An update ends the long poll under way; the next one hangs.
    user = emulator.user(5101, "Анна")
    user.send("/start")
    await emulator.wait_for(lambda: bool(user.texts()), timeout=30)
    await asyncio.sleep(1)
    code, took = await cmd.terminate(STOP_LIMIT + 20)
    assert code == 0, cmd.log()
    assert took < STOP_LIMIT, cmd.log()


# --- the database path ------------------------------------------------------------------------
def bad_paths(tmp_path: Path) -> dict[str, Path]:
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("x")
    zeroed = tmp_path / "zeroed.sqlite3"
    zeroed.write_bytes(b"\0" * 8192)
    return {
        "a folder that is a file": a_file / "data" / "bot.sqlite3",
        "a read-only file system": Path("/sys/feedback-bot/bot.sqlite3"),
        "the path is a folder": tmp_path,
        "not a database": zeroed,
    }


@pytest.mark.parametrize(
    "case",
    [
        "a folder that is a file",
        "a read-only file system",
        "the path is a folder",
        "not a database",
    ],
)
async def test_an_unusable_database_path_is_one_line_naming_it(
    case: str, emulator: BotAPIEmulator, tmp_path: Path
) -> None:
    path = bad_paths(tmp_path)[case]
    env = bot_env(emulator.base_url, TOKEN, path, free_port())
    result = await asyncio.to_thread(run_cli, "run", env=env, cwd=tmp_path)
    out = result.stdout + result.stderr
    assert result.returncode == 2, out
    assert "Traceback" not in out
    problems = problem_lines(out)
    assert len(problems) == 1, out
    assert "DATABASE_PATH" in problems[0]
    assert str(path) in problems[0]


def test_zeroed_file_is_what_sqlite_calls_not_a_database(tmp_path: Path) -> None:
    """(The case above is real: this is what SQLite says about such a file.)"""
    zeroed = tmp_path / "z.sqlite3"
    zeroed.write_bytes(b"\0" * 8192)
    with pytest.raises(sqlite3.DatabaseError), sqlite3.connect(zeroed) as conn:
        conn.execute("SELECT * FROM sqlite_master").fetchall()
