"""One .xlsx workbook beside the CSV files: what a Russian office opens with a double click.

A sheet per table with Russian headers; dates as real Excel dates (local to TIMEZONE) and numbers
as numbers; the question texts beside their numbers; for reviews the customer's name, phone and
items beside the rating, so the shop can act on it; a frozen header row, filters and widths that
fit. Text cells are written as strings (type «s»), so a comment «- не понравилось» or «=2+2» is
shown as typed and never run as a formula: no apostrophe is needed here, unlike in the CSV.

The privacy rules are the CSV's: the survey sheet holds exactly the released rows of
survey_answers.csv (bot/disclosure decides them), a forgotten customer keeps only the scores.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import aiosqlite
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from bot.i18n import Translator
from bot.texts import N_
from storage.outbox import REMINDER_ROWS_SQL

DATE_FORMAT = "DD.MM.YYYY HH:MM"
MAX_WIDTH = 60
FILENAME = "feedback.xlsx"
CHUNK = 5000

Value = str | int | float | datetime | None


@dataclass(frozen=True)
class Column:
    header: str  # a msgid
    width: int  # in characters
    kind: str = "text"  # text, int, date


@dataclass
class Sheet:
    title: str  # a msgid
    columns: Sequence[Column]
    rows: list[Sequence[Value]] = field(default_factory=list)


def _cell(sheet: object, value: Value, column: Column) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=None)  # type: ignore[arg-type]
    if value is None or value == "":
        return cell
    if column.kind == "date" and isinstance(value, datetime):
        cell.value = value.replace(tzinfo=None)  # Excel dates have no zone: local time
        cell.number_format = DATE_FORMAT
    elif column.kind == "int" and isinstance(value, int | float):
        cell.value = value
    else:
        # Set after the value: openpyxl would otherwise take «=…» for a formula.
        cell.value = str(value)
        cell.data_type = "s"
    return cell


def build_workbook(tr: Translator, sheets: Sequence[Sheet]) -> bytes:
    """The workbook as bytes (blocking: run it in a worker thread for big data)."""
    book = Workbook(write_only=True)
    header_font = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="DDE7F0")
    for sheet in sheets:
        ws = book.create_sheet(tr(sheet.title)[:31])  # Excel's limit on a sheet name
        for index, column in enumerate(sheet.columns, start=1):
            ws.column_dimensions[get_column_letter(index)].width = min(column.width, MAX_WIDTH)
        ws.freeze_panes = "A2"
        last = get_column_letter(len(sheet.columns))
        ws.auto_filter.ref = f"A1:{last}{max(1, len(sheet.rows) + 1)}"
        header = []
        for column in sheet.columns:
            cell = WriteOnlyCell(ws, value=tr(column.header))
            cell.data_type = "s"
            cell.font = header_font
            cell.fill = header_fill
            cell.alignment = Alignment(vertical="top", wrap_text=True)
            header.append(cell)
        ws.append(header)
        for row in sheet.rows:
            ws.append([_cell(ws, v, c) for v, c in zip(row, sheet.columns, strict=True)])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- the tables -----------------------------------------------------------------------------
SURVEY_SHEET = N_("Survey answers")
REVIEWS_SHEET = N_("Reviews")
REMINDERS_SHEET = N_("Reminders")

SURVEY_COLUMNS = (
    Column(N_("Wave"), 18),
    Column(N_("Department"), 18),
    Column(N_("Respondent (pseudonym)"), 20),
    Column(N_("Question no."), 10, "int"),
    Column(N_("Question"), 60),
    Column(N_("Score (1–5)"), 10, "int"),
    Column(N_("Answered at"), 17, "date"),
)
REVIEW_COLUMNS = (
    Column(N_("Orders"), 16),
    Column(N_("Customer ID"), 14),
    Column(N_("Name"), 18),
    Column(N_("Phone"), 16),
    Column(N_("Items"), 40),
    Column(N_("Rating (1–5)"), 10, "int"),
    Column(N_("NPS (0–10)"), 10, "int"),
    Column(N_("Comment"), 50),
    Column(N_("Answered at"), 17, "date"),
)
REMINDER_COLUMNS = (
    Column(N_("Order"), 16),
    Column(N_("Customer ID"), 14),
    Column(N_("SKU"), 14),
    Column(N_("Kind"), 16),
    Column(N_("Due at"), 17, "date"),
    Column(N_("Status"), 12),
    Column(N_("Sent at"), 17, "date"),
    Column(N_("Bought again"), 12),
)
KIND_NAMES = {
    "restock": N_("restock reminder"),
    "review_request": N_("review request"),
    "review_reminder": N_("review reminder"),
    "review_bonus": N_("review bonus"),
}
STATUS_NAMES = {
    "pending": N_("pending"),
    "sending": N_("sending"),
    "sent": N_("sent"),
    "failed": N_("failed"),
    "cancelled": N_("cancelled"),
    "expired": N_("expired"),
}


def _local(value: str | None, tz: ZoneInfo) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(tz) if value else None


async def _rows(conn: aiosqlite.Connection, sql: str, params: Sequence[object] = ()) -> list:
    rows: list = []
    async with conn.execute(sql, params) as cur:
        while chunk := await cur.fetchmany(CHUNK):
            rows.extend(chunk)
    return rows


def survey_sheet(
    tr: Translator, questions: Sequence[str], released: Sequence[Sequence[Value]]
) -> Sheet:
    """The released answers (`bot.reports.export.released_answers`: the disclosure rules have
    decided which waves, departments and people may be shown), with the question texts."""
    texts = [tr(q) for q in questions]
    rows = [
        (
            wave,
            department or None,
            respondent,
            question,
            texts[question - 1] if isinstance(question, int) and 1 <= question <= len(texts)
            else None,
            score,
            when,
        )
        for wave, department, respondent, question, score, when in released
    ]  # fmt: skip
    return Sheet(SURVEY_SHEET, SURVEY_COLUMNS, rows)


async def reviews_sheet(conn: aiosqlite.Connection, *, tz: ZoneInfo) -> Sheet:
    rows = []
    for r in await _rows(
        conn,
        "SELECT r.rating, r.nps, r.comment, c.external_id, c.name, c.phone, c.forgotten_at, "
        "COALESCE(r.rated_at, r.nps_at, r.commented_at) AS answered_at, "
        "(SELECT group_concat(o.order_id, ' ') FROM orders o WHERE o.review_id = r.id) "
        "AS order_ids, "
        "(SELECT group_concat(COALESCE(i.name, i.sku) || CASE WHEN i.quantity > 1 "
        "THEN ' ×' || i.quantity ELSE '' END, '; ') FROM orders o "
        "JOIN order_items i ON i.order_id = o.id WHERE o.review_id = r.id) AS items "
        "FROM reviews r JOIN customers c ON c.id = r.customer_id "
        "WHERE r.rating IS NOT NULL OR r.nps IS NOT NULL OR r.comment IS NOT NULL "
        "ORDER BY r.id",
    ):
        forgotten = r["forgotten_at"] is not None
        rows.append(
            (
                r["order_ids"],
                None if forgotten else r["external_id"],
                None if forgotten else r["name"],
                None if forgotten else r["phone"],
                r["items"],
                r["rating"],
                r["nps"],
                None if forgotten else r["comment"],
                _local(r["answered_at"], tz),
            )
        )
    return Sheet(REVIEWS_SHEET, REVIEW_COLUMNS, rows)


async def reminders_sheet(conn: aiosqlite.Connection, tr: Translator, *, tz: ZoneInfo) -> Sheet:
    yes, no = tr("yes"), tr("no")
    rows = []
    for r in await _rows(
        conn,
        REMINDER_ROWS_SQL,
    ):
        kind = r["kind"]
        rows.append(
            (
                r["order_id"],
                None if r["forgotten_at"] is not None else r["customer"],
                r["sku"],
                tr(KIND_NAMES[kind]) if kind in KIND_NAMES else kind,
                _local(r["due_at"], tz),
                tr(STATUS_NAMES.get(r["status"], r["status"])),
                _local(r["sent_at"], tz),
                (yes if r["converted_at"] else no) if kind == "restock" else None,
            )
        )
    return Sheet(REMINDERS_SHEET, REMINDER_COLUMNS, rows)


async def workbook_bytes(
    conn: aiosqlite.Connection,
    tr: Translator,
    questions: Sequence[str],
    released: Sequence[Sequence[Value]],
    *,
    tz: ZoneInfo,
) -> bytes:
    """The tables of /export in one workbook, from the snapshot `conn` reads; the survey's rows
    are the released ones the CSV has."""
    sheets = [
        survey_sheet(tr, questions, released),
        await reviews_sheet(conn, tz=tz),
        await reminders_sheet(conn, tr, tz=tz),
    ]
    return await asyncio.to_thread(build_workbook, tr, sheets)
