"""The pseudonym key is guarded: the real CLI refuses a key that is not the database's.

A lost key used to be replaced silently at start; everyone who had answered the open wave was
asked again and counted twice. Now: one line, exit code 2, and an explicit rotation.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.app import BotApp
from bot.emulator import BotAPIEmulator
from tests.bot_process import ROOT
from tests.conftest import ADMIN_ID, TOKEN
from tests.survey_helpers import admin, answer, db_count, invite_link, join, start_wave


def cli(db_path: Path, tg: BotAPIEmulator, *args: str, secret: str | None = None) -> Any:
    base = {k: v for k, v in os.environ.items() if not k.isupper() or k in ("PATH", "HOME")}
    env = {
        **base,
        "PYTHONPATH": str(ROOT),
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": tg.base_url,
        "DATABASE_PATH": str(db_path),
        "ADMIN_IDS": str(ADMIN_ID),
        "HTTP_PORT": "0",
        "REPORT_CRON": "",
    }
    if secret is not None:
        env["PSEUDONYM_SECRET"] = secret
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


async def answered_wave(app: BotApp, tg: BotAPIEmulator) -> None:
    link = await invite_link(tg, "Sales")
    for n in range(2):
        user = tg.user(200 + n, f"E{n}")
        await join(tg, user, link)
    await start_wave(tg, app)
    await answer(tg, tg.user(200), [3] * 6)


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


async def test_another_key_stops_the_start(app: BotApp, tg: BotAPIEmulator, db_path: Path) -> None:
    await answered_wave(app, tg)
    await app.stop()
    result = cli(db_path, tg, "run", secret="a-different-secret")
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert "PSEUDONYM_SECRET is not the key this database was used with" in line
    assert "put the old key back, or run `python -m bot rotate-pseudonym-key`" in line


@pytest.mark.parametrize(
    ("content", "reason"),
    [(None, "is missing"), (b"", "is empty"), (b"\xff\xfe garbage", "is corrupt")],
)
async def test_a_lost_empty_or_corrupt_key_file_stops_the_start(
    start_app: Callable[..., Any],
    tg: BotAPIEmulator,
    db_path: Path,
    content: bytes | None,
    reason: str,
) -> None:
    app = await start_app(pseudonym_secret=None)  # the key file beside the database
    key_file = db_path.with_name(db_path.name + ".pseudonym-key")
    assert key_file.exists()
    await answered_wave(app, tg)
    await app.stop()
    if content is None:
        key_file.unlink()
    else:
        key_file.write_bytes(content)
    result = cli(db_path, tg, "run")
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert f"the pseudonym key file {key_file} {reason}" in line
    assert "rotate-pseudonym-key" in line
    assert "Traceback" not in result.stderr
    if content is None:
        assert not key_file.exists(), "no new key is made silently"


async def test_rotation_closes_the_open_wave_and_says_so(
    start_app: Callable[..., Any], tg: BotAPIEmulator, db_path: Path
) -> None:
    app = await start_app(pseudonym_secret=None)
    await answered_wave(app, tg)
    await app.stop()
    key_file = db_path.with_name(db_path.name + ".pseudonym-key")
    key_file.unlink()  # lost
    result = cli(db_path, tg, "rotate-pseudonym-key")
    assert result.returncode == 0, result.stderr
    assert "closed the open survey wave «Волна 1» first" in result.stdout
    assert key_file.exists()
    # The bot starts with the new key; the closed wave asks nobody again.
    app = await start_app(pseudonym_secret=None)
    assert await db_count(app, "SELECT COUNT(*) FROM waves WHERE closed_at IS NULL") == 0
    boss = admin(tg)
    boss.send("/survey")
    await tg.settle()
    assert await db_count(app, "SELECT COUNT(DISTINCT respondent) FROM survey_answers") == 1


async def test_rotation_refuses_while_the_bot_runs(
    app: BotApp, tg: BotAPIEmulator, db_path: Path
) -> None:
    result = cli(db_path, tg, "rotate-pseudonym-key", secret="x" * 20)
    assert result.returncode == 2
    assert "stop the bot first" in one_line(result.stderr)
