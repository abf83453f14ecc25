"""`python -m bot demo --serve`: the demo's data on the dashboard, a sign-in link printed."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from bot.app import STOP_TIMEOUT

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
async def test_demo_serve_prints_a_link_that_opens_the_dashboard(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(("BOT_", "ADMIN_"))}
    env["PYTHONPATH"] = str(ROOT)
    env["PYTHONFAULTHANDLER"] = "1"  # a stop that hangs is killed by SIGABRT with its stacks
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "demo", "--serve", "--port", "0", "--days", "15",
        "--customers", "6", "--out", str(tmp_path / "out"),
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        # As a script's background job starts it: SIGINT ignored, which asyncio.run alone would
        # leave so (the demo then never stopped on Ctrl+C); the demo handles it itself.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )  # fmt: skip
    try:
        assert process.stdout is not None
        link = None
        deadline = time.monotonic() + 120
        printed = []
        while link is None and time.monotonic() < deadline:
            line = (await asyncio.wait_for(process.stdout.readline(), 120)).decode()
            if not line:
                break
            printed.append(line)
            found = re.search(r"Вход \(ссылка действует один раз\): (\S+)", line)
            link = found.group(1) if found else None
        assert link, "".join(printed)[-2000:]
        assert any(line.startswith("Сохранено в ") for line in printed)
        base = link.split("/dashboard/")[0]
        # unsafe: keep cookies from an IP address (127.0.0.1), as a browser does.
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.get(link) as page:
                token = re.search(r'name="token" value="([^"]+)"', await page.text())
            assert token
            async with http.post(
                base + "/dashboard/login", data={"token": token.group(1)}, headers={"Origin": base}
            ) as overview:
                assert overview.status == 200
                html = await overview.text()
        assert "Индекс зрелости" in html
        assert 'data-figure="nps"' in html
    finally:
        process.send_signal(signal.SIGINT)
        try:
            # The app stops within STOP_TIMEOUT (8 s) on an idle machine; a loaded CI runner
            # gets three times that before the stop counts as hung.
            await asyncio.wait_for(process.wait(), 3 * STOP_TIMEOUT)
        except TimeoutError:
            process.send_signal(signal.SIGABRT)  # faulthandler writes every thread's stack
            await asyncio.wait_for(process.wait(), 20)
        finally:
            if process.returncode is None:
                process.kill()
    assert process.stderr is not None
    assert process.returncode == 0, (await process.stderr.read()).decode()[-6000:]
