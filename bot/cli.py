"""Command line: `python -m bot run | import-purchases FILE | demo | backup PATH | restore PATH |
rotate-pseudonym-key`.

`feedback-bot` (the console script) with no arguments is `run`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bot.settings import Settings, SettingsError, load_settings
from bot.signals import stop_on_signals

log = logging.getLogger("bot")


class RedactSecrets(logging.Filter):
    """Replace secrets (the bot token) wherever they would appear in a log line."""

    def __init__(self, secrets: Sequence[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(secret in message for secret in self.secrets):
            for secret in self.secrets:
                message = message.replace(secret, "***")
            record.msg, record.args = message, None
        if record.exc_info and record.exc_info[1] is not None:
            text = str(record.exc_info[1])
            if any(secret in text for secret in self.secrets):
                record.exc_text = "***redacted exception: it contained a secret***"
        return True


class RepeatLimiter(logging.Filter):
    """At most `burst` lines of one kind (logger, level, message template) per `period`
    seconds; the next line let through after a quiet spell says how many were left out.

    A storm (300 slow clients, Telegram down with polling retrying, a shop resending a bad
    file) must not bury the one line that matters under a hundred thousand identical ones.
    """

    def __init__(self, burst: int = 5, period: float = 60.0) -> None:
        super().__init__()
        self.burst = burst
        self.period = period
        self._seen: dict[tuple[str, int, str], list[float]] = {}  # key → [start, shown, dropped]

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, str(record.msg))
        now = time.monotonic()
        window = self._seen.get(key)
        if window is None or now - window[0] >= self.period:
            dropped = int(window[2]) if window is not None else 0
            if len(self._seen) > 10_000:
                self._seen.clear()  # bounded memory, whatever the variety of messages
            self._seen[key] = [now, 1, 0]
            if dropped:
                record.msg = f"{record.getMessage()} (and {dropped} more like it before)"
                record.args = None
            return True
        if window[1] < self.burst:
            window[1] += 1
            return True
        window[2] += 1
        return False


class OneLineClientErrors(logging.Filter):
    """aiohttp logs each malformed request from a client (a TLS hello on a plain port, a
    broken header) with a traceback; one line says the same."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            record.msg = f"{record.getMessage()}: {type(exc).__name__}: {str(exc)[:200]}"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


def configure_logging(settings: Settings | None = None, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RepeatLimiter())
    logging.getLogger("aiohttp.server").addFilter(OneLineClientErrors())
    if settings is not None:
        secrets = [settings.bot_token.get_secret_value()]
        if settings.api_token is not None:
            secrets.append(settings.api_token.get_secret_value())
        if settings.webhook_secret is not None:
            secrets.append(settings.webhook_secret.get_secret_value())
        handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiohttp's access log and APScheduler's per-run lines are noise at INFO.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # aiogram logs every handled update at INFO ("Update id=… is handled"): a line per button
    # press, ~5% of the bot's CPU under load (bench/throughput.py). Failures still log.
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)


def _fail(message: str) -> int:
    print(f"feedback-bot: {message}", file=sys.stderr)
    return 2


def _settings_or_exit() -> Settings | int:
    try:
        return load_settings()
    except SettingsError as exc:
        return _fail(str(exc))


async def serve(settings: Settings) -> int:
    """Run until SIGTERM/SIGINT (exit 0) or until Telegram rejects the token (exit 2).

    The signals are handled from the first moment, so a stop is prompt in every state: while
    starting, while Telegram is unreachable, while a long poll hangs.
    """
    from bot.app import STOP_TIMEOUT, StartupError, build_app
    from bot.disclosure.guard import PseudonymKeyError
    from bot.liveness import REJECTED_LINE, TokenRejected, describe
    from storage import DatabaseLockedByAnotherProcess

    try:
        app = build_app(settings)
    except OSError as exc:  # the pseudonym key beside the database could not be written
        return _fail(f"DATABASE_PATH {settings.database_path} cannot be used: {describe(exc)}")
    stop = stop_on_signals()
    stopped = asyncio.create_task(stop.wait())
    starting = asyncio.create_task(app.start())
    await asyncio.wait({starting, stopped}, return_when=asyncio.FIRST_COMPLETED)
    if not starting.done():
        starting.cancel()
    try:
        await starting
    except asyncio.CancelledError:
        pass  # stopped while starting
    except (DatabaseLockedByAnotherProcess, StartupError, TokenRejected, PseudonymKeyError) as exc:
        stopped.cancel()
        await app.stop()
        return _fail(str(exc))
    except Exception:
        # Unforeseen: the traceback is for us, but the process must not stay up holding the
        # port and the lock while doing nothing.
        log.exception("start-up failed")
        stopped.cancel()
        await app.stop()
        return 1
    from bot.gc_tuning import tune_gc_for_serving

    tune_gc_for_serving()
    fatal = asyncio.create_task(app.liveness.fatal.wait())
    await asyncio.wait({stopped, fatal}, return_when=asyncio.FIRST_COMPLETED)
    code = 0
    if not stop.is_set():
        log.critical(REJECTED_LINE)
        code = 2
    for task in (stopped, fatal):
        task.cancel()
    log.info("stopping")
    try:
        await asyncio.wait_for(app.stop(), STOP_TIMEOUT)
    except TimeoutError:
        log.error("did not stop within %s s", STOP_TIMEOUT)
        return 1
    return code


def _run(args: argparse.Namespace) -> int:
    settings = _settings_or_exit()
    if isinstance(settings, int):
        return settings
    configure_logging(settings)
    return asyncio.run(serve(settings))


def _import_purchases(args: argparse.Namespace) -> int:
    settings = _settings_or_exit()
    if isinstance(settings, int):
        return settings
    configure_logging(settings, level=logging.WARNING)
    from bot.customers.csv_import import run_import
    from bot.integrations.mapping import retailcrm

    return asyncio.run(
        run_import(
            settings,
            Path(args.file),
            fmt=args.format,
            dry_run=args.dry_run,
            links=Path(args.links) if args.links else None,
            read_order=retailcrm,
        )
    )


def _demo(args: argparse.Namespace) -> int:
    configure_logging(level=logging.WARNING)
    from bot.demo import run_demo

    try:
        return asyncio.run(
            run_demo(
                Path(args.out),
                days=args.days,
                customers=args.customers,
                serve=args.serve,
                port=args.port,
            )
        )
    except KeyboardInterrupt:  # Ctrl+C ends `demo --serve`; the app was stopped on the way out
        return 0


def _backup(args: argparse.Namespace) -> int:
    settings = _settings_or_exit()
    if isinstance(settings, int):
        return settings
    from bot.clock import SystemClock
    from storage.backup import BackupError, backup

    target = Path(args.path)
    try:
        if args.path.endswith(("/", os.sep)):
            target.mkdir(parents=True, exist_ok=True)  # «backup /var/backups/bot/»: a folder
        info = backup(settings.database_path, target, now=SystemClock().now())
    except (BackupError, OSError) as exc:
        return _fail(str(exc))
    print(
        f"backup of {settings.database_path} written to {info.path} "
        f"({info.size / 1_000_000:.1f} MB, schema version {info.schema_version}, integrity ok)"
    )
    _remind_of_pseudonym_key(settings)
    return 0


def _restore(args: argparse.Namespace) -> int:
    settings = _settings_or_exit()
    if isinstance(settings, int):
        return settings
    from storage import DatabaseLockedByAnotherProcess
    from storage.backup import BackupError, restore
    from storage.migrations import load_migrations

    try:
        info = restore(
            Path(args.path),
            settings.database_path,
            latest_version=max((m.version for m in load_migrations()), default=0),
        )
    except (BackupError, DatabaseLockedByAnotherProcess, OSError) as exc:
        return _fail(str(exc))
    kept = ""
    if info.previous is not None:
        what = "was unreadable and is kept, as it was," if info.previous_broken else "is kept"
        kept = f"; the database it replaced {what} as {info.previous}"
    print(f"{args.path} restored to {info.path}{kept}. Start the bot again.")
    _remind_of_pseudonym_key(settings)
    return 0


def _rotate_pseudonym_key(args: argparse.Namespace) -> int:
    settings = _settings_or_exit()
    if isinstance(settings, int):
        return settings
    return asyncio.run(rotate_pseudonym_key(settings))


async def rotate_pseudonym_key(settings: Settings) -> int:
    """Make a new pseudonym key this database's key; the open wave is closed first, since
    nobody who answered it could be matched to their answers under the new key."""
    from bot.clock import SystemClock
    from bot.disclosure.guard import keep_identity_key, new_key, record_key
    from bot.survey import service as survey_service
    from storage import Database, DatabaseLockedByAnotherProcess

    now = SystemClock().now()
    db = Database(settings.database_path)
    try:
        await db.open()
    except DatabaseLockedByAnotherProcess as exc:
        return _fail(f"{exc}; stop the bot first")
    try:
        try:
            wave = await survey_service.close_wave(db, now)
        except survey_service.SurveyError:
            print("no survey wave was open")
        else:
            print(
                f"closed the open survey wave «{wave.title}» first: its answers could not be "
                "matched to people under a new key (its figures stay in the reports)"
            )
        if not await keep_identity_key(db, settings):
            print(
                "note: the old pseudonym key is gone and there is no identity key file, so "
                "customers forgotten before cannot be recognised in later orders by e-mail"
            )
        key, where, kept = new_key(settings, now)
        await record_key(db, key, now)
    finally:
        await db.close()
    if kept is not None:
        print(f"the previous key file is kept as {kept}")
    print(f"the pseudonym key in {where} is now this database's key; start the bot again")
    _remind_of_pseudonym_key(settings)
    return 0


def _remind_of_pseudonym_key(settings: Settings) -> None:
    """Survey answers are keyed by a secret that is deliberately not in the database."""
    if settings.pseudonym_secret is not None and settings.pseudonym_secret.get_secret_value():
        return
    key_file = settings.database_path.parent / (settings.database_path.name + ".pseudonym-key")
    print(
        f"note: survey answers are keyed by {key_file}, which is not in the backup on purpose; "
        "keep a copy of it apart from the backups, a restored bot needs the same key"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="feedback-bot", description="Customer-centricity Telegram bot."
    )
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="start the bot (the default)").set_defaults(func=_run)
    imp = sub.add_parser(
        "import-purchases", help="import purchases from a shop's CSV (or JSON) file"
    )
    imp.add_argument("file")
    imp.add_argument(
        "--format",
        default="auto",
        choices=("auto", "generic", "shopify", "woocommerce", "retailcrm"),
        help="whose export the file is (default: detected from the header)",
    )
    imp.add_argument(
        "--dry-run", action="store_true", help="check and count everything, write nothing"
    )
    imp.add_argument("--links", metavar="FILE", help="write each customer's receipt link here")
    imp.set_defaults(func=_import_purchases)
    demo = sub.add_parser("demo", help="run the whole product offline, with simulated people")
    demo.add_argument("--out", default="demo-output", help="where to save the charts")
    demo.add_argument(
        "--serve",
        action="store_true",
        help="then keep the app up with the web dashboard and print a sign-in link",
    )
    demo.add_argument("--port", type=int, default=8080, help="the dashboard's port with --serve")
    demo.add_argument("--days", type=int, default=100, help="how many days to simulate")
    demo.add_argument("--customers", type=int, default=36, help="how many customers")
    demo.set_defaults(func=_demo)
    bak = sub.add_parser("backup", help="write a consistent copy of the live database")
    bak.add_argument("path", help="a file, or a folder to put the copy in")
    bak.set_defaults(func=_backup)
    res = sub.add_parser("restore", help="replace the database with a backup (bot stopped)")
    res.add_argument("path")
    res.set_defaults(func=_restore)
    rot = sub.add_parser(
        "rotate-pseudonym-key",
        help="make a new pseudonym key the database's key (closes the open survey wave first)",
    )
    rot.set_defaults(func=_rotate_pseudonym_key)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func = getattr(args, "func", _run)
    return int(func(args))
