"""Benchmark: purchases coming in, through the HTTP API, shops' webhooks and the CSV import.

    .venv/bin/python bench/ingest.py [--api N] [--csv-orders N] [--webhooks N] [--shopify-orders N]

Prints, with the machine beside every figure:
- the API: sequential and concurrent POST /api/v1/purchases (latency percentiles and rate),
  against two baselines run in the same process: GET /healthz through the same HTTP stack (the
  floor of any call) and `purchases.record()` called directly (the domain and SQLite alone);
- the CSV import: checking and writing rates, a repeated (idempotent) import, and how long the
  running bot's own small writes had to wait while a separate `python -m bot import-purchases`
  process held the write transaction (the all-or-nothing import takes the writer for its
  whole duration);
- signed Shopify webhooks (POST /api/v1/integrations/shopify): one sender against 16 at once,
  orders/s and the ratio (the goal: 16 senders at least 4x one, through the group commit of
  bot/customers/ingest.py, each request still all or nothing);
- an import of a Shopify orders export (default 100,000 orders, 1-3 lines each, order cells
  left blank on later lines as Shopify writes them) by `python -m bot import-purchases`, and the
  survey-press latency meanwhile: `record_answer` (the database part of a survey button press)
  every 50 ms in the running bot while the import's transaction holds the writer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app import BotApp, build_app  # noqa: E402
from bot.clock import SystemClock  # noqa: E402
from bot.customers import csv_import, purchases  # noqa: E402
from bot.customers.schema import PurchaseIn  # noqa: E402
from bot.emulator import BotAPIEmulator  # noqa: E402
from bot.integrations.signatures import hmac_base64  # noqa: E402
from bot.pseudonym import Pseudonymizer  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.survey import service as survey  # noqa: E402
from storage import Database  # noqa: E402

TOKEN = "123456:BENCH-token"
API_TOKEN = "bench-api-token"
HEADER = "order_id,customer_id,phone,name,purchased_at,sku,item_name,quantity,restock_days"


def machine() -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores, load average {load}, Python {platform.python_version()}"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def body(n: int, now: datetime, rng: random.Random) -> dict[str, Any]:
    customer = rng.randrange(max(1, n // 3) + 1)
    return {
        "order_id": f"API-{n}",
        "customer": {"id": f"C-{customer}", "phone": f"+7999{customer:07d}", "name": "Анна"},
        "purchased_at": (now - timedelta(hours=rng.randrange(48))).isoformat(),
        "items": [
            {
                "sku": f"SKU-{rng.randrange(300)}",
                "name": "Чай",
                "quantity": 1,
                "restock_days": rng.choice([14, 30, 60]),
            }
            for _ in range(rng.choice([1, 2, 3]))
        ],
    }


async def timed(calls: list[Callable[[], Awaitable[None]]], concurrency: int) -> list[float]:
    """Run the calls with at most `concurrency` in flight; return each one's latency."""
    latencies: list[float] = []
    queue = list(reversed(calls))

    async def worker() -> None:
        while queue:
            call = queue.pop()
            started = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def line(label: str, latencies: list[float], seconds: float) -> str:
    ms = [x * 1000 for x in latencies]
    return (
        f"  {label:<38} {len(ms) / seconds:8.0f}/s   p50 {pct(ms, 50):6.2f} ms   "
        f"p95 {pct(ms, 95):6.2f} ms   p99 {pct(ms, 99):6.2f} ms"
    )


async def bench_api(app: BotApp, n: int) -> None:
    base = f"http://127.0.0.1:{app.http_port}"
    headers = {"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"}
    rng = random.Random(1)
    now = app.clock.now()
    print(f"\nAPI ({n} purchases of 1-3 items; {machine()})")
    async with aiohttp.ClientSession() as session:

        async def healthz() -> None:
            async with session.get(base + "/healthz") as r:
                await r.read()

        started = time.perf_counter()
        lat = await timed([healthz] * n, 1)
        floor = time.perf_counter() - started
        print(line("baseline GET /healthz, 1 client", lat, floor))

        timing = purchases.Timing.from_settings(app.settings)
        models = [
            PurchaseIn.model_validate(body(10_000_000 + i, now, rng), strict=False)
            for i in range(n)
        ]

        def direct(model: PurchaseIn) -> Callable[[], Awaitable[None]]:
            async def call() -> None:
                await purchases.record(app.db, model, timing, now)

            return call

        started = time.perf_counter()
        lat = await timed([direct(m) for m in models], 1)
        domain = time.perf_counter() - started
        print(line("baseline purchases.record(), direct", lat, domain))

        def post(payload: dict[str, Any], expect: int) -> Callable[[], Awaitable[None]]:
            async def call() -> None:
                async with session.post(
                    base + "/api/v1/purchases", json=payload, headers=headers
                ) as r:
                    await r.read()
                    assert r.status == expect, (r.status, await r.text())

            return call

        bodies = [body(i, now, rng) for i in range(n)]
        started = time.perf_counter()
        lat = await timed([post(b, 201) for b in bodies], 1)
        sequential = time.perf_counter() - started
        print(line("POST /api/v1/purchases, 1 client", lat, sequential))
        print(
            f"  {'':<38} = {sequential / floor:.1f}x the /healthz round trip, "
            f"{sequential / domain:.1f}x the direct call"
        )

        bodies = [body(n + i, now, rng) for i in range(n)]
        started = time.perf_counter()
        lat = await timed([post(b, 201) for b in bodies], 16)
        print(line("POST /api/v1/purchases, 16 clients", lat, time.perf_counter() - started))

        started = time.perf_counter()
        lat = await timed([post(b, 200) for b in bodies], 16)
        print(line("the same orders again (200), 16 clients", lat, time.perf_counter() - started))


def write_csv(path: Path, orders: int, now: datetime) -> int:
    rng = random.Random(7)
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER + "\n")
        for o in range(orders):
            customer = rng.randrange(orders // 3 + 1)
            at = (now - timedelta(minutes=rng.randrange(20 * 24 * 60))).isoformat()
            for _ in range(rng.choice([1, 2, 3, 4])):
                sku = f"SKU-{rng.randrange(300)}"
                days = rng.choice(["", "14", "30", "60"])
                out.write(
                    f"O-{o},K-{customer},+7998{customer:07d},Покупатель {customer},{at},"
                    f"{sku},Товар {sku},{rng.randrange(1, 5)},{days}\n"
                )
                rows += 1
    return rows


async def bench_csv(app: BotApp, settings: Settings, folder: Path, orders: int) -> None:
    path = folder / "purchases.csv"
    now = app.clock.now()
    rows = write_csv(path, orders, now)
    size = path.stat().st_size / 1e6
    print(f"\nCSV import ({orders} orders, {rows} rows, {size:.1f} MB; {machine()})")

    started = time.perf_counter()
    with path.open(newline="", encoding="utf-8") as stream:
        parsed = csv_import.parse(stream, now)
    checking = time.perf_counter() - started
    print(f"  checking (parse + validate, no database)  {rows / checking:8.0f} rows/s")

    # The import as an operator runs it: another process, while this bot runs and writes.
    env = {**os.environ, "BOT_TOKEN": TOKEN, "DATABASE_PATH": str(settings.database_path)}
    waits: list[float] = []
    stop = asyncio.Event()

    async def bot_writes() -> None:
        # What a handler does: a small write transaction, every 50 ms.
        while not stop.is_set():
            started = time.perf_counter()
            async with app.db.write() as conn:
                await conn.execute("UPDATE customers SET language = language WHERE id = 1")
            waits.append(time.perf_counter() - started)
            await asyncio.sleep(0.05)

    writer = asyncio.create_task(bot_writes())
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "import-purchases", str(path),
        env=env, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    whole = time.perf_counter() - started
    stop.set()
    await writer
    assert proc.returncode == 0, err.decode()
    print(
        f"  python -m bot import-purchases, end to end  {whole:8.1f} s   ({out.decode().strip()})"
    )
    print(
        f"  the bot's small writes meanwhile: {len(waits)} took p50 {pct(waits, 50) * 1000:.1f} ms,"
        f" max {max(waits):.2f} s (the import writes in transactions of about"
        f" {csv_import.BATCH_SECONDS} s and pauses between them; SQLite's busy timeout is 10 s)"
    )

    # The write phase alone, in this process, on fresh databases: the batch path the import
    # uses, against record_purchase order by order (the API's path) as the baseline.
    timing = purchases.Timing.from_settings(app.settings)
    baseline_db = Database(folder / "baseline.sqlite3")
    await baseline_db.open()
    try:
        started = time.perf_counter()
        async with baseline_db.write() as conn:
            for _, purchase in parsed.orders:
                await purchases.record_purchase(conn, purchase, timing, now)
        baseline = time.perf_counter() - started
    finally:
        await baseline_db.close()
    print(
        f"  writing order by order (record_purchase)  {orders / baseline:8.0f} orders/s"
        f"   = {baseline * 1000 / orders:.2f} ms an order, {baseline:.1f} s holding the writer"
    )

    fresh = Database(folder / "fresh.sqlite3")
    await fresh.open()
    try:
        started = time.perf_counter()
        summary, _ = await csv_import.write(fresh, parsed.orders, timing, now)
        writing = time.perf_counter() - started
        print(
            f"  writing as the import does (record_batch) {orders / writing:8.0f} orders/s"
            f"   = {writing * 1000 / orders:.2f} ms an order, {writing:.1f} s holding the writer"
            f"  ({baseline / writing:.1f}x faster)"
        )
        started = time.perf_counter()
        again, _ = await csv_import.write(fresh, parsed.orders, timing, now)
        repeat = time.perf_counter() - started
        assert again.imported == 0
        print(f"  the same file again (all skipped)          {orders / repeat:8.0f} orders/s")
        print(f"  {summary}")
    finally:
        await fresh.close()


SHOPIFY_SECRET = "bench-shopify-secret"
SHOPIFY_HEADER = (
    "Name,Email,Financial Status,Paid at,Fulfillment Status,Currency,Total,Created at,"
    "Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,Billing Name,Billing Phone,Id"
)


def shopify_order(n: int, now: datetime, rng: random.Random) -> bytes:
    customer = rng.randrange(max(1, n // 3) + 1)

    return json.dumps(
        {
            "id": 5_000_000 + n,
            "name": f"#W{n}",
            "email": f"c{customer}@example.com",
            "created_at": (now - timedelta(hours=rng.randrange(48))).isoformat(),
            "currency": "RUB",
            "billing_address": {"name": "Анна", "phone": f"+7997{customer:07d}"},
            "line_items": [
                {
                    "sku": f"SKU-{rng.randrange(300)}",
                    "name": "Чай",
                    "quantity": rng.randrange(1, 4),
                    "price": f"{rng.randrange(100, 5000)}.00",
                    "gift_card": False,
                }
                for _ in range(rng.choice([1, 2, 3]))
            ],
        }
    ).encode()


async def bench_webhooks(app: BotApp, n: int) -> None:
    base = f"http://127.0.0.1:{app.http_port}/api/v1/integrations/shopify"
    rng = random.Random(3)
    now = app.clock.now()
    print(f"\nShopify webhooks ({n} signed orders of 1-3 items per run; {machine()})")
    rates = {}
    async with aiohttp.ClientSession() as session:

        def post(raw: bytes) -> Callable[[], Awaitable[None]]:
            headers = {
                "Content-Type": "application/json",
                "X-Shopify-Topic": "orders/create",
                "X-Shopify-Hmac-Sha256": hmac_base64(SHOPIFY_SECRET, raw),
            }

            async def call() -> None:
                async with session.post(base, data=raw, headers=headers) as r:
                    await r.read()
                    assert r.status == 201, (r.status, await r.text())

            return call

        for senders, offset in ((1, 0), (16, n)):
            bodies = [shopify_order(20_000_000 + offset + i, now, rng) for i in range(n)]
            group = app.db.group_commit(_ingest_apply(), inline=True)
            batches, items, in_txn = group.batches, group.items, group.seconds
            started = time.perf_counter()
            lat = await timed([post(b) for b in bodies], senders)
            seconds = time.perf_counter() - started
            rates[senders] = n / seconds
            done = max(1, group.batches - batches)
            per = (group.items - items) / done
            # Where the time goes: the share of the run inside write transactions, and one
            # transaction's length (its statements are round trips to SQLite's thread).
            print(
                line(f"orders/create, {senders} sender{'s' if senders > 1 else ''}", lat, seconds)
                + f"   {per:.1f} orders a transaction, "
                f"{(group.seconds - in_txn) / done * 1000:.2f} ms each, "
                f"{(group.seconds - in_txn) / seconds:.0%} of the run in them"
            )
    print(f"  {'':<38} 16 senders = {rates[16] / rates[1]:.1f}x one sender")
    await bench_external_webhooks(app, n, base, rng, now)


async def bench_external_webhooks(
    app: BotApp, n: int, base: str, rng: random.Random, now: datetime
) -> None:
    """The same, with the senders in another process (as a shop's servers are): the figures
    above share one event loop between the senders and the bot."""
    rates = {}
    with tempfile.TemporaryDirectory() as folder:
        for senders, offset in ((1, 2 * n), (16, 3 * n)):
            path = Path(folder) / f"bodies-{senders}.jsonl"
            path.write_bytes(
                b"\n".join(shopify_order(20_000_000 + offset + i, now, rng) for i in range(n))
            )
            cpu_before = _cpu_seconds()
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench._senders", base, SHOPIFY_SECRET, str(senders),
                str(path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            )  # fmt: skip
            out, err = await proc.communicate()
            if proc.returncode != 0:
                raise RuntimeError(err.decode())
            cpu = [
                (after - before) / n * 1000
                for after, before in zip(_cpu_seconds(), cpu_before, strict=True)
            ]
            result = json.loads(out)
            rates[senders] = n / result["seconds"]
            label = f"orders/create, {senders} sender{'s' if senders > 1 else ''} (own process)"
            # CPU an order: the bot's (its event loop and SQLite's thread share one GIL) and the
            # senders' (start-up included): on a machine of few cores the crowd's rate is bound
            # by these, the lone sender's by the round trips.
            print(
                line(label, result["latencies"], result["seconds"])
                + f"   CPU an order: bot {cpu[0]:.2f} ms, senders {cpu[1]:.2f} ms"
            )
    print(f"  {'':<38} 16 senders = {rates[16] / rates[1]:.1f}x one sender (own process)")


def _cpu_seconds() -> tuple[float, float]:
    """(this process's CPU seconds, its finished children's)."""
    me, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime, children.ru_utime + children.ru_stime


def _ingest_apply() -> Any:
    from bot.customers import ingest

    return ingest._apply


def write_shopify_csv(path: Path, orders: int, now: datetime) -> int:
    """Shopify's export: every line repeats Name and Email; the order's other cells are on its
    first line only."""
    rng = random.Random(11)
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(SHOPIFY_HEADER + "\n")
        for o in range(orders):
            customer = rng.randrange(orders // 3 + 1)
            at = (now - timedelta(minutes=rng.randrange(20 * 24 * 60))).strftime(
                "%Y-%m-%d %H:%M:%S +0000"
            )
            for line_no in range(rng.choice([1, 2, 3])):
                sku = f"SKU-{rng.randrange(300)}"
                price = f"{rng.randrange(100, 5000)}.00"
                if line_no == 0:
                    out.write(
                        f"#{1000 + o},c{customer}@example.com,paid,{at},unfulfilled,RUB,,{at},"
                        f"{rng.randrange(1, 4)},Товар {sku},{price},{sku},Покупатель {customer},"
                        f"+7996{customer:07d},{9_000_000 + o}\n"
                    )
                else:
                    out.write(
                        f"#{1000 + o},c{customer}@example.com,,,,,,,{rng.randrange(1, 4)},"
                        f"Товар {sku},{price},{sku},,,\n"
                    )
                rows += 1
    return rows


async def bench_shopify_import(app: BotApp, settings: Settings, folder: Path, orders: int) -> None:
    path = folder / "shopify_orders.csv"
    now = app.clock.now()
    rows = write_shopify_csv(path, orders, now)
    size = path.stat().st_size / 1e6
    print(f"\nShopify export import ({orders} orders, {rows} lines, {size:.1f} MB; {machine()})")

    # A survey open in the running bot, and one employee pressing a score button every 50 ms.
    keys = Pseudonymizer(b"bench")
    payload, _ = await survey.create_invite(app.db, "Продажи", 1, now)
    await survey.join(app.db, payload, 777, "ru", now, reminder_days=3)
    wave = await survey.start_wave(app.db, "Bench", 1, now, reminder_days=3)
    presses: list[float] = []
    failed: list[float] = []
    stop = asyncio.Event()

    async def pressing() -> None:
        score = 1
        while not stop.is_set():
            score = score % 5 + 1
            started = time.perf_counter()
            try:
                await survey.record_answer(
                    app.db,
                    keys,
                    telegram_id=777,
                    wave_id=wave.wave.id,
                    question=1,
                    score=score,
                    change=True,
                    now=app.clock.now(),
                )
            except sqlite3.OperationalError:
                # Waited out SQLite's busy timeout behind the import's write transaction: the
                # press is lost (the handler would answer «try again»).
                failed.append(time.perf_counter() - started)
            else:
                presses.append(time.perf_counter() - started)
            await asyncio.sleep(0.05)

    env = {
        **os.environ,
        "BOT_TOKEN": TOKEN,
        "DATABASE_PATH": str(settings.database_path),
        "PSEUDONYM_SECRET": "bench",
    }
    presser = asyncio.create_task(pressing())
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "import-purchases", "--format", "shopify", str(path),
        env=env, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    whole = time.perf_counter() - started
    stop.set()
    await presser
    assert proc.returncode == 0, err.decode()[-2000:]
    first = out.decode().strip().splitlines()[0]
    print(
        f"  python -m bot import-purchases --format shopify  {whole:6.1f} s"
        f" = {orders / whole:6.0f} orders/s"
    )
    print(f"  ({first})")
    print(
        f"  survey presses meanwhile: {len(presses)} answered, p50 {pct(presses, 50) * 1000:.1f}"
        f" ms, p95 {pct(presses, 95) * 1000:.1f} ms, max {max(presses):.2f} s; {len(failed)} "
        "failed with «database is locked» after SQLite's 10 s busy timeout (the all-or-nothing "
        "import holds the writer for its whole write phase)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--api", type=int, default=2000, help="purchases per API run")
    parser.add_argument("--csv-orders", type=int, default=10_000, help="orders in the CSV")
    parser.add_argument("--webhooks", type=int, default=2000, help="Shopify webhooks per run")
    parser.add_argument(
        "--shopify-orders", type=int, default=100_000, help="orders in the Shopify export"
    )
    args = parser.parse_args()
    # The real clock: the import subprocess uses it too, so both see the same "now".
    clock = SystemClock()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        async with BotAPIEmulator(TOKEN) as tg:
            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]
                bot_token=TOKEN,
                telegram_api_url=tg.base_url,
                database_path=folder / "bot.sqlite3",
                http_port=0,
                pseudonym_secret="bench",
                api_token=API_TOKEN,
                shopify_webhook_secret=SHOPIFY_SECRET,
                report_cron="",
                scheduler_tick_seconds=3600,
            )
            app = build_app(settings, clock=clock)
            await app.start(polling=False)
            try:
                if args.api:
                    await bench_api(app, args.api)
                if args.webhooks:
                    await bench_webhooks(app, args.webhooks)
                if args.csv_orders:
                    await bench_csv(app, settings, folder, args.csv_orders)
                if args.shopify_orders:
                    await bench_shopify_import(app, settings, folder, args.shopify_orders)
            finally:
                await app.stop()
    print(f"\nstatistics: Python {platform.python_version()}, SQLite {_sqlite_version()}")


def _sqlite_version() -> str:
    import sqlite3

    return sqlite3.sqlite_version


if __name__ == "__main__":
    asyncio.run(main())
