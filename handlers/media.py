"""Files in a customer conversation: which Telegram messages carry one the bot can pass on.

A case relays a photo, a video, a file, a voice message, an audio file or an animation (with
its caption) by its file_id; stickers, video notes, locations and the like are not passed on,
and their sender is told so rather than left wondering.
"""

from __future__ import annotations

from aiogram.types import Message

from bot.outbox import Media


def media_of(message: Message) -> Media | None:
    """The file a message carries, if the bot can send it on; None for a text or anything else."""
    if message.photo:
        return Media("photo", message.photo[-1].file_id)  # the largest size
    # An animation (GIF) also arrives with `document` set: it is looked at first.
    for kind in ("animation", "video", "voice", "audio", "document"):
        found = getattr(message, kind)
        if found is not None:
            return Media(kind, found.file_id)
    return None


def words_of(message: Message) -> str | None:
    """What the person wrote: the text, or a file's caption."""
    return message.text if message.text is not None else message.caption


def is_command(message: Message) -> bool:
    return (message.text or "").startswith("/")


def can_relay(message: Message) -> bool:
    """A text (not a command) or a file with an optional caption."""
    if message.text is not None:
        return not is_command(message)
    return media_of(message) is not None


def cannot_relay(message: Message) -> bool:
    """Something a person sent that the bot has no way to pass on (a sticker, a location…)."""
    return message.text is None and media_of(message) is None


def answers_a_keyboard(message: Message) -> bool:
    """A shared contact or users answer one of the bot's keyboards: other routers take those."""
    return message.contact is not None or message.users_shared is not None
