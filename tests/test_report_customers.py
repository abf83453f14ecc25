"""/report's customer part through the fake Bot API, against hand-computed figures.

Now is Monday 12 Jan 2026 09:00 UTC; «30d» is [13 Dec 09:00, 12 Jan 09:00) and the previous
period the 30 days before it.

This period: 10 review requests, 7 answered (70%).
  ratings 5 5 4 4 3 1 2 → 7 ratings, mean 24 / 7 = 3.43, CSAT 4 / 7 = 57%, negative (≤ 2) 2,
  one of them resolved; NPS 10 9 9 8 7 0 5 → promoters 3, passives 2, detractors 2 → +14.
  Restock: 4 sent, 1 bought again (25%); one more queued, not sent, does not count.
Previous period: 4 requests, 2 answered (50%); ratings 5 2 → mean 3.50, CSAT 50%, negative 1;
  NPS 10 3 → +0. Restock: 2 sent, 1 converted (50%).
Retention: bought in the period before the previous one: A, B, G; in the previous one: A, C, D,
  E; in this one: C, D, F. Now 2 of 4 = 50% (churn 50%); before 1 of 3 = 33% → ▲ +17 pp.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.app import BotApp
from bot.emulator import BotAPIEmulator
from tests.conftest import START
from tests.report_factories import Facts
from tests.test_report_survey import ask, boss

CURRENT = START - timedelta(days=5)
PREVIOUS = START - timedelta(days=40)
BEFORE = START - timedelta(days=70)
LONG_AGO = START - timedelta(days=400)  # outside every period asked for below


@pytest.fixture
async def facts(app: BotApp) -> Facts:
    return Facts(app.db, START)


async def known_customers(facts: Facts) -> None:
    shopper = await facts.customer("X-1")
    answers = [(5, 10), (5, 9), (4, 9), (4, 8), (3, 7), (1, 0), (2, 5)]
    for rating, nps in answers:
        review = await facts.review(shopper, requested_at=CURRENT, rating=rating, nps=nps)
        if rating == 1:
            await facts.alert(review, resolved=True)
        if rating == 2:
            await facts.alert(review, resolved=False)
    for _ in range(3):
        await facts.review(shopper, requested_at=CURRENT)
    for rating, nps in [(5, 10), (2, 3)]:
        await facts.review(shopper, requested_at=PREVIOUS, rating=rating, nps=nps)
    for _ in range(2):
        await facts.review(shopper, requested_at=PREVIOUS)

    _, items = await facts.order(shopper, LONG_AGO, items=[("SKU-1", "Coffee")])
    for converted in (True, False, False, False):
        await facts.restock(shopper, items[0], sent_at=CURRENT, converted=converted)
    await facts.restock(shopper, items[0], sent_at=None)  # queued, not sent yet
    for converted in (True, False):
        await facts.restock(shopper, items[0], sent_at=PREVIOUS, converted=converted)

    buyers = {name: await facts.customer(name) for name in "ABCDEFG"}
    for name in "ABG":
        await facts.order(buyers[name], BEFORE)
    for name in "ACDE":
        await facts.order(buyers[name], PREVIOUS)
    for name in "CDF":
        await facts.order(buyers[name], CURRENT)
    await facts.order(buyers["C"], CURRENT + timedelta(days=1))  # twice: still one customer


async def test_customer_figures_exactly(app: BotApp, tg: BotAPIEmulator, facts: Facts) -> None:
    await known_customers(facts)
    text, photos = await ask(tg, boss(tg), "/report customers")
    lines = text.splitlines()
    expected = [
        "🛍 Customers, last 30 days",
        "13.12.2025 – 12.01.2026; changes against the previous 30 days.",
        "Review requests: sent 10 (▲ +6) · answered 7 — 70% (▲ +20 pp)",
        "Mean rating: 3.43 of 5 (▼ −0.07) · ratings: 7",
        "CSAT (ratings of 4–5): 57% (▲ +7 pp)",
        "NPS: +14 (▲ +14) — promoters 3 · passives 2 · detractors 2",
        "Negative reviews: 2 (▲ +1) · resolved: 1",
        "Restock reminders: sent 4 (▲ +2) · bought again 1 — 25% (▼ −25 pp)",
        "Want to buy again: 0 — 0% (no change)",
        "Buyers: 3 (▼ −1)",
        "Retention: 50% (▲ +17 pp) — 2 of 4 customers of the previous 30 days bought again; "
        "churn: 50%",
    ]
    for line in expected:
        assert line in lines, line
    assert not any(line.startswith("CES") for line in lines)  # only once it is collected
    assert "Survey" not in text
    assert len(photos) == 1  # NPS and CSAT by week


async def test_no_customer_data_shows_dashes_not_zeros(app: BotApp, tg: BotAPIEmulator) -> None:
    text, photos = await ask(tg, boss(tg), "/report customers 7d")
    assert "🛍 Customers, last 7 days" in text
    assert "Review requests: sent 0 (no change) · answered 0 — no data" in text
    assert "Mean rating: no data of 5 · ratings: 0" in text
    assert "CSAT (ratings of 4–5): no data" in text
    assert "NPS: no data — promoters 0 · passives 0 · detractors 0" in text
    assert (
        "Retention: no data — 0 of 0 customers of the previous 7 days bought again; churn: no data"
        in text
    )
    assert photos == []


async def test_period_edges(app: BotApp, tg: BotAPIEmulator, facts: Facts) -> None:
    shopper = await facts.customer()
    start = START - timedelta(days=7)
    await facts.review(shopper, requested_at=start, rating=5, rated_at=start)  # first instant: in
    just_before = start - timedelta(microseconds=1)
    await facts.review(shopper, requested_at=just_before, rating=1, rated_at=just_before)  # out
    await facts.review(shopper, requested_at=START, rating=1, rated_at=START)  # now: not yet in
    text, _ = await ask(tg, boss(tg), "/report customers 7d")
    assert "Mean rating: 5.00 of 5 (▲ +4.00) · ratings: 1" in text
    assert "CSAT (ratings of 4–5): 100% (▲ +100 pp)" in text


async def test_longer_periods_compare_like_with_like(
    app: BotApp, tg: BotAPIEmulator, facts: Facts
) -> None:
    await known_customers(facts)
    text, _ = await ask(tg, boss(tg), "/report customers 90d")
    # Every purchase above (70, 40 and 5 days ago) falls in these 90 days; the 90 days before
    # have none, so there is no one to retain.
    assert "Buyers: 7 (▲ +7)" in text
    assert "Retention: no data — 0 of 0 customers of the previous 90 days bought again" in text
    assert "Review requests: sent 14 (▲ +14) · answered 9 — 64%" in text


async def test_full_report_has_both_parts_and_all_charts(
    app: BotApp, tg: BotAPIEmulator, facts: Facts
) -> None:
    await known_customers(facts)
    sales = await facts.department("Sales")
    wave = await facts.wave("2026", closed=False)
    await facts.respondents(wave, sales, [[4] * 6] * 3)
    text, photos = await ask(tg, boss(tg), "/report")
    assert text.index("📋 Survey «2026»") < text.index("🛍 Customers, last 30 days")
    assert "Company score: 24.00 of 30" in text
    assert "NPS: +14" in text
    assert len(photos) == 3  # survey, departments, customers
    assert tg.calls_of("sendChatAction")  # «sending a photo…» while they are drawn
