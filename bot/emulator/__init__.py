"""A Bot API emulator: the tests', benchmarks' and offline demo's Telegram."""

from bot.emulator.server import BotAPIEmulator, Call, FakeUser, Fault, Timeline
from bot.emulator.spec import ApiError

__all__ = ["ApiError", "BotAPIEmulator", "Call", "FakeUser", "Fault", "Timeline"]
