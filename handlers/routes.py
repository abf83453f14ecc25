"""Handler registrations recorded at import and built into a fresh Router for each Dispatcher.

An aiogram Router can be attached to one parent only, once; the tests, the demo and the
benchmarks build many dispatchers in one process. Modules declare handlers with the familiar
decorators on a `Routes` and the factory calls `build()`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiogram import Router

Handler = Callable[..., Any]


class Routes:
    def __init__(self, name: str) -> None:
        self.name = name
        self._items: list[tuple[str, Handler, tuple[Any, ...], dict[str, Any]]] = []

    def _add(
        self, observer: str, filters: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Callable[[Handler], Handler]:
        def decorator(handler: Handler) -> Handler:
            self._items.append((observer, handler, filters, kwargs))
            return handler

        return decorator

    def message(self, *filters: Any, **kwargs: Any) -> Callable[[Handler], Handler]:
        return self._add("message", filters, kwargs)

    def callback_query(self, *filters: Any, **kwargs: Any) -> Callable[[Handler], Handler]:
        return self._add("callback_query", filters, kwargs)

    def my_chat_member(self, *filters: Any, **kwargs: Any) -> Callable[[Handler], Handler]:
        return self._add("my_chat_member", filters, kwargs)

    def error(self, *filters: Any, **kwargs: Any) -> Callable[[Handler], Handler]:
        return self._add("error", filters, kwargs)

    def build(self) -> Router:
        router = Router(name=self.name)
        for observer, handler, filters, kwargs in self._items:
            getattr(router, observer).register(handler, *filters, **kwargs)
        return router
