"""The web server's guard against slow and greedy clients: header and body deadlines and a cap
on open connections, in front of aiohttp's own request handler.

aiohttp waits for a request's head and body as long as the client likes, and accepts any
number of connections: 300 clients each sending half a request held the bot's web server (the
purchases API, /healthz, the webhook) until they gave up. Each connection here must deliver its
request head within `header_timeout` seconds of starting it and the body (by Content-Length,
or chunked to its last chunk) within `body_timeout` seconds after the head; past that it is
closed. Past `max_connections` open at once a new one gets 503 and is closed at once.

This is no replacement for the TLS reverse proxy the README asks for in front of the bot; it
keeps the bot standing without one.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

MAX_HEAD = 64 * 1024  # bytes of request head looked at; aiohttp refuses longer ones itself
_REFUSED = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 35\r\n"
    b"Connection: close\r\nRetry-After: 1\r\n\r\ntoo many connections, retry shortly"
)
_TIMED_OUT = (
    b"HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n"
    b"Connection: close\r\n\r\n"
)


@dataclass
class Limits:
    header_timeout: float
    body_timeout: float
    max_connections: int
    open: int = 0


class _Guard(asyncio.Protocol):
    """Wraps one connection's aiohttp RequestHandler: it sees every byte first."""

    def __init__(self, inner: asyncio.Protocol, limits: Limits) -> None:
        self.inner = inner
        self.limits = limits
        self.transport: asyncio.Transport | None = None
        self.refused = False
        self._state = "head"  # head → body / chunked → idle → head (keep-alive) …
        self._head = bytearray()
        self._remaining = 0
        self._tail = b""
        self._timer: asyncio.TimerHandle | None = None

    # --- the connection -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if self.limits.open >= self.limits.max_connections:
            self.refused = True
            log.warning(
                "web: refused a connection, HTTP_MAX_CONNECTIONS (%d) are open",
                self.limits.max_connections,
            )
            transport.write(_REFUSED)
            transport.close()
            return
        self.limits.open += 1
        self.inner.connection_made(transport)
        self._arm(self.limits.header_timeout, "head")

    def connection_lost(self, exc: Exception | None) -> None:
        if self.refused:
            return
        self.limits.open -= 1
        self._disarm()
        self.inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return
        self._follow(data)
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        if self.refused:
            return None
        return self.inner.eof_received()

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    # --- deadlines --------------------------------------------------------------------------
    def _arm(self, seconds: float, what: str) -> None:
        self._disarm()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(seconds, self._expire, what)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self, what: str) -> None:
        self._timer = None
        if self.transport is None or self.transport.is_closing():
            return
        log.info("web: closed a connection from %s: request %s too slow", self._peer(), what)
        if what == "head":
            self.transport.write(_TIMED_OUT)
            self.transport.close()
        else:
            self.transport.abort()  # the handler is reading the body: no answer of ours

    def _peer(self) -> str:
        peer: Any = self.transport.get_extra_info("peername") if self.transport else None
        return str(peer[0]) if isinstance(peer, tuple) and peer else "?"

    # --- following the requests ---------------------------------------------------------------
    def _follow(self, data: bytes) -> None:
        while data:
            if self._state == "idle":
                self._state = "head"
                self._arm(self.limits.header_timeout, "head")
            if self._state == "head":
                data = self._take_head(data)
            elif self._state == "body":
                used = min(len(data), self._remaining)
                self._remaining -= used
                data = data[used:]
                if self._remaining == 0:
                    self._done()
            else:  # chunked: the body ends with a zero-size chunk
                window = self._tail + data
                end = window.find(b"0\r\n\r\n")
                if end >= 0 and (end == 0 or window[end - 1 : end] == b"\n"):
                    self._done()
                    data = window[end + 5 :]
                    self._tail = b""
                else:
                    self._tail = window[-8:]
                    data = b""

    def _take_head(self, data: bytes) -> bytes:
        before = len(self._head)
        self._head += data
        end = self._head.find(b"\r\n\r\n")
        if end < 0:
            if len(self._head) > MAX_HEAD:
                self._state = "idle"  # aiohttp answers 431/400 and closes; nothing to follow
                self._head.clear()
                self._disarm()
            return b""
        head = bytes(self._head[:end]).lower()
        rest = data[end + 4 - before :]
        self._head.clear()
        length = 0
        chunked = False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip() == b"content-length" and value.strip().isdigit():
                length = int(value.strip())
            elif name.strip() == b"transfer-encoding" and b"chunked" in value:
                chunked = True
        if chunked:
            self._state = "chunked"
            self._arm(self.limits.body_timeout, "body")
        elif length > 0:
            self._state = "body"
            self._remaining = length
            self._arm(self.limits.body_timeout, "body")
        else:
            self._done()
        return rest

    def _done(self) -> None:
        """A whole request is in: no deadline until the next one starts (keep-alive idling is
        aiohttp's keepalive_timeout)."""
        self._state = "idle"
        self._disarm()


class GuardedSite(web.TCPSite):
    """A TCPSite whose connections go through `_Guard` (see the module's docstring)."""

    def __init__(
        self,
        runner: web.AppRunner,
        host: str,
        port: int,
        *,
        header_timeout: float,
        body_timeout: float,
        max_connections: int,
    ) -> None:
        super().__init__(runner, host, port)
        self.limits = Limits(header_timeout, body_timeout, max_connections)

    async def start(self) -> None:
        # What TCPSite.start does, with each new connection's protocol wrapped.
        await web.BaseSite.start(self)
        server = self._runner.server
        assert server is not None
        loop = asyncio.get_running_loop()
        limits = self.limits
        self._server = await loop.create_server(
            lambda: _Guard(server(), limits),
            self._host,
            self._port,
            reuse_address=self._reuse_address,
            reuse_port=self._reuse_port,
            backlog=self._backlog,
        )
        sockets = self._server.sockets
        self._bound_port = sockets[0].getsockname()[1] if sockets else self._port
