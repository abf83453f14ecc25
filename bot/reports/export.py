"""CSV exports for admins: survey answers, reviews, customer reminders and cases.

Files are UTF-8 with a BOM (so Excel reads Cyrillic right), comma-separated with CRLF line ends
and a header row (RFC 4180, pandas' defaults), one fact a row; times are local to TIMEZONE as
`YYYY-MM-DD HH:MM:SS`, which Excel and pandas both read as dates.

- Never a Telegram id, and never the stored pseudonym: survey rows stand against a pseudonym
  made for the export, different in every wave (bot.pseudonym.export_pseudonym).
- Survey rows are what disclosure control has released (bot.disclosure), as the report shows
  it: complete respondents only, counted by a release, with their answers as released; a
  department is filled in only where the report shows it, so the blank rows are never a group
  under SURVEY_MIN_GROUP; rows are ordered by pseudonym (never by department), and answered_at
  is when the figures first counted the answers (exact times would point at people).
- Every cell of every file that a spreadsheet would run as a formula (starting with = + - @, a
  tab or a line break) gets a leading apostrophe (OWASP's advice against CSV injection): order
  ids and SKUs come from shops' systems and are text from outside as much as comments are.
- Rows are fetched in chunks and written in a worker thread, so a big export never stalls the bot;
  a file over Telegram's upload limit is sent zipped.
"""

from __future__ import annotations

import asyncio
import csv
import io
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiosqlite

from bot.cases.service import recovery
from bot.disclosure import neutralise, neutralise_row
from bot.disclosure.service import released
from bot.i18n import Translator
from bot.pseudonym import Pseudonymizer
from bot.reports.plans import comments_of
from bot.reports.survey import release_survey
from bot.settings import Settings
from bot.texts import N_
from storage import Database
from storage import cases as cases_q
from storage.outbox import REMINDER_ROWS_SQL
from storage.survey import all_waves
from storage.timestamps import to_db

SURVEY_COLUMNS = ("wave", "department", "respondent", "question", "score", "answered_at")
# `ces` came later (issue 11): appended, so files read by column position still work.
REVIEW_COLUMNS = ("order_id", "customer_id", "rating", "nps", "comment", "answered_at", "ces")
CASE_COLUMNS = (
    "case_id", "customer_id", "topic", "status", "opened_at", "due_at", "first_answered_at",
    "resolved_at", "closed_at", "closed_how", "reopened", "messages", "recovered",
)  # fmt: skip
REMINDER_COLUMNS = (
    "order_id", "customer_id", "sku", "kind", "due_at", "status", "sent_at", "converted",
)  # fmt: skip

CHUNK = 5000
UPLOAD_LIMIT = 49 * 1024 * 1024  # Telegram takes documents up to 50 MB from bots


def safe_text(value: str | None) -> str:
    """Text defused for spreadsheets (every cell of every export passes through this)."""
    return str(neutralise(value))


def local_time(value: str | None, tz: ZoneInfo) -> str:
    """A stored UTC timestamp as local `YYYY-MM-DD HH:MM:SS` (empty when there is none)."""
    if not value:
        return ""
    return datetime.fromisoformat(value).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class CsvWriter:
    """A CSV file being written, chunk by chunk, in a worker thread."""

    header: Sequence[str]
    buffer: io.StringIO = field(default_factory=io.StringIO)
    rows: int = 0

    def __post_init__(self) -> None:
        self.buffer.write("\ufeff")
        self._writer = csv.writer(self.buffer, lineterminator="\r\n")
        self._writer.writerow(self.header)

    def write(self, rows: Sequence[Sequence[object]]) -> None:
        self._writer.writerows(neutralise_row(tuple(row)) for row in rows)
        self.rows += len(rows)

    def content(self) -> bytes:
        return self.buffer.getvalue().encode("utf-8")


def to_csv(header: Sequence[str], rows: Sequence[Sequence[object]]) -> bytes:
    writer = CsvWriter(header)
    writer.write(rows)
    return writer.content()


async def _stream(
    conn: aiosqlite.Connection,
    sql: str,
    params: Sequence[object] | dict[str, object],
    header: Sequence[str],
    convert: Callable[[aiosqlite.Row], Sequence[object]],
) -> tuple[bytes, int]:
    writer = CsvWriter(header)
    async with conn.execute(sql, params) as cur:
        while rows := await cur.fetchmany(CHUNK):
            await asyncio.to_thread(writer.write, [convert(r) for r in rows])
    return await asyncio.to_thread(writer.content), writer.rows


# --- the three files ------------------------------------------------------------------------------
async def released_answers(
    conn: aiosqlite.Connection, *, min_group: int, tz: ZoneInfo, pseudonyms: Pseudonymizer
) -> list[list[tuple[str, str, str, int, int, datetime]]]:
    """The released answers of every wave, by per-wave export pseudonym, a list per wave:
    (wave, department or "", pseudonym, question, score, local time). The CSV and the workbook
    both write these rows, so the disclosure rules hold for both alike."""
    waves = []
    for wave in await all_waves(conn):
        view = await released(conn, wave.id, min_group=min_group, with_members=True)
        if view.release is None:
            continue
        counted = [m for m in view.members if m.epoch <= view.release.epoch]
        rows = []
        for member in counted:
            pseudonym = pseudonyms.for_export(wave.id, member.key)
            department = view.department_shown(member.department) or ""
            when = view.member_times[member.epoch].astimezone(tz)
            rows += [
                (wave.title, department, pseudonym, question, score, when)
                for question, score in enumerate(member.scores, start=1)
            ]
        rows.sort(key=lambda r: (r[2], r[3]))
        waves.append(rows)
    return waves


async def survey_answers_csv(
    conn: aiosqlite.Connection, *, min_group: int, tz: ZoneInfo, pseudonyms: Pseudonymizer
) -> tuple[bytes, int]:
    """The released answers of every wave, by per-wave export pseudonym."""
    writer = CsvWriter(SURVEY_COLUMNS)
    for rows in await released_answers(conn, min_group=min_group, tz=tz, pseudonyms=pseudonyms):
        lines = [(*r[:5], r[5].strftime("%Y-%m-%d %H:%M:%S")) for r in rows]
        await asyncio.to_thread(writer.write, lines)
    return await asyncio.to_thread(writer.content), writer.rows


async def reviews_csv(conn: aiosqlite.Connection, *, tz: ZoneInfo) -> tuple[bytes, int]:
    """One row per answered review; its orders (one review may cover several) space-separated.

    A customer who asked to be forgotten keeps their scores in the figures, without their id or
    comment.
    """

    def convert(r: aiosqlite.Row) -> Sequence[object]:
        forgotten = r["forgotten_at"] is not None
        return (
            r["order_ids"] or "",
            "" if forgotten else safe_text(r["customer"]),
            "" if r["rating"] is None else r["rating"],
            "" if r["nps"] is None else r["nps"],
            "" if forgotten else safe_text(r["comment"]),
            local_time(r["answered_at"], tz),
            "" if r["ces"] is None else r["ces"],
        )

    return await _stream(
        conn,
        "SELECT r.rating, r.nps, r.comment, r.ces, c.external_id AS customer, c.forgotten_at, "
        "COALESCE(r.rated_at, r.nps_at, r.commented_at) AS answered_at, "
        "(SELECT group_concat(o.order_id, ' ') FROM orders o WHERE o.review_id = r.id) "
        "AS order_ids "
        "FROM reviews r JOIN customers c ON c.id = r.customer_id "
        "WHERE r.rating IS NOT NULL OR r.nps IS NOT NULL OR r.comment IS NOT NULL "
        "ORDER BY r.id",
        (),
        REVIEW_COLUMNS,
        convert,
    )


ORDER_COLUMNS = (
    "order_id",
    "customer_id",
    "purchased_at",
    "items",
    "quantity",
    "revenue",
    "currency",
    "after_restock",
    "after_review_request",
    "after_winback",
)


async def orders_csv(conn: aiosqlite.Connection, *, tz: ZoneInfo) -> tuple[bytes, int]:
    """Every order with its revenue (Σ price × quantity of its priced items) and whether it came
    within the conversion window of a restock reminder (of one of its SKUs, 14 days), a review
    request (14 days) or a win-back message (30 days) — the report's attributed revenue."""

    def convert(r: aiosqlite.Row) -> Sequence[object]:
        revenue = r["revenue"]
        return (
            safe_text(r["order_id"]),
            "" if r["forgotten_at"] is not None else safe_text(r["customer"]),
            local_time(r["purchased_at"], tz),
            r["items"],
            r["quantity"],
            "" if revenue is None else f"{round(revenue) / 100:.2f}",
            r["currency"] or "",
            r["after_restock"],
            r["after_review"],
            r["after_winback"],
        )

    def after(kind: str, days: int, same_sku: bool) -> str:
        sku = (
            " AND EXISTS (SELECT 1 FROM order_items a JOIN order_items b ON b.sku = a.sku "
            "WHERE a.id = x.ref_id AND b.order_id = o.id)"
            if same_sku
            else ""
        )
        return (
            f"EXISTS (SELECT 1 FROM outbox x WHERE x.kind = '{kind}' AND x.status = 'sent' "
            f"AND x.customer_id = o.customer_id AND x.sent_at <= o.purchased_at "
            f"AND x.sent_at >= strftime('%Y-%m-%dT%H:%M:%fZ', o.purchased_at, '-{days} days'){sku})"
        )

    return await _stream(
        conn,
        "SELECT o.order_id, o.purchased_at, c.external_id AS customer, c.forgotten_at, "
        "COUNT(oi.id) AS items, SUM(oi.quantity) AS quantity, "
        "SUM(oi.price_cents * oi.quantity) AS revenue, MAX(oi.currency) AS currency, "
        f"{after('restock', 14, True)} AS after_restock, "
        f"{after('review_request', 14, False)} AS after_review, "
        f"{after('winback', 30, False)} AS after_winback "
        "FROM orders o JOIN customers c ON c.id = o.customer_id "
        "JOIN order_items oi ON oi.order_id = o.id GROUP BY o.id ORDER BY o.purchased_at, o.id",
        (),
        ORDER_COLUMNS,
        convert,
    )


async def reminders_csv(conn: aiosqlite.Connection, *, tz: ZoneInfo) -> tuple[bytes, int]:
    """Every message queued for customers (restock reminders, review requests and reminders)."""

    def convert(r: aiosqlite.Row) -> Sequence[object]:
        restock = r["kind"] == "restock"
        return (
            safe_text(r["order_id"]),
            "" if r["forgotten_at"] is not None else safe_text(r["customer"]),
            safe_text(r["sku"]),
            r["kind"],
            local_time(r["due_at"], tz),
            r["status"],
            local_time(r["sent_at"], tz),
            (1 if r["converted_at"] else 0) if restock else "",
        )

    return await _stream(
        conn,
        REMINDER_ROWS_SQL,
        (),
        REMINDER_COLUMNS,
        convert,
    )


COMMENTS_COLUMNS = ("wave", "department", "comment")


async def survey_comments_csv(conn: aiosqlite.Connection, *, min_group: int) -> tuple[bytes, int]:
    """The anonymous comments the report may show (closed waves, groups of at least
    `min_group`), shuffled; no respondent, pseudonym or time: a day would already be enough to
    match a comment to survey_answers.csv's answer times."""
    rows: list[tuple[str, str, str]] = []
    for wave in await all_waves(conn):
        if wave.is_open:
            continue
        for group in (await comments_of(conn, wave.id, min_group)).groups:
            rows += [
                (safe_text(wave.title), safe_text(group.department or ""), safe_text(c.body))
                for c in group.comments
            ]
    return to_csv(COMMENTS_COLUMNS, rows), len(rows)


async def cases_csv(conn: aiosqlite.Connection, *, tz: ZoneInfo) -> tuple[bytes, int]:
    """One row per case: its times, how it closed, how often it was reopened, how many messages
    were exchanged, and whether a complaint's customer came back («rating» or «purchase»)."""

    def when(value: datetime | None) -> str:
        return local_time(to_db(value), tz) if value is not None else ""

    rows: list[Sequence[object]] = []
    for case, external_id, forgotten, messages in await cases_q.export_rows(conn):
        rows.append(
            (
                case.id,
                "" if forgotten else safe_text(external_id),
                case.topic,
                case.status,
                when(case.opened_at),
                when(case.due_at),
                when(case.first_answered_at),
                when(case.resolved_at),
                when(case.closed_at),
                case.closed_how or "",
                case.reopened,
                messages,
                await recovery(conn, case) or "",
            )
        )
    writer = CsvWriter(CASE_COLUMNS)
    await asyncio.to_thread(writer.write, rows)
    return await asyncio.to_thread(writer.content), writer.rows


# --- what /export sends ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Export:
    filename: str
    content: bytes
    rows: int
    note: str  # a msgid: what the file holds
    params: dict[str, Any] = field(default_factory=dict)

    def caption(self, tr: Translator) -> str:
        return (
            tr("{name}: {rows} rows.", name=self.filename, rows=self.rows)
            + " "
            + tr(self.note, **self.params)
        )


SURVEY_NOTE = N_(
    "Complete answers by pseudonym (a new one in every wave), as the report counts them; a "
    "department only where the report shows it, so no group under {min} can be picked out. "
    "answered_at: when the figures first counted the answers, in {tz}."
)
REVIEWS_NOTE = N_("Answered reviews: rating 1–5, NPS 0–10 and comment. Times in {tz}.")
COMMENTS_NOTE = N_(
    "Anonymous comments of closed surveys, shuffled: only groups of at least {min} commenters; "
    "a department only where its own group is that large. No names, pseudonyms or times."
)
ORDERS_NOTE = N_(
    "Orders with their revenue (price × quantity) and whether they came after a restock "
    "reminder, a review request or a win-back message. Times in {tz}."
)
CASES_NOTE = N_(
    "Cases (complaints, questions, buy-again requests): times, how each closed (confirmed by "
    "the customer or timeout), reopenings, messages, recovered customers. Times in {tz}."
)
REMINDERS_NOTE = N_(
    "Messages queued for customers: restock reminders (converted = bought again) and review "
    "requests. Times in {tz}."
)


def zipped(filename: str, content: bytes) -> tuple[str, bytes]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(filename, content)
    return filename + ".zip", buffer.getvalue()


async def _fit(export: Export) -> Export:
    if len(export.content) <= UPLOAD_LIMIT:
        return export
    name, content = await asyncio.to_thread(zipped, export.filename, export.content)
    return Export(name, content, export.rows, export.note, export.params)


WORKBOOK_NOTE = N_(
    "The same tables for Excel, a sheet each: real dates and numbers, the question texts, and "
    "the customer's name, phone and items beside each review. Times in {tz}."
)


async def build_exports(
    db: Database,
    settings: Settings,
    pseudonyms: Pseudonymizer,
    now: datetime,
    *,
    workbook: Translator | None = None,
) -> list[Export]:
    """The files from one read snapshot (header-only when there is no data yet); survey
    figures are released first, exactly as for a report. With `workbook` (the translator of its
    headers), the .xlsx workbook of the same tables comes last."""
    from bot.reports.workbook import FILENAME, workbook_bytes
    from bot.survey.scoring import QUESTIONS

    tz = settings.tz
    params = {"tz": settings.timezone}
    min_group = settings.survey_min_group
    extra: list[Export] = []
    async with db.write() as conn:
        await release_survey(conn, min_group=min_group, now=now)
    async with db.read() as conn:
        survey = await survey_answers_csv(conn, min_group=min_group, tz=tz, pseudonyms=pseudonyms)
        reviews = await reviews_csv(conn, tz=tz)
        reminders = await reminders_csv(conn, tz=tz)
        comments = await survey_comments_csv(conn, min_group=settings.survey_comment_min_group)
        orders = await orders_csv(conn, tz=tz)
        cases = await cases_csv(conn, tz=tz)
        if workbook is not None:
            answers = await released_answers(
                conn, min_group=min_group, tz=tz, pseudonyms=pseudonyms
            )
            content = await workbook_bytes(
                conn, workbook, QUESTIONS, [r for rows in answers for r in rows], tz=tz
            )
            rows = survey[1] + reviews[1] + reminders[1]
            extra.append(Export(FILENAME, content, rows, WORKBOOK_NOTE, params))
    exports = [
        Export(
            "survey_answers.csv", *survey, SURVEY_NOTE, {**params, "min": settings.survey_min_group}
        ),
        Export("reviews.csv", *reviews, REVIEWS_NOTE, params),
        Export("reminders.csv", *reminders, REMINDERS_NOTE, params),
        Export(
            "survey_comments.csv",
            *comments,
            COMMENTS_NOTE,
            {"min": settings.survey_comment_min_group},
        ),
        Export("orders.csv", *orders, ORDERS_NOTE, params),
        Export("cases.csv", *cases, CASES_NOTE, params),
        *extra,
    ]
    return [await _fit(e) for e in exports]
