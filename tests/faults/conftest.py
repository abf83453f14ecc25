"""Fixtures for the fault tests: the production app with a short polling backoff.

aiogram's default backoff after a failed getUpdates starts at 1 s and grows to 5 s; a storm of
a dozen failures would then take half a minute of test time. The behaviour under test (keep
polling, back off, recover) is the same with 50 ms steps.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiogram.utils.backoff import BackoffConfig

from tests.faults.forked_bot import ForkedBot

FAST_BACKOFF = BackoffConfig(min_delay=0.05, max_delay=0.2, factor=1.5, jitter=0.01)


@pytest.fixture
def start_fast_app(start_app: Callable[..., Any]) -> Callable[..., Any]:
    """Like `start_app`, with FAST_BACKOFF."""
    return functools.partial(start_app, polling_backoff=FAST_BACKOFF)


@pytest.fixture
def forked_bot() -> Iterator[Callable[[dict[str, str], Path], ForkedBot]]:
    """Make bot processes (tests/faults/forked_bot.py); any still running at the end is killed."""
    made: list[ForkedBot] = []

    def make(env: dict[str, str], folder: Path) -> ForkedBot:
        bot = ForkedBot(env, folder)
        made.append(bot)
        return bot

    yield make
    for bot in made:
        bot.ensure_stopped()
