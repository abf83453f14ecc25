"""Helpers shared by the benchmarks: the Bot API emulator in its own process, figures, the machine.

The emulator stands in for Telegram, which in production runs on someone else's machines; in
its own process it gets its own core and the bot under test gets the other, so the figures
measure the bot rather than the two of them fighting over one event loop. Its CPU time is
reported too, so its own cost stays visible.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any

# The child side: a function that gets the emulator and the pipe, and answers commands.
ChildMain = Callable[[Connection, str], None]


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100) by the nearest-rank method; nan for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def machine_note() -> str:
    """Cores, load average and Python: what to print beside every figure."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} cores, load average {load}, Python {platform.python_version()} "
        f"({sys.platform})"
    )


class GcTimer:
    """Time spent in the cyclic garbage collector while active (it shows up as random stalls)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = [0, 0, 0]
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started
            self.collections[info["generation"]] += 1

    def __enter__(self) -> GcTimer:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)

    def __str__(self) -> str:
        gens = "/".join(str(n) for n in self.collections)
        return f"GC {self.seconds * 1000:.0f} ms in {gens} collections (gen 0/1/2)"


class ChildProcess:
    """A spawned process that talks over a pipe: `send(command)`, `await recv()`.

    `spawn` rather than `fork`: the parent already runs an event loop and aiohttp sessions,
    which a forked child must not inherit.
    """

    def __init__(self, target: ChildMain, token: str) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child_conn = context.Pipe()
        self._process = context.Process(target=target, args=(child_conn, token), daemon=True)
        self._process.start()
        child_conn.close()

    def send(self, *message: Any) -> None:
        self._conn.send(message)

    async def recv(self, timeout: float = 600.0) -> Any:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout):
            ready = asyncio.Event()
            loop.add_reader(self._conn.fileno(), ready.set)
            try:
                while not self._conn.poll():
                    ready.clear()
                    await ready.wait()
            finally:
                loop.remove_reader(self._conn.fileno())
        # Some loops (uvloop) leave a watched descriptor non-blocking; a long message is read
        # in several chunks, so read it blocking.
        os.set_blocking(self._conn.fileno(), True)
        reply = self._conn.recv()
        if isinstance(reply, tuple) and reply and reply[0] == "error":
            raise RuntimeError(f"benchmark child failed:\n{reply[1]}")
        return reply

    async def ask(self, *message: Any, timeout: float = 600.0) -> Any:
        self.send(*message)
        return await self.recv(timeout)

    def close(self) -> None:
        with contextlib.suppress(BrokenPipeError, OSError):
            self._conn.send(("stop",))
        self._process.join(5)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(5)
        self._conn.close()


async def pipe_commands(conn: Connection) -> Any:
    """The child side of `ChildProcess.recv`: wait for the next command without blocking."""
    loop = asyncio.get_running_loop()
    ready = asyncio.Event()
    loop.add_reader(conn.fileno(), ready.set)
    try:
        while not conn.poll():
            ready.clear()
            await ready.wait()
    finally:
        loop.remove_reader(conn.fileno())
    os.set_blocking(conn.fileno(), True)
    return conn.recv()
