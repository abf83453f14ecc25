"""The factory: settings → storage → Bot → Dispatcher → scheduler → web app, and their lifecycle.

Nothing here is a module-level global: tests, the demo and the benchmarks build the same
application as production, against another Bot API server, clock or database file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import sqlite3
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.dispatcher.dispatcher import DEFAULT_BACKOFF_CONFIG
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramUnauthorizedError
from aiogram.utils.backoff import Backoff, BackoffConfig
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.admins.service import Roster
from bot.clock import Clock, SystemClock
from bot.commands import register_commands
from bot.dashboard.links import DashboardLinks, register_menu_button
from bot.disclosure.guard import PseudonymKeyError, guard_key, identity_key
from bot.i18n import I18n, LocaleMiddleware, build_i18n
from bot.liveness import UNREACHABLE_ERRORS, Liveness, TelegramWatch, TokenRejected, describe
from bot.outbox import Kind, build_registry
from bot.pacing import Pacer, PacingMiddleware
from bot.pseudonym import Pseudonymizer
from bot.settings import Settings
from bot.welcome import register_descriptions
from handlers import get_routers
from handlers.web.context import WebContext
from handlers.web.dashboard import DashboardDeps, setup_dashboard
from handlers.web.health import setup_health
from handlers.web.integrations import setup_integrations
from handlers.web.limits import GuardedSite
from handlers.web.purchases import setup_api
from handlers.web.telegram import setup_webhook
from scheduler import setup_scheduler
from scheduler.outbox import OutboxDispatcher
from storage import Database

if TYPE_CHECKING:
    from scheduler.digest import DigestJob  # imported lazily: it brings the report and charts

log = logging.getLogger(__name__)

STOP_TIMEOUT = 8.0
# The first getMe at start: long enough for a slow network, short enough that a black-holed
# one does not keep the web server (and /healthz saying why) from coming up.
FIRST_CONTACT_TIMEOUT = 10.0


class StartupError(Exception):
    """Start-up cannot go on (a database path that cannot be used, a port taken); the message
    is one line naming the setting and the path."""


@dataclass
class BotApp:
    settings: Settings
    clock: Clock
    db: Database
    bot: Bot
    dispatcher: Dispatcher
    scheduler: AsyncIOScheduler
    outbox: OutboxDispatcher
    i18n: I18n
    web_app: web.Application
    digest: DigestJob | None = None  # the scheduled report, when REPORT_CRON is set
    roster: Roster | None = None  # who is an admin: ADMIN_IDS and the admins added in the bot
    handle_as_tasks: bool = True
    polling_timeout: int = 10
    # How long polling waits after a failed getUpdates (500, 429, a timeout) before trying
    # again, growing up to max_delay; tests shorten it.
    polling_backoff: BackoffConfig = DEFAULT_BACKOFF_CONFIG
    webhook_secret: str | None = field(default=None, repr=False)  # never in a traceback
    liveness: Liveness = field(default_factory=Liveness)
    _telegram_task: asyncio.Task[None] | None = None
    _commands_registered: bool = False
    _webhook_set: bool = False
    _runner: web.AppRunner | None = None
    _started: bool = False
    extras: dict[str, Any] = field(default_factory=dict)
    # Its key is set at start, once the database has accepted it (bot/disclosure/guard.py).
    pseudonyms: Pseudonymizer = field(default_factory=Pseudonymizer)

    @property
    def admin_ids(self) -> frozenset[int]:
        """Every admin now: the roster's (ADMIN_IDS and the admins added in the bot)."""
        return self.roster.ids if self.roster is not None else frozenset(self.settings.admin_ids)

    @property
    def http_port(self) -> int | None:
        """The port the web app listens on (useful when HTTP_PORT=0 picks a free one)."""
        if self._runner is None:
            return None
        for site in self._runner.sites:
            server = getattr(site, "_server", None)
            if server is not None and server.sockets:
                return int(server.sockets[0].getsockname()[1])
        return None

    async def start(self, *, polling: bool = True) -> None:
        """Open storage, check the token and start every part.

        Raises TokenRejected when Telegram answers 401, StartupError when the database or the
        port cannot be used, DatabaseLockedByAnotherProcess when another bot holds the file,
        PseudonymKeyError if the pseudonym key is not the database's. Telegram not answering
        is no reason to stop: the bot keeps trying in the background (/healthz says 503).
        """
        self.liveness.polling_mode = polling and not self.settings.webhook_mode
        try:
            await self.db.open()
        except (OSError, sqlite3.Error) as exc:
            raise StartupError(
                f"DATABASE_PATH {self.settings.database_path} cannot be used: {describe(exc)}"
            ) from None
        try:
            self.pseudonyms.use(*await guard_key(self.db, self.settings, self.clock.now()))
            self.pseudonyms.use_identity(identity_key(self.settings, self.pseudonyms.key))
        except PseudonymKeyError:
            # Nothing else has started: close what is open, so the refusal is the only output.
            await self.db.close()
            await self.bot.session.close()
            raise
        self._started = True
        # Local problems (above) are told without waiting for the network; then Telegram,
        # before anything else speaks, so a rejected token is the only line.
        await self._first_contact()
        code = await self.roster.claim_code(self.clock.now()) if self.roster else None
        if code is not None:
            log.warning(
                "ADMIN_IDS is empty and no admin was added in the bot: send /claim %s to the bot "
                "to become its first admin (the code works once)",
                code,
            )
        self._runner = web.AppRunner(
            self.web_app, access_log=None, handle_signals=False, shutdown_timeout=STOP_TIMEOUT / 4
        )
        await self._runner.setup()
        site = GuardedSite(
            self._runner,
            self.settings.http_host,
            self.settings.http_port,
            header_timeout=self.settings.http_header_timeout,
            body_timeout=self.settings.http_body_timeout,
            max_connections=self.settings.http_max_connections,
        )
        try:
            await site.start()
        except OSError as exc:
            raise StartupError(
                f"HTTP_HOST:HTTP_PORT {self.settings.http_host}:{self.settings.http_port} "
                f"cannot be used: {describe(exc)}"
            ) from None
        if self.settings.api_token is None:
            log.warning("API_TOKEN is not set: the purchases API refuses every call")
        self.scheduler.start()
        if self.liveness.telegram_error is None:
            # Telegram answered getMe: the menu and the webhook are in place when start()
            # returns, as callers (and tests) expect; when it did not, the supervisor does it.
            await register_commands(self.bot, self.settings, self.admin_ids)
            await register_descriptions(self.bot, self.settings, self.i18n)
            await register_menu_button(self.bot, self.settings, self.admin_ids)
            self._commands_registered = True
            if self.settings.webhook_mode:
                await self._set_webhook_once()
        if (self.settings.webhook_mode and not self._webhook_set) or self.liveness.polling_mode:
            self._telegram_task = asyncio.create_task(self._run_telegram(), name="telegram")
            # Telegram answered, polling starts right away: healthy from now on (a failing
            # getUpdates or polling ending says otherwise at once).
            self.liveness.polling = self.liveness.telegram_error is None
        log.info("bot started (%s mode)", "webhook" if self.settings.webhook_mode else "polling")

    async def _first_contact(self) -> None:
        """getMe once: a rejected token ends the start here, before the web server opens."""
        try:
            async with asyncio.timeout(FIRST_CONTACT_TIMEOUT):
                await self.bot.me()
        except TelegramUnauthorizedError:
            raise TokenRejected from None
        except Exception as exc:  # anything else is Telegram not answering (yet)
            self.liveness.unreachable(describe(exc))
            log.warning(
                "Telegram is unreachable at %s (%s); the bot starts anyway and will retry",
                self.settings.telegram_api_url,
                describe(exc),
            )

    async def _set_webhook(self) -> None:
        await self.bot.set_webhook(
            url=self.settings.webhook_url or "",
            secret_token=self.webhook_secret,
            allowed_updates=self.dispatcher.resolve_used_update_types(),
            drop_pending_updates=False,
        )
        self._webhook_set = True

    async def _set_webhook_once(self) -> None:
        try:
            await self._set_webhook()
        except TelegramUnauthorizedError:
            raise TokenRejected from None
        except Exception as exc:  # retried by the supervisor
            log.warning("setWebhook failed (%s); retrying in the background", describe(exc))

    async def _run_telegram(self) -> None:
        """Keep the bot connected: getMe, the command menu, then the webhook or polling.

        Whatever ends polling (getMe failing, an error aiogram does not swallow) is logged and
        polling starts again after a growing pause; a rejected token (401) stops the process
        (Liveness.fatal). Cancelled by stop().
        """
        backoff = Backoff(self.polling_backoff)
        while True:
            try:
                await self.bot.me()  # cached by aiogram once it has succeeded
                if not self._commands_registered:
                    await register_commands(self.bot, self.settings, self.admin_ids)
                    await register_descriptions(self.bot, self.settings, self.i18n)
                    await register_menu_button(self.bot, self.settings, self.admin_ids)
                    self._commands_registered = True
                if self.settings.webhook_mode:
                    await self._set_webhook()
                    return
                backoff.reset()
                self.liveness.polling = True
                await self.dispatcher.start_polling(
                    self.bot,
                    handle_signals=False,
                    close_bot_session=False,
                    handle_as_tasks=self.handle_as_tasks,
                    polling_timeout=self.polling_timeout,
                    backoff_config=self.polling_backoff,
                    allowed_updates=self.dispatcher.resolve_used_update_types(),
                )
                if not self._started:
                    return
                reason = "polling ended by itself"
            except TelegramUnauthorizedError:
                self.liveness.rejected()  # the runner ends the process and says why
                return
            except UNREACHABLE_ERRORS as exc:
                self.liveness.unreachable(describe(exc))
                log.warning(
                    "Telegram is unreachable (%s); retrying in %.1f s",
                    describe(exc),
                    backoff.next_delay,
                )
                self.liveness.polling = False
                await backoff.asleep()
                continue
            except Exception as exc:
                reason = describe(exc)
            finally:
                self.liveness.polling = False
            log.error("polling stopped (%s); restarting it in %.1f s", reason, backoff.next_delay)
            await backoff.asleep()

    async def stop(self) -> None:
        """Stop within STOP_TIMEOUT: no new updates; the running outbox tick and digest run
        finish or are cancelled before the bot session and the database close."""
        if not self._started:
            await self.bot.session.close()  # a start that failed early opened only this
            return
        self._started = False
        if self._telegram_task is not None:
            await self._stop_telegram(self._telegram_task)
            self._telegram_task = None
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)  # no new runs; the ones under way are below
        # Both are given the same grace time at once, so a stop stays within STOP_TIMEOUT.
        closing = [self.outbox.aclose(timeout=STOP_TIMEOUT / 4)]
        if self.digest is not None:
            closing.append(self.digest.aclose(timeout=STOP_TIMEOUT / 4))
        await asyncio.gather(*closing)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.bot.session.close()
        await self.db.close()
        log.info("bot stopped")

    async def _stop_telegram(self, task: asyncio.Task[None]) -> None:
        """No new updates: polling is asked to stop (the update under way finishes), and
        cancelled if it does not within its share of STOP_TIMEOUT, whatever state it is in
        (a hung long poll, a retry pause, Telegram unreachable)."""
        # RuntimeError: "Polling is not started" (a retry pause): nothing to ask.
        with contextlib.suppress(RuntimeError, TimeoutError):
            async with asyncio.timeout(STOP_TIMEOUT / 4):
                await self.dispatcher.stop_polling()
        if not task.done():
            task.cancel()
        # Its outcome was logged where it happened; on the way out only the stop matters.
        with contextlib.suppress(asyncio.CancelledError, Exception):
            async with asyncio.timeout(STOP_TIMEOUT / 4):
                await task


def outbox_kinds() -> dict[str, Kind]:
    """Every feature's outbox kinds: the one place that knows them all (the scheduler does not)."""
    from bot.cases import messages as case_messages
    from bot.dashboard import cases as dashboard_cases
    from bot.events import messages as event_messages
    from bot.plans import messages as plan_messages
    from bot.pulse import service as pulse_service
    from bot.restock import messages as restock_messages
    from bot.reviews import alerts
    from bot.reviews import messages as review_messages
    from bot.survey import messages as survey_messages
    from bot.voc import messages as voc_messages
    from bot.winback import messages as winback_messages

    return build_registry(
        survey_messages.KINDS,
        review_messages.KINDS,
        alerts.KINDS,
        restock_messages.KINDS,
        dashboard_cases.KINDS,
        plan_messages.KINDS,
        voc_messages.KINDS,
        pulse_service.KINDS,
        winback_messages.KINDS,
        event_messages.KINDS,
        case_messages.KINDS,
    )


def build_bot(settings: Settings, pacer: Pacer | None = None) -> Bot:
    """The Bot, with the one pacing point every call goes through (bot/pacing.py)."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    session.middleware(PacingMiddleware(pacer or Pacer(settings.send_rate)))
    return Bot(
        settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


def build_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    handle_as_tasks: bool = True,
    polling_timeout: int = 10,
    polling_backoff: BackoffConfig = DEFAULT_BACKOFF_CONFIG,
) -> BotApp:
    clock = clock or SystemClock()
    db = Database(settings.database_path)
    liveness = Liveness(database_problem=db.problem)
    # Replies and the outbox share one pacer: one SEND_RATE, one second per chat.
    pacer = Pacer(settings.send_rate)
    bot = build_bot(settings, pacer)
    bot.session.middleware(TelegramWatch(liveness))
    i18n = build_i18n(settings.default_language)
    pseudonyms = Pseudonymizer()  # keyed at start
    outbox = OutboxDispatcher(
        db=db,
        bot=bot,
        settings=settings,
        clock=clock,
        i18n=i18n,
        pseudonyms=pseudonyms,
        kinds=outbox_kinds(),
        pacer=pacer,
    )

    dispatcher = Dispatcher(
        settings=settings,
        db=db,
        clock=clock,
        pseudonyms=pseudonyms,
        outbox=outbox,
    )
    LocaleMiddleware(i18n).setup(dispatcher)
    dispatcher.include_routers(*get_routers())

    scheduler, digest = setup_scheduler(settings=settings, outbox=outbox, clock=clock)

    web_app = web.Application(client_max_size=1024 * 1024)
    roster = Roster.of(settings, db)
    app = BotApp(
        settings=settings,
        clock=clock,
        db=db,
        roster=roster,
        bot=bot,
        dispatcher=dispatcher,
        scheduler=scheduler,
        outbox=outbox,
        i18n=i18n,
        web_app=web_app,
        digest=digest,
        pseudonyms=pseudonyms,
        handle_as_tasks=handle_as_tasks,
        polling_timeout=polling_timeout,
        polling_backoff=polling_backoff,
        liveness=liveness,
    )
    setup_health(web_app, liveness)
    if settings.webhook_mode:
        if settings.webhook_secret and settings.webhook_secret.get_secret_value():
            app.webhook_secret = settings.webhook_secret.get_secret_value()
        else:
            # Without a secret anyone who finds the URL could post updates as any user (an
            # admin included). A random one, given to Telegram by setWebhook at start, closes
            # that; setting WEBHOOK_SECRET keeps it stable across restarts.
            log.warning("WEBHOOK_SECRET is not set: using a random secret for this run")
            app.webhook_secret = secrets.token_urlsafe(32)
        setup_webhook(
            web_app,
            dispatcher,
            bot,
            url=settings.webhook_url or "",
            secret=app.webhook_secret,
            handle_in_background=handle_as_tasks,
        )
    web_ctx = WebContext(
        settings=settings, bot=bot, db=db, clock=clock, outbox=outbox, pseudonyms=pseudonyms
    )
    setup_integrations(web_app, web_ctx, setup_api(web_app, web_ctx))
    dispatcher["dashboard_links"] = DashboardLinks(settings, lambda: app.http_port)
    dispatcher["roster"] = app.roster
    setup_dashboard(
        web_app,
        DashboardDeps(
            db=db,
            settings=settings,
            clock=clock,
            i18n=i18n,
            is_admin=roster.is_admin,
            kick_outbox=outbox.kick,
            bot_token=settings.bot_token.get_secret_value(),
            public_url=settings.dashboard_url,
            pseudonyms=pseudonyms,
        ),
    )
    return app
