"""Phone numbers: every usual Russian way of writing one comes out as the same E.164."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.customers.phones import InvalidPhone, from_telegram_contact, normalize, to_e164


@pytest.mark.parametrize(
    "raw",
    [
        "+79991234567",
        "89991234567",
        "79991234567",
        "9991234567",
        "+7 (999) 123-45-67",
        "8 (999) 123-45-67",
        "8-999-123-45-67",
        " +7 999 123 45 67 ",
        "+7.999.123.45.67",
    ],
)
def test_russian_forms(raw: str) -> None:
    assert to_e164(raw) == "+79991234567"


def test_other_countries_keep_their_code() -> None:
    assert to_e164("+44 7911 123456") == "+447911123456"
    assert to_e164("+1 650 253 0000") == "+16502530000"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("123", "valid"),
        ("+7 999 123 45 678", "valid"),
        ("+70001234567", "valid"),  # no such range
        ("8-800-FLOWERS", "only digits"),
        ("+79991234567 ext 5", "only digits"),
        ("7+9991234567", "may only start"),
        ("++79991234567", "may only start"),
        ("9" * 40, "longer"),
    ],
)
def test_refusals_say_why(raw: str, reason: str) -> None:
    with pytest.raises(InvalidPhone, match=reason):
        to_e164(raw)
    assert normalize(raw) is None


def test_telegram_contact_digits_are_international() -> None:
    assert from_telegram_contact("79991234567") == "+79991234567"
    assert from_telegram_contact("+79991234567") == "+79991234567"
    # Read through the default region this would have become +7 447...
    assert from_telegram_contact("447911123456") == "+447911123456"
    assert from_telegram_contact("") is None
    assert from_telegram_contact("not a phone") is None


@given(st.from_regex(r"9[0-9]{9}", fullmatch=True), st.sampled_from(["+7", "8", "7", ""]))
def test_any_ru_mobile_any_prefix_same_result(national: str, prefix: str) -> None:
    formatted = f"{prefix} ({national[:3]}) {national[3:6]}-{national[6:8]}-{national[8:]}"
    # The few unassigned ranges (e.g. 9300...) are refused in every form alike.
    assert normalize(formatted) == normalize(prefix + national) in ("+7" + national, None)


@given(st.text(max_size=60))
def test_arbitrary_text_never_crashes(raw: str) -> None:
    result = normalize(raw)
    assert result is None or (result.startswith("+") and result[1:].isdigit())
    if result is not None:
        assert normalize(result) == result  # E.164 is a fixed point
