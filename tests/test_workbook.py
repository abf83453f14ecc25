"""The .xlsx workbook: a sheet per table, typed cells, strings kept as strings, frozen header."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from bot.app import BotApp
from bot.clock import FakeClock
from bot.emulator import BotAPIEmulator
from bot.i18n import Translator, build_i18n
from bot.reports.export import build_exports
from bot.reports.workbook import (
    REVIEW_COLUMNS,
    REVIEWS_SHEET,
    Column,
    Sheet,
    build_workbook,
)
from tests.conftest import ADMIN_ID
from tests.factories import press
from tests.test_reviews import asked

TR = Translator(build_i18n("ru"), "ru")
MOSCOW = ZoneInfo("Europe/Moscow")


def _open(content: bytes) -> Workbook:
    return load_workbook(io.BytesIO(content))


def test_review_sheet_reads_as_a_spreadsheet() -> None:
    answered = datetime(2026, 3, 2, 9, 30, tzinfo=UTC).astimezone(MOSCOW)
    row = ("ORD-1", "SHOP-1", "Анна", "+79990000001", "Кофе", 2, 6, "- не понравилось", answered)
    book = _open(build_workbook(TR, [Sheet(REVIEWS_SHEET, REVIEW_COLUMNS, [row])]))
    sheet = book.worksheets[0]
    assert sheet.title == TR(REVIEWS_SHEET)
    assert [c.value for c in sheet[1]] == [TR(c.header) for c in REVIEW_COLUMNS]
    values = [c.value for c in sheet[2]]
    assert values[:7] == ["ORD-1", "SHOP-1", "Анна", "+79990000001", "Кофе", 2, 6]
    assert values[7] == "- не понравилось"  # as typed: no apostrophe, not a formula
    assert sheet.cell(2, 8).data_type == "s"
    assert values[8] == answered.replace(tzinfo=None)  # a real date, local time (12:30)
    assert sheet.cell(2, 9).number_format == "DD.MM.YYYY HH:MM"
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:I2"
    assert sheet.column_dimensions["H"].width == 50


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=40))
def test_any_text_comes_back_as_the_same_string(text: str) -> None:
    columns = (Column("Comment", 20),)
    sheet = _open(build_workbook(TR, [Sheet("Reviews", columns, [(text,)])])).worksheets[0]
    value = sheet.cell(2, 1).value
    assert (value or "") == text
    if text:
        assert sheet.cell(2, 1).data_type == "s"


def test_an_empty_table_has_its_header_and_filter() -> None:
    sheet = _open(build_workbook(TR, [Sheet("Reviews", REVIEW_COLUMNS, [])])).worksheets[0]
    assert sheet.max_row == 1
    assert sheet.auto_filter.ref == "A1:I1"


async def test_export_sends_the_workbook_beside_the_unchanged_csvs(
    app: BotApp, tg: BotAPIEmulator, clock: FakeClock
) -> None:
    anna = tg.user(7020, "Анна")
    await asked(app, tg, clock, anna)
    await press(tg, anna, "1⭐")
    await press(tg, anna, "3")
    anna.send("- не понравилось")
    await tg.settle()
    admin = tg.user(ADMIN_ID, "Ольга", language_code="ru")
    admin.send("/export")
    await tg.settle()
    files = {f.filename: f.content for f in admin.documents()}
    assert list(files) == [
        "survey_answers.csv", "reviews.csv", "reminders.csv", "survey_comments.csv",
        "orders.csv", "cases.csv", "feedback.xlsx",
    ]  # fmt: skip
    # What /export sent before the workbook, byte for byte.
    csvs = await build_exports(app.db, app.settings, app.dispatcher["pseudonyms"], clock.now())
    assert {e.filename: e.content for e in csvs} == {
        k: v for k, v in files.items() if k != "feedback.xlsx"
    }
    book = _open(files["feedback.xlsx"])
    assert book.sheetnames == ["Ответы опроса", "Отзывы", "Напоминания"]
    reviews = book["Отзывы"]
    header = [c.value for c in reviews[1]]
    assert header[:5] == ["Заказы", "ID клиента", "Имя", "Телефон", "Товары"]
    row = dict(zip(header, [c.value for c in reviews[2]], strict=True))
    assert row["Имя"] == "Анна Смирнова"
    assert row["Телефон"] == "+79991234567"
    assert row["Товары"] == "Чай улун ×2; Чашки <фарфор> & блюдца"
    assert row["Оценка (1–5)"] == 1
    assert row["Комментарий"] == "- не понравилось"
    assert isinstance(row["Дата ответа"], datetime)
    reminders = book["Напоминания"]
    assert [c.value for c in reminders[2]][3] == "запрос отзыва"
    caption = [m.get("caption", "") for m in admin.bot_messages() if "document" in m][-1]
    assert caption.startswith("feedback.xlsx: ")
