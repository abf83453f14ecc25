"""Numbers as shown: decimal comma, real minus, half-up rounding, changes of the shown values."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from bot.reports.numbers import change, number, percent, quantize, signed


def test_russian_decimal_comma_and_english_point() -> None:
    assert number(21.06) == "21,1"
    assert number(21.06, locale="en") == "21.1"
    assert number(4.25, 1) == "4,3"  # half up, as by hand (Python's round gives 4.2)
    assert number(-0.04) == "0,0"  # never «−0,0»
    assert number(-3.5, 0) == "−4"


def test_signed_and_percent() -> None:
    assert signed(4.0, 0) == "+4"
    assert signed(-4.0, 0) == "−4"
    assert signed(0.2, 0) == "0"
    assert percent(0.211) == "21\u00a0%"
    assert percent(0.211, locale="en") == "21%"


def test_a_change_is_the_difference_of_the_values_as_shown() -> None:
    # NPS −3.6 now (shown −4) after −3.4 (shown −3): the change reads −1, not «= 0».
    assert change(-3.6, -3.4, 0) == ("▼ −1", Decimal(-1))
    assert change(4.04, 4.0, 1) == ("", Decimal(0))  # «без изменений»
    assert change(4.46, 4.0, 1) == ("▲ +0,5", Decimal("0.5"))
    assert change(None, 1.0) is None
    assert change(1.0, None) is None


values = st.floats(min_value=-1000, max_value=1000, allow_nan=False)


@given(values, values, st.integers(min_value=0, max_value=2))
def test_previous_plus_change_is_the_current_value_as_shown(
    current: float, previous: float, digits: int
) -> None:
    result = change(current, previous, digits)
    assert result is not None
    _, diff = result
    assert quantize(previous, digits) + diff == quantize(current, digits)


@given(values, st.integers(min_value=0, max_value=2))
def test_shown_number_reads_back_as_the_rounded_value(value: float, digits: int) -> None:
    text = number(value, digits).replace(",", ".").replace("−", "-")
    assert Decimal(text) == abs(quantize(value, digits)) * (
        -1 if quantize(value, digits) < 0 else 1
    )
