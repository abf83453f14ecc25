"""Long alerts are cut to fit, with «и ещё N»: a review covering 70 orders still alerts the
admins, and «Решено» on a 60-order alert edits it in place.

One customer buys many times within REVIEW_MIN_INTERVAL_DAYS, so one review request covers
every order; a one-star rating alerts the admins, naming the orders and their items.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.app import BotApp
from bot.clock import FakeClock
from bot.emulator import BotAPIEmulator
from bot.emulator.spec import visible_text
from bot.i18n import Translator, build_i18n
from bot.reviews.alerts import shown_list
from tests.conftest import ADMIN_ID
from tests.robust_helpers import buy, link, order


def long_id(i: int) -> str:
    return f"ORDER-2026-{i:04d}-" + "X" * 40  # 55 characters; order ids may have 64


async def unhappy_customer(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock, orders: int, user_id: int
) -> None:
    """`orders` purchases, one review request for all of them, one star."""
    payload = ""
    for i in range(orders):
        body = order(
            long_id(i),
            f"cust-{user_id}",
            at=clock.now().isoformat(),
            name="Анна Смирнова",
            phone="+79991234567",
            items=[{"sku": f"SKU-{i}", "name": f"Фильтр, модель {i} " + "я" * 60, "quantity": 1}],
        )
        payload = await buy(app.http_port, body)
    anna = tg.user(user_id, "Анна")
    await link(tg, anna, payload, phone="+79991234567")
    clock.advance(days=app.settings.review_delay_days, seconds=1)
    await app.outbox.tick()
    anna.click("1⭐")
    await tg.settle()
    await app.outbox.tick()


def alerts_of(tg: BotAPIEmulator) -> list[dict[str, object]]:
    boss = tg.user(ADMIN_ID, "Olga")
    return [m for m in boss.bot_messages() if "1 из 5" in str(m.get("text", ""))]


def visible_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@pytest.mark.parametrize("orders", [70])
async def test_an_alert_for_a_review_of_70_orders_reaches_the_admin_cut_to_fit(
    orders: int, app: BotApp, tg: BotAPIEmulator, clock: FakeClock
) -> None:
    tg.user(ADMIN_ID, "Olga")
    await unhappy_customer(app, tg, clock, orders, 7101)
    refused = [c for c in tg.calls if c.status != 200]
    assert not refused, [(c.method, c.error) for c in refused]
    (alert,) = alerts_of(tg)
    text = str(alert["text"])
    assert visible_len(text) <= 4096
    assert long_id(0) in text  # the first orders are named …
    cut = re.findall(r"и ещё (\d+)", text)
    assert cut, text  # … and the rest counted
    shown = sum(1 for i in range(orders) if long_id(i) in text)
    assert shown + int(cut[0]) == orders


async def test_resolved_on_a_60_order_alert_edits_it(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock
) -> None:
    boss = tg.user(ADMIN_ID, "Olga", username="olga_hr")
    await unhappy_customer(app, tg, clock, 60, 7102)
    (alert,) = alerts_of(tg)
    boss.click("Решено", message=alert)
    await tg.settle()
    edits = tg.calls_of("editMessageText")
    assert edits, "«Решено» did not edit the alert"
    assert all(c.status == 200 for c in edits), [c.error for c in edits]
    edited = boss.bot_messages()
    (after,) = [m for m in edited if m["message_id"] == alert["message_id"]]
    assert "Решено" in str(after["text"])
    assert "reply_markup" not in after
    assert visible_len(visible_text(str(after["_raw_text"]), "HTML")) <= 4096


# --- the cut itself ------------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(
    parts=st.lists(st.text(st.sampled_from("ab<&>я ,1"), min_size=1, max_size=90), max_size=80),
    budget=st.integers(min_value=40, max_value=1500),
)
def test_a_cut_list_fits_its_budget_and_counts_what_it_left_out(
    parts: list[str], budget: int
) -> None:
    tr = Translator(build_i18n(), "ru")
    text = shown_list(tr, parts, budget)
    visible = visible_text(text, "HTML")  # valid HTML: no entity cut in half
    assert len(visible) <= budget
    cut = re.search(r", и ещё (\d+)$", visible)
    left_out = int(cut.group(1)) if cut else 0
    shown = visible[: cut.start()] if cut else visible
    kept = len(parts) - left_out
    assert kept >= (1 if parts else 0)
    # The first `kept` parts, whole — or, when even the first is too long, its start and «…».
    if shown != ", ".join(parts[:kept]):
        assert kept == 1
        assert shown.endswith("…")
        assert parts[0].startswith(shown[:-1])
