"""Shops' files as they are: dates, quantities, prices, header presets, fill-down, guests."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.customers.formats import (
    CellProblem,
    UnreadableHeader,
    assemble,
    detect,
    map_header,
    parse_price,
    parse_quantity,
    parse_when,
)

SHOPS = Path(__file__).parent / "fixtures" / "shops"
MSK = ZoneInfo("Europe/Moscow")


def phone_key(text: str) -> str:
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) == 11 and digits[0] in "78":
        return "+7" + digits[1:]
    if len(digits) < 10:
        raise ValueError("too few digits")
    return "+" + digits


def read(path: Path, encoding: str = "utf-8", delimiter: str = ","):
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode(encoding)), delimiter=delimiter))
    return rows[0], [(n + 2, r) for n, r in enumerate(rows[1:])]


# --- values ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected", "naive"),
    [
        ("25.11.2026", datetime(2026, 11, 25, 9, 0, tzinfo=UTC), True),  # noon in Moscow
        ("25.11.2026 14:30", datetime(2026, 11, 25, 11, 30, tzinfo=UTC), True),
        ("2026-11-27", datetime(2026, 11, 27, 9, 0, tzinfo=UTC), True),
        ("2026-11-26 14:30", datetime(2026, 11, 26, 11, 30, tzinfo=UTC), True),
        ("2024-05-01 10:00:00 +0000", datetime(2024, 5, 1, 10, 0, tzinfo=UTC), False),
        ("2024-05-02 08:59:00 +0300", datetime(2024, 5, 2, 5, 59, tzinfo=UTC), False),
        ("2026-11-26T14:30:00+03:00", datetime(2026, 11, 26, 11, 30, tzinfo=UTC), False),
        ("2026-11-26T11:30:00Z", datetime(2026, 11, 26, 11, 30, tzinfo=UTC), False),
        ("2017-07-15 14:23:38", datetime(2017, 7, 15, 11, 23, 38, tzinfo=UTC), True),
        ("2019-07-20T02:08:30", datetime(2019, 7, 19, 23, 8, 30, tzinfo=UTC), True),
    ],
)
def test_dates_as_shops_write_them(text: str, expected: datetime, naive: bool) -> None:
    when = parse_when(text, MSK)
    assert when.at == expected
    assert when.naive is naive


@pytest.mark.parametrize("text", ["31.02.2026", "yesterday", "2026-13-01", "", "2026-11-26 25:00"])
def test_not_dates_are_refused_with_the_cell(text: str) -> None:
    with pytest.raises(CellProblem) as caught:
        parse_when(text, MSK)
    if text:
        assert text in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2", Decimal(2)),
        ("1,0", Decimal(1)),
        ("0.5", Decimal("0.5")),
        ("1 000", Decimal(1000)),
        ("0,25", Decimal("0.25")),
    ],
)
def test_quantities_with_comma_or_dot(text: str, expected: Decimal) -> None:
    assert parse_quantity(text) == expected


@pytest.mark.parametrize("text", ["0", "-1", "two", "1,2,3"])
def test_bad_quantities(text: str) -> None:
    with pytest.raises(CellProblem):
        parse_quantity(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 190,00", Decimal("1190.00")),
        ("350", Decimal("350.00")),
        ("990 ₽", Decimal("990.00")),
        ("1,234.50", Decimal("1234.50")),
        ("1.234,50", Decimal("1234.50")),
        ("", None),
    ],
)
def test_prices(text: str, expected: Decimal | None) -> None:
    assert parse_price(text) == expected


@given(
    st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30)),  # noqa: DTZ001
    st.integers(min_value=-12 * 60, max_value=14 * 60),
    st.sampled_from(["{d}T{t}{o}", "{d} {t} {oc}", "{d} {t}{o}"]),
)
def test_any_offset_form_reads_the_same_moment(naive: datetime, minutes: int, form: str) -> None:
    tz = timezone(timedelta(minutes=minutes))
    moment = naive.replace(microsecond=0, tzinfo=tz)
    sign = "-" if minutes < 0 else "+"
    hh, mm = divmod(abs(minutes), 60)
    text = form.format(
        d=moment.strftime("%Y-%m-%d"),
        t=moment.strftime("%H:%M:%S"),
        o=f"{sign}{hh:02d}:{mm:02d}",
        oc=f"{sign}{hh:02d}{mm:02d}",
    )
    assert parse_when(text, MSK).at == moment.astimezone(UTC)


@given(st.decimals(min_value=Decimal("0.001"), max_value=Decimal(999_999), places=3))
def test_quantity_reads_back_with_either_mark(value: Decimal) -> None:
    text = format(value, "f")
    assert parse_quantity(text) == value
    assert parse_quantity(text.replace(".", ",")) == value


# --- headers --------------------------------------------------------------------------------------
def test_detects_each_system_from_its_header() -> None:
    assert detect(read(SHOPS / "shopify_orders_export.csv")[0]) == "shopify"
    assert detect(read(SHOPS / "woocommerce_webtoffee_export.csv")[0]) == "woocommerce"
    header, _ = read(SHOPS / "generic_ru_cp1251.csv", "cp1251", ";")
    assert detect(header) == "generic"


def test_russian_header_maps_by_synonyms_with_the_currency_of_the_price() -> None:
    header, _ = read(SHOPS / "generic_ru_cp1251.csv", "cp1251", ";")
    mapping = map_header(header)
    assert mapping.header("order_id") == "Номер заказа"
    assert mapping.header("price") == "Цена, руб."
    assert mapping.default_currency == "RUB"
    assert mapping.unknown == ()


def test_our_own_column_names_still_map() -> None:
    header = "order_id,customer_id,phone,name,purchased_at,sku,item_name,quantity,restock_days"
    mapping = map_header(header.split(","))
    assert set(mapping.columns) == set(header.split(","))


def test_missing_columns_are_named_with_the_names_accepted() -> None:
    with pytest.raises(UnreadableHeader) as caught:
        map_header(["Телефон", "Артикул"])
    assert "order_id" in str(caught.value)
    assert "номер заказа" in str(caught.value)


def test_two_columns_for_one_field_are_refused() -> None:
    with pytest.raises(UnreadableHeader):
        map_header(["Номер заказа", "Дата", "Артикул", "Товар", "Наименование"])


def test_shopify_preset_names_the_order_by_name_and_lists_the_unused_columns() -> None:
    mapping = map_header(read(SHOPS / "shopify_orders_export.csv")[0])
    assert mapping.format == "shopify"
    assert mapping.header("order_id") == "Name"
    assert "customer_id" not in mapping.columns
    assert "Financial Status" in mapping.unknown
    assert "Name" not in mapping.unknown


# --- rows ---------------------------------------------------------------------------------------
def test_shopify_export_imports_unchanged() -> None:
    header, rows = read(SHOPS / "shopify_orders_export.csv")
    result = assemble(map_header(header), rows, MSK, phone_key)
    assert result.errors == []
    assert result.skipped_no_sku == [4]  # the gift card
    first, second = result.orders
    assert first.order_id == "#1001"
    assert first.customer_id == "anna@example.com"
    assert first.guest
    assert first.name == "Анна Смирнова"
    assert first.phone == "+79991234567"
    assert [(i.sku, i.quantity, i.price) for i in first.items] == [
        ("FLT-1", 2, Decimal("595.00")),
        ("CRT-2", 1, Decimal("600.00")),
    ]
    assert first.when.at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert not first.when.naive
    assert first.items[0].currency == "RUB"
    assert second.customer_id == "tel:+79120001122"  # known by «Billing Phone» alone
    assert result.guests == 2


def test_woocommerce_export_unpacks_items_and_keeps_guests_apart() -> None:
    header, rows = read(SHOPS / "woocommerce_webtoffee_export.csv")
    result = assemble(map_header(header), rows, MSK, phone_key)
    assert result.errors == []
    by_id = {o.order_id: o for o in result.orders}
    one, two, member = by_id["4750"], by_id["4751"], by_id["4752"]
    assert one.customer_id == "guest.one@example.com"
    assert one.name == "Мария Иванова"
    assert two.customer_id == "guest.two@example.com"
    assert two.phone == "+79034445566"
    assert member.customer_id == "17"
    assert not member.guest
    assert [(i.sku, i.quantity, i.price) for i in one.items] == [
        ("TEA-1", 2, Decimal("600.00")),  # total 1200.00 for two
        ("31", 1, Decimal("600.00")),  # no SKU: the product id
    ]
    assert two.items[0].quantity == Decimal("0.5")
    assert two.items[0].price == Decimal("900.00")
    assert result.naive_times == 3


def test_russian_export_fills_down_and_reads_every_date_form() -> None:
    header, rows = read(SHOPS / "generic_ru_cp1251.csv", "cp1251", ";")
    result = assemble(map_header(header), rows, MSK, phone_key)
    assert result.errors == []
    by_id = {o.order_id: o for o in result.orders}
    assert [i.sku for i in by_id["1001"].items] == ["FLT-1", "CRT-2"]
    assert by_id["1001"].items[0].quantity == 1
    assert by_id["1001"].items[0].price == Decimal("1190.00")
    assert by_id["1002"].items[0].quantity == Decimal("0.5")
    assert by_id["1003"].items[0].name == "GIFT"
    assert by_id["1003"].items[0].price is None
    assert by_id["1004"].customer_id == "tel:+79031112233"
    assert by_id["1001"].when.at == datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def test_bad_cells_name_their_line_and_the_files_own_column() -> None:
    header = ["Номер заказа", "Код клиента", "Дата заказа", "Артикул", "Кол-во"]
    rows = [(2, ["1", "K", "31.02.2026", "A", "1"]), (3, ["2", "K", "01.02.2026", "A", "ноль"])]
    result = assemble(map_header(header), rows, MSK, phone_key)
    assert [(e.line, e.column) for e in result.errors] == [(2, "Дата заказа"), (3, "Кол-во")]
    assert result.orders == []


def test_a_different_date_on_a_later_line_of_an_order_is_refused() -> None:
    header = ["order_id", "customer_id", "purchased_at", "sku"]
    rows = [(2, ["1", "c", "2026-01-01", "A"]), (3, ["1", "c", "2026-01-02", "B"])]
    result = assemble(map_header(header), rows, MSK, phone_key)
    assert [(e.line, e.column) for e in result.errors] == [(3, "purchased_at")]


guests = st.lists(
    st.tuples(
        st.sampled_from(["", "a@x.ru", "b@x.ru", "c@x.ru"]),
        st.sampled_from(["", "+79990000001", "+79990000002"]),
    ),
    min_size=1,
    max_size=12,
)


@given(guests)
def test_guests_are_one_customer_only_when_they_share_email_or_phone(people) -> None:
    header = ["order_id", "customer_id", "email", "phone", "purchased_at", "sku"]
    rows = [(n + 2, [f"o{n}", "0", e, p, "2026-01-01", "A"]) for n, (e, p) in enumerate(people)]
    result = assemble(map_header(header), rows, MSK, phone_key)
    assert result.errors == []
    by_customer: dict[str, set[tuple[str, str]]] = {}
    for order, (email, phone) in zip(result.orders, people, strict=True):
        by_customer.setdefault(order.customer_id, set()).add((email, phone))
    for who in by_customer.values():
        emails = {e for e, _ in who}
        assert len(emails) == 1  # never two e-mails in one customer
        if emails == {""}:
            assert len({p for _, p in who}) == 1  # nor two phones among guests without e-mail
