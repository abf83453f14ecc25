"""A Bot API server emulator over real HTTP, for the tests, the benchmarks and the offline demo.

The real aiogram `Bot` talks to it through `TelegramAPIServer.from_base(emulator.base_url)`.
Every call is checked against the Bot API spec (spec.py): unknown methods and parameters,
missing required ones, wrong types, over-long texts and callback data, malformed HTML, editing
a message that does not exist or would not change, answering a callback query twice. Users are
simulated on the other side: they write, press buttons, share contacts and block the bot.
Faults (429, 5xx, timeouts) can be injected per method.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.emulator.spec import (
    ApiError,
    UploadedFile,
    bad_request,
    check_inline_keyboard,
    find_method,
    validate_call,
    visible_text,
)

BOT_USERNAME = "feedback_test_bot"


@dataclass
class Call:
    """One request the bot made, as the emulator understood it."""

    method: str
    params: dict[str, Any]
    status: int
    at: float
    result: Any = None
    error: str | None = None


@dataclass
class Fault:
    """An injected failure: `count` calls of `method` answer with it (None: every method)."""

    method: str | None
    count: int
    status: int = 500
    description: str = "Internal Server Error"
    retry_after: int | None = None
    delay: float = 0.0  # seconds to stall before answering (a timeout, when long enough)
    chat_id: int | None = None


@dataclass
class FakeUser:
    """A person on the Telegram side of the emulator."""

    emulator: BotAPIEmulator
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "ru"
    blocked: bool = False
    deactivated: bool = False
    started: bool = True

    def as_user(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def as_chat(self) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            chat["last_name"] = self.last_name
        if self.username:
            chat["username"] = self.username
        return chat

    # --- what a person does -------------------------------------------------------------
    def send(self, text: str, *, reply_to: dict[str, Any] | None = None) -> dict[str, Any]:
        """The user writes a message (a command when it starts with /); `reply_to` makes it
        Telegram's «Reply» to that message of the chat."""
        self.started = True
        content: dict[str, Any] = {"text": text}
        if reply_to is not None:
            content["reply_to_message"] = reply_to
        message = self.emulator._user_message(self, content)
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [
                {
                    "offset": 0,
                    "length": len(command.encode("utf-16-le")) // 2,
                    "type": "bot_command",
                }
            ]
        self.emulator._push_update({"message": message})
        return message

    def share_contact(
        self, phone: str, *, user_id: int | None = None, first_name: str | None = None
    ) -> dict[str, Any]:
        """The user presses a request_contact button (or forwards someone else's contact)."""
        contact: dict[str, Any] = {
            "phone_number": phone,
            "first_name": first_name or self.first_name,
            "user_id": self.id if user_id is None else user_id,
        }
        message = self.emulator._user_message(self, {"contact": contact})
        self.emulator._push_update({"message": message})
        return message

    def send_media(
        self, kind: str, *, caption: str | None = None, reply_to: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The user sends a photo, video, document, voice, audio, animation, sticker or
        video_note; Telegram gives the file an id the bot can send again (`file_id`)."""
        self.started = True
        file_id = self.emulator._new_file(kind, self.id)
        media: dict[str, Any] = {"file_id": file_id, "file_unique_id": file_id}
        if kind == "photo":
            content: dict[str, Any] = {"photo": [media | {"width": 1280, "height": 960}]}
        elif kind == "sticker":
            media |= {"type": "regular", "width": 512, "height": 512}
            media |= {"is_animated": False, "is_video": False}
            content = {"sticker": media}
        elif kind in ("video", "animation"):
            content = {kind: media | {"width": 640, "height": 480, "duration": 5}}
        elif kind == "video_note":
            content = {kind: media | {"length": 240, "duration": 5}}
        elif kind in ("voice", "audio"):
            content = {kind: media | {"duration": 5}}
        else:
            content = {kind: media | {"file_name": "file.pdf"}}
        self.emulator.file_shapes[file_id] = content[kind][-1] if kind == "photo" else content[kind]
        if caption is not None:
            content["caption"] = caption
        if reply_to is not None:
            content["reply_to_message"] = reply_to
        message = self.emulator._user_message(self, content)
        self.emulator._push_update({"message": message})
        return message

    def share_users(self, request_id: int, users: list[FakeUser]) -> dict[str, Any]:
        """The user presses a KeyboardButtonRequestUsers button and picks these people."""
        shared = {
            "request_id": request_id,
            "users": [
                {"user_id": u.id, "first_name": u.first_name}
                | ({"last_name": u.last_name} if u.last_name else {})
                | ({"username": u.username} if u.username else {})
                for u in users
            ],
        }
        message = self.emulator._user_message(self, {"users_shared": shared})
        self.emulator._push_update({"message": message})
        return message

    def click(self, button: str, *, message: dict[str, Any] | None = None) -> str:
        """Press an inline button by its text (or callback data) on the newest message having it."""
        candidates = [message] if message is not None else reversed(self.bot_messages())
        for msg in candidates:
            for row in msg.get("reply_markup", {}).get("inline_keyboard", []):
                for btn in row:
                    if (
                        button in (btn.get("text"), btn.get("callback_data"))
                        and "callback_data" in btn
                    ):
                        return self.press_data(btn["callback_data"], message=msg)
        raise LookupError(f"no inline button {button!r} in chat {self.id}")

    def press_data(self, data: str, *, message: dict[str, Any] | None = None) -> str:
        """Send a callback query with arbitrary data (what a forged client would do)."""
        if message is None:
            messages = self.bot_messages()
            if not messages:
                raise LookupError(f"no bot message in chat {self.id}")
            message = messages[-1]
        query_id = str(next(self.emulator._callback_ids))
        self.emulator._callback_queries[query_id] = False
        self.emulator._push_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": self.as_user(),
                    "message": message,
                    "chat_instance": str(-5012345678901234567 + self.id),
                    "data": data,
                }
            }
        )
        return query_id

    def block(self) -> None:
        self.blocked = True

    def unblock(self) -> None:
        self.blocked = False

    # --- what a person sees -------------------------------------------------------------
    def bot_messages(self) -> list[dict[str, Any]]:
        """Messages from the bot in this chat, in their current (possibly edited) state."""
        return [
            m
            for m in self.emulator.chats.get(self.id, {}).values()
            if m.get("from", {}).get("is_bot")
        ]

    @property
    def last(self) -> dict[str, Any]:
        messages = self.bot_messages()
        if not messages:
            raise LookupError(f"the bot has not written to chat {self.id}")
        return messages[-1]

    def texts(self) -> list[str]:
        return [m.get("text") or m.get("caption") or "" for m in self.bot_messages()]

    def callback_answers(self) -> list[dict[str, Any]]:
        return [
            c.params
            for c in self.emulator.calls
            if c.method == "answerCallbackQuery"
            and self.emulator._callback_owner.get(str(c.params.get("callback_query_id"))) == self.id
        ]

    def documents(self) -> list[UploadedFile]:
        return self.emulator.files.get(self.id, [])


class BotAPIEmulator:
    """Serve the Bot API on 127.0.0.1 for one bot token."""

    def __init__(self, token: str = "123456:TEST-token", *, username: str = BOT_USERNAME) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.username = username
        self.users: dict[int, FakeUser] = {}
        self.chats: dict[int, dict[int, dict[str, Any]]] = {}
        self.files: dict[int, list[UploadedFile]] = {}
        # file_id → the kind of file it names (what users sent and what the bot uploaded):
        # a file_id is sent again only through its own kind's method, as Telegram does.
        self.file_kinds: dict[str, str] = {}
        self.file_shapes: dict[str, dict[str, Any]] = {}  # file_id → its object in a Message
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.menu_buttons: dict[str, dict[str, Any]] = {}  # chat id ("" = default) → button
        self.webhook: dict[str, Any] | None = None
        self._updates: list[dict[str, Any]] = []
        self._confirmed_offset = 0
        self._update_ids = itertools.count(815000001)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._callback_ids = itertools.count(4921731519658412345)
        self._callback_queries: dict[str, bool] = {}
        self._callback_owner: dict[str, int] = {}
        self._new_update = asyncio.Event()
        self._polling = 0
        self._closing = False
        self._idle = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        self.on_call: list[Callable[[Call], None]] = []
        # Called with the updates a getUpdates answer hands to the bot (the benchmarks time
        # an update from here to the bot's answer).
        self.on_deliver: list[Callable[[list[dict[str, Any]]], None]] = []

    # --- lifecycle ----------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("emulator not started")
        return f"http://127.0.0.1:{self.port}"

    async def start(self, port: int = 0) -> None:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        # A short grace: long polls of a killed bot must not hold the tests' teardown.
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        self._closing = True
        self._new_update.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotAPIEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- the simulated people -----------------------------------------------------------
    def user(
        self,
        user_id: int,
        first_name: str = "Ivan",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "ru",
        started: bool = True,
    ) -> FakeUser:
        if user_id not in self.users:
            self.users[user_id] = FakeUser(
                self, user_id, first_name, last_name, username, language_code, started=started
            )
        return self.users[user_id]

    def _user_message(self, user: FakeUser, content: dict[str, Any]) -> dict[str, Any]:
        message = {
            "message_id": self._next_message_id(user.id),
            "from": user.as_user(),
            "chat": user.as_chat(),
            "date": int(time.time()),
            **content,
        }
        self.chats.setdefault(user.id, {})[message["message_id"]] = message
        return message

    def _new_file(self, kind: str, owner: int) -> str:
        file_id = f"{kind}-{owner}-{len(self.file_kinds) + 1}"
        self.file_kinds[file_id] = kind
        return file_id

    def _next_message_id(self, chat_id: int) -> int:
        counter = self._message_ids.setdefault(chat_id, itertools.count(1))
        return next(counter)

    def _push_update(self, body: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self._update_ids), **body}
        if "callback_query" in body:
            self._callback_owner[body["callback_query"]["id"]] = body["callback_query"]["from"][
                "id"
            ]
        self._updates.append(update)
        self._idle.clear()
        self._new_update.set()
        if self.webhook is not None:
            asyncio.get_running_loop().create_task(self._deliver_webhook(update))
        return update

    async def _deliver_webhook(self, update: dict[str, Any]) -> None:
        import aiohttp

        assert self.webhook is not None
        headers = {}
        if self.webhook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook["secret_token"]
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.webhook["url"], json=update, headers=headers) as response,
        ):
            await response.read()
        self._confirmed_offset = max(self._confirmed_offset, update["update_id"] + 1)
        self._update_idle()

    # --- waiting for the bot ------------------------------------------------------------
    def pending_updates(self) -> int:
        return sum(1 for u in self._updates if u["update_id"] >= self._confirmed_offset)

    def _update_idle(self) -> None:
        if self.pending_updates() == 0 and (self._polling > 0 or self.webhook is not None):
            self._idle.set()

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait until the bot has taken every update and is polling again.

        With the dispatcher in sequential mode (handle_as_tasks=False) that means every
        handler has finished, so a test can look at the chat and the database right after.
        """
        async with asyncio.timeout(timeout):
            while True:
                self._update_idle()
                await self._idle.wait()
                # A handler may have pushed nothing new; make sure no update sneaked in.
                if self.pending_updates() == 0:
                    return

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait (polling the emulator's own state) until predicate() is true."""
        async with asyncio.timeout(timeout):
            while not predicate():
                await asyncio.sleep(0.01)

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    # --- faults ---------------------------------------------------------------------------
    def inject(self, fault: Fault) -> Fault:
        self.faults.append(fault)
        return fault

    def fail(
        self,
        method: str | None,
        count: int = 1,
        *,
        status: int = 500,
        retry_after: int | None = None,
        delay: float = 0.0,
        chat_id: int | None = None,
    ) -> Fault:
        description = {
            429: f"Too Many Requests: retry after {retry_after or 1}",
            500: "Internal Server Error",
            502: "Bad Gateway",
            503: "Service Unavailable",
        }.get(status, "Internal Server Error")
        if status == 429 and retry_after is None:
            retry_after = 1
        return self.inject(Fault(method, count, status, description, retry_after, delay, chat_id))

    def _take_fault(self, method: str, params: dict[str, Any]) -> Fault | None:
        for fault in self.faults:
            if fault.count <= 0:
                continue
            if fault.method is not None and fault.method.lower() != method.lower():
                continue
            if fault.chat_id is not None and str(params.get("chat_id")) != str(fault.chat_id):
                continue
            fault.count -= 1
            return fault
        return None

    # --- HTTP -----------------------------------------------------------------------------
    async def _not_found(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
        )

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method_name = request.match_info["method"]
        call = Call(method=method_name, params={}, status=200, at=time.monotonic())
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            method = find_method(method_name)
            call.method = method.name
            raw = await self._read_params(request)
            call.params = raw
            fault = self._take_fault(method.name, raw)
            if fault is not None:
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                if fault.status != 200:
                    params = {"retry_after": fault.retry_after} if fault.retry_after else None
                    raise ApiError(fault.status, fault.description, params)
            params = validate_call(method, raw)
            call.params = params
            result = await self._dispatch(method.name, params)
            call.result = result
            response = web.json_response({"ok": True, "result": result})
        except ApiError as exc:
            call.status = exc.code
            call.error = exc.description
            headers = {}
            if exc.parameters and exc.parameters.get("retry_after"):
                headers["Retry-After"] = str(exc.parameters["retry_after"])
            response = web.json_response(exc.body(), status=exc.code, headers=headers)
        self.calls.append(call)
        for hook in self.on_call:
            hook(call)
        return response

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        raw: dict[str, Any] = dict(request.query)
        if request.method != "POST":
            return raw
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except json.JSONDecodeError:
                raise bad_request("can't parse JSON object") from None
            if not isinstance(body, dict):
                raise bad_request("can't parse JSON object")
            raw.update(body)
            return raw
        form = await request.post()
        files: dict[str, UploadedFile] = {}
        for key, value in form.items():
            if hasattr(value, "file"):
                files[key] = UploadedFile(value.filename, value.file.read(), value.content_type)
            else:
                raw[key] = value
        for key, value in list(raw.items()):
            if isinstance(value, str) and value.startswith("attach://"):
                part = value.removeprefix("attach://")
                if part not in files:
                    raise bad_request(f"file attach://{part} not found")
                raw[key] = files.pop(part)
        return raw

    # --- methods --------------------------------------------------------------------------
    async def _dispatch(self, method: str, params: dict[str, Any]) -> Any:
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            # A method the spec knows but the emulator does not implement: say so loudly,
            # rather than pretend it worked.
            raise ApiError(501, f"Not Implemented: {method} is not emulated")
        return await handler(params)

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Feedback",
            "username": self.username,
        }

    async def _m_getMe(self, params: dict[str, Any]) -> Any:
        return {
            **self._bot_user(),
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _m_getUpdates(self, params: dict[str, Any]) -> Any:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
            )
        offset = params.get("offset")
        if offset is not None and offset > self._confirmed_offset:
            self._confirmed_offset = offset
            # Telegram forgets confirmed updates, and so does the emulator: every poll scans
            # what is left, which under a benchmark's load would otherwise grow without end.
            confirmed = 0
            while confirmed < len(self._updates) and self._updates[confirmed]["update_id"] < offset:
                confirmed += 1
            del self._updates[:confirmed]
        limit = min(max(params.get("limit", 100), 1), 100)
        timeout = min(max(params.get("timeout", 0), 0), 50)
        deadline = time.monotonic() + timeout
        self._polling += 1
        try:
            while True:
                ready = [u for u in self._updates if u["update_id"] >= self._confirmed_offset]
                if ready or time.monotonic() >= deadline or self._closing:
                    batch = ready[:limit]
                    for hook in self.on_deliver:
                        hook(batch)
                    return batch
                self._new_update.clear()
                self._update_idle()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                        await self._new_update.wait()
        finally:
            self._polling -= 1

    async def _m_setWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = {"url": params["url"], "secret_token": params.get("secret_token")}
        return True

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = None
        return True

    async def _m_getWebhookInfo(self, params: dict[str, Any]) -> Any:
        return {
            "url": self.webhook["url"] if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": self.pending_updates(),
        }

    async def _m_setMyCommands(self, params: dict[str, Any]) -> Any:
        commands = params["commands"]
        if len(commands) > 100:
            raise bad_request("too many commands")
        for command in commands:
            name = command.get("command", "")
            if not (1 <= len(name) <= 32) or not all(
                c.islower() or c.isdigit() or c == "_" for c in name
            ):
                raise bad_request("BOT_COMMAND_INVALID")
            if not (1 <= len(command.get("description", "")) <= 256):
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        scope = json.dumps(params.get("scope", {"type": "default"}), sort_keys=True)
        key = f"{scope}|{params.get('language_code', '')}"
        self.commands[key] = commands
        return True

    async def _m_deleteMyCommands(self, params: dict[str, Any]) -> Any:
        scope = json.dumps(params.get("scope", {"type": "default"}), sort_keys=True)
        self.commands.pop(f"{scope}|{params.get('language_code', '')}", None)
        return True

    async def _m_setMyDescription(self, params: dict[str, Any]) -> Any:
        return True

    async def _m_setMyShortDescription(self, params: dict[str, Any]) -> Any:
        return True

    async def _m_setChatMenuButton(self, params: dict[str, Any]) -> Any:
        button = params.get("menu_button") or {"type": "default"}
        if isinstance(button, str):
            button = json.loads(button)
        if button.get("type") == "web_app":
            url = button.get("web_app", {}).get("url", "")
            if not url.startswith("https://"):
                raise bad_request("BUTTON_URL_INVALID")  # Telegram opens Mini Apps over https only
            if not (1 <= len(button.get("text", "")) <= 64):
                raise bad_request("BUTTON_TEXT_INVALID")
        self.menu_buttons[str(params.get("chat_id", ""))] = button
        return True

    def _recipient(self, chat_id: Any) -> FakeUser:
        try:
            chat = int(chat_id)
        except (TypeError, ValueError):
            raise bad_request("chat not found") from None
        user = self.users.get(chat)
        if user is None:
            raise bad_request("chat not found")
        if user.deactivated:
            raise ApiError(403, "Forbidden: user is deactivated")
        if user.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if not user.started:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        return user

    def _check_text(self, text: str, parse_mode: str | None, limit: int, what: str) -> str:
        visible = visible_text(text, parse_mode)
        if what == "text" and not visible.strip():
            raise bad_request("message text is empty")
        if len(visible.encode("utf-16-le")) // 2 > limit:
            raise bad_request(
                "message is too long" if what == "text" else "message caption is too long"
            )
        return visible

    def _check_markup(self, params: dict[str, Any]) -> dict[str, Any] | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        check_inline_keyboard(markup)
        return markup

    def _store_bot_message(
        self, user: FakeUser, content: dict[str, Any], markup: dict[str, Any] | None
    ) -> dict[str, Any]:
        message = {
            "message_id": self._next_message_id(user.id),
            "from": self._bot_user(),
            "chat": user.as_chat(),
            "date": int(time.time()),
            **content,
        }
        # Message.reply_markup is an InlineKeyboardMarkup only (API Message).
        if markup and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        if markup is not None and "inline_keyboard" not in markup:
            message["_keyboard"] = markup  # a reply keyboard: what the user sees under the input
        self.chats.setdefault(user.id, {})[message["message_id"]] = message
        return message

    async def _m_sendMessage(self, params: dict[str, Any]) -> Any:
        user = self._recipient(params["chat_id"])
        markup = self._check_markup(params)
        text = self._check_text(params["text"], params.get("parse_mode"), 4096, "text")
        message = self._store_bot_message(user, {"text": text}, markup)
        message["_raw_text"] = params["text"]
        return _public(message)

    def _known_file(self, value: Any, kind: str) -> str:
        """A file sent again by its file_id: it must name a file of this kind."""
        if not isinstance(value, str) or value not in self.file_kinds:
            raise bad_request("wrong file identifier/HTTP URL specified")
        found = self.file_kinds[value]
        if found != kind:
            raise bad_request(f"can't use file of type {found.title()} as {kind.title()}")
        return value

    def _resend(self, params: dict[str, Any], kind: str) -> Any:
        """sendPhoto, sendVideo, sendVoice… with the file_id of a file Telegram has."""
        user = self._recipient(params["chat_id"])
        file_id = self._known_file(params[kind], kind)
        caption = self._check_text(
            params.get("caption", ""), params.get("parse_mode"), 1024, "caption"
        )
        media = dict(self.file_shapes[file_id])
        content: dict[str, Any] = {"photo": [media]} if kind == "photo" else {kind: media}
        if caption:
            content["caption"] = caption
        return _public(self._store_bot_message(user, content, self._check_markup(params)))

    async def _m_sendVideo(self, params: dict[str, Any]) -> Any:
        return self._resend(params, "video")

    async def _m_sendVoice(self, params: dict[str, Any]) -> Any:
        return self._resend(params, "voice")

    async def _m_sendAudio(self, params: dict[str, Any]) -> Any:
        return self._resend(params, "audio")

    async def _m_sendAnimation(self, params: dict[str, Any]) -> Any:
        return self._resend(params, "animation")

    async def _m_sendDocument(self, params: dict[str, Any]) -> Any:
        if isinstance(params["document"], str):
            return self._resend(params, "document")
        user = self._recipient(params["chat_id"])
        document = params["document"]
        if len(document.content) > 50 * 1024 * 1024:
            raise ApiError(413, "Request Entity Too Large")
        caption = self._check_text(
            params.get("caption", ""), params.get("parse_mode"), 1024, "caption"
        )
        self.files.setdefault(user.id, []).append(document)
        file_id = f"doc{len(self.calls)}"
        content = {
            "document": {
                "file_id": file_id,
                "file_unique_id": file_id,
                "file_name": document.filename,
                "mime_type": document.content_type,
                "file_size": len(document.content),
            }
        }
        if caption:
            content["caption"] = caption
        return _public(self._store_bot_message(user, content, self._check_markup(params)))

    async def _m_sendPhoto(self, params: dict[str, Any]) -> Any:
        if isinstance(params["photo"], str):
            return self._resend(params, "photo")
        user = self._recipient(params["chat_id"])
        photo = params["photo"]
        if len(photo.content) > 10 * 1024 * 1024:
            raise bad_request("PHOTO_INVALID_DIMENSIONS")
        caption = self._check_text(
            params.get("caption", ""), params.get("parse_mode"), 1024, "caption"
        )
        self.files.setdefault(user.id, []).append(photo)
        file_id = f"photo{len(self.calls)}"
        content: dict[str, Any] = {
            "photo": [
                {
                    "file_id": file_id,
                    "file_unique_id": file_id,
                    "width": 1280,
                    "height": 960,
                    "file_size": len(photo.content),
                }
            ]
        }
        if caption:
            content["caption"] = caption
        return _public(self._store_bot_message(user, content, self._check_markup(params)))

    async def _m_sendMediaGroup(self, params: dict[str, Any]) -> Any:
        raise ApiError(501, "Not Implemented: sendMediaGroup is not emulated")

    def _message_to_edit(self, params: dict[str, Any]) -> tuple[FakeUser, dict[str, Any]]:
        if "inline_message_id" in params:
            raise bad_request("inline messages are not emulated")
        if "chat_id" not in params or "message_id" not in params:
            raise bad_request(
                "chat_id is empty"
                if "chat_id" not in params
                else "message identifier is not specified"
            )
        user = self._recipient(params["chat_id"])
        message = self.chats.get(user.id, {}).get(int(params["message_id"]))
        if message is None:
            raise bad_request("message to edit not found")
        if not message.get("from", {}).get("is_bot"):
            raise bad_request("message can't be edited")
        return user, message

    async def _m_editMessageText(self, params: dict[str, Any]) -> Any:
        _user, message = self._message_to_edit(params)
        markup = self._check_markup(params)
        text = self._check_text(params["text"], params.get("parse_mode"), 4096, "text")
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        if text == message["text"] and markup == message.get("reply_markup"):
            raise bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        message["text"] = text
        message["_raw_text"] = params["text"]
        message["edit_date"] = int(time.time())
        if markup is not None:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        return _public(message)

    async def _m_editMessageReplyMarkup(self, params: dict[str, Any]) -> Any:
        _user, message = self._message_to_edit(params)
        markup = self._check_markup(params)
        if markup == message.get("reply_markup"):
            raise bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        if markup is not None:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        message["edit_date"] = int(time.time())
        return _public(message)

    async def _m_deleteMessage(self, params: dict[str, Any]) -> Any:
        chat = self.chats.get(int(params["chat_id"]), {})
        if chat.pop(int(params["message_id"]), None) is None:
            raise bad_request("message to delete not found")
        return True

    async def _m_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        query_id = str(params["callback_query_id"])
        if self._callback_queries.get(query_id, True):
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        text = params.get("text")
        if text is not None and len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self._callback_queries[query_id] = True
        return True

    async def _m_sendChatAction(self, params: dict[str, Any]) -> Any:
        self._recipient(params["chat_id"])
        return True


def _public(message: dict[str, Any]) -> dict[str, Any]:
    """The message as the Bot API returns it (without the emulator's own bookkeeping)."""
    return {k: v for k, v in message.items() if not k.startswith("_")}


@dataclass
class Timeline:
    """Per-chat send times, for checking rate limits from the outside."""

    sends: list[tuple[float, int]] = field(default_factory=list)

    def record(self, call: Call) -> None:
        if call.method.startswith("send") and call.status == 200:
            self.sends.append((call.at, int(call.params.get("chat_id", 0))))

    def max_in_window(self, seconds: float = 1.0) -> int:
        times = sorted(t for t, _ in self.sends)
        best = 0
        start = 0
        for end, moment in enumerate(times):
            while moment - times[start] >= seconds:
                start += 1
            best = max(best, end - start + 1)
        return best
