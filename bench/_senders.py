"""Webhook senders in a process of their own, as a shop's servers are: the bot's event loop then
does only the bot's work, not the senders' too (bench/ingest.py runs both ways).

    python -m bench._senders URL SECRET CONCURRENCY BODIES_FILE   (one JSON body per line)

Prints one JSON line: the run's seconds and each request's latency.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import aiohttp

from bot.integrations.signatures import hmac_base64


async def run(url: str, secret: str, concurrency: int, bodies: list[bytes]) -> dict[str, object]:
    latencies: list[float] = []
    queue = list(reversed(bodies))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            while queue:
                raw = queue.pop()
                headers = {
                    "Content-Type": "application/json",
                    "X-Shopify-Topic": "orders/create",
                    "X-Shopify-Hmac-Sha256": hmac_base64(secret, raw),
                }
                started = time.perf_counter()
                async with session.post(url, data=raw, headers=headers) as response:
                    await response.read()
                    if response.status != 201:
                        raise RuntimeError(f"{response.status}: {await response.text()}")
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "latencies": latencies}


def main() -> None:
    url, secret, concurrency, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    with open(path, "rb") as lines:
        bodies = [line.rstrip(b"\n") for line in lines if line.strip()]
    print(json.dumps(asyncio.run(run(url, secret, concurrency, bodies))))


if __name__ == "__main__":
    main()
