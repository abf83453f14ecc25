"""The web server against slow and hostile clients, and a failed-auth limiter that never locks
the shop out.

Slow clients (half a request, then nothing) are cut off after HTTP_HEADER_TIMEOUT /
HTTP_BODY_TIMEOUT, at most HTTP_MAX_CONNECTIONS are open at once, /healthz keeps answering, and
a storm of broken requests leaves a handful of log lines, not one traceback per request. (In
production a TLS reverse proxy sits in front — README — and does the same; the bot must not
fall over without one.) These run the real `python -m bot run`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import BotApp
from bot.clock import FakeClock
from bot.emulator import BotAPIEmulator
from tests.bot_process import free_port
from tests.robust_helpers import API_TOKEN, Command, api_call, bot_env, health, order

TOKEN = "434343:WEB-token"
SLOW = 40


@pytest.fixture
async def emulator() -> AsyncIterator[BotAPIEmulator]:
    async with BotAPIEmulator(TOKEN) as tg:
        yield tg


@pytest.fixture
def running(emulator: BotAPIEmulator, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    made: list[Command] = []

    async def start(**extra: str) -> tuple[Command, int]:
        port = free_port()
        env = bot_env(
            emulator.base_url,
            TOKEN,
            tmp_path / "bot.sqlite3",
            port,
            **{
                "API_TOKEN": API_TOKEN,
                "HTTP_HEADER_TIMEOUT": "1",
                "HTTP_BODY_TIMEOUT": "2",
                "HTTP_MAX_CONNECTIONS": "60",
                **extra,
            },
        )
        cmd = Command(env, tmp_path)
        made.append(cmd)
        cmd.start()
        async with asyncio.timeout(60):
            while True:
                if cmd.proc is not None and cmd.proc.poll() is not None:
                    raise AssertionError(cmd.log())
                try:
                    if (await health(port))[0] == 200:
                        return cmd, port
                except OSError:
                    pass
                await asyncio.sleep(0.1)

    yield start
    for cmd in made:
        cmd.close()


async def closed_by_server(reader: asyncio.StreamReader, within: float) -> bool:
    """The server closed the connection (EOF, or an answer then EOF) within `within` s."""
    try:
        async with asyncio.timeout(within):
            while await reader.read(4096):
                pass
        return True
    except TimeoutError:
        return False
    except ConnectionError:
        return True


async def timed_health(port: int) -> float:
    began = time.monotonic()
    status, _ = await health(port)
    assert status == 200
    return time.monotonic() - began


async def test_half_requests_are_cut_off_and_health_keeps_answering(
    running: Callable[..., Any],
) -> None:
    cmd, port = await running()
    heads, bodies = [], []
    for _ in range(SLOW):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /api/v1/purchases HTTP/1.1\r\nHost: x\r\nAuthor")  # half a head
        await writer.drain()
        heads.append((reader, writer))
    for _ in range(10):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"POST /api/v1/purchases HTTP/1.1\r\nHost: x\r\n"
            b"Authorization: Bearer " + API_TOKEN.encode() + b"\r\n"
            b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"order'
        )
        await writer.drain()
        bodies.append((reader, writer))
    assert await timed_health(port) < 2.0

    cut_heads = await asyncio.gather(*(closed_by_server(r, 4.0) for r, _ in heads))
    cut_bodies = await asyncio.gather(*(closed_by_server(r, 5.0) for r, _ in bodies))
    assert all(cut_heads), f"{cut_heads.count(False)} half heads still open"
    assert all(cut_bodies), f"{cut_bodies.count(False)} half bodies still open"
    for _, writer in heads + bodies:
        writer.close()
    assert await timed_health(port) < 2.0
    assert "Traceback" not in cmd.log()


async def test_connections_past_the_cap_are_refused_at_once(running: Callable[..., Any]) -> None:
    _cmd, port = await running(HTTP_HEADER_TIMEOUT="30")
    idle = [await asyncio.open_connection("127.0.0.1", port) for _ in range(80)]
    cut = await asyncio.gather(*(closed_by_server(r, 1.0) for r, _ in idle))
    assert cut.count(True) >= 20, cut.count(True)  # the 20 past the cap of 60
    assert cut.count(False) >= 50  # the rest are served as usual (until their timeout)
    for _, writer in idle:
        writer.close()
    await asyncio.sleep(0.3)
    assert await timed_health(port) < 2.0


async def test_a_storm_of_broken_requests_leaves_a_few_log_lines(
    running: Callable[..., Any],
) -> None:
    cmd, port = await running()
    before = len(cmd.lines())

    async def broken() -> None:
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"POST /api/v1/purchases HTTP/1.1\r\nHost: x\r\n"
            b"Authorization: Bearer " + API_TOKEN.encode() + b"\r\n"
            b'Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"order_id": '
        )
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.transport.abort()  # gone mid-body

    async def garbage() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"\x16\x03\x01\x02\x00 not http at all\r\n\r\n")  # a TLS hello, say
        await writer.drain()
        await closed_by_server(reader, 3.0)
        writer.close()

    for _ in range(10):
        await asyncio.gather(*(broken() for _ in range(20)), *(garbage() for _ in range(10)))
    await asyncio.sleep(1.0)
    new = cmd.lines()[before:]
    assert len(new) <= 20, "\n".join(new[:40])
    assert "Traceback" not in "\n".join(new)
    assert await timed_health(port) < 2.0


# --- the failed-auth limiter ------------------------------------------------------------------
async def test_the_right_token_is_accepted_after_failures_from_the_same_address(
    app: BotApp, clock: FakeClock
) -> None:
    port = app.http_port
    for _ in range(8):
        status, _body, _h = await api_call(port, "POST", "/api/v1/purchases", {}, token="wrong")
        assert status in (401, 429)
    body = order("L-1", "cust-l", at=clock.now().isoformat())
    status, payload, _h = await api_call(port, "POST", "/api/v1/purchases", body)
    assert status == 201, payload


async def test_failures_past_the_limit_get_429_with_retry_after(app: BotApp) -> None:
    port = app.http_port
    statuses = []
    for _ in range(6):
        status, _body, headers = await api_call(port, "POST", "/api/v1/purchases", {}, token="x")
        statuses.append(status)
    assert statuses[:5] == [401] * 5
    assert statuses[5] == 429
    assert int(headers["Retry-After"]) >= 1


async def test_the_limiter_counts_real_time_not_the_wall_clock(
    app: BotApp, clock: FakeClock
) -> None:
    """A wall-clock step (NTP, a VM resumed) neither lifts nor stretches the limit."""
    port = app.http_port
    for _ in range(5):
        await api_call(port, "POST", "/api/v1/purchases", {}, token="x")
    clock.advance(minutes=5)  # the wall clock jumps; a minute of real time has not passed
    status, _body, _h = await api_call(port, "POST", "/api/v1/purchases", {}, token="x")
    assert status == 429
    clock.advance(days=-1)  # and back: the right token still goes through
    body = order("L-2", "cust-l2", at=clock.now().isoformat())
    status, payload, _h = await api_call(port, "POST", "/api/v1/purchases", body)
    assert status == 201, payload
