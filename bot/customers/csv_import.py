"""`python -m bot import-purchases FILE.csv`: purchases for shops without an API.

Columns (a header row names them, in any order): order_id, customer_id, phone, name,
purchased_at, sku, item_name, quantity, restock_days. One row per item; the rows of one order
share its order_id (and its customer and time). phone, name and restock_days may be blank or
absent. Comma, semicolon (Excel in Russian) or tab separated; UTF-8 (with or without BOM), or
Windows-1251 as Excel saves it.

All or nothing for bad rows: every row is checked first, and so is every order id against the
database, and any bad row is reported as `line N: reason` on stderr with nothing written. Then
the orders go in by the API's rules (`bot.customers.batch`, which gives what `record_purchase`
would, in bulk), in transactions of about BATCH_SECONDS each with a pause between them, so a running
bot's own writes (a survey press, an API call) go in between instead of waiting for the whole
file. An import cut off half-way (a kill, a power cut) has written whole batches only; running
the same file again skips the orders already there (orders are idempotent) and writes the rest.

Exit codes: 0 imported (or nothing new), 1 bad rows (nothing written), 2 the file cannot be
read as such a CSV, 3 the database could not be written (busy or broken; the batches before
the failure are written, a re-run completes them).
"""

from __future__ import annotations

import asyncio
import csv
import io
import sqlite3
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError
from tqdm import tqdm

from bot.clock import Clock, SystemClock
from bot.customers.batch import record_batch
from bot.customers.purchases import Timing
from bot.customers.schema import MAX_ITEMS, CustomerIn, ItemIn, PurchaseIn
from bot.settings import Settings
from storage import Database
from storage import customers as q
from storage import outbox as outbox_q
from storage.outbox import RESTOCK

COLUMNS = (
    "order_id",
    "customer_id",
    "phone",
    "name",
    "purchased_at",
    "sku",
    "item_name",
    "quantity",
    "restock_days",
)
OPTIONAL = frozenset({"phone", "name", "restock_days"})
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

# Where a field of the model comes from in the file.
_FIELD_COLUMN = {
    ("order_id",): "order_id",
    ("customer", "id"): "customer_id",
    ("customer", "phone"): "phone",
    ("customer", "name"): "name",
    ("purchased_at",): "purchased_at",
    ("items", 0, "sku"): "sku",
    ("items", 0, "name"): "item_name",
    ("items", 0, "quantity"): "quantity",
    ("items", 0, "restock_days"): "restock_days",
}

OK, BAD_ROWS, UNREADABLE, DATABASE_ERROR = 0, 1, 2, 3


class UnreadableFile(Exception):
    """The file is not a purchases CSV at all (missing, binary, no header, missing columns)."""


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class _Order:
    line: int  # where the order starts in the file
    fields: dict[str, Any]  # order_id, customer, purchased_at
    items: list[dict[str, Any]] = field(default_factory=list)
    purchased_at: datetime | None = None


@dataclass(frozen=True)
class Parsed:
    orders: list[tuple[int, PurchaseIn]]  # (first line, order), oldest purchase first
    errors: list[RowError]
    rows: int
    notes: list[str]


# --- reading -------------------------------------------------------------------------------------
def _open_text(path: Path) -> tuple[IO[bytes], io.TextIOWrapper, str]:
    try:
        binary = path.open("rb")
    except OSError as exc:
        raise UnreadableFile(f"cannot open {path}: {exc.strerror or exc}") from None
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
        raise UnreadableFile("this is not a text CSV file (it contains NUL bytes)")
    text = io.TextIOWrapper(binary, encoding=encoding, newline="", errors="strict")
    return binary, text, encoding


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _header(raw: list[str]) -> tuple[dict[str, int], list[str]]:
    names = [h.strip().lower() for h in raw]
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in seen and name in COLUMNS:
            raise UnreadableFile(f"the header names the column {name!r} twice")
        seen.setdefault(name, index)
    missing = [c for c in COLUMNS if c not in seen and c not in OPTIONAL]
    if missing:
        raise UnreadableFile(
            "the header lacks the columns "
            + ", ".join(missing)
            + " (expected: "
            + ", ".join(COLUMNS)
            + ")"
        )
    unknown = [n for n in names if n not in COLUMNS]
    notes = [f"ignoring unknown columns: {', '.join(unknown)}"] if unknown else []
    return {c: seen[c] for c in COLUMNS if c in seen}, notes


def parse(
    stream: IO[str], now: datetime, *, on_rows: Callable[[int], None] | None = None
) -> Parsed:
    """Read and check every row (no database); orders come back oldest first.

    `on_rows(n)` is called every PROGRESS_EVERY_ROWS rows (the progress bar).
    """
    first = stream.readline()
    if not first.strip():
        raise UnreadableFile("the file is empty: expected a header row")
    delimiter = _delimiter(first)
    try:
        header_row = next(csv.reader([first], delimiter=delimiter))
    except csv.Error as exc:
        raise UnreadableFile(f"line 1: cannot read the header: {exc}") from None
    columns, notes = _header(header_row)
    width = len(header_row)

    orders: dict[str, _Order] = {}
    errors: list[RowError] = []
    reader = csv.reader(stream, delimiter=delimiter)
    line_end = 1
    count = 0
    while True:
        line = line_end + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise UnreadableFile(f"line {line}: {exc}") from None
        line_end = 1 + reader.line_num
        count += 1
        if on_rows is not None and count % PROGRESS_EVERY_ROWS == 0:
            on_rows(count)
        if not any(cell.strip() for cell in row):
            continue  # blank lines, as spreadsheets leave at the end
        if len(row) != width:
            errors.append(RowError(line, f"expected {width} fields, found {len(row)}"))
            continue
        error = _add_row(orders, line, {c: row[i] for c, i in columns.items()}, now)
        if error is not None:
            errors.append(error)

    parsed: list[tuple[int, PurchaseIn]] = []
    for order in orders.values():
        if len(order.items) > MAX_ITEMS:
            errors.append(RowError(order.line, f"order has more than {MAX_ITEMS} items"))
            continue
        # Every part was validated row by row already.
        parsed.append(
            (
                order.line,
                PurchaseIn.model_construct(
                    order_id=order.fields["order_id"],
                    customer=CustomerIn.model_construct(**order.fields["customer"]),
                    purchased_at=order.fields["purchased_at"],
                    items=[ItemIn.model_construct(**item) for item in order.items],
                ),
            )
        )
    parsed.sort(key=lambda pair: (pair[1].purchased_at, pair[0]))
    errors.sort(key=lambda e: e.line)
    return Parsed(parsed, errors, count, notes)


def _add_row(
    orders: dict[str, _Order], line: int, cells: dict[str, str], now: datetime
) -> RowError | None:
    body = {
        "order_id": cells["order_id"],
        "customer": {
            "id": cells["customer_id"],
            "phone": cells.get("phone", ""),
            "name": cells.get("name", ""),
        },
        "purchased_at": cells["purchased_at"].strip(),
        "items": [
            {
                "sku": cells["sku"],
                "name": cells["item_name"],
                "quantity": cells["quantity"].strip(),
                "restock_days": cells.get("restock_days", "").strip(),
            }
        ],
    }
    try:
        one = PurchaseIn.model_validate(body, strict=False, context={"now": now})
    except ValidationError as exc:
        return RowError(line, "; ".join(_reasons(exc)))

    order = orders.get(one.order_id)
    item = one.items[0].model_dump()
    if order is None:
        orders[one.order_id] = _Order(
            line,
            {
                "order_id": one.order_id,
                "customer": one.customer.model_dump(),
                "purchased_at": one.purchased_at,
            },
            [item],
            one.purchased_at,
        )
        return None
    # Later rows of an order repeat its order-level cells, or leave phone and name blank.
    mismatch = []
    if one.customer.id != order.fields["customer"]["id"]:
        mismatch.append("customer_id")
    if one.purchased_at != order.purchased_at:
        mismatch.append("purchased_at")
    for column in ("phone", "name"):
        value = getattr(one.customer, column)
        if value is not None and value != order.fields["customer"][column]:
            if order.fields["customer"][column] is None:
                order.fields["customer"][column] = value
            else:
                mismatch.append(column)
    if mismatch:
        return RowError(
            line,
            f"order {one.order_id!r} has a different {', '.join(mismatch)} than on line "
            f"{order.line}",
        )
    order.items.append(item)
    return None


def _reasons(exc: ValidationError) -> list[str]:
    """pydantic's errors in the file's terms: the column, then why."""
    reasons = []
    for error in exc.errors(include_url=False):
        column = _FIELD_COLUMN.get(tuple(error["loc"]), ".".join(map(str, error["loc"])))
        reasons.append(f"{column}: {str(error['msg']).removeprefix('Value error, ')}")
    return reasons


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
        line, f"order_id {order_id!r} is already recorded for another customer ({owner!r})"
    )


async def find_conflicts(db: Database, orders: list[tuple[int, PurchaseIn]]) -> list[RowError]:
    """Order ids the database (or an earlier row of the file) has for another customer.

    Checked before anything is written, so a file with such a row writes nothing.
    """
    async with db.read() as conn:
        known = await q.orders_by_shop_ids(conn, [p.order_id for _, p in orders])
    owners = {order_id: stored.external_customer_id for order_id, stored in known.items()}
    errors: list[RowError] = []
    for line, purchase in orders:
        owner = owners.setdefault(purchase.order_id, purchase.customer.id)
        if owner != purchase.customer.id:
            errors.append(_conflict(line, purchase.order_id, owner))
    return errors


async def write(
    db: Database,
    orders: list[tuple[int, PurchaseIn]],
    timing: Timing,
    now: datetime,
    *,
    batch_seconds: float = BATCH_SECONDS,
    pause: float = BATCH_PAUSE_SECONDS,
    on_batch: Callable[[int], None] | None = None,
) -> tuple[Summary, list[RowError]]:
    """Every order, in transactions of about `batch_seconds` each with `pause` seconds between.

    Conflicts are looked for first, and any found writes nothing. One that appears meanwhile
    (the API stored the same order id for another customer while the import ran) rolls back
    its batch and stops the import there: the batches before it stay, as a re-run would write
    them anyway.
    """
    conflicts = await find_conflicts(db, orders)
    if conflicts:
        return Summary(), conflicts
    summary = Summary()
    start, size = 0, FIRST_BATCH
    while start < len(orders):
        if start:
            await asyncio.sleep(pause)  # the bot's own writes go in here
        chunk = orders[start : start + size]
        start += len(chunk)
        purchases = [purchase for _, purchase in chunk]
        began = time.monotonic()
        try:
            async with db.write() as conn:
                result = await record_batch(conn, purchases, timing, now)
                if result.conflicts:
                    raise _Rollback
        except _Rollback:
            return summary, [
                _conflict(chunk[index][0], exc.order_id, exc.customer_id)
                for index, exc in result.conflicts
            ]
        summary.imported += len(result.created)
        summary.items += sum(len(purchases[i].items) for i in result.created)
        summary.skipped += len(result.skipped)
        summary.customers |= result.customers
        summary.review_requests += result.review_requests
        summary.restock_reminders += result.restock_reminders
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


def _report(errors: list[RowError]) -> None:
    for error in errors:
        print(str(error), file=sys.stderr)


async def run_import(settings: Settings, path: Path, *, clock: Clock | None = None) -> int:
    """Import a purchases CSV; prints bad rows to stderr and a summary to stdout."""
    now = (clock or SystemClock()).now()
    show = _progress_wanted(path)
    try:
        parsed = _parse_file(path, now, show)
    except UnreadableFile as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return UNREADABLE
    for note in parsed.notes:
        print(f"{path}: {note}", file=sys.stderr)
    if parsed.errors:
        _report(parsed.errors)
        print(
            f"{len(parsed.errors)} bad rows in {path}; nothing was imported. Fix them and run "
            "the import again.",
            file=sys.stderr,
        )
        return BAD_ROWS
    if not parsed.orders:
        print(f"no purchases in {path}; nothing to import")
        return OK
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
                db, parsed.orders, Timing.from_settings(settings), now, on_batch=progress.update
            )
    except sqlite3.Error as exc:
        written = bar.n if bar is not None else 0
        done = (
            f"{written} of {len(parsed.orders)} orders were written; run the same file again "
            "to import the rest"
            if written
            else "nothing was imported"
        )
        print(
            f"the database {settings.database_path} could not be written: {exc}; {done}",
            file=sys.stderr,
        )
        return DATABASE_ERROR
    finally:
        await db.close()
    if conflicts:
        _report(conflicts)
        if summary.imported or summary.skipped:
            # Stored by someone else (the API) while the import ran: the batches before stay.
            print(
                f"{len(conflicts)} bad rows in {path}; the import stopped there, after "
                f"{summary.imported} orders. Fix them and run the import again: the orders "
                "already in are skipped.",
                file=sys.stderr,
            )
        else:
            print(f"{len(conflicts)} bad rows in {path}; nothing was imported.", file=sys.stderr)
        return BAD_ROWS
    print(str(summary))
    return OK


def _parse_file(path: Path, now: datetime, show: bool) -> Parsed:
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
                parsed = parse(text, now, on_rows=advance)
            except UnicodeDecodeError as exc:
                raise UnreadableFile(
                    f"the file is not valid {encoding} text: {exc.reason}"
                ) from None
            bar.update(size - bar.n)
    finally:
        text.close()
    if encoding == "cp1251":
        parsed.notes.append("read as Windows-1251 (it is not UTF-8)")
    return parsed
