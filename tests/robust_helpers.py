"""Helpers for the robustness tests (tests/test_robust_*.py): the shop's API over HTTP, updates
Telegram sends that the emulator's people do not (forwards, group copies, photos, voice), a
proxy that answers like a broken Telegram front end, and the real `python -m bot` command.

Everything goes through the wire: purchases through the purchases API, people through the
emulator, the process through its command line.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bot.emulator import BotAPIEmulator, FakeUser
from tests.factories import asks_for_contact

ROOT = Path(__file__).resolve().parents[1]
API_TOKEN = "test-api-token"
KEEP_ENV = ("PATH", "HOME", "LANG", "TZ")


# --- the shop -------------------------------------------------------------------------------
async def api_call(
    port: int | None,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str | None = API_TOKEN,
) -> tuple[int, Any, dict[str, str]]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method,
            f"http://127.0.0.1:{port}{path}",
            data=json.dumps(body, ensure_ascii=False).encode(),
            headers=headers,
        ) as response,
    ):
        text = await response.text()
        try:
            payload = json.loads(text)
        except json.JSONDecodeError:
            payload = text
        return response.status, payload, dict(response.headers)


def order(
    order_id: str,
    customer: str,
    *,
    at: str,
    name: str | None = "Анна",
    phone: str | None = None,
    items: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    who: dict[str, Any] = {"id": customer}
    if name is not None:
        who["name"] = name
    if phone is not None:
        who["phone"] = phone
    return {
        "order_id": order_id,
        "customer": who,
        "purchased_at": at,
        "items": items or [{"sku": "TEA-1", "name": "Чай улун", "quantity": 1}],
    }


async def buy(port: int | None, body: dict[str, Any]) -> str:
    """Post one order; returns the /start payload of the customer's link."""
    status, payload, _ = await api_call(port, "POST", "/api/v1/purchases", body)
    assert status in (200, 201), (status, payload)
    return str(payload["customer_link"]).split("?start=", 1)[1]


async def link(
    tg: BotAPIEmulator, user: FakeUser, payload: str, *, phone: str | None = None
) -> None:
    """Open the receipt link; share `phone` when the bot asks to confirm it is the customer
    (it does when the shop gave the order's phone: the link alone is a bearer token)."""
    user.send(f"/start {payload}")
    await tg.settle()
    if phone is not None and asks_for_contact(user.last):
        user.share_contact(phone)
        await tg.settle()


async def health(port: int | None) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/healthz") as response,
    ):
        text = await response.text()
        try:
            return response.status, json.loads(text)
        except json.JSONDecodeError:
            return response.status, text


# --- updates the emulator's people do not make -------------------------------------------------
def forwarded(tg: BotAPIEmulator, user: FakeUser, text: str, *, origin: FakeUser) -> None:
    """`user` forwards into the bot's chat a message `origin` once wrote (a command, say)."""
    message = tg._user_message(user, {"text": text})
    command = text.split(maxsplit=1)[0]
    message["entities"] = [
        {"offset": 0, "length": len(command.encode("utf-16-le")) // 2, "type": "bot_command"}
    ]
    message["forward_origin"] = {
        "type": "user",
        "date": int(time.time()) - 3600,
        "sender_user": origin.as_user(),
    }
    tg._push_update({"message": message})


GROUP_ID = -1001234567890


def group_copy(message: dict[str, Any], group_id: int = GROUP_ID) -> dict[str, Any]:
    """The bot's message as it looks after someone forwarded it, buttons and all, into a group."""
    copy = {k: v for k, v in message.items() if not k.startswith("_")}
    copy["chat"] = {"id": group_id, "type": "supergroup", "title": "Отдел продаж"}
    copy["message_id"] = 777
    return copy


def press_copy(tg: BotAPIEmulator, user: FakeUser, copy: dict[str, Any], button: str) -> str:
    """`user` presses `button` on a group copy of a message."""
    for row in copy.get("reply_markup", {}).get("inline_keyboard", []):
        for btn in row:
            if button in (btn.get("text"), btn.get("callback_data")):
                return user.press_data(btn["callback_data"], message=copy)
    raise LookupError(f"no button {button!r} on the copy")


def photo(tg: BotAPIEmulator, user: FakeUser, caption: str | None) -> None:
    content: dict[str, Any] = {
        "photo": [{"file_id": "ph1", "file_unique_id": "ph1", "width": 800, "height": 600}]
    }
    if caption is not None:
        content["caption"] = caption
    tg._push_update({"message": tg._user_message(user, content)})


def voice(tg: BotAPIEmulator, user: FakeUser) -> None:
    content = {"voice": {"file_id": "v1", "file_unique_id": "v1", "duration": 4}}
    tg._push_update({"message": tg._user_message(user, content)})


def calls_to_chat(tg: BotAPIEmulator, chat_id: int) -> list[str]:
    return [c.method for c in tg.calls if str(c.params.get("chat_id")) == str(chat_id)]


# --- a broken Telegram front end ------------------------------------------------------------------
@dataclass
class FrontEnd:
    """A reverse proxy before the emulator that can answer chosen methods with a non-JSON 500
    (an nginx error page), as Telegram's front end does when its back end is down."""

    upstream: str
    html_500: dict[str, int] = field(default_factory=dict)  # method → how many more times
    port: int | None = None
    _runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def break_method(self, method: str, count: int = 1_000_000) -> None:
        self.html_500[method.lower()] = count

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"].lower()
        if self.html_500.get(method, 0) > 0:
            self.html_500[method] -= 1
            return web.Response(
                status=500,
                text="<html><body><h1>500 Internal Server Error</h1>nginx</body></html>",
                content_type="text/html",
            )
        body = await request.read()
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() not in ("host", "content-length", "transfer-encoding", "connection")
        }
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                request.method,
                f"{self.upstream}{request.path_qs}",
                data=body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=120),
            ) as upstream,
        ):
            data = await upstream.read()
            return web.Response(
                status=upstream.status,
                body=data,
                content_type=upstream.content_type,
            )

    async def __aenter__(self) -> FrontEnd:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


# --- the real command ---------------------------------------------------------------------------
def clean_env(env: dict[str, str]) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.isupper() or k in KEEP_ENV}
    return {**base, "PYTHONPATH": str(ROOT), **env}


def run_cli(
    *args: str, env: dict[str, str], cwd: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=clean_env(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class Command:
    """`python -m bot run` in the background, its output collected, ended by signals."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env = env
        self.cwd = cwd
        self.log_path = cwd / "bot.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, *args: str) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot", *(args or ("run",))],
                env=clean_env(self.env),
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def lines(self) -> list[str]:
        return [line for line in self.log().splitlines() if line.strip()]

    async def wait_log(self, *needles: str, timeout: float = 60) -> str:
        """Wait until one of the needles is in the output (or the process has ended)."""
        async with asyncio.timeout(timeout):
            while True:
                text = self.log()
                if any(n in text for n in needles):
                    return text
                if self.proc is not None and self.proc.poll() is not None:
                    return text
                await asyncio.sleep(0.05)

    async def exited(self, timeout: float) -> int | None:
        """The exit code, or None if still running after `timeout` seconds."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return self.proc.returncode
            await asyncio.sleep(0.05)
        return self.proc.poll()

    async def terminate(self, timeout: float = 10.0) -> tuple[int | None, float]:
        """SIGTERM; the exit code (None: still running) and how long the stop took."""
        assert self.proc is not None
        began = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        code = await self.exited(timeout)
        return code, time.monotonic() - began

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def bot_env(tg_url: str, token: str, db_path: Path, port: int, **extra: str) -> dict[str, str]:
    return {
        "BOT_TOKEN": token,
        "TELEGRAM_API_URL": tg_url,
        "DATABASE_PATH": str(db_path),
        "ADMIN_IDS": "1",
        "PSEUDONYM_SECRET": "robust-secret",
        "SCHEDULER_TICK_SECONDS": "1",
        "SEND_HOURS": "0-24",
        "REPORT_CRON": "",
        "HTTP_PORT": str(port),
        **extra,
    }


def texts_of(users: Iterable[FakeUser]) -> list[str]:
    return [t for u in users for t in u.texts()]
