"""Whether the bot is alive in the ways that matter, for /healthz and for the process to stop.

A bot whose token was revoked, or that cannot reach Telegram, or whose polling ended, still has
a web server answering: /healthz must say 503 and why, and a rejected token must end the
process (exit 2) rather than leave it looking alive. Every Bot API call passes through
`TelegramWatch` (an aiogram session middleware), so reachability is learnt from the calls the
bot makes anyway; nothing here polls.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramNetworkError,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import Response, TelegramType

if TYPE_CHECKING:
    from aiogram import Bot

log = logging.getLogger(__name__)

REJECTED_LINE = (
    "BOT_TOKEN отклонён Telegram (401 Unauthorized): проверьте токен у @BotFather. "
    "BOT_TOKEN was rejected by Telegram (401 Unauthorized): check it with @BotFather"
)

# Errors that mean "Telegram did not answer as a Bot API answers": the network, its front
# end (a non-JSON 500 page is a ClientDecodeError), a 5xx, a timeout.
UNREACHABLE_ERRORS: tuple[type[BaseException], ...] = (
    TelegramNetworkError,
    TelegramServerError,
    ClientDecodeError,
    TimeoutError,
    OSError,
)


class TokenRejected(Exception):
    """Telegram answered 401: the token is wrong or revoked. Retrying cannot help."""

    def __init__(self) -> None:
        super().__init__(REJECTED_LINE)


def describe(exc: BaseException) -> str:
    """One short line for the log and /healthz (never a traceback, never the token)."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    method = getattr(getattr(exc, "method", None), "__api_method__", None)
    where = f"{method}: " if method else ""
    return f"{where}{type(exc).__name__}: {text}"[:200] if text else where + type(exc).__name__


@dataclass
class Liveness:
    """The state /healthz reports; set by TelegramWatch, the polling supervisor and storage."""

    polling_mode: bool = True
    telegram_error: str | None = "Telegram not contacted yet"
    polling: bool = False
    token_rejected: bool = False
    database_problem: Callable[[], str | None] = field(default=lambda: None)
    _fatal: asyncio.Event | None = field(default=None, repr=False)

    @property
    def fatal(self) -> asyncio.Event:
        """Set when the process should end (a rejected token): `python -m bot run` waits on it."""
        if self._fatal is None:
            self._fatal = asyncio.Event()
        return self._fatal

    def reachable(self) -> None:
        if self.telegram_error is not None:
            if self.telegram_error != "Telegram not contacted yet":
                log.info("Telegram answers again")
            self.telegram_error = None

    def unreachable(self, why: str) -> None:
        self.telegram_error = why

    def rejected(self) -> None:
        """A 401: the process is to end (its runner logs why, once)."""
        self.token_rejected = True
        self.fatal.set()

    def problems(self) -> list[str]:
        found = []
        database = self.database_problem()
        if database:
            found.append(database)
        if self.token_rejected:
            found.append("Telegram rejects BOT_TOKEN (401)")
        elif self.telegram_error is not None:
            found.append(f"Telegram is unreachable: {self.telegram_error}")
        if self.polling_mode and not self.polling and not self.token_rejected:
            found.append("polling is not running")
        return found


class TelegramWatch(BaseRequestMiddleware):
    """Learn from every Bot API call whether Telegram answers (and whether the token is good)."""

    def __init__(self, liveness: Liveness) -> None:
        self.liveness = liveness

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        try:
            response = await make_request(bot, method)
        except TelegramUnauthorizedError:
            self.liveness.rejected()
            raise
        except UNREACHABLE_ERRORS as exc:
            self.liveness.unreachable(describe(exc))
            raise
        except Exception:
            # Telegram answered (a 400, a 403, a 429): it is there.
            self.liveness.reachable()
            raise
        self.liveness.reachable()
        if isinstance(method, GetUpdates):
            self.liveness.polling = True
        return response


async def best_effort(call: Awaitable[Any], what: str) -> None:
    """Await a call whose failure must change nothing («typing…», a command menu): any error
    is one log line, whatever its kind (a non-JSON 500 is not a TelegramAPIError)."""
    try:
        await call
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.warning("%s failed (best effort, going on): %s", what, describe(exc))
