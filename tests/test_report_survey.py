"""/report's survey part through the fake Bot API, against hand-computed figures.

Wave «2026» (open): ten complete responses, one partial, two invited who never answered.
  Sales (4):   4 3 5 2 4 4 | 3 3 3 3 3 3 | 5 4 5 4 4 4 | 4 4 4 4 4 4   → 22.50
  Support (3): 2 2 3 1 3 3 | 3 3 3 2 3 4 | 4 4 4 3 4 4                 → 18.33
  Legal (1):   5 5 5 5 5 5;  IT (2): 1 1 1 1 1 1 | 2 2 2 2 2 2         → «Others» (3) 16.00
  Company: 193 / 10 = 19.30 (transitional); per question 3.30 3.10 3.50 2.70 3.30 3.40.
  Response rate 10 / 13 = 77%.
Wave «2025» (closed): Sales, 3 3 3 3 3 3 | 3 2 3 2 3 3 | 4 3 4 3 4 3 → 18.33, invited 4 (75%).
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.app import BotApp
from bot.emulator import BotAPIEmulator, FakeUser
from tests.conftest import ADMIN_ID, START
from tests.report_factories import Facts

SALES = [[4, 3, 5, 2, 4, 4], [3, 3, 3, 3, 3, 3], [5, 4, 5, 4, 4, 4], [4, 4, 4, 4, 4, 4]]
SUPPORT = [[2, 2, 3, 1, 3, 3], [3, 3, 3, 2, 3, 4], [4, 4, 4, 3, 4, 4]]
WAVE_2025 = [[3, 3, 3, 3, 3, 3], [3, 2, 3, 2, 3, 3], [4, 3, 4, 3, 4, 3]]


def boss(tg: BotAPIEmulator, language: str = "en") -> FakeUser:
    return tg.user(ADMIN_ID, "Olga", language_code=language)


async def ask(tg: BotAPIEmulator, user: FakeUser, command: str) -> tuple[str, list[Any]]:
    """Send a command; the text the user then sees, and the photos sent."""
    seen, photos = len(user.bot_messages()), len(tg.calls_of("sendPhoto"))
    user.send(command)
    await tg.settle()
    new = user.bot_messages()[seen:]
    text = "\n".join(m.get("text", "") for m in new if "text" in m)
    return text, tg.calls_of("sendPhoto")[photos:]


@pytest.fixture
async def facts(app: BotApp) -> Facts:
    return Facts(app.db, START)


async def two_waves(facts: Facts, *, legal_and_it: bool = True) -> dict[str, int]:
    sales, support = await facts.department("Sales"), await facts.department("Support")
    legal, it = await facts.department("Legal"), await facts.department("IT & <Ops>")
    w1 = await facts.wave("2025", opened_at=START.replace(year=2025))
    await facts.respondents(w1, sales, WAVE_2025, invited_extra=1)
    w2 = await facts.wave("2026", closed=False)
    await facts.respondents(w2, sales, [*SALES, [5, 5]], invited_extra=2)
    await facts.respondents(w2, support, SUPPORT)
    if legal_and_it:
        await facts.respondents(w2, legal, [[5] * 6])
        await facts.respondents(w2, it, [[1] * 6, [2] * 6])
    return {"w1": w1, "w2": w2, "legal": legal}


async def test_survey_figures_exactly(app: BotApp, tg: BotAPIEmulator, facts: Facts) -> None:
    await two_waves(facts)
    text, photos = await ask(tg, boss(tg), "/report survey")

    assert "Survey «2026» (open since 12.01.2026)" in text
    assert "Invited: 13 · responded: 10 · response rate: 77% (▲ +2 pp)" in text
    assert "Company score: 19.30 of 30 (▲ +0.97 vs «2025»)" in text
    assert "Transitional level: Customer-centricity is partly in place" in text
    assert "Q1: 3.30 — Customer in decisions (▼ −0.03)" in text
    assert "Q2: 3.10 — Internal service (▲ +0.43)" in text
    assert "Q3: 3.50 ⬆ strongest — Collecting feedback (▲ +0.17)" in text
    assert "Q4: 2.70 ⬇ weakest — Using feedback (▲ +0.03)" in text
    assert "Q5: 3.30 — Customer journey (▼ −0.03)" in text
    assert "Q6: 3.40 — One team (▲ +0.40)" in text
    # The development step of the weakest question: use feedback, not just collect it.
    assert "Next step (Q4): Use feedback, not just collect it" in text
    assert "Customers, last" not in text  # /report survey: the survey only
    assert len(photos) == 2  # the survey chart and the departments heatmap
    assert all(p.status == 200 for p in photos)


async def test_departments_small_ones_pooled_as_others(
    app: BotApp, tg: BotAPIEmulator, facts: Facts
) -> None:
    await two_waves(facts)
    text, _ = await ask(tg, boss(tg), "/report survey")
    lines = text.splitlines()
    assert "Sales: 4 respondents, index 22.5" in lines
    assert (
        lines[lines.index("Sales: 4 respondents, index 22.5") + 1]
        == "🟨4.0 🟨3.5 🟨4.3 🟧3.3 🟨3.8 🟨3.8"
    )
    assert "Support: 3 respondents, index 18.3" in lines
    assert "Others (2 departments): 3 respondents, index 16.0" in lines
    assert "Legal" not in text
    assert "IT &amp; &lt;Ops&gt;" not in text
    assert "IT & <Ops>" not in text
    assert (
        "Departments with fewer than 3 respondents: 2; they are shown together as «Others», "
        "to keep answers confidential." in text
    )


async def test_a_small_department_alone_is_protected_by_hiding_another(
    app: BotApp, tg: BotAPIEmulator, facts: Facts
) -> None:
    # Issue 9, rule 2 (this test asserted the old rule: Legal left out, Sales and Support
    # shown — and Legal's one answer was then company − Sales − Support). Now Support, the
    # smallest shown department, is pooled with Legal, so nobody stands alone.
    ids = await two_waves(facts, legal_and_it=False)
    await facts.respondents(ids["w2"], ids["legal"], [[5] * 6])
    text, _ = await ask(tg, boss(tg), "/report survey")
    assert "Legal" not in text
    assert "Support:" not in text
    assert "Sales: 4 respondents, index 22.5" in text
    # Support 55 + Legal 30 = 85 over 4 = 21.25
    assert "Others (2 departments): 4 respondents, index 21.3" in text
    assert "Departments hidden to protect a smaller group: 1" in text
    # The company figures still include everyone:
    # Sales 90 + Support 55 + Legal 30 = 175 over 8 respondents = 21.875 → 21.88, forming.
    assert "Company score: 21.88 of 30" in text
    assert "Forming level" in text


async def test_survey_report_in_russian(app: BotApp, tg: BotAPIEmulator, facts: Facts) -> None:
    await two_waves(facts)
    text, photos = await ask(tg, boss(tg, "ru"), "/report")
    assert "Индекс компании: 19,30 из 30" in text
    assert "Переходный уровень" in text
    assert "Q4: 2,70 ⬇ слабое место" in text
    assert "Другие (отделов: 2): 3 ответивших, индекс 16,0" in text
    assert "🟨4,0 🟨3,5 🟨4,3 🟧3,3 🟨3,8 🟨3,8" in text  # Продажи, with decimal commas
    assert "Клиенты за последние 30 дней" in text
    assert "CES" not in text  # not collected: no line at all
    assert "NPS — доля промоутеров (9–10) минус доля критиков (0–6)." in text
    assert photos  # charts go with every report


async def test_wave_without_complete_answers(app: BotApp, tg: BotAPIEmulator, facts: Facts) -> None:
    sales = await facts.department("Sales")
    wave = await facts.wave("Spring", closed=False)
    await facts.respondents(wave, sales, [[4, 4]], invited_extra=3)
    text, photos = await ask(tg, boss(tg), "/report survey")
    assert "Invited: 4 · responded: 0 · response rate: 0%" in text
    assert "No complete answers yet." in text
    assert photos == []  # nothing to draw


async def test_no_wave_yet(app: BotApp, tg: BotAPIEmulator) -> None:
    text, photos = await ask(tg, boss(tg), "/report survey")
    assert "No survey yet. Start one with /survey_start" in text
    assert photos == []


async def test_bad_arguments_get_the_usage(app: BotApp, tg: BotAPIEmulator, facts: Facts) -> None:
    await two_waves(facts)
    for command in ("/report weather", "/report survey 7d", "/report customers 14d"):
        text, photos = await ask(tg, boss(tg), command)
        assert text.startswith("Usage:")
        assert "/report customers [7d|30d|90d|365d]" in text
        assert photos == []


async def test_non_admins_get_no_report(app: BotApp, tg: BotAPIEmulator, facts: Facts) -> None:
    await two_waves(facts)
    stranger = tg.user(555, "Mallory", language_code="en")
    text, photos = await ask(tg, stranger, "/report")
    assert text == "Sorry, this command is for the bot's administrators only."
    assert photos == []
    assert "19.30" not in "\n".join(stranger.texts())


async def test_html_in_names_is_escaped(app: BotApp, tg: BotAPIEmulator, facts: Facts) -> None:
    dept = await facts.department("<b>R&D</b>")
    wave = await facts.wave("<i>Q1</i> & co <draft", closed=False)
    await facts.respondents(wave, dept, [[3] * 6] * 3)
    text, photos = await ask(tg, boss(tg), "/report survey")
    assert "Survey «<i>Q1</i> & co <draft»" in text  # shown literally, not as markup
    assert "<b>R&D</b>: 3 respondents, index 18.0" in text
    assert [p.status for p in photos] == [200, 200]  # captions carry the title too
    assert "«<i>Q1</i> & co <draft»" in boss(tg).texts()[-2]
