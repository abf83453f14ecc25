"""`python -m bot import-purchases FILE [--format F] [--dry-run] [--links OUT.csv]`: purchases
for shops without an API, from the files their systems export.

The header says which column is which (bot/customers/formats): our own names, the usual
Russian and English ones («Номер заказа», «Дата заказа», «Артикул», «Кол-во», «Цена, руб.»…),
or a system's preset, detected from the header or named with `--format`: `shopify` (Orders →
Export), `woocommerce` (the «Order Export & Order Import» plugin, items packed in
`line_item_N`), `retailcrm` (a JSON file of orders as RetailCRM's API gives them, or a CSV read
as generic). Comma, semicolon (Excel in Russian) or tab separated; UTF-8 (with or without BOM),
or Windows-1251 as Excel saves it.

Cells are read as shops write them: `25.11.2026`, `25.11.2026 14:30`, ISO with or without an
offset (without one, in TIMEZONE, and the summary says so), Shopify's `… +0000`; quantities
`1,0` or `0.5`; prices `1 190,50`. Order-level cells left blank on an order's later lines are
filled down; lines without a SKU (gift cards) are skipped and counted; a row without a customer
id is a guest, known by e-mail, else by phone, else by the order alone.

All or nothing for bad rows: every row is checked first, and so is every order id against the
database, and any bad row is reported as `строка 12, «Дата заказа»: …` (in DEFAULT_LANGUAGE) on
stderr with nothing written. Then the orders go in by the API's rules (`bot.customers.batch`),
in transactions of about BATCH_SECONDS each with a pause between them, so a running bot's own
writes (a survey press, an API call) go in between instead of waiting for the whole file. An
import cut off half-way (a kill, a power cut) has written whole batches only; running the same
file again skips the orders already there (orders are idempotent) and writes the rest.
`--dry-run` does all of it in one transaction and rolls it back. `--links FILE` writes each
customer's receipt link (`https://t.me/<bot>?start=c_…`) to a CSV.

Exit codes: 0 imported (or nothing new), 1 bad rows (nothing written), 2 the file cannot be
read as such a file, 3 the database could not be written (busy or broken; the batches before
the failure are written, a re-run completes them),
4 Telegram could not be asked the bot's name for --links (nothing written).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

import aiosqlite
from pydantic import ValidationError
from tqdm import tqdm

from bot.clock import Clock, SystemClock
from bot.customers import identity
from bot.customers.batch import record_batch
from bot.customers.extras import record_extras
from bot.customers.formats import (
    CellProblem,
    Mapping,
    OrderDraft,
    UnreadableHeader,
    assemble,
    map_header,
)
from bot.customers.phones import InvalidPhone, to_e164
from bot.customers.purchases import Timing
from bot.customers.schema import MAX_ITEMS, PurchaseIn
from bot.disclosure.guard import identity_key
from bot.i18n import Translator, build_i18n
from bot.pseudonym import Pseudonymizer
from bot.settings import Settings
from bot.texts import N_
from storage import Database
from storage import customers as q
from storage import outbox as outbox_q
from storage.outbox import RESTOCK

# Above this size a progress bar is shown even when stderr is not a terminal (a cron log).
LARGE_FILE_BYTES = 5 * 1024 * 1024
PROGRESS_EVERY_ROWS = 1000
# How long one write transaction of the import may hold the writer: as long as a running bot's
# own writes wait for it. Batches are sized by time, not by count: an order costs 0.3-3 ms
# depending on its items and on how busy the machine is (bench/ingest.py), so the import starts
# with FIRST_BATCH orders and sizes each next batch from how long the last one took.
BATCH_SECONDS = 0.25
FIRST_BATCH, MIN_BATCH, MAX_BATCH = 200, 20, 5000
# Between two batches the import lets go of the database this long. SQLite's busy handler,
# which the bot's waiting writer sleeps in, retries at least every 100 ms: a shorter gap could
# be missed, and the bot would wait batch after batch.
BATCH_PAUSE_SECONDS = 0.12

OK, BAD_ROWS, UNREADABLE, DATABASE_ERROR, NO_TELEGRAM = 0, 1, 2, 3, 4

# pydantic's refusals of what the formats layer did not check already, in our words.
_PYDANTIC = {
    "string_too_long": N_("is longer than {max_length} characters"),
    "string_too_short": N_("is empty"),
    "greater_than_equal": N_("must be at least {ge}"),
    "less_than_equal": N_("must be at most {le}"),
    "int_parsing": N_("is not a whole number: «{input}»"),
    "int_from_float": N_("is not a whole number: «{input}»"),
    "string_pattern_mismatch": N_("is not a currency code like RUB or USD: «{input}»"),
}
_VALUE_ERRORS = {
    "must not be in the future": N_("must not be in the future"),
    "must not be before 2000-01-01": N_("must not be before 2000-01-01"),
    "must not contain control characters": N_("must not contain control characters"),
}
# Where a field of the purchase body comes from in the file.
_FIELD_OF = {
    ("order_id",): "order_id",
    ("customer", "id"): "customer_id",
    ("customer", "phone"): "phone",
    ("customer", "name"): "name",
    ("customer", "email"): "email",
    ("purchased_at",): "purchased_at",
}
_ITEM_FIELD = {
    "sku": "sku",
    "name": "item_name",
    "quantity": "quantity",
    "price": "price",
    "restock_days": "restock_days",
    "currency": "currency",
}


class UnreadableFile(Exception):
    """The file is not a purchases file at all; an English msgid and its parameters."""

    def __init__(self, msgid: str, **params: Any) -> None:
        super().__init__(msgid.format(**params) if params else msgid)
        self.msgid = msgid
        self.params = params

    def text(self, tr: Translator) -> str:
        return tr(self.msgid, **self.params)


@dataclass(frozen=True)
class RowError:
    line: int
    column: str  # the file's own header ("" for the row as a whole)
    msgid: str
    params: dict[str, Any] = field(default_factory=dict)

    def text(self, tr: Translator) -> str:
        reason = tr(self.msgid, **self.params)
        if self.column:
            return tr(
                "line {line}, «{column}»: {reason}",
                line=self.line,
                column=self.column,
                reason=reason,
            )
        return tr("line {line}: {reason}", line=self.line, reason=reason)

    def __str__(self) -> str:
        reason = self.msgid.format(**self.params) if self.params else self.msgid
        return (
            f"line {self.line}, «{self.column}»: {reason}"
            if self.column
            else f"line {self.line}: {reason}"
        )


@dataclass(frozen=True)
class Parsed:
    orders: list[tuple[int, PurchaseIn]]  # (first line, order), oldest purchase first
    errors: list[RowError]
    rows: int
    format: str = "generic"
    unknown_columns: tuple[str, ...] = ()
    skipped_no_sku: int = 0
    naive_times: int = 0
    guests: int = 0
    notes: list[str] = field(default_factory=list)  # English msgids (with params) for stderr
    note_params: list[dict[str, Any]] = field(default_factory=list)


# --- reading -------------------------------------------------------------------------------------
def _open_text(path: Path) -> tuple[IO[bytes], io.TextIOWrapper, str]:
    try:
        binary = path.open("rb")
    except OSError as exc:
        raise UnreadableFile(
            N_("cannot open the file: {reason}"), reason=exc.strerror or str(exc)
        ) from None
    head = binary.read(64 * 1024)
    binary.seek(0)
    try:
        head.decode("utf-8")
        encoding = "utf-8-sig"
    except UnicodeDecodeError as exc:
        # A cut in the middle of a character at the end of the sample is still UTF-8.
        encoding = "utf-8-sig" if exc.start >= len(head) - 3 else "cp1251"
    if b"\x00" in head:
        binary.close()
        raise UnreadableFile(N_("this is not a text CSV file (it contains NUL bytes)"))
    text = io.TextIOWrapper(binary, encoding=encoding, newline="", errors="strict")
    return binary, text, encoding


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _phone_key(text: str) -> str:
    try:
        return to_e164(text)
    except InvalidPhone as exc:
        raise ValueError(str(exc)) from None


def _body(draft: OrderDraft) -> dict[str, Any]:
    return {
        "order_id": draft.order_id,
        "customer": {
            "id": draft.customer_id,
            "phone": draft.phone,
            "name": draft.name,
            "email": draft.email,
        },
        "purchased_at": draft.when.at,
        "items": [
            {
                "sku": item.sku,
                "name": item.name,
                "quantity": float(item.quantity),
                "restock_days": item.restock_days,
                "price": item.price,
                "currency": item.currency,
            }
            for item in draft.items
        ],
    }


def _schema_errors(exc: ValidationError, draft: OrderDraft, mapping: Mapping) -> list[RowError]:
    out = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        line, name = draft.line, None
        if loc[:1] == ("items",) and len(loc) >= 3 and isinstance(loc[1], int):
            item = draft.items[loc[1]]
            line, name = item.line, _ITEM_FIELD.get(str(loc[2]))
        else:
            name = _FIELD_OF.get(loc)
        column = mapping.header(name) if name else ".".join(map(str, loc))
        message = str(error["msg"]).removeprefix("Value error, ")
        msgid = _VALUE_ERRORS.get(message) or _PYDANTIC.get(str(error["type"]))
        params = {**(error.get("ctx") or {}), "input": error.get("input")}
        if msgid is None:
            msgid, params = "{reason}", {"reason": message}
        out.append(RowError(line, column, msgid, params))
    return out


def parse(
    stream: IO[str],
    now: datetime,
    *,
    fmt: str = "auto",
    tz: ZoneInfo | None = None,
    on_rows: Callable[[int], None] | None = None,
    read_order: JsonOrder | None = None,
) -> Parsed:
    """Read and check every row (no database); orders come back oldest first.

    `on_rows(n)` is called every PROGRESS_EVERY_ROWS rows (the progress bar).
    """
    local = tz or ZoneInfo("Europe/Moscow")
    first = stream.readline()
    if not first.strip():
        raise UnreadableFile(N_("the file is empty: expected a header row"))
    if first.lstrip("\ufeff").lstrip()[:1] in ("{", "["):
        return _parse_json(first + stream.read(), now, local, read_order)
    delimiter = _delimiter(first)
    try:
        header_row = next(csv.reader([first], delimiter=delimiter))
    except csv.Error as exc:
        raise UnreadableFile(
            N_("line 1: cannot read the header: {reason}"), reason=str(exc)
        ) from None
    try:
        mapping = map_header(header_row, fmt)
    except UnreadableHeader as exc:
        raise UnreadableFile(exc.msgid, **exc.params) from None
    width = len(header_row)
    shape_errors: list[RowError] = []

    def rows() -> Iterator[tuple[int, list[str]]]:
        reader = csv.reader(stream, delimiter=delimiter)
        line_end = 1
        count = 0
        while True:
            line = line_end + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise UnreadableFile(
                    N_("line {line}: {reason}"), line=line, reason=str(exc)
                ) from None
            line_end = 1 + reader.line_num
            count += 1
            if on_rows is not None and count % PROGRESS_EVERY_ROWS == 0:
                on_rows(count)
            if not any(cell.strip() for cell in row):
                continue  # blank lines, as spreadsheets leave at the end
            if len(row) != width:
                shape_errors.append(
                    RowError(
                        line,
                        "",
                        N_("expected {width} fields, found {found}"),
                        {"width": width, "found": len(row)},
                    )
                )
                continue
            yield line, row

    assembled = assemble(mapping, rows(), local, _phone_key)
    errors = shape_errors + [
        RowError(e.line, e.column, e.problem.msgid, dict(e.problem.params))
        for e in assembled.errors
    ]
    orders: list[tuple[int, PurchaseIn]] = []
    for draft in assembled.orders:
        if len(draft.items) > MAX_ITEMS:
            errors.append(
                RowError(draft.line, "", N_("the order has more than {n} items"), {"n": MAX_ITEMS})
            )
            continue
        try:
            purchase = PurchaseIn.model_validate(_body(draft), strict=False, context={"now": now})
        except ValidationError as exc:
            errors.extend(_schema_errors(exc, draft, mapping))
            continue
        orders.append((draft.line, purchase))
    orders.sort(key=lambda pair: (pair[1].purchased_at, pair[0]))
    errors.sort(key=lambda e: e.line)
    return Parsed(
        orders=orders,
        errors=errors,
        rows=assembled.rows + len(shape_errors),
        format=mapping.format,
        unknown_columns=mapping.unknown,
        skipped_no_sku=len(assembled.skipped_no_sku),
        naive_times=assembled.naive_times,
        guests=assembled.guests,
    )


# Reads one system order into our purchase body: bot.integrations.mapping.retailcrm, handed
# in by the command line (integrations sit above customers in the layers).
JsonOrder = Callable[[Any, Callable[[str], str], ZoneInfo], Any]


def _parse_json(text: str, now: datetime, local: ZoneInfo, read_order: JsonOrder | None) -> Parsed:
    """RetailCRM's orders as its API returns them: {"orders": [...]}, a list, or one order."""
    if read_order is None:
        raise UnreadableFile(N_("a JSON file of orders needs --format retailcrm"))
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableFile(N_("the file is not valid JSON: {reason}"), reason=str(exc)) from None
    if isinstance(payload, dict) and isinstance(payload.get("orders"), list):
        payload = payload["orders"]
    if isinstance(payload, dict):
        payload = [payload]
    if not isinstance(payload, list):
        raise UnreadableFile(N_("the file holds no RetailCRM orders"))
    orders: list[tuple[int, PurchaseIn]] = []
    errors: list[RowError] = []
    skipped = guests = 0
    for number, raw in enumerate(payload, start=1):
        try:
            mapped = read_order(raw, _phone_key, local)
        except ValueError as exc:  # NotAnOrder: an English msgid and its parameters
            errors.append(
                RowError(number, "", getattr(exc, "msgid", str(exc)), getattr(exc, "params", {}))
            )
            continue
        skipped += mapped.skipped_items
        if mapped.body is None:
            continue
        guests += not (isinstance(raw.get("customer"), dict) and raw["customer"].get("externalId"))
        try:
            purchase = PurchaseIn.model_validate(mapped.body, strict=False, context={"now": now})
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                errors.append(
                    RowError(
                        number,
                        ".".join(map(str, error["loc"])),
                        "{reason}",
                        {"reason": str(error["msg"]).removeprefix("Value error, ")},
                    )
                )
            continue
        orders.append((number, purchase))
    orders.sort(key=lambda pair: (pair[1].purchased_at, pair[0]))
    return Parsed(
        orders,
        errors,
        len(payload),
        format="retailcrm",
        skipped_no_sku=skipped,
        naive_times=len(orders),
        guests=guests,
    )


# --- writing --------------------------------------------------------------------------------------
@dataclass
class Summary:
    imported: int = 0
    items: int = 0
    skipped: int = 0  # imported before
    customers: set[int] = field(default_factory=set)
    review_requests: int = 0
    restock_reminders: int = 0

    def __str__(self) -> str:
        return (
            f"imported {self.imported} orders ({self.items} items) for "
            f"{len(self.customers)} customers; {self.skipped} were imported before; "
            f"scheduled {self.review_requests} review requests and "
            f"{self.restock_reminders} restock reminders"
        )


class _Rollback(Exception):
    pass


def _conflict(line: int, order_id: str, owner: str) -> RowError:
    return RowError(
        line,
        "",
        N_("order {order} is already recorded for another customer ({customer})"),
        {"order": order_id, "customer": owner},
    )


async def find_conflicts(
    db: Database, orders: list[tuple[int, PurchaseIn]], keys: Pseudonymizer | None = None
) -> list[RowError]:
    """Order ids the database (or an earlier row of the file) has for another customer.

    Checked before anything is written, so a file with such a row writes nothing. A forgotten
    customer's e-mail id is compared as the keyed hash it is stored as (bot/customers/identity).
    """
    async with db.read() as conn:
        known = await q.orders_by_shop_ids(conn, [p.order_id for _, p in orders])
        purchases = [purchase for _, purchase in orders]
        if keys is not None:
            purchases = await identity.resolve_forgotten(conn, purchases, keys)
    owners = {order_id: stored.external_customer_id for order_id, stored in known.items()}
    errors: list[RowError] = []
    for (line, _), purchase in zip(orders, purchases, strict=True):
        owner = owners.setdefault(purchase.order_id, purchase.customer.id)
        if owner != purchase.customer.id:
            errors.append(_conflict(line, purchase.order_id, owner))
    return errors


async def _write_batch(
    conn: aiosqlite.Connection,
    chunk: list[tuple[int, PurchaseIn]],
    timing: Timing,
    now: datetime,
    keys: Pseudonymizer | None,
    summary: Summary,
) -> list[RowError]:
    """One transaction's worth: conflicts found (then the caller rolls back), or the counts."""
    purchases = [purchase for _, purchase in chunk]
    if keys is not None:
        purchases = await identity.resolve_forgotten(conn, purchases, keys)
    result = await record_batch(conn, purchases, timing, now)
    if result.conflicts:
        return [
            _conflict(chunk[index][0], exc.order_id, exc.customer_id)
            for index, exc in result.conflicts
        ]
    await record_extras(conn, [purchases[i] for i in result.created])
    summary.imported += len(result.created)
    summary.items += sum(len(purchases[i].items) for i in result.created)
    summary.skipped += len(result.skipped)
    summary.customers |= result.customers
    summary.review_requests += result.review_requests
    summary.restock_reminders += result.restock_reminders
    return []


async def write(
    db: Database,
    orders: list[tuple[int, PurchaseIn]],
    timing: Timing,
    now: datetime,
    *,
    keys: Pseudonymizer | None = None,
    dry_run: bool = False,
    batch_seconds: float = BATCH_SECONDS,
    pause: float = BATCH_PAUSE_SECONDS,
    on_batch: Callable[[int], None] | None = None,
) -> tuple[Summary, list[RowError]]:
    """Every order, in transactions of about `batch_seconds` each with `pause` seconds between.

    Conflicts are looked for first, and any found writes nothing. One that appears meanwhile
    (the API stored the same order id for another customer while the import ran) rolls back
    its batch and stops the import there: the batches before it stay, as a re-run would write
    them anyway. A dry run is one transaction, rolled back.
    """
    conflicts = await find_conflicts(db, orders, keys)
    if conflicts:
        return Summary(), conflicts
    summary = Summary()
    if dry_run:
        try:
            async with db.write() as conn:
                conflicts = await _write_batch(conn, orders, timing, now, keys, summary)
                raise _Rollback
        except _Rollback:
            pass
        return (Summary(), conflicts) if conflicts else (summary, [])
    start, size = 0, FIRST_BATCH
    while start < len(orders):
        if start:
            await asyncio.sleep(pause)  # the bot's own writes go in here
        chunk = orders[start : start + size]
        start += len(chunk)
        began = time.monotonic()
        done = Summary()
        try:
            async with db.write() as conn:
                conflicts = await _write_batch(conn, chunk, timing, now, keys, done)
                if conflicts:
                    raise _Rollback
        except _Rollback:
            return summary, conflicts
        summary.imported += done.imported
        summary.items += done.items
        summary.skipped += done.skipped
        summary.customers |= done.customers
        summary.review_requests += done.review_requests
        summary.restock_reminders += done.restock_reminders
        if on_batch is not None:
            on_batch(len(chunk))
        # The next batch as many orders as fit in batch_seconds at this one's pace (at most
        # twice as many: one fast batch says little).
        took = max(time.monotonic() - began, 1e-3)
        fitting = int(len(chunk) * batch_seconds / took)
        size = max(MIN_BATCH, min(MAX_BATCH, 2 * len(chunk), fitting))
    if start > FIRST_BATCH:
        # A later batch may supersede a reminder an earlier one queued (a repurchase of the
        # SKU): count what is still scheduled, as one transaction would have.
        async with db.read() as conn:
            summary.restock_reminders = await outbox_q.count_queued_at(conn, RESTOCK, now)
    return summary, []


# --- the command ----------------------------------------------------------------------------------
def _progress_wanted(path: Path) -> bool:
    try:
        large = path.stat().st_size >= LARGE_FILE_BYTES
    except OSError:
        large = False
    return large or sys.stderr.isatty()


def _report(tr: Translator, errors: list[RowError]) -> None:
    for error in errors:
        print(error.text(tr), file=sys.stderr)


def _summary_lines(
    tr: Translator, parsed: Parsed, summary: Summary, settings: Settings, dry_run: bool
) -> list[str]:
    lines = [
        tr(
            "{verb} {orders} orders ({items} items) for {customers} customers; {before} were "
            "imported before; {reviews} review requests and {restock} restock reminders "
            "scheduled.",
            verb=tr("Would import") if dry_run else tr("Imported"),
            orders=summary.imported,
            items=summary.items,
            customers=len(summary.customers),
            before=summary.skipped,
            reviews=summary.review_requests,
            restock=summary.restock_reminders,
        ),
        tr("Format: {format}.", format=parsed.format),
    ]
    if parsed.skipped_no_sku:
        lines.append(
            tr("Lines without a SKU skipped (gift cards, services): {n}.", n=parsed.skipped_no_sku)
        )
    if parsed.guests:
        lines.append(
            tr(
                "Orders without a customer id (guests, known by e-mail or phone): {n}.",
                n=parsed.guests,
            )
        )
    if parsed.naive_times:
        lines.append(
            tr(
                "Times without a time zone ({n} orders) were read as {tz} (TIMEZONE).",
                n=parsed.naive_times,
                tz=settings.timezone,
            )
        )
    if parsed.unknown_columns:
        lines.append(tr("Columns not used: {columns}.", columns=", ".join(parsed.unknown_columns)))
    if dry_run:
        lines.append(tr("Dry run: nothing was written."))
    return lines


async def _bot_username(settings: Settings) -> str | None:
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    bot = Bot(settings.bot_token.get_secret_value(), session=session)
    try:
        me = await bot.get_me()
    except Exception:  # any failure means the same here: no links can be made
        return None
    finally:
        await session.close()
    return me.username


async def _write_links(
    db: Database, parsed: Parsed, username: str, out: Path, keys: Pseudonymizer
) -> int:
    ids: list[str] = []
    for _, purchase in parsed.orders:
        if purchase.customer.id not in ids:
            ids.append(purchase.customer.id)
    async with db.read() as conn:
        resolved = await identity.resolve_forgotten(conn, [p for _, p in parsed.orders], keys)
        ids = list(dict.fromkeys(p.customer.id for p in resolved))
        rows = await q.link_rows(conn, ids)
    with out.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["customer_id", "name", "phone", "email", "customer_link"])
        count = 0
        for row in rows:
            if row.forgotten:
                continue  # asked to be forgotten: nothing to print on a receipt
            writer.writerow(
                [
                    row.external_id,
                    row.name or "",
                    row.phone or "",
                    row.email or "",
                    f"https://t.me/{username}?start=c_{row.link_token}",
                ]
            )
            count += 1
    return count


async def run_import(
    settings: Settings,
    path: Path,
    *,
    clock: Clock | None = None,
    fmt: str = "auto",
    dry_run: bool = False,
    links: Path | None = None,
    read_order: JsonOrder | None = None,
) -> int:
    """Import a purchases file; prints bad rows to stderr and a summary to stdout."""
    now = (clock or SystemClock()).now()
    tr = Translator(build_i18n(settings.default_language), settings.default_language)
    show = _progress_wanted(path)
    try:
        parsed = _parse_file(path, now, show, fmt, settings.tz, read_order)
    except UnreadableFile as exc:
        print(f"{path}: {exc.text(tr)}", file=sys.stderr)
        return UNREADABLE
    for msgid, params in zip(parsed.notes, parsed.note_params, strict=True):
        print(f"{path}: {tr(msgid, **params)}", file=sys.stderr)
    if parsed.errors:
        _report(tr, parsed.errors)
        print(
            tr(
                "{n} bad rows in {path}; nothing was imported. Fix them and run the import again.",
                n=len(parsed.errors),
                path=path,
            ),
            file=sys.stderr,
        )
        return BAD_ROWS
    if not parsed.orders:
        print(tr("no purchases in {path}; nothing to import", path=path))
        return OK
    username = None
    if links is not None and not dry_run:
        username = await _bot_username(settings)
        if username is None:
            print(
                tr(
                    "Telegram could not be asked the bot's name, so no links can be made; "
                    "nothing was imported."
                ),
                file=sys.stderr,
            )
            return NO_TELEGRAM

    pseudonym_key = settings.resolve_pseudonym_secret()
    keys = Pseudonymizer(pseudonym_key, identity_key=identity_key(settings, pseudonym_key))
    db = Database(settings.database_path)
    bar = None
    try:
        # The running bot holds the process lock; SQLite's own locking (busy timeout) makes
        # this transaction wait for the bot's writer and the bot's wait for this one.
        await db.open(process_lock=False)
        with tqdm(
            total=len(parsed.orders),
            desc="importing",
            unit=" orders",
            disable=not show,
            file=sys.stderr,
        ) as progress:
            bar = progress
            # One transaction a batch: the bar moves as each commits.
            summary, conflicts = await write(
                db,
                parsed.orders,
                Timing.from_settings(settings),
                now,
                keys=keys,
                dry_run=dry_run,
                on_batch=progress.update,
            )
        written = None
        if username is not None and links is not None and not conflicts:
            written = await _write_links(db, parsed, username, links, keys)
    except sqlite3.Error as exc:
        written = bar.n if bar is not None else 0
        if written:
            message = tr(
                "the database {path} could not be written: {reason}; {written} of {total} "
                "orders were written; run the same file again to import the rest",
                path=settings.database_path,
                reason=str(exc),
                written=written,
                total=len(parsed.orders),
            )
        else:
            message = tr(
                "the database {path} could not be written: {reason}; nothing was imported",
                path=settings.database_path,
                reason=str(exc),
            )
        print(message, file=sys.stderr)
        return DATABASE_ERROR
    finally:
        await db.close()
    if conflicts:
        _report(tr, conflicts)
        if summary.imported or summary.skipped:
            # Stored by someone else (the API) while the import ran: the batches before stay.
            print(
                tr(
                    "{n} bad rows in {path}; the import stopped there, after {imported} orders. "
                    "Fix them and run the import again: the orders already in are skipped.",
                    n=len(conflicts),
                    path=path,
                    imported=summary.imported,
                ),
                file=sys.stderr,
            )
        else:
            print(
                tr("{n} bad rows in {path}; nothing was imported.", n=len(conflicts), path=path),
                file=sys.stderr,
            )
        return BAD_ROWS
    for line in _summary_lines(tr, parsed, summary, settings, dry_run):
        print(line)
    if written is not None:
        print(tr("Receipt links of {n} customers written to {path}.", n=written, path=links))
    elif links is not None and dry_run:
        print(tr("Dry run: no links were written (new customers get theirs when imported)."))
    return OK


def _parse_file(
    path: Path, now: datetime, show: bool, fmt: str, tz: ZoneInfo, read_order: JsonOrder | None
) -> Parsed:
    binary, text, encoding = _open_text(path)
    try:
        size = path.stat().st_size
        with tqdm(
            total=size,
            desc="checking",
            unit="B",
            unit_scale=True,
            disable=not show,
            file=sys.stderr,
        ) as bar:

            def advance(_rows: int) -> None:
                bar.update(binary.tell() - bar.n)

            try:
                parsed = parse(text, now, fmt=fmt, tz=tz, on_rows=advance, read_order=read_order)
            except UnicodeDecodeError as exc:
                raise UnreadableFile(
                    N_("the file is not valid {encoding} text: {reason}"),
                    encoding=encoding,
                    reason=exc.reason,
                ) from None
            bar.update(size - bar.n)
    finally:
        text.close()
    if encoding == "cp1251":
        parsed.notes.append(N_("read as Windows-1251 (it is not UTF-8)"))
        parsed.note_params.append({})
    return parsed


__all__ = [
    "CellProblem",
    "Parsed",
    "RowError",
    "Summary",
    "UnreadableFile",
    "parse",
    "run_import",
    "write",
]
