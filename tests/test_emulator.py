"""The emulator holds the bot to the Bot API spec, so the tests can trust it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.emulator import BotAPIEmulator
from bot.emulator.spec import SPEC_PATH

SHARED_SPEC = Path(__file__).resolve().parents[2] / "shared" / "telegram-bot-api" / "api.json"
SPEC_SHA256 = "0950def6a1c900792c3a1d65ab13c1ee76d2f400a761df1aa0e6245e2355070a"


def test_vendored_spec_is_the_published_file() -> None:
    assert hashlib.sha256(SPEC_PATH.read_bytes()).hexdigest() == SPEC_SHA256
    if SHARED_SPEC.exists():
        assert SHARED_SPEC.read_bytes() == SPEC_PATH.read_bytes()


@pytest.fixture
async def bot(tg: BotAPIEmulator) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(tg.base_url))
    bot = Bot(tg.token, session=session)
    yield bot
    await bot.session.close()


async def raw(tg: BotAPIEmulator, method: str, **params: object) -> tuple[int, dict]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{tg.base_url}/bot{tg.token}/{method}", data={k: str(v) for k, v in params.items()}
        ) as response,
    ):
        return response.status, await response.json()


async def test_missing_and_unknown_parameters_are_refused(tg: BotAPIEmulator) -> None:
    tg.user(42)
    status, body = await raw(tg, "sendMessage", chat_id=42)
    assert (status, body["description"]) == (400, "Bad Request: message text is empty")
    status, body = await raw(tg, "sendMessage", text="hi")
    assert (status, body["description"]) == (400, "Bad Request: chat_id is empty")
    status, body = await raw(tg, "sendMessage", chat_id=42, text="hi", colour="red")
    assert status == 400
    assert "unknown parameter" in body["description"]
    status, body = await raw(tg, "sendMessage", chat_id="abc", text="hi")
    assert status == 400
    status, body = await raw(tg, "noSuchMethod")
    assert (status, body["description"]) == (404, "Not Found: method not found")


async def test_wrong_token_is_unauthorized(tg: BotAPIEmulator) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{tg.base_url}/bot999:nope/getMe") as response,
    ):
        assert response.status == 401


async def test_limits_and_markup_are_checked(tg: BotAPIEmulator, bot: Bot) -> None:
    tg.user(42)
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(42, "x" * 4097)
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(42, "<script>x</script>", parse_mode="HTML")
    long_data = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="b", callback_data="я" * 33)]]
    )
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(42, "hi", reply_markup=long_data)
    sent = await bot.send_message(42, "<b>bold</b> &amp; plain", parse_mode="HTML")
    assert sent.text == "bold & plain"
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            "<b>bold</b> &amp; plain", chat_id=42, message_id=sent.message_id, parse_mode="HTML"
        )
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("new", chat_id=42, message_id=999)


async def test_blocked_users_and_flood_control(tg: BotAPIEmulator, bot: Bot) -> None:
    tg.user(42).block()
    with pytest.raises(TelegramForbiddenError, match="blocked by the user"):
        await bot.send_message(42, "hi")
    tg.user(43, started=False)
    with pytest.raises(TelegramForbiddenError, match="can't initiate conversation"):
        await bot.send_message(43, "hi")
    tg.user(44)
    tg.fail("sendMessage", 1, status=429, retry_after=3)
    with pytest.raises(TelegramRetryAfter) as exc:
        await bot.send_message(44, "hi")
    assert exc.value.retry_after == 3
    assert (await bot.send_message(44, "hi")).text == "hi"


async def test_a_callback_query_is_answered_once(tg: BotAPIEmulator, bot: Bot) -> None:
    user = tg.user(42)
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="go", callback_data="go")]]
    )
    await bot.send_message(42, "press", reply_markup=markup)
    query_id = user.click("go")
    assert await bot.answer_callback_query(query_id)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query_id)


async def test_a_file_is_sent_again_only_by_a_known_id_of_its_own_kind(
    tg: BotAPIEmulator, bot: Bot
) -> None:
    anna = tg.user(7, "Анна")
    voice = anna.send_media("voice")["voice"]["file_id"]
    photo = anna.send_media("photo")["photo"][-1]["file_id"]
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_photo(7, "AgACAgIAAxkBAAIBnot-a-real-id")
    with pytest.raises(TelegramBadRequest, match="can't use file of type Voice as Photo"):
        await bot.send_photo(7, voice)
    sent = await bot.send_photo(7, photo, caption="x" * 1024)
    assert sent.photo is not None
    assert sent.photo[-1].file_id == photo
    with pytest.raises(TelegramBadRequest, match="caption is too long"):
        await bot.send_voice(7, voice, caption="x" * 1025)
