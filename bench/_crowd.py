"""The emulator's process for the throughput benchmark: Telegram, and the people pressing buttons.

Kept apart from `bench.throughput` so that the spawned process imports only the emulator
(aiohttp), not aiogram and the bot (seconds of start-up and memory it does not need).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import traceback
from collections import Counter
from multiprocessing.connection import Connection
from typing import Any

from bench._common import pipe_commands
from bot.emulator import BotAPIEmulator, Call


# --- the people --------------------------------------------
class Crowd:
    """N people pressing through the survey, each press right after the previous answer."""

    def __init__(self, tg: BotAPIEmulator, user_ids: list[int], presses: int, seed: int) -> None:
        self.tg = tg
        self.rng = random.Random(seed)
        self.remaining = dict.fromkeys(user_ids, presses)
        self.outstanding: dict[int, str] = {}  # chat → the query id waiting for its edit
        self.pushed: dict[str, float] = {}
        self.delivered: dict[str, float] = {}
        self.answered: dict[str, float] = {}
        self.edited: dict[str, float] = {}
        self.answer_texts: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.unfinished = len(user_ids)
        self.done = asyncio.Event()

    def press(self, user_id: int) -> None:
        score = self.rng.randint(1, 5)
        query_id = self.tg.users[user_id].click(str(score))
        self.pushed[query_id] = time.monotonic()
        self.outstanding[user_id] = query_id

    def on_deliver(self, updates: list[dict[str, Any]]) -> None:
        now = time.monotonic()
        for update in updates:
            query = update.get("callback_query")
            if query is not None:
                self.delivered.setdefault(query["id"], now)

    def on_call(self, call: Call) -> None:
        if call.status != 200:
            self.errors[f"{call.method}: {call.error}"] += 1
            return
        if call.method == "answerCallbackQuery":
            query_id = str(call.params["callback_query_id"])
            self.answered[query_id] = call.at
            self.answer_texts[str(call.params.get("text"))[:40]] += 1
        elif call.method == "editMessageText":
            user_id = int(call.params["chat_id"])
            query_id = self.outstanding.pop(user_id, None)
            if query_id is None:
                return
            self.edited[query_id] = call.at
            self.remaining[user_id] -= 1
            if self.remaining[user_id] > 0:
                self.press(user_id)
            else:
                self.unfinished -= 1
                if self.unfinished == 0:
                    self.done.set()

    async def run(self, timeout: float) -> dict[str, Any]:
        self.tg.on_call.append(self.on_call)
        self.tg.on_deliver.append(self.on_deliver)
        cpu = time.process_time()
        started = time.monotonic()
        for user_id in list(self.remaining):
            self.press(user_id)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.done.wait(), timeout)
        cpu = time.process_time() - cpu
        self.tg.on_call.remove(self.on_call)
        self.tg.on_deliver.remove(self.on_deliver)
        finished_at = max(self.edited.values(), default=started)

        def gaps(start: dict[str, float], end: dict[str, float]) -> list[float]:
            return [end[q] - start[q] for q in end if q in start]

        return {
            "presses": len(self.edited),
            "seconds": finished_at - started,
            "unfinished": self.unfinished,
            "delivered_to_answer": gaps(self.delivered, self.answered),
            "delivered_to_edit": gaps(self.delivered, self.edited),
            "pressed_to_answer": gaps(self.pushed, self.answered),
            "emulator_cpu": cpu,
            "answer_texts": dict(self.answer_texts.most_common(5)),
            "errors": dict(self.errors.most_common(5)),
        }


def emulator_main(conn: Connection, token: str) -> None:
    """Entry point of the emulator's process (spawned)."""
    asyncio.run(_serve(conn, token))


async def _serve(conn: Connection, token: str) -> None:
    try:
        async with BotAPIEmulator(token) as tg:
            conn.send(("ready", tg.base_url))
            while True:
                command, *args = await pipe_commands(conn)
                if command == "stop":
                    return
                if command == "users":
                    for user_id in args[0]:
                        tg.user(user_id, f"Employee {user_id}", language_code="ru")
                    conn.send(("ok",))
                elif command == "count":
                    conn.send(sum(1 for c in tg.calls if c.method == args[0] and c.status == 200))
                elif command == "run":
                    user_ids, presses, seed, timeout = args
                    crowd = Crowd(tg, user_ids, presses, seed)
                    conn.send(("result", await crowd.run(timeout)))
                    tg.calls.clear()
    except Exception:
        conn.send(("error", traceback.format_exc()))
