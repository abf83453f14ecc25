"""Steps of the plan features as people take them, through the emulator."""

from __future__ import annotations

from collections.abc import Sequence

from bot.app import BotApp
from bot.callbacks import PlanQuestionCb
from bot.emulator import BotAPIEmulator, FakeUser
from tests.survey_helpers import admin, answer, invite_link, join, start_wave


async def tick(tg: BotAPIEmulator, app: BotApp, times: int = 2) -> None:
    """Outbox ticks: the first runs the rituals' sweeps, the next sends what they queued."""
    for _ in range(times):
        await app.outbox.tick()
        await tg.settle()


async def team(tg: BotAPIEmulator, departments: dict[str, Sequence[int]]) -> dict[int, FakeUser]:
    people: dict[int, FakeUser] = {}
    for department, ids in departments.items():
        link = await invite_link(tg, department)
        for uid in ids:
            people[uid] = tg.user(uid, f"E{uid}")
            await join(tg, people[uid], link)
    return people


async def wave(
    tg: BotAPIEmulator,
    app: BotApp,
    people: dict[int, FakeUser],
    scores: dict[int, Sequence[int]],
    comments: dict[int, str | None],
    title: str,
) -> None:
    """A whole wave: open, everyone answers (and comments or skips), close."""
    await start_wave(tg, app, title)
    for uid, user in people.items():
        await answer(tg, user, scores[uid])
        text = comments.get(uid)
        if text is None:
            user.click("Пропустить")
        else:
            user.send(text)
        await tg.settle()
    admin(tg).send("/survey_close")
    await tg.settle()


def report_text(tg: BotAPIEmulator, since: int) -> str:
    return "\n".join(admin(tg).texts()[since:])


async def report(tg: BotAPIEmulator, args: str = "survey") -> str:
    boss = admin(tg)
    seen = len(boss.texts())
    boss.send(f"/report {args}".strip())
    await tg.settle()
    return report_text(tg, seen)


async def plan(
    tg: BotAPIEmulator,
    app: BotApp,
    *,
    question: int,
    title: str | None,
    owner: FakeUser | None,
    due: str,
) -> None:
    """/plan through its steps; `title` None when it is prefilled (from a comment or suggestion);
    `owner` None picks «Me» from the list."""
    boss = admin(tg)
    if title is not None:
        boss.send("/plan")
        await tg.settle()
    boss.press_data(PlanQuestionCb(question=question).pack())
    await tg.settle()
    if title is not None:
        boss.send(title)
        await tg.settle()
    if owner is None:
        boss.click("🙋 Я")
    else:
        boss.share_users(12, [owner])
    await tg.settle()
    boss.click(due)
    await tg.settle()
    await tick(tg, app, 1)


async def select(app: BotApp, sql: str, *params: object) -> list[dict[str, object]]:
    """Rows of any query, as dicts (read from a snapshot)."""
    async with app.db.read() as conn, conn.execute(sql, params) as cur:
        return [dict(row) for row in await cur.fetchall()]
