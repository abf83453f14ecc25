"""Steps of the survey as people take them, through the emulator."""

from __future__ import annotations

from collections.abc import Sequence

from bot.app import BotApp
from bot.emulator import BotAPIEmulator, FakeUser
from tests.conftest import ADMIN_ID


def admin(tg: BotAPIEmulator) -> FakeUser:
    return tg.user(ADMIN_ID, "Olga", username="olga_hr")


async def invite_link(tg: BotAPIEmulator, department: str) -> str:
    boss = admin(tg)
    boss.send(f"/invite {department}")
    await tg.settle()
    link = next(line for line in boss.last["text"].splitlines() if line.startswith("https://"))
    return link


async def join(tg: BotAPIEmulator, user: FakeUser, link: str) -> None:
    payload = link.split("?start=", 1)[1]
    user.send(f"/start {payload}")
    await tg.settle()


async def start_wave(tg: BotAPIEmulator, app: BotApp, title: str = "Волна 1") -> None:
    admin(tg).send(f"/survey_start {title}")
    await tg.settle()
    await app.outbox.tick()


async def answer(tg: BotAPIEmulator, user: FakeUser, scores: Sequence[int]) -> None:
    """Press the given scores, one question after another, on the bot's newest message."""
    for score in scores:
        user.click(str(score))
        await tg.settle()


async def db_count(app: BotApp, sql: str, *params: object) -> int:
    async with app.db.read() as conn, conn.execute(sql, params) as cur:
        row = await cur.fetchone()
    assert row is not None
    return int(row[0])
