"""What an online backup costs: its duration on a sizeable database, and what it does to the
bot's writes while it runs.

    python bench/backup.py [ANSWERS]      (default 600000 stored answers, ~40 MB)

A writer records survey answers through `survey_service.record_answer` (the use case the
buttons call) as fast as it can, first alone (the baseline), then while `storage.backup.backup`
copies the file in a thread. Printed: the database size, the backup's duration and speed, and
the writer's answers per second in both phases with their ratio. The copy is checked for
integrity and for holding every answer committed before it started.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import machine_note
from bot.clock import SystemClock
from bot.pseudonym import Pseudonymizer
from bot.survey import service as survey_service
from storage import Database
from storage.backup import backup
from storage.timestamps import to_db

EMPLOYEES = 2_000
PHASE_SECONDS = 2.0


async def fill(db: Database, answers: int) -> None:
    """Past waves' answers: what a few years of surveys leave in the file."""
    now = to_db(SystemClock().now())
    per_wave = 6 * 5_000
    async with db.write() as conn:
        for wave in range(answers // per_wave + 1):
            cur = await conn.execute(
                "INSERT INTO waves (title, opened_by, opened_at, closed_at) VALUES (?, 1, ?, ?)",
                (f"past {wave}", now, now),
            )
            count = min(per_wave, answers - wave * per_wave)
            await conn.executemany(
                "INSERT INTO survey_answers (wave_id, respondent, department_id, question, "
                "score, answered_at) VALUES (?, ?, NULL, ?, 3, ?)",
                [(cur.lastrowid, f"r_{i // 6:018d}", i % 6 + 1, now) for i in range(count)],
            )


async def writer(
    db: Database,
    pseudonyms: Pseudonymizer,
    wave_id: int,
    todo: list[tuple[int, int]],
    seconds: float,
) -> int:
    """Record answers from `todo` for `seconds`; returns how many."""
    clock = SystemClock()
    deadline = time.perf_counter() + seconds
    done = 0
    while todo and time.perf_counter() < deadline:
        telegram_id, question = todo.pop(0)
        result = await survey_service.record_answer(
            db,
            pseudonyms,
            telegram_id=telegram_id,
            wave_id=wave_id,
            question=question,
            score=3,
            change=False,
            now=clock.now(),
        )
        assert isinstance(result, survey_service.Answered), result
        done += 1
    return done


async def main(answers: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bot.sqlite3"
        db = Database(path)
        await db.open()
        pseudonyms = Pseudonymizer(b"bench")
        await fill(db, answers)
        clock = SystemClock()
        payload, _ = await survey_service.create_invite(db, "Bench", 1, clock.now())
        ids = list(range(1, EMPLOYEES + 1))
        for telegram_id in ids:
            await survey_service.join(db, payload, telegram_id, "ru", clock.now(), reminder_days=3)
        wave = await survey_service.start_wave(db, "now", 1, clock.now(), reminder_days=3)
        todo = [(t, q) for q in range(1, 7) for t in ids]
        await db.writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # as a long-running bot's
        size = path.stat().st_size

        await writer(db, pseudonyms, wave.wave.id, todo, 0.5)  # warm-up, not counted
        alone = await writer(db, pseudonyms, wave.wave.id, todo, PHASE_SECONDS)
        committed_before = len(ids) * 6 - len(todo)

        target = Path(folder) / "copy.sqlite3"
        started = time.perf_counter()
        copy = asyncio.create_task(asyncio.to_thread(backup, path, target))
        during = 0
        while not copy.done():
            during += await writer(db, pseudonyms, wave.wave.id, todo, 0.05)
        info = await copy
        took = time.perf_counter() - started
        alone += await writer(db, pseudonyms, wave.wave.id, todo, PHASE_SECONDS)  # and after
        await db.close()

        import sqlite3

        check = sqlite3.connect(target)
        in_copy = check.execute(
            "SELECT COUNT(*) FROM survey_answers WHERE wave_id = ?", (wave.wave.id,)
        ).fetchone()[0]
        check.close()
        assert in_copy >= committed_before, "the copy lost committed answers"

        rate_alone = alone / (2 * PHASE_SECONDS)
        rate_during = during / took
        print(f"machine: {machine_note()}")
        print(f"database: {answers} past answers, {size / 1e6:.1f} MB")
        speed = info.size / 1e6 / took
        print(f"backup: {took:.2f} s, {speed:.0f} MB/s, {info.pages} pages, integrity ok")
        print(f"writer alone (before and after): {rate_alone:8.0f} answers/s")
        print(f"writer during backup:            {rate_during:8.0f} answers/s ({during} answers)")
        print(f"ratio during/alone:              {rate_during / rate_alone:8.2f}")
        print(f"answers in the copy: {in_copy} (committed before it started: {committed_before})")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 600_000))
