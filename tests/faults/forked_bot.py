"""The bot as its own OS process, started in milliseconds: forked from a server that has
already imported it.

`python -m bot run` spends about 5 s importing aiogram (its pydantic models) before doing
anything; a test that kills and restarts the bot five times would spend half a minute on
imports. A multiprocessing forkserver imports the bot once; every start after that is a
fork of it running the same `bot.cli.main(["run"])` the command runs, as a separate process
with its own event loop, SQLite connections and lock file, so SIGKILL is a real crash.
(`tests/test_blackbox_survey.py` and the second-process test start the real command.)
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import sys
from multiprocessing.context import ForkServerContext
from pathlib import Path

import aiohttp

from tests.bot_process import free_port

_context: ForkServerContext | None = None
KEEP_ENV = ("PATH", "HOME", "LANG", "TZ")


def _forkserver() -> ForkServerContext:
    global _context
    if _context is None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["bot.cli", "bot.app"])
        _context = context
    return _context


def _run_bot(env: dict[str, str], log_path: str, cwd: str) -> None:
    """In the child: the environment, the working folder and the output of `python -m bot run`."""
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    for key in [k for k in os.environ if k.isupper() and k not in KEEP_ENV]:
        del os.environ[key]
    os.environ.update(env)
    os.chdir(cwd)
    from bot.cli import main

    sys.exit(main(["run"]))


class ForkedBot:
    """Start, SIGKILL and restart the bot; every start appends to one log file."""

    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self.port = free_port()
        self.env = {**env, "HTTP_PORT": str(self.port)}
        self.folder = folder
        self.log_path = folder / "bot.log"
        self.process: multiprocessing.process.BaseProcess | None = None
        self.starts = 0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    async def start(self, timeout: float = 30.0) -> None:
        process = _forkserver().Process(
            target=_run_bot, args=(self.env, str(self.log_path), str(self.folder)), daemon=True
        )
        # The first start boots the fork server (the imports): off the event loop, so the
        # Bot API emulator keeps serving meanwhile.
        await asyncio.to_thread(process.start)
        self.process = process
        self.starts += 1
        async with asyncio.timeout(timeout):
            while not await self._healthy():
                if not process.is_alive():
                    raise RuntimeError(f"bot exited with {process.exitcode}: {self.log()}")
                await asyncio.sleep(0.02)

    async def _healthy(self) -> bool:
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{self.port}/healthz") as response,
            ):
                return response.status == 200
        except aiohttp.ClientError:
            return False

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as in a crash or an OOM kill."""
        assert self.process is not None
        os.kill(self.process.pid or 0, signal.SIGKILL)
        self.process.join(10)

    async def terminate(self, timeout: float = 15.0) -> int | None:
        assert self.process is not None
        self.process.terminate()  # SIGTERM: the graceful stop
        await asyncio.to_thread(self.process.join, timeout)
        return self.process.exitcode

    def ensure_stopped(self) -> None:
        """After a failed test: no bot process outlives it."""
        if self.process is not None and self.process.is_alive():
            self.kill()

    def log(self) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")
