"""Start-up: settings from the environment, one clear line and exit 2 when one is wrong."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import RedactSecrets
from bot.settings import SettingsError, load_settings

TOKEN = "123456:SECRET-token-value"
CLEAN_ENV = {
    k: v for k, v in os.environ.items() if not k.isupper() or k in ("PATH", "HOME", "LANG")
}


def run_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={**CLEAN_ENV, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "BOT_TOKEN is not set"),
        ({"BOT_TOKEN": "not-a-token"}, "BOT_TOKEN is invalid"),
        ({"BOT_TOKEN": TOKEN, "ADMIN_IDS": "111,abc"}, "ADMIN_IDS is invalid"),
        ({"BOT_TOKEN": TOKEN, "TIMEZONE": "Mars/Olympus"}, "TIMEZONE is invalid"),
        ({"BOT_TOKEN": TOKEN, "SEND_HOURS": "22-9"}, "SEND_HOURS is invalid"),
        ({"BOT_TOKEN": TOKEN, "SURVEY_MIN_GROUP": "zero"}, "SURVEY_MIN_GROUP is invalid"),
        ({"BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": "ftp://x"}, "TELEGRAM_API_URL is invalid"),
        ({"BOT_TOKEN": TOKEN, "HTTP_PORT": "70000"}, "HTTP_PORT is invalid"),
        ({"BOT_TOKEN": TOKEN, "REPORT_CRON": "every monday"}, "REPORT_CRON is invalid"),
    ],
)
def test_bad_settings_stop_start_up_with_one_line(
    env: dict[str, str], expected: str, tmp_path: Path
) -> None:
    result = run_cli("run", env=env, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert expected in lines[0]
    assert "Traceback" not in result.stderr
    assert "SECRET" not in result.stderr


def test_settings_come_from_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text(
        f"BOT_TOKEN={TOKEN}\nADMIN_IDS=111, 222\nSEND_HOURS=8-20\n", encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    for name in ("BOT_TOKEN", "ADMIN_IDS", "SEND_HOURS"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.admin_ids == frozenset({111, 222})
    assert settings.send_window == (8, 20)
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert str(settings.database_path) == "data/bot.sqlite3"
    assert "SECRET" not in repr(settings)


def test_load_settings_names_every_bad_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    with pytest.raises(SettingsError) as exc:
        load_settings(_env_file=None, admin_ids="x", survey_min_group=0)
    assert "ADMIN_IDS" in str(exc.value)
    assert "SURVEY_MIN_GROUP" in str(exc.value)


def test_pseudonym_key_is_generated_beside_the_database(tmp_path: Path) -> None:
    settings = load_settings(_env_file=None, bot_token=TOKEN, database_path=tmp_path / "b.sqlite3")
    key = settings.resolve_pseudonym_secret()
    assert key == settings.resolve_pseudonym_secret(), "stable across starts"
    key_file = tmp_path / "b.sqlite3.pseudonym-key"
    assert key_file.exists()
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"


def test_token_is_redacted_from_log_lines() -> None:
    record = logging.LogRecord(
        "aiogram",
        logging.ERROR,
        __file__,
        1,
        "request to https://api.telegram.org/bot%s/getMe failed",
        (TOKEN,),
        None,
    )
    RedactSecrets([TOKEN]).filter(record)
    assert TOKEN not in record.getMessage()
    assert "bot***/getMe" in record.getMessage()
