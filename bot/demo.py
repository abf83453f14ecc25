"""The offline demo: the whole product with simulated people, no Telegram token, no network.

    python -m bot demo [--out demo-output]

The production app (`bot.app.build_app`) runs against the Bot API emulator started in this
process, on a temporary database, with a fake clock that the demo moves forward: about four
months pass in seconds. Along the way:

- an HR lead makes invitation links for three departments; fifteen employees join and answer
  two survey waves three months apart (a few never finish, one department is too small to be
  shown on its own);
- a shop reports purchases through the purchases HTTP API; customers open their receipt links,
  get review requests a week later and answer with stars and an NPS score (unhappy ones raise
  alerts, and the admin resolves some), get restock reminders, and many buy again;
- the admin sets a target, and finally asks for /report and /export.

It prints the final report and saves its charts and the CSV exports under `--out`.
Everything is seeded, so two runs tell the same story.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bot.app import BotApp, build_app
from bot.callbacks import AlertResolveCb, RestockCb, ReviewNpsCb, ReviewRatingCb, ReviewSkipCb
from bot.clock import FakeClock
from bot.emulator import BotAPIEmulator, FakeUser
from bot.settings import Settings
from bot.signals import stop_on_signals

TOKEN = "123456:DEMO-token"  # noqa: S105  (the emulator's, not a real bot's)
API_TOKEN = "demo-api-token"  # noqa: S105
ADMIN_ID = 1
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday, 12:00 in Moscow
SEED = 2026

# Department → (employees, how they answer: the mean score they lean to, in wave 1 and 2).
DEPARTMENTS = {
    "Продажи": (7, 3.4, 3.9),
    "Склад": (6, 2.6, 3.1),
    "Поддержка": (2, 3.0, 3.6),  # fewer than SURVEY_MIN_GROUP: never shown on its own
}
PRODUCTS = (
    ("COFFEE-1", "Кофе в зёрнах, 1 кг", 30),
    ("TEA-1", "Чай улун", 45),
    ("FILTER-100", "Фильтры для кофеварки", 60),
    ("MUG-1", "Кружка", None),
)
CUSTOMERS = 36
DAYS = 100


@dataclass
class Shopper:
    user: FakeUser
    external_id: str
    mood: float  # how happy with the shop, 0..1
    loyal: float  # the chance of buying again when reminded
    link: str | None = None


def _settings(tg: BotAPIEmulator, folder: Path, port: int = 0) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=TOKEN,
        telegram_api_url=tg.base_url,
        database_path=folder / "demo.sqlite3",
        admin_ids=str(ADMIN_ID),
        http_host="127.0.0.1",
        http_port=port,
        scheduler_tick_seconds=3600,  # the demo ticks the outbox itself as its clock moves
        pseudonym_secret="demo-pseudonym-secret",  # noqa: S106  (a throwaway database)
        send_hours="0-24",
        send_rate=1000,
        api_token=API_TOKEN,
        webhook_url=None,
        report_cron="",
    )


class Demo:
    def __init__(
        self,
        tg: BotAPIEmulator,
        app: BotApp,
        clock: FakeClock,
        *,
        days: int = DAYS,
        customers: int = CUSTOMERS,
    ) -> None:
        self.days = days
        self.customers = customers
        self.tg = tg
        self.app = app
        self.clock = clock
        self.rng = random.Random(SEED)
        self.admin = tg.user(ADMIN_ID, "Ольга", language_code="ru")
        self.http: aiohttp.ClientSession | None = None
        self.orders = 0
        self.seen: set[tuple[int, int]] = set()  # (chat, message) a simulated person acted on

    # --- small steps --------------------------------------------------------------------------
    async def say(self, user: FakeUser, text: str) -> dict[str, Any]:
        user.send(text)
        await self.tg.settle()
        return user.last

    async def press(self, user: FakeUser, prefix: str, pick: Any = None) -> bool:
        """Press a button by its callback data on the newest message that has one."""
        for message in reversed(user.bot_messages()):
            for row in message.get("reply_markup", {}).get("inline_keyboard", []):
                for button in row:
                    data = button.get("callback_data", "")
                    if data.startswith(prefix + ":") and (pick is None or pick(data)):
                        user.press_data(data, message=message)
                        await self.tg.settle()
                        return True
        return False

    async def tick(self) -> None:
        await self.app.outbox.tick()
        await self.tg.settle()

    async def day(self) -> None:
        self.clock.advance(days=1)
        await self.tick()

    # --- the survey -------------------------------------------------------------------------------
    async def employees(self) -> dict[str, list[FakeUser]]:
        people: dict[str, list[FakeUser]] = {}
        next_id = 1000
        for department, (count, _, _) in DEPARTMENTS.items():
            text = (await self.say(self.admin, f"/invite {department}"))["text"]
            link = next(w for w in text.split() if w.startswith("https://"))
            payload = link.split("?start=", 1)[1]
            for _ in range(count):
                next_id += 1
                user = self.tg.user(next_id, f"Сотрудник {next_id}", language_code="ru")
                await self.say(user, f"/start {payload}")
                people.setdefault(department, []).append(user)
        return people

    async def wave(self, title: str, people: dict[str, list[FakeUser]], number: int) -> None:
        await self.say(self.admin, f"/survey_start {title}")
        await self.tick()
        for department, users in people.items():
            lean = DEPARTMENTS[department][number]
            for user in users:
                if self.rng.random() < 0.1:
                    continue  # busy: never answers
                scores = [max(1, min(5, round(self.rng.gauss(lean, 0.8)))) for _ in range(6)]
                if number == 1:
                    scores[3] = max(1, scores[3] - 1)  # «using feedback» lags behind
                stop = 6 if self.rng.random() > 0.1 else self.rng.randint(1, 5)
                for score in scores[:stop]:
                    await self.press(user, "sa1", lambda d, s=score: d.split(":")[3] == str(s))
        await self.say(self.admin, "/survey_close")

    # --- customers ----------------------------------------------------------------------------
    async def buy(self, shopper: Shopper, items: list[tuple[str, str, int | None]]) -> None:
        assert self.http is not None
        self.orders += 1
        body = {
            "order_id": f"ORD-{self.orders:05d}",
            "customer": {
                "id": shopper.external_id,
                "name": shopper.user.first_name,
                "phone": f"+7999{shopper.user.id:07d}",
            },
            "purchased_at": self.clock.now().isoformat(),
            "items": [
                {"sku": sku, "name": name, "quantity": 1} | ({"restock_days": days} if days else {})
                for sku, name, days in items
            ],
        }
        url = f"http://127.0.0.1:{self.app.http_port}/api/v1/purchases"
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        async with self.http.post(url, json=body, headers=headers) as response:
            answer = await response.json()
            if response.status not in (200, 201):
                raise RuntimeError(f"the purchases API said {response.status}: {answer}")
        if shopper.link is None:
            shopper.link = answer["customer_link"]
            if self.rng.random() < 0.9:  # most open the link on their receipt
                await self.say(shopper.user, "/start " + shopper.link.split("?start=", 1)[1])
                # The shop gave her phone, so the bot asks her to confirm the link with it.
                shopper.user.share_contact(body["customer"]["phone"])
                await self.tg.settle()

    def _newest_with(self, user: FakeUser, prefix: str) -> dict[str, Any] | None:
        """The user's newest message, if it has a button of `prefix` and is not seen before."""
        messages = user.bot_messages()
        if not messages:
            return None
        message = messages[-1]
        key = (user.id, message["message_id"])
        buttons = [
            b.get("callback_data", "")
            for row in message.get("reply_markup", {}).get("inline_keyboard", [])
            for b in row
        ]
        if key in self.seen or not any(b.startswith(prefix + ":") for b in buttons):
            return None
        self.seen.add(key)
        return message

    async def answer_reviews(self, shoppers: list[Shopper]) -> None:
        """Customers who just got a review request (or its reminder) answer it, or not."""
        for shopper in shoppers:
            user = shopper.user
            if self._newest_with(user, ReviewRatingCb.__prefix__) is None:
                continue
            if self.rng.random() < 0.3:
                continue  # ignores this one
            rating = max(1, min(5, round(self.rng.gauss(1 + 4 * shopper.mood, 0.9))))
            await self.press(
                user, ReviewRatingCb.__prefix__, lambda d, r=rating: d.endswith(f":{r}")
            )
            nps = max(0, min(10, round(self.rng.gauss(10 * shopper.mood, 1.5))))
            await self.press(user, ReviewNpsCb.__prefix__, lambda d, s=nps: d.endswith(f":{s}"))
            await self.press(user, ReviewSkipCb.__prefix__)

    async def resolve_alerts(self) -> None:
        while self.rng.random() < 0.7 and await self.press(self.admin, AlertResolveCb.__prefix__):
            pass

    async def repurchase(self, shoppers: list[Shopper]) -> None:
        """Customers who just got a restock reminder may buy the item again."""
        for shopper in shoppers:
            reminder = self._newest_with(shopper.user, RestockCb.__prefix__)
            if reminder is None or self.rng.random() >= shopper.loyal:
                continue
            text = reminder.get("text", "")
            bought = [p for p in PRODUCTS if p[1] in text] or [PRODUCTS[0]]
            await self.buy(shopper, bought[:1])

    # --- the story ----------------------------------------------------------------------------
    async def run(self) -> tuple[str, dict[str, bytes]]:
        people = await self.employees()
        await self.wave("Весна 2026", people, 1)
        await self.say(self.admin, "/target 22")
        shoppers = [
            Shopper(
                self.tg.user(5000 + i, f"Клиент {i}", language_code="ru"),
                f"SHOP-{i:04d}",
                mood=self.rng.betavariate(5, 2),
                loyal=self.rng.uniform(0.2, 0.8),
            )
            for i in range(self.customers)
        ]
        async with aiohttp.ClientSession() as self.http:
            for day in range(self.days):
                for shopper in shoppers:
                    if self.rng.random() < 0.035:
                        basket = self.rng.sample(PRODUCTS, self.rng.randint(1, 2))
                        await self.buy(shopper, list(basket))
                await self.day()
                await self.answer_reviews(shoppers)
                await self.repurchase(shoppers)
                if day % 7 == 6:
                    await self.resolve_alerts()
                if day == self.days - 14:
                    await self.wave("Лето 2026", people, 2)
        return await self.finish()

    async def finish(self) -> tuple[str, dict[str, bytes]]:
        """The admin's final /report and /export: the text they read and the files they got."""
        seen_messages = len(self.admin.bot_messages())
        seen_files = len(self.admin.documents())
        await self.say(self.admin, "/report")
        await self.say(self.admin, "/export")
        texts = [m["text"] for m in self.admin.bot_messages()[seen_messages:] if "text" in m]
        files = {f.filename: f.content for f in self.admin.documents()[seen_files:]}
        return "\n\n".join(texts), files


def save(out: Path, files: dict[str, bytes]) -> list[str]:
    out.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (out / name).write_bytes(content)
    return sorted(files)


async def run_demo(
    out: Path,
    *,
    days: int = DAYS,
    customers: int = CUSTOMERS,
    serve: bool = False,
    port: int = 8080,
) -> int:
    """The demo; with `serve`, the app then stays up with the dashboard and a sign-in link is
    printed, until Ctrl+C."""
    began = time.perf_counter()
    clock = FakeClock(START)
    with tempfile.TemporaryDirectory(prefix="feedback-bot-demo-") as folder:
        async with BotAPIEmulator(TOKEN) as tg:
            settings = _settings(tg, Path(folder), port if serve else 0)
            app = build_app(settings, clock=clock, handle_as_tasks=False, polling_timeout=1)
            # The demo's clock runs about 250,000 times faster than the real one, so Telegram's
            # «one message a second per chat» (kept in real seconds) would only make it wait.
            app.outbox.sender.pacer.per_chat_interval = 0.0
            await app.start()
            try:
                demo = Demo(tg, app, clock, days=days, customers=customers)
                report, files = await demo.run()
                saved = await asyncio.to_thread(save, out, files)
                print(report)
                print()
                _closing(out, saved, days, clock, began)
                if serve:
                    await _serve(app)
            finally:
                await app.stop()
    return 0


def _closing(out: Path, saved: list[str], days: int, clock: FakeClock, began: float) -> None:
    print(f"Сохранено в {out}/: {', '.join(saved)}")
    print(
        f"Смоделировано дней: {days} ({START:%d.%m.%Y} – {clock.now():%d.%m.%Y}) за "
        f"{time.perf_counter() - began:.0f} с, без сети: Bot API — эмулятор в этом процессе."
    )


async def _serve(app: BotApp) -> None:
    """Keep the demo's app up and print a one-time sign-in link, as /dashboard would send."""
    from bot.dashboard import service
    from bot.dashboard.links import DashboardLinks

    links = DashboardLinks(app.settings, lambda: app.http_port)
    token = await service.issue_link(app.db, ADMIN_ID, app.clock.now())
    print()
    print(f"Дашборд демо: {links.base}/")
    print(f"Вход (ссылка действует один раз): {links.sign_in(token)}", flush=True)
    print("Остановить: Ctrl+C.", flush=True)
    await stop_on_signals().wait()  # Ctrl+C, also when started in the background
