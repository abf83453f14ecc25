"""Issue 10, item 7: a big CSV import does not freeze the running bot, and a re-run completes one
that was cut off. Through the real command line (another process, as an operator runs it)
against the database of a running app.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.app import BotApp
from tests.conftest import TOKEN
from tests.promises_helpers import post_purchase, purchase_body, query

ROOT = Path(__file__).resolve().parents[1]
ORDERS = 20_000
HEADER = "order_id,customer_id,phone,name,purchased_at,sku,item_name,quantity,restock_days"

pytestmark = pytest.mark.slow  # a fresh interpreter and 20,000 orders: a few seconds


def write_csv(path: Path, orders: int, now: datetime) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER + "\n")
        for n in range(orders):
            at = (now - timedelta(days=1, minutes=n % 600)).isoformat()
            customer = n % 5000
            out.write(
                f"IMP-{n},K-{customer},+7998{customer:07d},Покупатель {customer},{at},"
                f"SKU-{n % 50},Товар {n % 50},1,30\n"
            )
    return path


def start_import(app: BotApp, csv: Path) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "BOT_TOKEN": TOKEN,
        "DATABASE_PATH": str(app.settings.database_path),
        "PSEUDONYM_SECRET": "test-pseudonym-secret",
        # This checkout's code, whatever is installed (the file's folder is the cwd).
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "import-purchases", str(csv)],
        env=env,
        cwd=csv.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def imported(app: BotApp) -> int:
    [row] = await query(app, "SELECT count(*) AS n FROM orders WHERE order_id LIKE 'IMP-%'")
    return int(row["n"])


async def wait_for_first_rows(app: BotApp, process: subprocess.Popen[str]) -> int:
    """Wait until some imported orders are visible, or the import has ended."""
    async with asyncio.timeout(120):
        while process.poll() is None:
            count = await imported(app)
            if count:
                return count
            await asyncio.sleep(0.02)
    return await imported(app)


async def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = await asyncio.to_thread(process.communicate, timeout=180)
    return process.returncode, out, err


async def test_the_bot_writes_while_a_big_import_runs(app: BotApp, tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "big.csv", ORDERS, datetime.now().astimezone())
    process = start_import(app, csv)

    seen = await wait_for_first_rows(app, process)
    # The shop's own API call comes in while the import is under way: it is stored at once,
    # between two of the import's batches, not after the whole file.
    await post_purchase(app, purchase_body("API-1", "api-cust", app.clock.now()))
    code, out, err = await finish(process)

    assert code == 0, err
    assert f"Импортировано заказов: {ORDERS} " in out
    assert seen < ORDERS, "no imported order was visible before the import ended"
    [api] = await query(app, "SELECT id FROM orders WHERE order_id = 'API-1'")
    [last] = await query(app, "SELECT max(id) AS id FROM orders WHERE order_id LIKE 'IMP-%'")
    assert api["id"] < last["id"], "the bot's write waited for the whole import"


async def test_a_rerun_completes_an_interrupted_import(app: BotApp, tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "big.csv", ORDERS, datetime.now().astimezone())
    process = start_import(app, csv)
    await wait_for_first_rows(app, process)
    process.send_signal(signal.SIGKILL)  # a power cut, an operator's Ctrl+\ …
    await finish(process)
    cut = await imported(app)

    code, out, err = await finish(start_import(app, csv))

    assert code == 0, err
    assert await imported(app) == ORDERS
    assert f"импортированы раньше: {cut};" in out
    # Nothing twice: one order row per order id, one review request per review.
    [dupes] = await query(
        app,
        "SELECT count(*) AS n FROM (SELECT review_id FROM orders WHERE review_id IS NOT NULL "
        "GROUP BY review_id HAVING count(DISTINCT customer_id) > 1)",
    )
    assert dupes["n"] == 0
    [requests] = await query(
        app,
        "SELECT count(*) AS n, count(DISTINCT ref_id) AS refs FROM outbox "
        "WHERE kind = 'review_request'",
    )
    assert requests["n"] == requests["refs"]
