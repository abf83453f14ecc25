"""/export through the fake Bot API: three CSVs that Excel and pandas read, with nothing to leak."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import timedelta

import pytest

from bot.app import BotApp
from bot.emulator import BotAPIEmulator
from bot.reports import export
from storage.timestamps import to_db
from tests.conftest import ADMIN_ID, START
from tests.report_factories import Facts
from tests.test_report_survey import boss

FILES = (
    "survey_answers.csv", "reviews.csv", "reminders.csv", "survey_comments.csv", "orders.csv",
    "cases.csv",
)  # fmt: skip


@pytest.fixture
async def facts(app: BotApp) -> Facts:
    return Facts(app.db, START)


async def exported(tg: BotAPIEmulator) -> dict[str, bytes]:
    admin = boss(tg)
    seen = len(admin.documents())
    admin.send("/export")
    await tg.settle()
    return {f.filename: f.content for f in admin.documents()[seen:]}


def _workbook_text(content: bytes) -> str:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(content))
    return "\n".join(
        str(cell.value) for sheet in book.worksheets for row in sheet.iter_rows() for cell in row
    )


def rows(content: bytes) -> list[dict[str, str]]:
    assert content.startswith(b"\xef\xbb\xbf")  # the BOM that makes Excel read UTF-8
    text = content.decode("utf-8-sig")
    assert "\r\n" in text
    return list(csv.DictReader(io.StringIO(text, newline="")))


async def test_no_data_gives_header_only_files(app: BotApp, tg: BotAPIEmulator) -> None:
    files = await exported(tg)
    assert list(files) == [*FILES, "feedback.xlsx"]  # the CSVs as before, then the workbook
    assert files["survey_answers.csv"] == (
        "\ufeffwave,department,respondent,question,score,answered_at\r\n".encode()
    )
    assert files["reviews.csv"].decode("utf-8-sig") == (
        "order_id,customer_id,rating,nps,comment,answered_at,ces\r\n"
    )
    assert files["reminders.csv"].decode("utf-8-sig") == (
        "order_id,customer_id,sku,kind,due_at,status,sent_at,converted\r\n"
    )
    assert files["survey_comments.csv"].decode("utf-8-sig") == "wave,department,comment\r\n"
    assert files["cases.csv"].decode("utf-8-sig") == (
        "case_id,customer_id,topic,status,opened_at,due_at,first_answered_at,resolved_at,"
        "closed_at,closed_how,reopened,messages,recovered\r\n"
    )
    captions = [m.get("caption", "") for m in boss(tg).bot_messages() if "document" in m]
    assert captions[0].startswith("survey_answers.csv: 0 rows. Complete answers by pseudonym")


async def test_survey_answers(app: BotApp, tg: BotAPIEmulator, facts: Facts) -> None:
    # Issue 9 changed what this asserted: partial answers are no longer exported (the report
    # does not count them either), the pseudonym is made for the export (not the stored one),
    # rows are ordered by it, and answered_at is when the figures first counted the answers.
    sales, legal = await facts.department("Продажи"), await facts.department("=Legal")
    wave = await facts.wave("Весна 2026", closed=False)
    sellers = await facts.respondents(
        wave, sales, [[4, 3, 5, 2, 4, 4], [3] * 6, [5, 5, 5, 4, 4, 4], [2] * 6, [5, 5]]
    )
    lawyers = await facts.respondents(wave, legal, [[1] * 6, [2] * 6, [1, 2, 1, 2, 1, 2]])
    files = await exported(tg)
    answers = rows(files["survey_answers.csv"])

    assert len(answers) == (4 + 3) * 6  # complete answers only
    assert answers[0] == {
        "wave": "Весна 2026",
        "department": answers[0]["department"],
        "respondent": answers[0]["respondent"],
        "question": "1",
        "score": answers[0]["score"],
        "answered_at": "2026-01-12 12:00:00",  # 09:00 UTC in Moscow
    }
    shown = [r["respondent"] for r in answers]
    assert shown == sorted(shown)  # by pseudonym, never by department
    assert not {*sellers, *lawyers} & set(shown)  # not the stored pseudonyms
    by_department: dict[str, set[str]] = {}
    for r in answers:
        by_department.setdefault(r["department"], set()).add(r["respondent"])
    assert {k: len(v) for k, v in by_department.items()} == {"Продажи": 4, "'=Legal": 3}
    totals = sorted(
        sum(int(r["score"]) for r in answers if r["respondent"] == p)
        for p in by_department["Продажи"]
    )
    assert totals == [12, 18, 22, 27]


async def test_blank_departments_never_form_a_small_group(
    app: BotApp, tg: BotAPIEmulator, facts: Facts
) -> None:
    # Sales 4, Support 3, Legal 1: blank rows for Legal alone would be one person's answers;
    # Support is left blank with Legal, as the report pools them as «Others».
    sales, support = await facts.department("Sales"), await facts.department("Support")
    legal = await facts.department("Legal")
    wave = await facts.wave("W", closed=False)
    await facts.respondents(wave, sales, [[4] * 6] * 4)
    await facts.respondents(wave, support, [[3] * 6] * 3)
    await facts.respondents(wave, legal, [[5] * 6])
    answers = rows((await exported(tg))["survey_answers.csv"])
    people: dict[str, set[str]] = {}
    for r in answers:
        people.setdefault(r["department"], set()).add(r["respondent"])
    assert {k: len(v) for k, v in people.items()} == {"Sales": 4, "": 4}


async def test_no_telegram_id_anywhere(app: BotApp, tg: BotAPIEmulator, facts: Facts) -> None:
    sales = await facts.department("Sales")
    wave = await facts.wave("W", closed=False)
    await facts.respondents(wave, sales, [[3] * 6] * 3)
    async with app.db.read() as conn, conn.execute("SELECT telegram_id FROM employees") as cur:
        ids = [str(r[0]) for r in await cur.fetchall()]
    files = await exported(tg)
    for name, content in files.items():
        text = _workbook_text(content) if name.endswith(".xlsx") else content.decode("utf-8-sig")
        assert not any(telegram_id in text for telegram_id in ids)
        assert str(ADMIN_ID * 1000) not in text


async def test_reviews(app: BotApp, tg: BotAPIEmulator, facts: Facts) -> None:
    anna = await facts.customer("CUST-7", name="Анна")
    gone = await facts.customer("CUST-8", forgotten_at=to_db(START))
    when = START - timedelta(days=2)
    both = await facts.review(
        anna, requested_at=when, rating=2, nps=6, comment='Долго, "очень", долго,\nно вежливо'
    )
    await facts.order(anna, when, order_id="A-1", review_id=both)
    await facts.order(anna, when, order_id="A-2", review_id=both)
    formula = await facts.review(anna, requested_at=when, rating=5, comment="=HYPERLINK(1)")
    await facts.order(anna, when, order_id="A-3", review_id=formula)
    forgotten = await facts.review(gone, requested_at=when, rating=4, comment="my phone is …")
    await facts.order(gone, when, order_id="G-1", review_id=forgotten)
    await facts.review(anna, requested_at=when)  # asked, never answered: not a review

    reviews = rows((await exported(tg))["reviews.csv"])
    assert len(reviews) == 3
    first, second, third = reviews
    assert sorted(first["order_id"].split()) == ["A-1", "A-2"]  # one review for two orders
    assert first["customer_id"] == "CUST-7"
    assert (first["rating"], first["nps"]) == ("2", "6")
    assert first["comment"] == 'Долго, "очень", долго,\nно вежливо'  # quoted, not split
    assert first["answered_at"] == "2026-01-10 12:00:00"
    assert second["comment"] == "'=HYPERLINK(1)"  # Excel shows it, does not run it
    assert second["nps"] == ""
    assert third["order_id"] == "G-1"
    assert (third["customer_id"], third["comment"], third["rating"]) == ("", "", "4")


async def test_reminders(app: BotApp, tg: BotAPIEmulator, facts: Facts) -> None:
    shopper = await facts.customer("CUST-9")
    _, items = await facts.order(
        shopper, START - timedelta(days=40), order_id="R-1", items=[("COF-1", "Кофе")]
    )
    await facts.restock(shopper, items[0], sent_at=START - timedelta(days=10), converted=True)
    await facts.restock(shopper, items[0], sent_at=None)
    review = await facts.review(shopper, requested_at=START)
    await facts.order(shopper, START - timedelta(days=8), order_id="R-2", review_id=review)
    async with app.db.write() as conn:
        await conn.execute(
            "INSERT INTO outbox (kind, customer_id, ref_id, due_at, status, sent_at, created_at) "
            "VALUES ('review_request', ?, ?, ?, 'sent', ?, ?)",
            (shopper, review, to_db(START), to_db(START), to_db(START)),
        )
        # An employee's survey invitation is not a customer reminder.
        await conn.execute(
            "INSERT INTO outbox (kind, chat_id, due_at, created_at) "
            "VALUES ('survey_invite', 5, ?, ?)",
            (to_db(START), to_db(START)),
        )

    reminders = rows((await exported(tg))["reminders.csv"])
    assert reminders == [
        {
            "order_id": "R-1", "customer_id": "CUST-9", "sku": "COF-1", "kind": "restock",
            "due_at": "2026-01-02 12:00:00", "status": "sent",
            "sent_at": "2026-01-02 12:00:00", "converted": "1",
        },
        {
            "order_id": "R-1", "customer_id": "CUST-9", "sku": "COF-1", "kind": "restock",
            "due_at": "2026-01-12 12:00:00", "status": "pending", "sent_at": "",
            "converted": "0",
        },
        {
            "order_id": "R-2", "customer_id": "CUST-9", "sku": "", "kind": "review_request",
            "due_at": "2026-01-12 12:00:00", "status": "sent",
            "sent_at": "2026-01-12 12:00:00", "converted": "",
        },
    ]  # fmt: skip


async def test_pandas_reads_the_files(app: BotApp, tg: BotAPIEmulator, facts: Facts) -> None:
    pandas = pytest.importorskip("pandas")
    sales = await facts.department("Продажи")
    wave = await facts.wave("W", closed=False)
    await facts.respondents(wave, sales, [[3] * 6] * 3)
    files = await exported(tg)
    frame = pandas.read_csv(io.BytesIO(files["survey_answers.csv"]), parse_dates=["answered_at"])
    assert list(frame.columns) == list(export.SURVEY_COLUMNS)
    assert frame["score"].sum() == 54


async def test_non_admins_get_nothing(app: BotApp, tg: BotAPIEmulator, facts: Facts) -> None:
    sales = await facts.department("Sales")
    wave = await facts.wave("W", closed=False)
    await facts.respondents(wave, sales, [[3] * 6] * 3)
    stranger = tg.user(4242, "Mallory", language_code="en")
    stranger.send("/export")
    await tg.settle()
    assert stranger.documents() == []
    assert stranger.texts() == ["Sorry, this command is for the bot's administrators only."]
    assert tg.calls_of("sendDocument") == []


async def test_a_file_too_big_for_telegram_is_zipped(
    app: BotApp, tg: BotAPIEmulator, facts: Facts, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export, "UPLOAD_LIMIT", 200)
    sales = await facts.department("Sales")
    wave = await facts.wave("W", closed=False)
    await facts.respondents(wave, sales, [[3] * 6] * 3)
    files = await exported(tg)
    assert "survey_answers.csv.zip" in files
    assert "reviews.csv" in files  # still small: sent as it is
    with zipfile.ZipFile(io.BytesIO(files["survey_answers.csv.zip"])) as archive:
        assert len(rows(archive.read("survey_answers.csv"))) == 18


def test_safe_text() -> None:
    assert export.safe_text("=1+1") == "'=1+1"
    assert export.safe_text("+7 999") == "'+7 999"
    assert export.safe_text("-") == "'-"
    assert export.safe_text("@me") == "'@me"
    assert export.safe_text("ok = fine") == "ok = fine"
    assert export.safe_text(None) == ""
