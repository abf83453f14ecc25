"""One SQLite file, opened once per process.

A writer connection, used under an asyncio lock so transactions from concurrent handlers never
interleave, and READERS connections for reports and pages, each of which in WAL mode sees a
consistent snapshot without blocking the writer. Two reads run at once (SQLite does the work
with the GIL released), and `snapshot()` gives one report two readers of the same snapshot. A
lock file beside the database keeps a second bot process (started by mistake) from running on
the same file and sending every message twice.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from storage.group_commit import BatchApply, GroupCommit
from storage.migrations import apply_migrations

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000
# Each connection's page cache, in KiB (SQLite's default is 2 MiB). A dashboard page reads the
# same index and aggregate pages on every load, and with the default they came back from the OS
# each time. Measured A/B at 3M reviews (2 cores, noisy): the case list 44–48 → 27–31 ms, the
# year-long customers page 181–193 → 151–163; the other pages within the noise. The cache fills
# only as far as pages are read.
CACHE_KIB = 64 * 1024
# Read connections: as many as the machine the bot was measured on has cores. A year-long
# report split over two of them (bot.reports.assemble) takes about 0.6 of its time on one.
READERS = 2
# Any read starts a WAL reader's snapshot; this one reads the first page only.
_FIRST_READ = "SELECT 1 FROM sqlite_master LIMIT 1"

T = TypeVar("T")
R = TypeVar("R")


class DatabaseLockedByAnotherProcess(RuntimeError):
    """Another bot process already runs on this database file."""


class DatabaseFileGone(RuntimeError):
    """The file at the database's path is no longer the one the bot opened (deleted, or
    replaced under it): a write now would go into a file nobody will read again."""


class Database:
    def __init__(self, path: Path | str, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
        self.path = Path(path)
        self.busy_timeout_ms = busy_timeout_ms
        self._writer: aiosqlite.Connection | None = None
        self._readers: list[aiosqlite.Connection] = []
        self._free_readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._pair_lock = asyncio.Lock()  # snapshot(): one taker of two readers at a time
        self._write_lock = asyncio.Lock()
        # A snapshot's two readers start with no COMMIT under way and none let through in
        # between (see snapshot()): commits wait at this gate while they start.
        self._commits_open = asyncio.Event()
        self._commits_open.set()
        self._committed = asyncio.Event()  # clear while a COMMIT is under way
        self._committed.set()
        self._lock_fd: int | None = None
        self._group_commits: dict[object, GroupCommit[Any, Any]] = {}
        self._identity: tuple[int, int] | None = None  # (st_dev, st_ino) of the file opened
        self._gone_logged = False

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    async def open(self, *, process_lock: bool = True) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if process_lock:
            self._acquire_process_lock()
        try:
            self._writer = await self._connect()
            await apply_migrations(self._writer)
            for _ in range(READERS):
                reader = await self._connect()
                self._readers.append(reader)
                self._free_readers.put_nowait(reader)
            stat = os.stat(self.path)
            self._identity = (stat.st_dev, stat.st_ino)
        except BaseException:
            await self.close()
            raise

    async def _connect(self) -> aiosqlite.Connection:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a transaction is exactly
        # what a `write()` block covers.
        pending = aiosqlite.connect(self.path, isolation_level=None)
        try:
            conn = await pending
        except BaseException:
            # aiosqlite stops its thread without waiting for it; left running, it could call
            # back into a loop already closed and print a traceback after our one-line error
            # (a DATABASE_PATH that is a folder, 1 run in 16).
            await asyncio.to_thread(pending._thread.join, 5)
            raise
        try:
            conn.row_factory = aiosqlite.Row
            await conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            await conn.execute("PRAGMA journal_mode = WAL")
            # NORMAL in WAL mode survives any process crash (SIGKILL included); only a power
            # loss can roll back the last commits. FULL would fsync on every answer.
            await conn.execute("PRAGMA synchronous = NORMAL")
            await conn.execute("PRAGMA foreign_keys = ON")
            await conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        except BaseException:
            # Not a database (a zeroed file): close it, or its thread keeps the process alive.
            await conn.close()
            raise
        return conn

    def _acquire_process_lock(self) -> None:
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DatabaseLockedByAnotherProcess(
                f"another bot process is already running on {self.path} "
                f"(lock file {self.lock_path}); stop it first"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd

    async def close(self) -> None:
        for conn in (*self._readers, self._writer):
            if conn is not None:
                try:
                    await conn.close()
                except Exception:  # closing must go on whatever one connection says
                    log.exception("closing a database connection failed")
        self._readers = []
        self._free_readers = asyncio.Queue()
        self._writer = None
        self._identity = None
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    @property
    def writer(self) -> aiosqlite.Connection:
        if self._writer is None:
            raise RuntimeError("database is not open")
        return self._writer

    def problem(self) -> str | None:
        """Why the database cannot be trusted any more (its file deleted or replaced), or None."""
        if self._identity is None:
            return None
        try:
            stat = os.stat(self.path)
        except OSError:
            return f"the database file {self.path} is gone"
        if (stat.st_dev, stat.st_ino) != self._identity:
            return f"the database file {self.path} was replaced under the running bot"
        return None

    def _check_file(self) -> None:
        # One stat per transaction (about a microsecond): cheap against accepting orders,
        # answers and messages into a file that has been deleted and will never be read again.
        problem = self.problem()
        if problem is None:
            return
        if not self._gone_logged:
            self._gone_logged = True
            log.critical("%s: writes are stopped; restore it and restart the bot", problem)
        raise DatabaseFileGone(problem)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction: everything inside commits together or not at all."""
        async with self._write_lock:
            self._check_file()
            conn = self.writer
            # IMMEDIATE takes the write lock up front, so a busy database (another writer,
            # an admin's sqlite3 shell) waits busy_timeout here instead of failing mid-way.
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                await self._commits_open.wait()  # a snapshot's two readers are starting
            except BaseException:
                await conn.rollback()
                raise
            self._committed.clear()
            try:
                await conn.commit()
            finally:
                self._committed.set()

    def group_commit(self, apply: BatchApply[T, R], *, inline: bool = False) -> GroupCommit[T, R]:
        """The group-commit queue of `apply` on this database (one queue per function).

        For small writes that arrive in crowds (survey answers): see storage/group_commit.py.
        """
        group = self._group_commits.get(apply)
        if group is None:
            group = self._group_commits[apply] = GroupCommit(self, apply, inline=inline)
        return group

    @asynccontextmanager
    async def _reader(self) -> AsyncIterator[aiosqlite.Connection]:
        if not self._readers:
            raise RuntimeError("database is not open")
        free = self._free_readers  # close() makes a new queue: back to the one it came from
        conn = await free.get()
        try:
            yield conn
        finally:
            free.put_nowait(conn)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[aiosqlite.Connection]:
        """A read-only snapshot (reports, exports): never blocks the writer."""
        async with self._reader() as conn:
            await conn.execute("BEGIN")
            try:
                yield conn
            finally:
                await conn.rollback()

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[tuple[aiosqlite.Connection, aiosqlite.Connection]]:
        """Two read connections on one and the same snapshot, for one report read in two
        halves at once (bot.reports.assemble). It holds the bot's commits back only while its
        two readers start.

        A WAL reader's snapshot is the database as of its first read. Every commit of this
        process goes through `write()`, which waits at a gate while the two first reads happen
        (four hops to SQLite's threads, well under a millisecond on an idle machine), after the
        commit under way, if any, has landed; so both see the same commits. Retrying instead
        whenever a commit came in between could wait for ever behind a busy writer. (A commit
        from another process, such as an admin's sqlite3 shell, is not held back.)
        """
        async with AsyncExitStack() as held:  # on the way out: both rolled back, then returned
            # One taker of two readers at a time: two holding one each would wait for ever.
            async with self._pair_lock:
                first = await held.enter_async_context(self._reader())
                second = await held.enter_async_context(self._reader())
                self._commits_open.clear()
                try:
                    await self._committed.wait()
                    for conn in (first, second):
                        await conn.execute("BEGIN")
                        held.push_async_callback(conn.rollback)
                        await (await conn.execute(_FIRST_READ)).close()
                finally:
                    self._commits_open.set()
            yield first, second

    async def backup_to(self, target: Path | str) -> None:
        """A consistent copy of the live database (SQLite online backup API)."""
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        async with aiosqlite.connect(target) as dest:
            await self.writer.backup(dest)
