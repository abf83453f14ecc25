"""/target: set through the fake Bot API, refused out of range, shown in /report until reached."""

from __future__ import annotations

import pytest

from bot.app import BotApp
from bot.emulator import BotAPIEmulator
from tests.conftest import ADMIN_ID, START
from tests.report_factories import Facts
from tests.test_report_survey import ask, boss

REFUSAL = (
    "The target is a whole number from 6 to 30 (the company score of the next wave), "
    "e.g. /target 23"
)


@pytest.fixture
async def facts(app: BotApp) -> Facts:
    return Facts(app.db, START)


async def wave_scoring(facts: Facts, title: str, per_question: int, *, closed: bool = True) -> int:
    dept = await facts.department(f"Dept {title}")
    wave = await facts.wave(title, closed=closed)
    await facts.respondents(wave, dept, [[per_question] * 6] * 3)
    return wave


async def targets(facts: Facts) -> list[tuple[int, int, int | None]]:
    async with (
        facts.db.read() as conn,
        conn.execute("SELECT value, set_by, base_wave_id FROM survey_targets ORDER BY id") as cur,
    ):
        return [tuple(r) for r in await cur.fetchall()]  # type: ignore[misc]


async def test_set_a_target_for_the_next_wave(
    app: BotApp, tg: BotAPIEmulator, facts: Facts
) -> None:
    wave = await wave_scoring(facts, "2025", 3)  # 18.00
    text, _ = await ask(tg, boss(tg), "/target 23")
    assert text == (
        "🎯 Target for the next wave: 23 of 30.\nNow: 18.00 in «2025»; gap 5.00.\n"
        "The report shows it until a wave reaches it."
    )
    assert await targets(facts) == [(23, ADMIN_ID, wave)]
    report, _ = await ask(tg, boss(tg), "/report survey")
    assert "🎯 Target for the next wave: 23, gap 5.00" in report


@pytest.mark.parametrize(
    "argument",
    ["", "5", "31", "0", "-3", "23.5", "22,5", "twenty", "23 24", "+23", "２３", "1e1", "030"],
)
async def test_anything_else_is_refused_and_nothing_written(
    app: BotApp, tg: BotAPIEmulator, facts: Facts, argument: str
) -> None:
    text, _ = await ask(tg, boss(tg), f"/target {argument}".strip())
    assert text == REFUSAL
    assert await targets(facts) == []


async def test_edges_of_the_range_are_accepted(
    app: BotApp, tg: BotAPIEmulator, facts: Facts
) -> None:
    for value in ("6", "30", " 7 "):
        text, _ = await ask(tg, boss(tg), f"/target {value}")
        assert text.startswith("🎯 Target for the next wave:")
    assert [value for value, _, _ in await targets(facts)] == [6, 30, 7]


async def test_non_admins_cannot_set_a_target(
    app: BotApp, tg: BotAPIEmulator, facts: Facts
) -> None:
    text, _ = await ask(tg, tg.user(777, "Eve", language_code="en"), "/target 25")
    assert text == "Sorry, this command is for the bot's administrators only."
    assert await targets(facts) == []


async def test_shown_until_a_wave_reaches_it(app: BotApp, tg: BotAPIEmulator, facts: Facts) -> None:
    await wave_scoring(facts, "2025", 3)  # 18.00
    await ask(tg, boss(tg), "/target 24")

    await wave_scoring(facts, "2026", 3, closed=False)  # 18.00 again: not reached
    report, _ = await ask(tg, boss(tg), "/report survey")
    assert "🎯 Target: 24, gap 6.00" in report

    await wave_scoring(facts, "2027", 4)  # 24.00: reached by the latest wave
    report, _ = await ask(tg, boss(tg), "/report survey")
    assert "🎯 Target 24 reached ✓" in report

    await wave_scoring(facts, "2028", 3)  # a later wave: the reached target is not shown again
    report, _ = await ask(tg, boss(tg), "/report survey")
    assert "Target" not in report


async def test_the_newest_target_replaces_the_old_one(
    app: BotApp, tg: BotAPIEmulator, facts: Facts
) -> None:
    await wave_scoring(facts, "2025", 3)
    await ask(tg, boss(tg), "/target 20")
    await ask(tg, boss(tg), "/target 26")
    report, _ = await ask(tg, boss(tg), "/report survey")
    assert "🎯 Target for the next wave: 26, gap 8.00" in report
    assert "20," not in report


async def test_target_before_any_wave(app: BotApp, tg: BotAPIEmulator, facts: Facts) -> None:
    text, _ = await ask(tg, boss(tg), "/target 20")
    assert text.startswith("🎯 Target for the next wave: 20 of 30.")
    assert "Now:" not in text
    assert await targets(facts) == [(20, ADMIN_ID, None)]
    await wave_scoring(facts, "First", 4, closed=False)  # 24.00 ≥ 20
    report, _ = await ask(tg, boss(tg), "/report survey")
    assert "🎯 Target 20 reached ✓" in report
