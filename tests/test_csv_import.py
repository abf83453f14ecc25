"""CSV import: real files, a real SQLite database, all-or-nothing, line numbers in refusals."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import BotApp
from bot.clock import FakeClock
from bot.customers import csv_import
from bot.customers.csv_import import run_import
from bot.settings import Settings
from storage import Database
from storage.timestamps import from_db
from tests.conftest import START, TOKEN
from tests.ingest_helpers import TABLES

HEADER = "order_id,customer_id,phone,name,purchased_at,sku,item_name,quantity,restock_days"
GOOD = [
    HEADER,
    "A-1,c-1,8 (999) 123-45-67,Анна,2026-01-10T12:00:00+03:00,TEA,Чай улун,2,30",
    "A-1,c-1,,,2026-01-10T12:00:00+03:00,CUP,Чашка,1,",
    'A-2,c-2,+7 912 000-11-22,"Петров, Иван",2026-01-11T10:00:00+03:00,TEA,Чай улун,1,30',
]


def write_csv(tmp_path: Path, lines: list[str], *, encoding: str = "utf-8") -> Path:
    path = tmp_path / "purchases.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


async def table_counts(db_path: Path) -> dict[str, int]:
    db = Database(db_path)
    await db.open(process_lock=False)
    try:
        out = {}
        async with db.read() as conn:
            for table in TABLES:
                async with conn.execute(f"SELECT COUNT(*) FROM {table}") as cur:
                    out[table] = (await cur.fetchone())[0]
        return out
    finally:
        await db.close()


async def query(db_path: Path, sql: str) -> list[dict[str, object]]:
    db = Database(db_path)
    await db.open(process_lock=False)
    try:
        async with db.read() as conn, conn.execute(sql) as cur:
            return [dict(r) for r in await cur.fetchall()]
    finally:
        await db.close()


async def test_import_groups_rows_into_orders_and_schedules_messages(
    settings: Settings, clock: FakeClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(tmp_path, GOOD)

    code = await run_import(settings, path, clock=clock)

    out, err = capsys.readouterr()
    assert code == 0
    assert err == ""  # no progress bar for a small file off a terminal
    assert out.splitlines()[0] == (
        "Импортировано заказов: 2 (позиций: 3), клиентов: 2; импортированы раньше: 0; "
        "запланировано просьб об отзыве: 2, напоминаний о пополнении: 2."
    )
    customers = await query(settings.database_path, "SELECT * FROM customers ORDER BY id")
    assert [(c["external_id"], c["phone"], c["name"]) for c in customers] == [
        ("c-1", "+79991234567", "Анна"),
        ("c-2", "+79120001122", "Петров, Иван"),
    ]
    items = await query(
        settings.database_path,
        "SELECT o.order_id, i.sku, i.quantity, i.restock_days FROM order_items i "
        "JOIN orders o ON o.id = i.order_id ORDER BY i.id",
    )
    assert [tuple(i.values()) for i in items] == [
        ("A-1", "TEA", 2, 30),
        ("A-1", "CUP", 1, None),
        ("A-2", "TEA", 1, 30),
    ]
    restock = await query(
        settings.database_path, "SELECT due_at FROM outbox WHERE kind = 'restock' ORDER BY id"
    )
    assert from_db(str(restock[0]["due_at"])) == START - timedelta(days=2) + timedelta(days=27)


async def test_importing_again_changes_nothing(
    settings: Settings, clock: FakeClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(tmp_path, GOOD)
    assert await run_import(settings, path, clock=clock) == 0
    before = await table_counts(settings.database_path)
    capsys.readouterr()

    assert await run_import(settings, path, clock=clock) == 0

    out = capsys.readouterr().out
    assert "Импортировано заказов: 0" in out
    assert "импортированы раньше: 2" in out
    assert await table_counts(settings.database_path) == before


async def test_bad_rows_are_reported_by_line_and_nothing_is_written(
    settings: Settings, clock: FakeClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        *GOOD,
        "A-3,c-3,,,2026-01-11T10:00:00+03:00,TEA,Чай,two,30",  # line 5
        "A-4,c-4,12345,,2026-01-11T10:00:00,TEA,Чай,1,0",  # line 6
        '"A-5","c-5",,,2026-01-11T10:00:00Z,"TEA","Чай\nс переносом",1,',  # lines 7-8: fine
        "A-6,c-6,,,2026-01-11T10:00:00Z,TEA,Чай,1",  # line 9
        "A-1,c-9,,,2026-01-10T12:00:00+03:00,TEA,Чай улун,1,30",  # line 10
        ",c-7,,,2026-01-11T10:00:00Z,,Чай,1,",  # line 11
    ]
    path = write_csv(tmp_path, lines)

    code = await run_import(settings, path, clock=clock)

    _, err = capsys.readouterr()
    assert code == 1
    reported = [line for line in err.splitlines() if line.startswith("строка ")]
    assert reported == [
        "строка 5, «quantity»: не число: «two»",
        "строка 6, «phone»: не номер телефона: «12345» (not a valid phone number)",
        "строка 9: ожидалось полей: 9, найдено: 8",
        "строка 10, «customer_id»: не совпадает со строкой 2 того же заказа A-1",
        # A blank order number continues the order of the line above it (A-1 of line 10).
        "строка 11, «customer_id»: не совпадает со строкой 2 того же заказа A-1",
    ]
    assert "ничего не импортировано" in err
    assert set((await table_counts(settings.database_path)).values()) == {0}


async def test_order_known_for_another_customer_rolls_back_everything(
    settings: Settings, clock: FakeClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run_import(settings, write_csv(tmp_path, GOOD[:2]), clock=clock) == 0
    before = await table_counts(settings.database_path)
    lines = [
        HEADER,
        "B-1,c-1,,,2026-01-11T10:00:00+03:00,TEA,Чай,1,30",
        "A-1,c-other,,,2026-01-10T12:00:00+03:00,TEA,Чай,1,30",
    ]

    code = await run_import(settings, write_csv(tmp_path, lines), clock=clock)

    assert code == 1
    assert "строка 3: заказ A-1 уже записан на другого клиента (c-1)" in capsys.readouterr().err
    assert await table_counts(settings.database_path) == before  # B-1 was not kept either


async def test_excel_in_russian_semicolons_windows_1251(
    settings: Settings, clock: FakeClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        HEADER.replace(",", ";").upper() + ";comment",
        "A-1;c-1;89991234567;Анна;2026-01-10 12:00:00+03:00;TEA;Чай;2;30;хороший клиент",
    ]
    path = write_csv(tmp_path, lines, encoding="cp1251")

    assert await run_import(settings, path, clock=clock) == 0

    out, err = capsys.readouterr()
    assert "Не использованы колонки: comment." in out
    assert "Windows-1251" in err
    [customer] = await query(settings.database_path, "SELECT name, phone FROM customers")
    assert customer == {"name": "Анна", "phone": "+79991234567"}


async def test_utf8_with_bom_and_optional_columns_absent(
    settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(
        "\ufefforder_id,customer_id,purchased_at,sku,item_name,quantity\r\n"
        "A-1,c-1,2026-01-10T12:00:00Z,TEA,Чай,1\r\n".encode()
    )

    assert await run_import(settings, path, clock=clock) == 0
    assert (await table_counts(settings.database_path))["orders"] == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "не удаётся открыть файл"),
        (b"", "файл пуст"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "это не текстовый CSV-файл"),
        (b"order_id,customer_id\nA,B\n", "в заголовке нет колонки для purchased_at, sku"),
        ((HEADER + ",sku\n").encode(), "в заголовке две колонки для sku"),
    ],
)
async def test_unreadable_files_exit_2(
    settings: Settings,
    clock: FakeClock,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: bytes | None,
    message: str,
) -> None:
    path = tmp_path / "in.csv"
    if content is not None:
        path.write_bytes(content)

    assert await run_import(settings, path, clock=clock) == 2

    assert message in capsys.readouterr().err
    assert not settings.database_path.exists()  # refused before the database was touched


async def test_header_only_is_fine(
    settings: Settings, clock: FakeClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run_import(settings, write_csv(tmp_path, [HEADER]), clock=clock) == 0
    assert "импортировать нечего" in capsys.readouterr().out


async def test_import_while_the_bot_runs(
    app: BotApp, settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    # The bot holds the process lock; the import shares the file through SQLite's locking.
    assert await run_import(settings, write_csv(tmp_path, GOOD), clock=clock) == 0

    async with app.db.read() as conn, conn.execute("SELECT COUNT(*) FROM orders") as cur:
        assert (await cur.fetchone())[0] == 2


async def test_progress_bar_for_large_files(
    settings: Settings,
    clock: FakeClock,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(csv_import, "LARGE_FILE_BYTES", 10)

    assert await run_import(settings, write_csv(tmp_path, GOOD), clock=clock) == 0

    err = capsys.readouterr().err
    assert "checking" in err
    assert "importing" in err


@pytest.mark.slow  # a fresh interpreter importing aiogram: 2-6 s on a busy 2-core machine
def test_the_command_line(tmp_path: Path) -> None:
    lines = [*GOOD, "A-9,c-9,,,never,TEA,Чай,1,"]
    env = {
        **os.environ,
        "BOT_TOKEN": TOKEN,
        "DATABASE_PATH": str(tmp_path / "bot.sqlite3"),
        "PSEUDONYM_SECRET": "x",
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot", "import-purchases", str(write_csv(tmp_path, lines))],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )

    assert done.returncode == 1
    assert done.stderr.startswith("строка 5, «purchased_at»: не дата: «never»")
    assert done.stdout == ""
