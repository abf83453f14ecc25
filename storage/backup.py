"""Online backup and restore of the bot's SQLite file.

`backup()` runs beside a live bot (`python -m bot backup PATH`, or cron): the copy is one
consistent moment of the database, taken without stopping the bot. `restore()` runs with the
bot stopped (`python -m bot restore PATH`) and puts a backup in place of the live database.
Both go through SQLite's backup API rather than copying files, so the write-ahead log (the
`-wal` file, which may hold the newest commits) is never left behind or applied to the wrong
database.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from storage.db import Database, DatabaseLockedByAnotherProcess

RESTORE_LOCK_WAIT = 120.0  # seconds a restore waits for another one of the same database


class BackupError(Exception):
    """The copy cannot be made or used; the message says why in one line."""


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    pages: int
    size: int  # bytes
    schema_version: int
    previous: Path | None = None  # restore: where the database it replaced was saved
    previous_broken: bool = False  # restore: that database was unreadable, kept as it was


def _connect_ro(path: Path) -> sqlite3.Connection:
    # A URI so that any file name (spaces, '?', '#', '%') is taken literally.
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)


def _check(conn: sqlite3.Connection, what: str) -> int:
    """Integrity check; returns the schema version (PRAGMA user_version)."""
    try:
        result = conn.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{what} is not a readable SQLite database: {exc}") from None
    if result != "ok":
        raise BackupError(f"{what} failed its integrity check: {result}")
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def backup(source: Path, target: Path, *, now: datetime | None = None) -> BackupInfo:
    """Copy the live database `source` to `target` (a file, or a folder to put a file in;
    the file is then named after the time `now`, so that copies from cron pile up by date).

    The copy is written beside the target as `.partial`, checked, flushed to disk and only
    then renamed over the target, so a crash or a full disk never leaves a half backup under
    the real name.
    """
    source = Path(source)
    target = Path(target)
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    if target.is_dir():
        stamp = f"{now.astimezone(UTC):%Y%m%d-%H%M%S}" if now is not None else "backup"
        target = target / f"{source.stem}-{stamp}.sqlite3"
    if target.resolve() == source.resolve():
        raise BackupError("the backup would overwrite the live database; choose another path")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        with closing(_connect_ro(source)) as src, closing(sqlite3.connect(partial)) as dst:
            # One step (pages=-1) reads the whole file inside one read transaction: in WAL
            # mode that is a snapshot, and the bot keeps writing meanwhile. Copying in several
            # steps would restart from scratch whenever the bot committed in between, which
            # under steady load may never finish.
            src.backup(dst, pages=-1)
            # The copy is a standalone file: no -wal beside it to lose in transit.
            dst.execute("PRAGMA journal_mode = DELETE")
            version = _check(dst, "the copy")
            pages = int(dst.execute("PRAGMA page_count").fetchone()[0])
        _fsync(partial)
        partial.replace(target)
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"backup failed: {exc}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BackupInfo(target, pages, target.stat().st_size, version)


@contextmanager
def _bot_stopped(database: Path) -> Iterator[None]:
    """Hold the same lock file the bot holds while it runs: no bot can start mid-restore."""
    lock_path = Database(database).lock_path
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatabaseLockedByAnotherProcess(
                f"the bot is running on {database} (lock file {lock_path}); stop it before "
                "restoring"
            ) from None
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@contextmanager
def _one_restore_at_a_time(database: Path, wait: float = RESTORE_LOCK_WAIT) -> Iterator[None]:
    """Restores of one database run one after another: each keeps what it replaced, and none
    copies over a file another is still writing."""
    lock_path = database.with_name(database.name + ".restore-lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise BackupError(
                        f"another restore of {database} has been running for {wait:.0f} s "
                        f"(lock file {lock_path}); wait for it to finish"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)


def _readable(database: Path) -> bool:
    """The live file is a sound SQLite database (else it is moved aside as it is)."""
    try:
        with closing(_connect_ro(database)) as conn:
            return conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    except sqlite3.DatabaseError:
        return False


def _aside_path(database: Path, now: datetime) -> Path:
    """`<name>.before-restore-YYYYMMDD-HHMMSS` (UTC), never one a previous restore left."""
    stem = f"{database.name}.before-restore-{now.astimezone(UTC):%Y%m%d-%H%M%S}"
    candidate = database.with_name(stem)
    n = 1
    while any(
        candidate.with_name(candidate.name + suffix).exists() for suffix in ("", "-wal", "-shm")
    ):
        n += 1
        candidate = database.with_name(f"{stem}-{n}")
    return candidate


def _move_aside(database: Path, aside: Path) -> None:
    """Rename a broken database and its -wal/-shm, byte for byte, for whoever wants to look."""
    for suffix in ("-wal", "-shm", ""):
        source = database.with_name(database.name + suffix)
        if source.exists():
            source.replace(aside.with_name(aside.name + suffix))


def restore(
    backup_file: Path,
    database: Path,
    *,
    latest_version: int | None = None,
    now: datetime | None = None,
) -> BackupInfo:
    """Replace `database` with `backup_file`; the bot must be stopped.

    The database being replaced is kept beside itself as `<name>.before-restore-<UTC time>`
    (each restore its own file), so a restore of the wrong file can be undone the same way: a
    sound one as a consistent copy, a broken one (zeroed, corrupt) renamed as it is, with its
    -wal and -shm. Restores of one database wait for each other.
    """
    backup_file = Path(backup_file)
    database = Path(database)
    if not backup_file.is_file():
        raise BackupError(f"no backup at {backup_file}")
    if backup_file.resolve() == database.resolve():
        raise BackupError("the backup is the live database itself")
    with closing(_connect_ro(backup_file)) as src:
        version = _check(src, str(backup_file))
        if latest_version is not None and version > latest_version:
            raise BackupError(
                f"the backup has schema version {version}, newer than this bot knows "
                f"({latest_version}); restore it with the bot's newer version"
            )
        with _one_restore_at_a_time(database), _bot_stopped(database):
            previous = None
            broken = False
            if database.exists():
                previous = _aside_path(database, now or datetime.now(tz=UTC))
                if _readable(database):
                    backup(database, previous)
                else:
                    broken = True
                    _move_aside(database, previous)
            database.parent.mkdir(parents=True, exist_ok=True)
            try:
                with closing(sqlite3.connect(database)) as dst:
                    # Through SQLite, not a file copy: the live file's -wal (if a crash left
                    # one) is rewritten consistently instead of being replayed onto the backup.
                    src.backup(dst, pages=-1)
                    dst.execute("PRAGMA journal_mode = WAL")
                    dst.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                    _check(dst, "the restored database")
                    pages = int(dst.execute("PRAGMA page_count").fetchone()[0])
            except sqlite3.Error as exc:
                raise BackupError(f"restore failed: {exc}") from None
    return BackupInfo(database, pages, database.stat().st_size, version, previous, broken)
