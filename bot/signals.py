"""Stopping on SIGTERM and SIGINT, whatever the process inherited."""

from __future__ import annotations

import asyncio
import signal


def stop_on_signals() -> asyncio.Event:
    """An event the running loop sets on SIGTERM or SIGINT.

    Handled by the loop rather than left to Python and asyncio.run: a process started in the
    background by a script inherits SIGINT ignored, and then neither installs a handler; SIGTERM
    (a service manager's or a container's stop) would otherwise kill it without a clean stop.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop
