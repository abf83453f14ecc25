"""Survey throughput: N employees answer the six questions at once; the bot against a bare bot.

    .venv/bin/python -m bench.throughput [--users 2000] [--rounds 1] [--profile FILE]

A local fake Bot API (the project's emulator, in its own process: Telegram is not on the bot's
machine in production) holds N simulated employees. Each has the survey's first question in
their chat; all of them then press through the six questions concurrently, each pressing the
next score as soon as the bot has answered the previous press and edited the message (as a
person would). Every press is a callback update that the bot takes by long polling.

Two bots face the same crowd in the same run:
- the survey bot: `bot.app.build_app` in production mode (every update is a task), a fresh
  SQLite file with the employees registered and a wave opened through the domain, the first
  questions delivered by the outbox;
- a bare aiogram bot: one router, one handler that answers the callback and edits the message
  with the same next question (the same Russian text, each string translated once, and the
  same keyboard), no storage, no i18n middleware; the same process settings (GC, logging).

Printed: updates per second end to end (first press to last edit), p50/p99 from the moment
getUpdates handed an update to the bot until the bot's answerCallbackQuery arrived (and until
the edit arrived, and from the press itself), CPU time per update of the bot's process and of
the emulator's, and the ratio survey/bare. Goals: at least 500 updates/s on 2 cores and at
least 0.6 of the bare bot's rate.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import logging
import pstats
import shutil
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.types import CallbackQuery, Message

from bench._common import ChildProcess, GcTimer, machine_note, percentile
from bench._crowd import emulator_main
from bot.app import BotApp, build_app
from bot.callbacks import SurveyAnswerCb
from bot.cli import configure_logging
from bot.clock import SystemClock
from bot.gc_tuning import tune_gc_for_serving
from bot.i18n import Translator, build_i18n
from bot.settings import Settings
from bot.survey import service as survey_service
from bot.survey.messages import INVITE_INTRO, next_step_message
from bot.survey.scoring import QUESTION_COUNT
from bot.survey.service import Progress
from storage import Database
from storage.survey import Wave
from storage.timestamps import to_db

TOKEN = "123456:BENCH-token"
ADMIN_ID = 1
FIRST_USER_ID = 700_000_000
DEPARTMENTS = 12
POLLING_TIMEOUT = 10


@contextlib.asynccontextmanager
async def emulator_process() -> AsyncIterator[tuple[ChildProcess, str]]:
    child = ChildProcess(emulator_main, TOKEN)
    try:
        _, base_url = await child.recv(timeout=60)
        yield child, base_url
    finally:
        child.close()


# --- figures ------------------------------------------------------------------------------------
@dataclass
class Figures:
    label: str
    presses: int
    seconds: float
    bot_cpu: float
    emulator_cpu: float
    delivered_to_answer: list[float]
    delivered_to_edit: list[float]
    pressed_to_answer: list[float]
    unfinished: int
    answer_texts: dict[str, int]
    errors: dict[str, int]
    notes: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.presses / self.seconds if self.seconds > 0 else 0.0

    def row(self) -> str:
        def ms(values: list[float], p: float) -> str:
            return f"{percentile(values, p) * 1000:7.1f}"

        per = max(self.presses, 1)
        return (
            f"{self.label:<12} {self.rate:9.0f} {self.presses:7d} {self.seconds:7.2f}  "
            f"{ms(self.delivered_to_answer, 50)} {ms(self.delivered_to_answer, 99)}  "
            f"{ms(self.delivered_to_edit, 50)} {ms(self.delivered_to_edit, 99)}  "
            f"{ms(self.pressed_to_answer, 50)} {ms(self.pressed_to_answer, 99)}  "
            f"{self.bot_cpu / per * 1000:6.2f} {self.emulator_cpu / per * 1000:6.2f}"
        )


HEADER = (
    f"{'bot':<12} {'updates/s':>9} {'updates':>7} {'seconds':>7}  "
    f"{'handed→answer':>15}  {'handed→edit':>15}  {'pressed→answer':>15}  "
    f"{'CPU ms/update':>13}\n"
    f"{'':<12} {'':>9} {'':>7} {'':>7}  {'p50':>7} {'p99':>7}  {'p50':>7} {'p99':>7}  "
    f"{'p50':>7} {'p99':>7}  {'bot':>6} {'emul.':>6}"
)


def _figures(label: str, result: dict[str, Any], bot_cpu: float) -> Figures:
    return Figures(
        label=label,
        presses=result["presses"],
        seconds=result["seconds"],
        bot_cpu=bot_cpu,
        emulator_cpu=result["emulator_cpu"],
        delivered_to_answer=result["delivered_to_answer"],
        delivered_to_edit=result["delivered_to_edit"],
        pressed_to_answer=result["pressed_to_answer"],
        unfinished=result["unfinished"],
        answer_texts=result["answer_texts"],
        errors=result["errors"],
    )


def _busy(main_cpu: float, seconds: float) -> str:
    """How busy the event loop's thread was: near 100% means CPU-bound, lower means waiting."""
    share = main_cpu / seconds * 100 if seconds > 0 else 0.0
    return f"event loop thread busy {share:.0f}% of the run ({main_cpu:.1f} s CPU)"


class Profiling:
    """cProfile around the measured phase of a bot's first run (it slows the run down)."""

    def __init__(self, prefix: Path | None, label: str) -> None:
        self.path = prefix.with_name(f"{prefix.name}-{label}.prof") if prefix else None
        # The main thread's CPU time, not the wall clock: other processes on the machine
        # would otherwise be charged to whatever the bot was awaiting.
        self.profile = cProfile.Profile(time.thread_time) if prefix else None

    def __enter__(self) -> None:
        if self.profile:
            self.profile.enable()

    def __exit__(self, *exc: object) -> None:
        if self.profile and self.path:
            self.profile.disable()
            self.profile.dump_stats(self.path)
            out = io.StringIO()
            stats = pstats.Stats(self.profile, stream=out).strip_dirs()
            stats.sort_stats("tottime").print_stats(40)
            stats.sort_stats("cumulative").print_stats(60)
            self.path.with_suffix(".txt").write_text(out.getvalue(), encoding="utf-8")
            print(
                f"{'':<12} profile: {self.path} (top functions in {self.path.with_suffix('.txt')})"
            )


# --- the survey bot -----------------------------------------------------------------------------
def user_ids(count: int) -> list[int]:
    return list(range(FIRST_USER_ID, FIRST_USER_ID + count))


async def seed_database(path: Path, users: list[int], now: datetime) -> int:
    """Employees registered straight into the tables, then a wave opened through the domain."""
    db = Database(path)
    await db.open()
    try:
        async with db.write() as conn:
            await conn.executemany(
                "INSERT INTO departments (name, created_at) VALUES (?, ?)",
                [(f"Department {d:02d}", to_db(now)) for d in range(1, DEPARTMENTS + 1)],
            )
            await conn.executemany(
                "INSERT INTO employees (telegram_id, department_id, language, joined_at) "
                "VALUES (?, ?, 'ru', ?)",
                [(uid, i % DEPARTMENTS + 1, to_db(now)) for i, uid in enumerate(users)],
            )
        opened = await survey_service.start_wave(db, "Bench wave", ADMIN_ID, now, reminder_days=3)
    finally:
        await db.close()
    return opened.invited


async def run_survey_bot(args: argparse.Namespace, round_no: int) -> Figures:
    users = user_ids(args.users)
    workdir = Path(tempfile.mkdtemp(prefix="bench-throughput-"))
    clock = SystemClock()
    async with emulator_process() as (child, base_url):
        await child.ask("users", users)
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            bot_token=TOKEN,
            telegram_api_url=base_url,
            database_path=workdir / "bot.sqlite3",
            admin_ids=str(ADMIN_ID),
            http_host="127.0.0.1",
            http_port=0,
            scheduler_tick_seconds=3600,
            pseudonym_secret="bench-pseudonym-secret",
            send_hours="0-24",
            send_rate=1000,
            api_token="bench-api-token",
            webhook_url=None,
            report_cron="",
        )
        invited = await seed_database(settings.database_path, users, clock.now())
        app = build_app(
            settings, clock=clock, handle_as_tasks=True, polling_timeout=POLLING_TIMEOUT
        )
        await app.start()
        if not args.default_gc:
            tune_gc_for_serving()  # as `python -m bot run` does once the app has started
        try:
            began = time.monotonic()
            sent = await _wait_for_invites(app, invited)
            invite_seconds = time.monotonic() - began
            cpu, main_cpu = time.process_time(), time.thread_time()
            profiling = Profiling(args.profile if round_no == 0 else None, "survey")
            with profiling, GcTimer() as gct:
                _, result = await child.ask(
                    "run", users, QUESTION_COUNT, args.seed, args.timeout, timeout=args.timeout + 60
                )
            cpu, main_cpu = time.process_time() - cpu, time.thread_time() - main_cpu
            figures = _figures("survey bot", result, cpu)
            figures.notes.append(_busy(main_cpu, result["seconds"]))
            figures.notes.append(str(gct))
            # (Guarded so that this script also measures the code from before group commit.)
            apply = getattr(survey_service, "_apply_presses", None)
            group = app.db.group_commit(apply) if apply is not None else None
            if group is not None and group.batches:
                figures.notes.append(
                    f"answers: {group.batches} transactions, {group.items / group.batches:.1f} "
                    f"presses per transaction, {group.seconds / group.batches * 1000:.1f} ms each"
                )
            figures.notes.append(
                f"set-up: {invited} invited, {sent} first questions sent by the outbox in "
                f"{invite_seconds:.1f} s"
            )
            figures.notes += await _check_database(app, len(users), figures.presses)
        finally:
            await app.stop()
            shutil.rmtree(workdir, ignore_errors=True)
    return figures


async def _wait_for_invites(app: BotApp, expected: int, timeout: float = 300) -> int:
    async with asyncio.timeout(timeout):
        while True:
            async with (
                app.db.read() as conn,
                conn.execute(
                    "SELECT COUNT(*) FROM outbox WHERE kind = ? AND status = 'sent'",
                    (survey_service.SURVEY_INVITE,),
                ) as cur,
            ):
                row = await cur.fetchone()
            sent = int(row[0]) if row else 0
            if sent >= expected:
                return sent
            await asyncio.sleep(0.1)


async def _check_database(app: BotApp, users: int, presses: int) -> list[str]:
    async with (
        app.db.read() as conn,
        conn.execute("SELECT COUNT(*), COUNT(DISTINCT respondent) FROM survey_answers") as cur,
    ):
        row = await cur.fetchone()
    assert row is not None
    answers, respondents = int(row[0]), int(row[1])
    verdict = "OK" if answers == presses == users * QUESTION_COUNT else "MISMATCH"
    wal = app.db.path.with_name(app.db.path.name + "-wal")
    wal_kib = wal.stat().st_size / 1024 if wal.exists() else 0.0
    return [
        f"database: {answers} answers from {respondents} respondents ({verdict}); "
        f"WAL {wal_kib:.0f} KiB at the end (SQLite checkpoints it every 1000 pages)"
    ]


# --- the bare bot -------------------------------------------------------------------------------
class MemoTexts:
    """The survey bot's Russian texts, each translated once: the bare bot sends the same bytes
    (Cyrillic costs more to encode than the msgids would) with no gettext per update."""

    def __init__(self) -> None:
        self._tr = Translator(build_i18n("ru"), "ru")
        self._memo: dict[tuple[str, tuple[tuple[str, Any], ...]], str] = {}

    def __call__(self, text: str, **params: Any) -> str:
        key = (text, tuple(params.items()))
        value = self._memo.get(key)
        if value is None:
            value = self._memo[key] = self._tr(text, **params)
        return value


def _bare_router(opened_at: datetime) -> Router:
    router = Router(name="bare")
    texts = MemoTexts()

    @router.callback_query(SurveyAnswerCb.filter())
    async def press(callback: CallbackQuery, callback_data: SurveyAnswerCb) -> None:
        await callback.answer(texts("Saved: {score}", score=callback_data.score))
        # The same next question the survey bot would show, from the callback data alone.
        answers = dict.fromkeys(range(1, callback_data.question + 1), callback_data.score)
        progress = Progress(Wave(callback_data.wave, "Bench wave", opened_at, None), answers)
        text, markup = next_step_message(texts, progress)  # type: ignore[arg-type]
        assert isinstance(callback.message, Message)
        await callback.message.edit_text(text, reply_markup=markup)

    return router


async def run_bare_bot(args: argparse.Namespace, round_no: int) -> Figures:
    users = user_ids(args.users)
    async with emulator_process() as (child, base_url):
        await child.ask("users", users)
        bot = Bot(
            TOKEN,
            session=AiohttpSession(api=TelegramAPIServer.from_base(base_url)),
            default=DefaultBotProperties(parse_mode=ParseMode.HTML),
        )
        now = datetime.now(tz=UTC)
        texts = MemoTexts()
        first = Progress(Wave(1, "Bench wave", now, None), {})
        text, markup = next_step_message(
            texts,  # type: ignore[arg-type]
            first,
            intro=texts(INVITE_INTRO, title="Bench wave"),
        )
        gate = asyncio.Semaphore(64)

        async def send_first(user_id: int) -> None:
            async with gate:
                await bot.send_message(user_id, text, reply_markup=markup)

        await asyncio.gather(*(send_first(u) for u in users))
        dispatcher = Dispatcher()
        dispatcher.include_router(_bare_router(now))
        if not args.default_gc:
            tune_gc_for_serving()  # the same process settings as the survey bot
        polling = asyncio.create_task(
            dispatcher.start_polling(
                bot,
                handle_signals=False,
                close_bot_session=False,
                handle_as_tasks=True,
                polling_timeout=POLLING_TIMEOUT,
                allowed_updates=["callback_query"],
            )
        )
        try:
            cpu, main_cpu = time.process_time(), time.thread_time()
            profiling = Profiling(args.profile if round_no == 0 else None, "bare")
            with profiling, GcTimer() as gct:
                _, result = await child.ask(
                    "run", users, QUESTION_COUNT, args.seed, args.timeout, timeout=args.timeout + 60
                )
            cpu, main_cpu = time.process_time() - cpu, time.thread_time() - main_cpu
        finally:
            with contextlib.suppress(RuntimeError):
                await dispatcher.stop_polling()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(polling, 5)
            await bot.session.close()
    figures = _figures("bare aiogram", result, cpu)
    figures.notes.append(_busy(main_cpu, result["seconds"]))
    figures.notes.append(str(gct))
    return figures


# --- main ---------------------------------------------------------------------------------------
def _report(figures: Figures) -> None:
    print(figures.row())
    for note in figures.notes:
        print(f"{'':<12} {note}")
    if figures.unfinished:
        print(f"{'':<12} !! {figures.unfinished} users did not finish")
    if figures.errors:
        print(f"{'':<12} !! API errors: {figures.errors}")
    print(f"{'':<12} callback answers: {figures.answer_texts}")


class LogSink:
    """Production logging (`bot.cli.configure_logging`, INFO) into a file instead of stderr."""

    def __init__(self) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="bench-throughput-log-")) / "bot.log"
        self.stream = self.path.open("a", encoding="utf-8")
        settings = Settings(_env_file=None, bot_token=TOKEN)  # type: ignore[call-arg]
        configure_logging(settings)
        handler = logging.getLogger().handlers[0]
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(self.stream)
        self._lines = 0

    def lines_since_last(self) -> int:
        self.stream.flush()
        with self.path.open(encoding="utf-8") as fh:
            total = sum(1 for _ in fh)
        new, self._lines = total - self._lines, total
        return new

    def close(self) -> None:
        self.stream.close()
        shutil.rmtree(self.path.parent, ignore_errors=True)


async def main(args: argparse.Namespace) -> None:
    print(
        f"survey throughput: {args.users} users × {QUESTION_COUNT} presses = "
        f"{args.users * QUESTION_COUNT} callback updates per run, {args.rounds} round(s), "
        f"GC {'default' if args.default_gc else 'tuned (bot/gc_tuning.py)'}"
    )
    print(f"machine at start: {machine_note()}")
    logs = LogSink()
    try:
        if args.warmup:
            # aiogram builds some pydantic validators on first use: pay that outside the runs.
            await run_bare_bot(argparse.Namespace(**{**vars(args), "users": args.warmup}), -1)
            logs.lines_since_last()
        print()
        print(HEADER)
        bare: list[Figures] = []
        full: list[Figures] = []
        for round_no in range(args.rounds):
            # Alternate the order, so neither bot always runs on a warmer (or busier) machine.
            order = ("bare", "survey") if round_no % 2 == 0 else ("survey", "bare")
            for which in order:
                if args.only and which != args.only:
                    continue
                if which == "bare":
                    figures = await run_bare_bot(args, round_no)
                    bare.append(figures)
                else:
                    figures = await run_survey_bot(args, round_no)
                    full.append(figures)
                figures.notes.append(
                    f"{logs.lines_since_last()} log lines at INFO; load after: {machine_note()}"
                )
                _report(figures)
    finally:
        logs.close()
    print()
    if not bare or not full:
        return
    bare_rate = statistics.median(f.rate for f in bare)
    full_rate = statistics.median(f.rate for f in full)
    ratio = full_rate / bare_rate if bare_rate else float("nan")
    print(f"median updates/s: survey bot {full_rate:.0f}, bare aiogram {bare_rate:.0f}")
    print(
        f"ratio survey/bare: {ratio:.2f}   goals: ≥ 500 updates/s "
        f"({'met' if full_rate >= 500 else 'NOT met'}), ratio ≥ 0.6 "
        f"({'met' if ratio >= 0.6 else 'NOT met'})"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=2000, help="simulated employees (2000)")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each bot (1)")
    parser.add_argument(
        "--warmup", type=int, default=50, help="users in an unreported bare run first (50)"
    )
    parser.add_argument("--seed", type=int, default=20260112, help="the scores pressed")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per run at most")
    parser.add_argument(
        "--default-gc",
        action="store_true",
        help="keep CPython's default GC settings (the figures before bot/gc_tuning.py)",
    )
    parser.add_argument("--only", choices=("bare", "survey"), help="run one of the two bots")
    parser.add_argument(
        "--profile",
        metavar="PREFIX",
        type=Path,
        default=None,
        help="cProfile each bot's first run into PREFIX-survey.prof / PREFIX-bare.prof",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
