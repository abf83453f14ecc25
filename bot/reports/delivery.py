"""Putting a report in a chat: its text in as few messages as fit, then its charts as photos.

Shared by /report (an admin asks) and the weekly digest (the scheduler sends).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiogram import Bot
from aiogram.enums import ChatAction
from aiogram.types import BufferedInputFile

from bot.i18n import Translator
from bot.reports.assemble import Report
from bot.reports.render import pack_messages, render_report

if TYPE_CHECKING:
    from bot.reports.charts import Chart


def render_charts(tr: Translator, report: Report) -> list[Chart]:
    # matplotlib (about 45 MB) is loaded on the first report, not at every start of the bot.
    from bot.reports.charts import render_charts as draw
    from bot.reports.plans_charts import render_plan_charts

    return [*draw(tr, report), *render_plan_charts(tr, report)]


@dataclass(frozen=True)
class RenderedReport:
    messages: list[str]
    charts: list[Chart]


async def render(tr: Translator, report: Report, *, intro: str | None = None) -> RenderedReport:
    """Text at once; charts in a worker thread, so other updates go on being handled meanwhile."""
    sections = render_report(tr, report)
    if intro:
        sections.insert(0, intro)
    charts = await asyncio.to_thread(render_charts, tr, report)
    return RenderedReport(pack_messages(sections), charts)


class Interrupted(Exception):
    """The app is stopping: the rest of the report was not sent."""


def _never() -> bool:
    return False


async def send_text(
    bot: Bot, chat_id: int, rendered: RenderedReport, stop: Callable[[], bool] = _never
) -> None:
    for text in rendered.messages:
        if stop():
            raise Interrupted
        await bot.send_message(chat_id, text)


async def send_charts(
    bot: Bot, chat_id: int, rendered: RenderedReport, stop: Callable[[], bool] = _never
) -> None:
    for chart in rendered.charts:
        if stop():
            raise Interrupted
        await bot.send_photo(
            chat_id, BufferedInputFile(chart.png, filename=chart.filename), caption=chart.caption
        )


async def send_rendered(
    bot: Bot, chat_id: int, rendered: RenderedReport, stop: Callable[[], bool] = _never
) -> None:
    """Every message of the report; `stop()` is asked before each (a stopping app's bot session
    is about to close, and a send after that would open a new one that nobody closes)."""
    await send_text(bot, chat_id, rendered, stop)
    await send_charts(bot, chat_id, rendered, stop)


async def send_report(bot: Bot, chat_id: int, tr: Translator, report: Report) -> None:
    """Text first (it is ready at once), then «sending a photo…» while the charts are drawn."""
    sections = render_report(tr, report)
    charts = asyncio.create_task(asyncio.to_thread(render_charts, tr, report))
    try:
        for text in pack_messages(sections):
            await bot.send_message(chat_id, text)
        await bot.send_chat_action(chat_id, ChatAction.UPLOAD_PHOTO)
        rendered = RenderedReport([], await charts)
    finally:
        if not charts.done():
            charts.cancel()
    await send_charts(bot, chat_id, rendered)
