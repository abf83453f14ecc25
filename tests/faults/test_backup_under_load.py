"""Backups taken while answers pour in are one consistent moment, and restore to a working bot.

A writer task records survey answers through the same use case the buttons call, question by
question for everybody, while the backup runs (in-process through `storage.backup`, and as the
`python -m bot backup` command). Whatever the backup holds must be a state the database really
passed through: every answer committed before the backup started, nothing torn (each person's
answers are questions 1..k in order), and the survey continues from it after a restore.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.app import BotApp
from bot.emulator import BotAPIEmulator
from bot.pseudonym import Pseudonymizer
from bot.survey import service as survey_service
from bot.survey.scoring import QUESTION_COUNT
from storage.backup import BackupError, backup, restore
from storage.timestamps import to_db
from tests.conftest import TOKEN
from tests.faults.survey_setup import open_wave_with_employees, score_for

ROOT = Path(__file__).resolve().parents[2]
EMPLOYEES = list(range(20_001, 20_101))
PADDING_ROWS = 60_000  # an older wave's answers, so that a copy takes long enough to overlap


@dataclass
class Writer:
    """Answers every open question in turn, logging each answer once it is committed."""

    app: BotApp
    wave_id: int
    pace: float = 0.0  # seconds between answers: enough of them left to outlast a slow backup
    committed: list[tuple[int, int]] = field(default_factory=list)  # (telegram id, question)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        pseudonyms = Pseudonymizer(self.app.settings.resolve_pseudonym_secret())
        for question in range(1, QUESTION_COUNT + 1):
            for telegram_id in EMPLOYEES:
                if self.stop.is_set():
                    return
                result = await survey_service.record_answer(
                    self.app.db,
                    pseudonyms,
                    telegram_id=telegram_id,
                    wave_id=self.wave_id,
                    question=question,
                    score=score_for(telegram_id, question),
                    change=False,
                    now=self.app.clock.now(),
                )
                assert isinstance(result, survey_service.Answered), result
                self.committed.append((telegram_id, question))
                if self.pace:
                    await asyncio.sleep(self.pace)


async def pad(app: BotApp) -> None:
    now = to_db(app.clock.now())
    async with app.db.write() as conn:
        cur = await conn.execute(
            "INSERT INTO waves (title, opened_by, opened_at, closed_at) VALUES ('2025', 1, ?, ?)",
            (now, now),
        )
        old_wave = cur.lastrowid
        await conn.executemany(
            "INSERT INTO survey_answers (wave_id, respondent, department_id, question, score, "
            "answered_at) VALUES (?, ?, NULL, ?, 3, ?)",
            [(old_wave, f"r_old{i // 6:08d}", i % 6 + 1, now) for i in range(PADDING_ROWS)],
        )


async def prepare(app: BotApp, *, pace: float = 0.0) -> Writer:
    await pad(app)
    wave_id = await open_wave_with_employees(app.db, EMPLOYEES, app.clock.now())
    return Writer(app, wave_id, pace)


def answers_in(path: Path, app: BotApp, wave_id: int) -> set[tuple[int, int]]:
    """(telegram id, question) of every answer in a database file, checking each score."""
    pseudonyms = Pseudonymizer(app.settings.resolve_pseudonym_secret())
    who = {pseudonyms(t, wave_id): t for t in EMPLOYEES}
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = conn.execute(
            "SELECT respondent, question, score FROM survey_answers WHERE wave_id = ?", (wave_id,)
        ).fetchall()
    finally:
        conn.close()
    found = set()
    for respondent, question, score in rows:
        telegram_id = who[respondent]
        assert score == score_for(telegram_id, question)
        found.add((telegram_id, question))
    return found


def assert_one_moment(
    snapshot: set[tuple[int, int]], before: list[tuple[int, int]], after: list[tuple[int, int]]
) -> None:
    """The copy holds a state the database really was in during the backup."""
    assert set(before) <= snapshot, "an answer committed before the backup is missing"
    assert snapshot <= set(after), "the backup holds an answer that was never committed"
    # The writer commits in one global order, so a consistent moment is a prefix of it.
    assert snapshot == set(after[: len(snapshot)])


def progress_of(snapshot: set[tuple[int, int]], telegram_id: int) -> int:
    return sum(1 for t, _ in snapshot if t == telegram_id)


async def backup_while_writing(
    app: BotApp, writer: Writer, take: Callable[[], Any]
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Run `take` (blocking) in a thread while the writer writes; the commit log around it.

    A copy takes tens of milliseconds; on a busy machine it may happen to fall between two
    commits. It is then taken again (the last copy is the one checked), so that the test
    always sees the writer commit while a backup runs.
    """
    task = asyncio.create_task(writer.run())
    while len(writer.committed) < 30:  # the writer is in full swing
        await asyncio.sleep(0.001)
    for _attempt in range(5):
        before = list(writer.committed)
        await asyncio.to_thread(take)
        if len(writer.committed) > len(before):
            break
    else:
        raise AssertionError("no answer was committed while a backup ran, five times over")
    writer.stop.set()
    await task
    return before, list(writer.committed)


async def test_backup_under_load_is_consistent_and_restores(
    app: BotApp, tg: BotAPIEmulator, tmp_path: Path, start_app: Callable[..., Any]
) -> None:
    writer = await prepare(app, pace=0.002)
    target = tmp_path / "backups" / "copy.sqlite3"
    before, after = await backup_while_writing(
        app, writer, lambda: backup(app.settings.database_path, target)
    )
    snapshot = answers_in(target, app, writer.wave_id)
    assert_one_moment(snapshot, before, after)

    # Restore the plain way: stop the bot, copy the file over the database, start again.
    await app.stop()
    db_path = app.settings.database_path
    assert not db_path.with_name(db_path.name + "-wal").exists()  # a clean stop folds the WAL in
    shutil.copyfile(target, db_path)
    restored = await start_app()
    assert answers_in(db_path, restored, writer.wave_id) == snapshot

    # The survey goes on from the restored state, through the wire.
    for telegram_id in (EMPLOYEES[0], EMPLOYEES[-1]):
        person = tg.user(telegram_id, "Сотрудник")
        person.send("/survey")
        await tg.settle()
        done = progress_of(snapshot, telegram_id)
        assert f"Вопрос {done + 1} из 6" in person.last["text"]
        person.click(str(score_for(telegram_id, done + 1)))
        await tg.settle()
    assert len(answers_in(db_path, restored, writer.wave_id)) == len(snapshot) + 2


def cli_env(app: BotApp) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.isupper() or k in ("PATH", "HOME")}
    return {
        **clean,
        "PYTHONPATH": str(ROOT),
        "BOT_TOKEN": TOKEN,
        "DATABASE_PATH": str(app.settings.database_path),
        "PSEUDONYM_SECRET": "test-pseudonym-secret",
    }


def run_cli(app: BotApp, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=cli_env(app),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.slow
async def test_backup_command_under_load_and_restore_command(
    app: BotApp, tg: BotAPIEmulator, tmp_path: Path, start_app: Callable[..., Any]
) -> None:
    writer = await prepare(app, pace=0.01)
    folder = tmp_path / "backups"
    folder.mkdir()
    results: list[subprocess.CompletedProcess[str]] = []
    before, after = await backup_while_writing(
        app, writer, lambda: results.append(run_cli(app, "backup", str(folder), cwd=tmp_path))
    )
    result = results[-1]
    assert result.returncode == 0, result.stderr
    copy = sorted(folder.glob("bot-*.sqlite3"))[-1]  # named by the time it was taken
    assert f"written to {copy}" in result.stdout
    assert "integrity ok" in result.stdout
    snapshot = answers_in(copy, app, writer.wave_id)
    # The command started (and imported Python) after `before` was taken, so the copy may hold
    # more; it must still be one moment of the writer's order.
    assert_one_moment(snapshot, before, after)

    # Restoring under a running bot is refused, and changes nothing.
    live = answers_in(app.settings.database_path, app, writer.wave_id)
    refused = run_cli(app, "restore", str(copy), cwd=tmp_path)
    assert refused.returncode == 2
    assert "stop it before restoring" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert answers_in(app.settings.database_path, app, writer.wave_id) == live

    await app.stop()
    restored_run = run_cli(app, "restore", str(copy), cwd=tmp_path)
    assert restored_run.returncode == 0, restored_run.stderr
    assert "kept as" in restored_run.stdout
    db_path = app.settings.database_path
    assert (
        answers_in(db_path.with_name(db_path.name + ".before-restore"), app, writer.wave_id) == live
    )

    restored = await start_app()
    assert answers_in(db_path, restored, writer.wave_id) == snapshot
    person = tg.user(EMPLOYEES[3], "Сотрудник")
    person.send("/survey")
    await tg.settle()
    assert f"Вопрос {progress_of(snapshot, EMPLOYEES[3]) + 1} из 6" in person.last["text"]


# --- refusals -------------------------------------------------------------------------------------
def test_backup_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="no database at"):
        backup(tmp_path / "missing.sqlite3", tmp_path / "copy.sqlite3")

    live = tmp_path / "bot.sqlite3"
    sqlite3.connect(live).close()
    with pytest.raises(BackupError, match="overwrite the live database"):
        backup(live, live)

    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not a database" * 100)
    with pytest.raises(BackupError, match=r"not a readable SQLite database|backup failed"):
        backup(garbage, tmp_path / "copy.sqlite3")
    assert not (tmp_path / "copy.sqlite3").exists()
    assert not (tmp_path / "copy.sqlite3.partial").exists()


def test_restore_refuses_a_bad_or_newer_backup(tmp_path: Path) -> None:
    live = tmp_path / "bot.sqlite3"
    conn = sqlite3.connect(live)
    conn.execute("CREATE TABLE t (x)")
    conn.execute("INSERT INTO t VALUES (1)")
    conn.commit()
    conn.close()

    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"\0" * 4096 + b"junk" * 1000)
    with pytest.raises(BackupError, match="not a readable SQLite database"):
        restore(garbage, live)

    newer = tmp_path / "newer.sqlite3"
    conn = sqlite3.connect(newer)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(BackupError, match="newer than this bot knows"):
        restore(newer, live, latest_version=3)

    with pytest.raises(BackupError, match="no backup at"):
        restore(tmp_path / "nothing.sqlite3", live)

    conn = sqlite3.connect(live)
    assert conn.execute("SELECT x FROM t").fetchall() == [(1,)]  # untouched
    conn.close()


def test_restore_onto_a_new_server(tmp_path: Path) -> None:
    source = tmp_path / "old" / "bot.sqlite3"
    source.parent.mkdir()
    conn = sqlite3.connect(source)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE t (x)")
    conn.execute("INSERT INTO t VALUES (42)")
    conn.execute("PRAGMA user_version = 3")
    conn.commit()
    conn.close()
    (tmp_path / "copies").mkdir()
    copy = backup(source, tmp_path / "copies")
    assert copy.path.parent == tmp_path / "copies"  # a folder gets a file named by the time
    assert not copy.path.with_name(copy.path.name + "-wal").exists()  # one standalone file

    target = tmp_path / "new" / "data" / "bot.sqlite3"
    info = restore(copy.path, target, latest_version=3)
    assert info.previous is None
    assert info.schema_version == 3
    conn = sqlite3.connect(target)
    assert conn.execute("SELECT x FROM t").fetchall() == [(42,)]
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
