"""`restore` does its job when the live database is broken, keeps every replaced file, and two
restores cannot race; a database file deleted under a running bot stops writes loudly.

The CLI tests run the real `python -m bot backup / restore`; the deleted-file test runs the
production app and its /healthz and purchases API.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from pathlib import Path

import pytest

from bot.app import BotApp
from bot.clock import FakeClock
from storage import Database
from tests.robust_helpers import api_call, health, order, run_cli

ENV_BASE = {"BOT_TOKEN": "454545:RESTORE-token", "PSEUDONYM_SECRET": "restore-secret"}


def env_for(db: Path) -> dict[str, str]:
    return {**ENV_BASE, "DATABASE_PATH": str(db)}


async def make_database(path: Path, marker: str) -> None:
    """A bot database (every migration applied) with one recognisable row."""
    db = Database(path)
    await db.open(process_lock=False)
    try:
        async with db.write() as conn:
            await conn.execute(
                "INSERT INTO customers (external_id, name, link_token, created_at) "
                "VALUES (?, 'x', ?, '2026-01-12T09:00:00.000000Z')",
                (marker, "tok-" + marker),
            )
    finally:
        await db.close()


def markers(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [r[0] for r in conn.execute("SELECT external_id FROM customers ORDER BY 1")]


def kept(db: Path) -> list[Path]:
    """The databases restores kept (a broken one's -wal and -shm go along, beside it)."""
    found = db.parent.glob(db.name + ".before-restore*")
    return sorted(p for p in found if not p.name.endswith(("-wal", "-shm")))


@pytest.fixture
async def backup_file(tmp_path: Path) -> Path:
    source = tmp_path / "source.sqlite3"
    await make_database(source, "from-backup")
    target = tmp_path / "backups" / "good.sqlite3"
    result = await asyncio.to_thread(
        run_cli, "backup", str(target), env=env_for(source), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    return target


def breakers() -> dict[str, bytes | None]:
    return {"zeroed": b"\0" * 4096 * 8, "garbage": os.urandom(20_000), "truncated": None}


@pytest.mark.parametrize("how", ["zeroed", "garbage", "truncated"])
async def test_restore_replaces_a_broken_live_database_and_keeps_it_as_it_was(
    how: str, backup_file: Path, tmp_path: Path
) -> None:
    live = tmp_path / "data" / "bot.sqlite3"
    await make_database(live, "live")
    # «truncated»: the header survives, the pages do not.
    broken = live.read_bytes()[:1500] if how == "truncated" else breakers()[how] or b""
    live.write_bytes(broken)
    for suffix in ("-wal", "-shm"):
        live.with_name(live.name + suffix).unlink(missing_ok=True)

    result = await asyncio.to_thread(
        run_cli, "restore", str(backup_file), env=env_for(live), cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert markers(live) == ["from-backup"]
    (aside,) = kept(live)
    assert aside.read_bytes() == broken  # moved aside as it was, for whoever wants to look
    assert str(aside) in result.stdout


async def test_every_restore_keeps_what_it_replaced(backup_file: Path, tmp_path: Path) -> None:
    live = tmp_path / "data" / "bot.sqlite3"
    await make_database(live, "first")
    env = env_for(live)
    for _ in range(3):
        result = await asyncio.to_thread(
            run_cli, "restore", str(backup_file), env=env, cwd=tmp_path
        )
        assert result.returncode == 0, result.stderr
    files = kept(live)
    assert len(files) == 3, files
    assert all(".before-restore-" in f.name for f in files)
    assert markers(files[0]) == ["first"]  # the oldest is the original, not overwritten


async def test_two_restores_at_once_do_not_race(backup_file: Path, tmp_path: Path) -> None:
    live = tmp_path / "data" / "bot.sqlite3"
    await make_database(live, "live")
    env = env_for(live)
    results = await asyncio.gather(
        *(
            asyncio.to_thread(run_cli, "restore", str(backup_file), env=env, cwd=tmp_path)
            for _ in range(3)
        )
    )
    ok = [r for r in results if r.returncode == 0]
    refused = [r for r in results if r.returncode != 0]
    assert ok
    for r in refused:
        assert r.returncode == 2
        assert "Traceback" not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert markers(live) == ["from-backup"]
    assert len(kept(live)) == len(ok)
    with sqlite3.connect(live) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# --- a database deleted under a running bot ------------------------------------------------------
async def test_a_deleted_database_file_makes_health_503_and_stops_writes(
    app: BotApp, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    port = app.http_port
    body = order("D-1", "cust-d", at=clock.now().isoformat())
    status, _payload, _h = await api_call(port, "POST", "/api/v1/purchases", body)
    assert status == 201
    path = app.settings.database_path
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)

    status, why = await health(port)
    assert status == 503
    assert "database" in str(why).lower()
    body = order("D-2", "cust-d", at=clock.now().isoformat())
    status, payload, _h = await api_call(port, "POST", "/api/v1/purchases", body)
    assert status == 503, payload  # not 201 into a file nobody will ever read again
    await app.outbox.tick()  # the scheduler's writes stop too, quietly
    status, _payload, _h = await api_call(port, "POST", "/api/v1/purchases", body)
    assert status == 503
    criticals = [r for r in caplog.records if r.levelno >= logging.CRITICAL]
    assert len(criticals) == 1, [r.getMessage() for r in caplog.records]  # said once, loudly
    assert str(path) in criticals[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info], "no tracebacks for it"
