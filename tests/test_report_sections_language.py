"""The loop and money sections speak the reader's language in every figure.

They were written by two helpers with their own small number helpers: English «no change» and
«0.0 h» leaked into the Russian report, and «(= 0)» stood beside «(без изменений)». Every
combination of figures (zero changes, missing data, fractions of an hour) is rendered in Russian
and must read as the rest of the report does.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.i18n import Translator, build_i18n
from bot.reports.loop import Effort, LoopFigures, LoopReport, ces_line, loop_section
from bot.reports.money import MoneyFigures, MoneyReport
from bot.reports.money_render import money_section
from bot.reports.periods import periods

RU = Translator(build_i18n(), "ru")
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
ENGLISH = ("no change", "no data", "(= 0", " h", "pp)")
DECIMAL_POINT = re.compile(r"\d\.\d")
DATE = re.compile(r"\d{2}\.\d{2}\.\d{4}")

small = st.integers(min_value=0, max_value=5)
hours = st.none() | st.floats(min_value=0, max_value=200, allow_nan=False)


@st.composite
def loop_figures(draw: st.DrawFn) -> LoopFigures:
    opened = draw(small)
    return LoopFigures(
        opened=opened,
        median_first_answer=draw(hours),
        median_resolution=draw(hours),
        in_target=draw(st.integers(0, opened)),
        confirmed=draw(small),
        reopened=draw(small),
        recovered=draw(small),
        effort=Effort(count=(n := draw(small)), total=n * draw(st.integers(1, 5)), easy=0),
        buy_again=draw(small),
    )


@st.composite
def money_figures(draw: st.DrawFn) -> MoneyFigures:
    orders = draw(small)
    return MoneyFigures(
        revenue=draw(st.integers(0, 10**7)),
        orders=orders,
        priced_orders=draw(st.integers(0, orders)),
        buyers=(buyers := draw(small)),
        repeat_buyers=draw(st.integers(0, buyers)),
        winback_sent=draw(small),
        ltv=draw(st.none() | st.integers(0, 10**6)),
        customers=draw(small),
    )


def assert_russian(text: str) -> None:
    for fragment in ENGLISH:
        assert fragment not in text, (fragment, text)
    assert not DECIMAL_POINT.search(DATE.sub("", text)), text


@settings(max_examples=150, deadline=None)
@given(loop_figures(), loop_figures())
def test_the_loop_section_reads_in_russian(current: LoopFigures, previous: LoopFigures) -> None:
    report = LoopReport(periods(NOW, 30), 24, current, previous)
    assert_russian(loop_section(RU, report))
    assert_russian(ces_line(RU, report))


@settings(max_examples=150, deadline=None)
@given(money_figures(), money_figures())
def test_the_money_section_reads_in_russian(current: MoneyFigures, previous: MoneyFigures) -> None:
    report = MoneyReport(periods(NOW, 30), "RUB", (), current, previous)
    assert_russian(money_section(RU, report, ZoneInfo("Europe/Moscow")))


def test_no_change_is_said_one_way() -> None:
    same = LoopFigures(opened=1, median_first_answer=1.0)
    text = loop_section(RU, LoopReport(periods(NOW, 30), 24, same, same))
    assert "Открыто обращений: 1 (без изменений)" in text
    assert "Время до первого ответа (медиана): 1,0 ч (без изменений)" in text
    money = MoneyFigures(revenue=100, orders=1, priced_orders=1)
    shown = money_section(
        RU, MoneyReport(periods(NOW, 30), "RUB", (), money, money), ZoneInfo("UTC")
    )
    assert "Заказы: 1 (без изменений)" in shown
    assert "Выручка: 1,00 ₽ (без изменений)" in shown
