"""The factory: settings → storage → Bot → Dispatcher → scheduler → web app, and their lifecycle.

Nothing here is a module-level global: tests, the demo and the benchmarks build the same
application as production, against another Bot API server, clock or database file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.dispatcher.dispatcher import DEFAULT_BACKOFF_CONFIG
from aiogram.enums import ParseMode
from aiogram.utils.backoff import BackoffConfig
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.admins.service import Roster
from bot.clock import Clock, SystemClock
from bot.commands import register_commands
from bot.dashboard.links import DashboardLinks, register_menu_button
from bot.disclosure.guard import PseudonymKeyError, guard_key
from bot.i18n import I18n, LocaleMiddleware, build_i18n
from bot.outbox import Kind, build_registry
from bot.pseudonym import Pseudonymizer
from bot.settings import Settings
from handlers import get_routers
from handlers.web.context import WebContext
from handlers.web.dashboard import DashboardDeps, setup_dashboard
from handlers.web.health import setup_health
from handlers.web.purchases import setup_api
from handlers.web.telegram import setup_webhook
from scheduler import setup_scheduler
from scheduler.outbox import OutboxDispatcher
from storage import Database

if TYPE_CHECKING:
    from scheduler.digest import DigestJob  # imported lazily: it brings the report and charts

log = logging.getLogger(__name__)

STOP_TIMEOUT = 8.0


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
    _polling_task: asyncio.Task[None] | None = None
    _runner: web.AppRunner | None = None
    _started: bool = False
    extras: dict[str, Any] = field(default_factory=dict)
    # Its key is set at start, once the database has accepted it (bot/disclosure/guard.py).
    pseudonyms: Pseudonymizer = field(default_factory=Pseudonymizer)

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
        """Open storage and start every part. Raises if the database is held by another bot,
        or PseudonymKeyError if the pseudonym key is not the database's."""
        await self.db.open()
        try:
            self.pseudonyms.use(*await guard_key(self.db, self.settings, self.clock.now()))
        except PseudonymKeyError:
            # Nothing else has started: close what is open, so the refusal is the only output.
            await self.db.close()
            await self.bot.session.close()
            raise
        self._started = True
        code = await self.roster.claim_code(self.clock.now()) if self.roster else None
        if code is not None:
            log.warning(
                "ADMIN_IDS is empty and no admin was added in the bot: send /claim %s to the bot "
                "to become its first admin (the code works once)",
                code,
            )
        self._runner = web.AppRunner(self.web_app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.settings.http_host, self.settings.http_port).start()
        if self.settings.api_token is None:
            log.warning("API_TOKEN is not set: the purchases API refuses every call")
        self.scheduler.start()
        await register_commands(self.bot, self.settings)
        await register_menu_button(self.bot, self.settings, self.settings.admin_ids)
        if self.settings.webhook_mode:
            await self.bot.set_webhook(
                url=self.settings.webhook_url or "",
                secret_token=self.webhook_secret,
                allowed_updates=self.dispatcher.resolve_used_update_types(),
                drop_pending_updates=False,
            )
        elif polling:
            self._polling_task = asyncio.create_task(
                self.dispatcher.start_polling(
                    self.bot,
                    handle_signals=False,
                    close_bot_session=False,
                    handle_as_tasks=self.handle_as_tasks,
                    polling_timeout=self.polling_timeout,
                    backoff_config=self.polling_backoff,
                    allowed_updates=self.dispatcher.resolve_used_update_types(),
                ),
                name="polling",
            )
        log.info("bot started (%s mode)", "webhook" if self.settings.webhook_mode else "polling")

    async def stop(self) -> None:
        """Stop within STOP_TIMEOUT: no new updates; the running outbox tick and digest run
        finish or are cancelled before the bot session and the database close."""
        if not self._started:
            return
        self._started = False
        if self._polling_task is not None:
            with contextlib.suppress(RuntimeError):
                await self.dispatcher.stop_polling()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._polling_task, STOP_TIMEOUT / 2)
            self._polling_task = None
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


def outbox_kinds() -> dict[str, Kind]:
    """Every feature's outbox kinds: the one place that knows them all (the scheduler does not)."""
    from bot.dashboard import cases
    from bot.plans import messages as plan_messages
    from bot.pulse import service as pulse_service
    from bot.restock import messages as restock_messages
    from bot.reviews import alerts
    from bot.reviews import messages as review_messages
    from bot.survey import messages as survey_messages
    from bot.voc import messages as voc_messages

    return build_registry(
        survey_messages.KINDS,
        review_messages.KINDS,
        alerts.KINDS,
        restock_messages.KINDS,
        cases.KINDS,
        plan_messages.KINDS,
        voc_messages.KINDS,
        pulse_service.KINDS,
    )


def build_bot(settings: Settings) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
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
    bot = build_bot(settings)
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
    app = BotApp(
        settings=settings,
        clock=clock,
        db=db,
        roster=Roster.of(settings, db),
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
    )
    setup_health(web_app)
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
    setup_api(web_app, WebContext(settings=settings, bot=bot, db=db, clock=clock, outbox=outbox))
    dispatcher["dashboard_links"] = DashboardLinks(settings, lambda: app.http_port)
    dispatcher["roster"] = app.roster
    setup_dashboard(
        web_app,
        DashboardDeps(
            db=db,
            settings=settings,
            clock=clock,
            i18n=i18n,
            is_admin=settings.is_admin,
            kick_outbox=outbox.kick,
            bot_token=settings.bot_token.get_secret_value(),
            public_url=settings.dashboard_url,
            pseudonyms=pseudonyms,
        ),
    )
    return app
