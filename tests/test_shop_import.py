"""Shops' own export files through `import-purchases`: presets, dry run, links, forgetting."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.clock import FakeClock
from bot.customers import identity
from bot.customers.csv_import import run_import
from bot.disclosure.guard import identity_key
from bot.integrations.mapping import retailcrm
from bot.privacy import service as privacy
from bot.pseudonym import Pseudonymizer
from bot.settings import Settings
from storage import Database
from tests.ingest_helpers import TABLES

SHOPS = Path(__file__).parent / "fixtures" / "shops"
AFTER_FIXTURES = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # the fixtures' orders are of Nov 2026


async def query(db_path: Path, sql: str) -> list[dict[str, Any]]:
    db = Database(db_path)
    await db.open(process_lock=False)
    try:
        async with db.read() as conn, conn.execute(sql) as cur:
            return [dict(r) for r in await cur.fetchall()]
    finally:
        await db.close()


async def counts(db_path: Path) -> dict[str, int]:
    if not db_path.exists():  # noqa: ASYNC240 (a test helper)
        return {}
    return {t: (await query(db_path, f"SELECT COUNT(*) AS n FROM {t}"))[0]["n"] for t in TABLES}


def fixture(tmp_path: Path, name: str) -> Path:
    return Path(shutil.copy(SHOPS / name, tmp_path / name))


async def test_shopify_export_imports_unchanged(
    settings: Settings, clock: FakeClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await run_import(settings, fixture(tmp_path, "shopify_orders_export.csv"), clock=clock)

    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Формат: shopify." in out
    assert "Пропущено строк без артикула (подарочные карты, услуги): 1." in out
    assert "Заказов без кода клиента (гости, узнаны по e-mail или телефону): 2." in out
    customers = await query(
        settings.database_path, "SELECT external_id, name, phone, email FROM customers ORDER BY id"
    )
    assert customers == [
        {
            "external_id": "anna@example.com",
            "name": "Анна Смирнова",
            "phone": "+79991234567",
            "email": "anna@example.com",
        },
        {
            "external_id": "tel:+79120001122",
            "name": "Иван Петров",
            "phone": "+79120001122",
            "email": None,
        },
    ]
    items = await query(
        settings.database_path,
        "SELECT o.order_id, i.sku, i.quantity, i.price_cents, i.currency FROM order_items i "
        "JOIN orders o ON o.id = i.order_id ORDER BY i.id",
    )
    assert [tuple(r.values()) for r in items] == [
        ("#1001", "FLT-1", 2, 59500, "RUB"),
        ("#1001", "CRT-2", 1, 60000, "RUB"),
        ("#1002", "COF-1", 1, 99000, "RUB"),
    ]


async def test_woocommerce_export_keeps_two_guests_apart(
    settings: Settings, clock: FakeClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock.set(AFTER_FIXTURES)
    assert (
        await run_import(
            settings, fixture(tmp_path, "woocommerce_webtoffee_export.csv"), clock=clock
        )
        == 0
    )
    customers = await query(
        settings.database_path, "SELECT external_id, name, phone FROM customers ORDER BY id"
    )
    assert [c["external_id"] for c in customers] == [
        "guest.one@example.com",
        "guest.two@example.com",
        "17",
    ]
    assert customers[0]["name"] == "Мария Иванова"
    assert customers[1]["phone"] == "+79034445566"
    assert (
        "Время без часового пояса (заказов: 3) прочитано как Europe/Moscow (TIMEZONE)."
        in capsys.readouterr().out
    )


async def test_russian_excel_export_with_dry_run_then_for_real(
    settings: Settings, clock: FakeClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock.set(AFTER_FIXTURES)
    path = fixture(tmp_path, "generic_ru_cp1251.csv")
    assert await run_import(settings, path, clock=clock, dry_run=True) == 0
    out, _ = capsys.readouterr()
    assert "Было бы импортировано заказов: 4" in out
    assert "Проверка (--dry-run): ничего не записано." in out
    assert set((await counts(settings.database_path)).values()) <= {0}

    assert await run_import(settings, path, clock=clock) == 0
    out, _ = capsys.readouterr()
    assert "Импортировано заказов: 4 (позиций: 5)" in out
    [honey] = await query(
        settings.database_path, "SELECT quantity, price_cents FROM order_items WHERE sku = 'HNY-1'"
    )
    assert honey == {"quantity": 0.5, "price_cents": 90050}


async def test_bad_date_names_the_line_and_the_files_own_column(
    settings: Settings, clock: FakeClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ru.csv"
    path.write_bytes(
        "Номер заказа;Код клиента;Дата заказа;Артикул;Кол-во\n1;К-1;31.02.2026;A;1\n".encode(
            "cp1251"
        )
    )
    assert await run_import(settings, path, clock=clock) == 1
    assert "строка 2, «Дата заказа»: такой даты нет: «31.02.2026»" in capsys.readouterr().err


async def test_english_messages_for_an_english_bot(
    make_settings: Callable[..., Settings],
    clock: FakeClock,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "en.csv"
    path.write_text("order,customer id,date,sku,qty\n1,c,yesterday,A,1\n")
    assert await run_import(make_settings(default_language="en"), path, clock=clock) == 1
    assert "line 2, «date»: is not a date: «yesterday»" in capsys.readouterr().err


async def test_retailcrm_json_file(
    settings: Settings, clock: FakeClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "orders.json"
    path.write_text('{"orders": [' + (SHOPS / "retailcrm_order.json").read_text() + "]}")
    assert await run_import(settings, path, clock=clock, read_order=retailcrm) == 0
    assert "Формат: retailcrm." in capsys.readouterr().out
    [order] = await query(settings.database_path, "SELECT order_id, purchased_at FROM orders")
    assert order == {"order_id": "171", "purchased_at": "2017-07-15T11:23:38.000000Z"}


async def test_links_file_has_each_customers_receipt_link(
    settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    out = tmp_path / "links.csv"
    assert (
        await run_import(
            settings, fixture(tmp_path, "shopify_orders_export.csv"), clock=clock, links=out
        )
        == 0
    )
    links = list(csv.DictReader(io.StringIO(out.read_text("utf-8-sig"))))
    tokens = await query(
        settings.database_path, "SELECT external_id, link_token FROM customers ORDER BY id"
    )
    assert [(r["customer_id"], r["customer_link"]) for r in links] == [
        (t["external_id"], f"https://t.me/feedback_test_bot?start=c_{t['link_token']}")
        for t in tokens
    ]


async def test_forget_clears_the_email_and_hashes_an_email_customer_id(
    settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    path = fixture(tmp_path, "shopify_orders_export.csv")
    assert await run_import(settings, path, clock=clock) == 0
    secret = settings.resolve_pseudonym_secret()
    keys = Pseudonymizer(secret, identity_key=identity_key(settings, secret))
    db = Database(settings.database_path)
    await db.open(process_lock=False)
    try:
        [anna] = [
            r
            for r in await query(settings.database_path, "SELECT id, external_id FROM customers")
            if r["external_id"] == "anna@example.com"
        ]
        assert (
            await privacy.forget_customer(db, anna["id"], clock.now(), keys=keys)
            is privacy.Outcome.DONE
        )
    finally:
        await db.close()
    [row] = await query(settings.database_path, f"SELECT * FROM customers WHERE id = {anna['id']}")
    assert row["external_id"] == identity.hashed_id(keys, "anna@example.com")
    assert (row["email"], row["phone"], row["name"]) == (None, None, None)
    dump = "\n".join(str(r) for r in await query(settings.database_path, "SELECT * FROM customers"))
    assert "anna@example.com" not in dump

    # The shop sends the same file again, and a new order of hers: both still hers, anonymous.
    again = tmp_path / "again.csv"
    again.write_text(
        path.read_text(encoding="utf-8")
        + "#1003,anna@example.com,paid,,,,,RUB,,,,,,,,2024-06-01 10:00:00 +0000,1,Фильтр,"
        + "595.00,,FLT-1"
        + "," * 58
        + "\r\n",
        encoding="utf-8",
    )
    assert await run_import(settings, again, clock=clock) == 0
    orders = await query(
        settings.database_path,
        f"SELECT order_id FROM orders WHERE customer_id = {anna['id']} ORDER BY order_id",
    )
    assert [o["order_id"] for o in orders] == ["#1001", "#1003"]
    [after] = await query(
        settings.database_path, f"SELECT email, name FROM customers WHERE id = {anna['id']}"
    )
    assert after == {"email": None, "name": None}


async def test_forget_hashes_a_guests_phone_id_too(
    settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    path = fixture(tmp_path, "shopify_orders_export.csv")
    assert await run_import(settings, path, clock=clock) == 0
    secret = settings.resolve_pseudonym_secret()
    keys = Pseudonymizer(secret, identity_key=identity_key(settings, secret))
    db = Database(settings.database_path)
    await db.open(process_lock=False)
    try:
        async with db.write() as conn:
            await conn.execute(
                "INSERT INTO events_out (kind, body, created_at) VALUES ('review.completed', "
                '\'{"data": {"customer_id": "tel:+79120001122"}}\', \'2026-01-01\')'
            )
        [ivan] = await query(
            settings.database_path,
            "SELECT id FROM customers WHERE external_id = 'tel:+79120001122'",
        )
        await privacy.forget_customer(db, ivan["id"], clock.now(), keys=keys)
    finally:
        await db.close()
    dump = str(await query(settings.database_path, "SELECT * FROM customers")) + str(
        await query(settings.database_path, "SELECT body FROM events_out")
    )
    assert "79120001122" not in dump
    assert await run_import(settings, path, clock=clock) == 0  # the same file: nothing new
    assert len(await query(settings.database_path, "SELECT id FROM orders")) == 2
