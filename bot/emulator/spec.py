"""Checks Bot API calls against the machine-readable spec (api.json, Bot API 10.1).

`api.json` is a copy of PaulSonOfLars/telegram-bot-api-spec (MIT, see LICENSE-api-json); a test
checks it is the same file as the project's shared copy when that is present.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

SPEC_PATH = Path(__file__).with_name("api.json")

# aiogram 3.31 speaks Bot API 10.3 and still sends a few parameters that 10.1 does not list
# (see the shared README): none is required, so they are allowed but never demanded.
AIOGRAM_EXTRA_PARAMS = frozenset(
    {
        "callback_query_id",
        "receiver_user_id",
        "ephemeral_message_parameters",
        "reply_to_message_id",
        "allow_sending_without_reply",
        "disable_web_page_preview",
    }
)

_HTML_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
    "code", "pre", "blockquote", "tg-emoji",
}  # fmt: skip


class ApiError(Exception):
    """A Bot API error answer: HTTP status == error_code, with the server's description."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(text: str) -> ApiError:
    return ApiError(400, f"Bad Request: {text}")


@dataclass(frozen=True)
class MethodSpec:
    name: str
    fields: dict[str, dict[str, Any]]
    returns: tuple[str, ...]

    @property
    def required(self) -> list[str]:
        return [name for name, f in self.fields.items() if f["required"]]


@cache
def load_spec() -> dict[str, Any]:
    return json.loads(SPEC_PATH.read_text(encoding="utf-8"))


@cache
def methods_by_lower_name() -> dict[str, MethodSpec]:
    spec = load_spec()
    return {
        name.lower(): MethodSpec(
            name=name,
            fields={f["name"]: f for f in method.get("fields", [])},
            returns=tuple(method["returns"]),
        )
        for name, method in spec["methods"].items()
    }


def find_method(name: str) -> MethodSpec:
    method = methods_by_lower_name().get(name.lower())
    if method is None:
        raise ApiError(404, "Not Found: method not found")
    return method


def _parse_scalar(name: str, value: Any, types: list[str]) -> Any:
    """Parse one form value into the type the spec names; raise 400 when none fits."""
    for type_name in types:
        try:
            return _parse_as(value, type_name)
        except (ValueError, TypeError):
            continue
    raise bad_request(f'can\'t parse parameter "{name}": expected {" or ".join(types)}')


def _parse_as(value: Any, type_name: str) -> Any:
    if type_name == "Integer":
        if isinstance(value, bool):
            raise TypeError
        if isinstance(value, int):
            return value
        return int(str(value))
    if type_name == "Float":
        return float(value)
    if type_name == "Boolean":
        if isinstance(value, bool):
            return value
        text = str(value).lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise ValueError(value)
    if type_name == "String":
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return str(value)
        raise TypeError
    if type_name == "InputFile":
        if isinstance(value, UploadedFile):
            return value
        raise TypeError
    # Objects and arrays arrive JSON-serialised in forms, as real objects in JSON bodies.
    parsed = json.loads(value) if isinstance(value, str) else value
    if type_name.startswith("Array of"):
        if not isinstance(parsed, list):
            raise TypeError
        return parsed
    if not isinstance(parsed, dict):
        raise TypeError
    return parsed


@dataclass
class UploadedFile:
    filename: str
    content: bytes
    content_type: str


def validate_call(method: MethodSpec, raw: dict[str, Any]) -> dict[str, Any]:
    """The call's parameters, parsed; ApiError(400) for a missing, unknown or ill-typed one."""
    params: dict[str, Any] = {}
    for name, value in raw.items():
        if name in method.fields:
            params[name] = _parse_scalar(name, value, method.fields[name]["types"])
        elif name in AIOGRAM_EXTRA_PARAMS:
            params[name] = value
        else:
            raise bad_request(f'unknown parameter "{name}" for method {method.name}')
    for name in method.required:
        if name not in params or params[name] in ("", None):
            if name == "chat_id":
                raise bad_request("chat_id is empty")
            if name == "text":
                raise bad_request("message text is empty")
            raise bad_request(f'parameter "{name}" is required')
    return params


def visible_text(text: str, parse_mode: str | None) -> str:
    """The text as the user sees it, after entity parsing; 400 for malformed HTML."""
    if parse_mode is None:
        return text
    if parse_mode.upper() != "HTML":
        raise bad_request(f"unsupported parse_mode {parse_mode!r} in this emulator")
    parser = _TelegramHTML()
    parser.feed(text)
    parser.close()
    if parser.stack:
        raise bad_request(
            f"can't parse entities: Can't find end tag corresponding to start tag \"{parser.stack[-1]}\""
        )
    return "".join(parser.out)


class _TelegramHTML(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HTML_TAGS:
            raise bad_request(
                f'can\'t parse entities: Unsupported start tag "{tag}" at byte offset 0'
            )
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            raise bad_request(f'can\'t parse entities: Unmatched end tag "{tag}"')
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.out.append(data)


def check_inline_keyboard(markup: dict[str, Any]) -> None:
    """Limits Telegram enforces on inline keyboards (API InlineKeyboardButton; FACTS §5)."""
    if "inline_keyboard" not in markup:
        return
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list):
        raise bad_request(
            'can\'t parse inline keyboard button: field "inline_keyboard" must be an Array'
        )
    total = 0
    for row in rows:
        if len(row) > 8:
            raise bad_request("reply markup is too long")
        for button in row:
            total += 1
            if not button.get("text"):
                raise bad_request(
                    "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
                )
            actions = [k for k in button if k not in ("text", "icon_custom_emoji_id", "style")]
            if len(actions) != 1:
                raise bad_request(
                    "can't parse inline keyboard button: exactly one action field is needed"
                )
            data = button.get("callback_data")
            if data is not None and not (1 <= len(data.encode("utf-8")) <= 64):
                raise bad_request("BUTTON_DATA_INVALID")
            url = button.get("url")
            if url is not None and not url.startswith(("http://", "https://", "tg://")):
                raise bad_request("inline keyboard button URL is invalid")
    if total > 100:
        raise bad_request("reply markup is too long")
