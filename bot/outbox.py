"""The outbox seam: what a feature gives the outbox, and what handlers may ask of it.

Each feature owns its kinds (a `Kind` renders its row into a message at send time); the
composition root (bot/app.py) hands all of them to the dispatcher (scheduler/outbox.py), so the
scheduler never imports a feature. Queueing and cancelling rows is storage/outbox.py.

Rendering happens when the row is due, not when it is queued, so a message always reflects the
database as it is then (a finished survey needs no reminder, a customer who said /stop gets
nothing) and is written in the recipient's language.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from aiogram.types import InlineKeyboardMarkup, ReplyKeyboardMarkup

from storage.outbox import OutboxRow

if TYPE_CHECKING:
    import aiosqlite

    from bot.clock import Clock
    from bot.i18n import I18n
    from bot.pseudonym import Pseudonymizer
    from bot.settings import Settings


MEDIA_KINDS = ("photo", "video", "document", "voice", "audio", "animation")


@dataclass(frozen=True)
class Media:
    """A file Telegram already holds, sent again by its file_id (a photo in a case).

    `kind` is one of MEDIA_KINDS: each has its own send method, and Telegram refuses a file_id
    sent through the method of another kind.
    """

    kind: str
    file_id: str


@dataclass(frozen=True)
class Outgoing:
    """A message ready to go: a text, or with `media` a file whose caption is `text`
    (so at most 1024 characters after parsing)."""

    chat_id: int
    text: str
    reply_markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | None = None
    media: Media | None = None


@dataclass(frozen=True)
class Skip:
    """Nothing to send any more; the row ends with this status (cancelled or expired)."""

    status: str
    reason: str


@dataclass(frozen=True)
class Postpone:
    """Not yet (e.g. the customer has not linked Telegram): try again at `until`."""

    until: datetime
    reason: str


@dataclass(frozen=True)
class Post:
    """Not a Telegram message: a body for the kind's own `deliver` (events to a shop's CRM)."""

    body: str


@dataclass(frozen=True)
class Delivered:
    """What a kind's own `deliver` did: sent, or retry at `retry_at` (it counts an attempt)."""

    sent: bool
    error: str | None = None
    retry_at: datetime | None = None


Rendered = Outgoing | Skip | Postpone | Post


@dataclass(frozen=True)
class RenderContext:
    settings: Settings
    clock: Clock
    i18n: I18n
    pseudonyms: Pseudonymizer


Renderer = Callable[[RenderContext, "aiosqlite.Connection", OutboxRow], Awaitable[Rendered]]
# Called in the same transaction that marks the row sent (e.g. to note when a review was asked);
# gets the message id Telegram gave and the time.
OnSent = Callable[
    [RenderContext, "aiosqlite.Connection", OutboxRow, int, datetime], Awaitable[None]
]
# Called in the transaction that ends a row with its renderer's Skip (cancelled/expired), so the
# thing it was about can follow (e.g. a review whose request could never be sent expires too).
OnSkipped = Callable[
    [RenderContext, "aiosqlite.Connection", OutboxRow, Skip, datetime], Awaitable[None]
]
OnUnreachable = Callable[
    [RenderContext, "aiosqlite.Connection", OutboxRow, datetime], Awaitable[None]
]
# Time-based changes that send nothing (e.g. an unanswered review request expires); the
# dispatcher runs each once per tick, in its own transaction. Returns how many things changed.
Sweep = Callable[["aiosqlite.Connection", RenderContext, datetime], Awaitable[int]]
# Delivers a `Post` itself (HTTP to a shop's system), outside the Telegram sender's pacing.
Deliverer = Callable[[RenderContext, OutboxRow, Post], Awaitable[Delivered]]


@dataclass(frozen=True)
class Kind:
    name: str
    render: Renderer
    # Customer messages respect SEND_HOURS; an employee's survey question does not.
    respects_send_window: bool = True
    on_sent: OnSent | None = None
    on_skipped: OnSkipped | None = None
    sweep: Sweep | None = None
    # Called in the transaction that marks the row failed after a 403 (the recipient blocked
    # the bot), for rows sent to a fixed chat: the feature decides what that means (e.g. an
    # initiative's owner can no longer be asked, and the admins are told).
    on_unreachable: OnUnreachable | None = None
    deliver: Deliverer | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def build_registry(*groups: Iterable[Kind]) -> dict[str, Kind]:
    """Every kind the outbox knows, from the features that own them; a name may appear once."""
    registry: dict[str, Kind] = {}
    for kind in (kind for group in groups for kind in group):
        if kind.name in registry:
            raise RuntimeError(f"outbox kind {kind.name} registered twice")
        registry[kind.name] = kind
    return registry


class OutboxPort(Protocol):
    """What handlers may ask of the outbox: to run soon. Keeps them off the scheduler's insides."""

    def kick(self) -> None:
        """Send what is due now instead of waiting for the next tick."""
        ...
