"""Issue 9's scenarios through the fake Bot API: what the report and the export give away.

Each was an attack on the old main: one respondent's exact answers; the hidden pair of a 5/4/2
company by subtraction; each new respondent's answers from reports after each completion; the
export's blank rows; a pseudonym shared across waves; a person split between departments.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot.app import BotApp
from bot.clock import FakeClock
from bot.emulator import BotAPIEmulator, FakeUser
from scheduler.digest import DigestJob
from tests.conftest import ADMIN_ID
from tests.disclosure_adversary import findings, sums_from_print
from tests.survey_helpers import admin, answer, invite_link, join, start_wave

SCORES = [
    [4, 3, 5, 2, 4, 4], [3, 3, 3, 3, 2, 3], [5, 4, 5, 4, 4, 4], [1, 2, 1, 2, 1, 2],
    [2, 2, 3, 1, 3, 3], [3, 3, 3, 2, 3, 4], [4, 4, 4, 3, 4, 4], [5, 5, 5, 5, 5, 4],
    [3, 5, 5, 3, 5, 4], [1, 1, 2, 2, 3, 3], [2, 3, 4, 5, 4, 3],
]  # fmt: skip


async def company(
    tg: BotAPIEmulator, sizes: dict[str, int], language: str = "en"
) -> list[tuple[FakeUser, str]]:
    """People joined to departments of these sizes (Telegram ids from 100); the admin reads
    `language`."""
    tg.user(ADMIN_ID, "Olga", username="olga_hr", language_code=language)
    people = []
    for department, size in sizes.items():
        link = await invite_link(tg, department)
        for _ in range(size):
            user = tg.user(100 + len(people), f"P{len(people)}", language_code="en")
            await join(tg, user, link)
            people.append((user, department))
    return people


async def report(tg: BotAPIEmulator) -> str:
    boss = admin(tg)
    seen = len(boss.bot_messages())
    boss.send("/report survey")
    await tg.settle()
    return "\n".join(m.get("text", "") for m in boss.bot_messages()[seen:] if "text" in m)


async def export_rows(tg: BotAPIEmulator) -> list[dict[str, str]]:
    boss = admin(tg)
    seen = len(boss.documents())
    boss.send("/export")
    await tg.settle()
    files = {f.filename: f.content for f in boss.documents()[seen:]}
    text = files["survey_answers.csv"].decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


async def test_one_respondent_shows_counts_only(app: BotApp, tg: BotAPIEmulator) -> None:
    people = await company(tg, {"Sales": 9}, language="ru")
    await start_wave(tg, app)
    await answer(tg, people[0][0], [1, 2, 3, 4, 5, 1])
    text = await report(tg)
    assert "Приглашено: 9 · ответили: 1" in text
    assert "Ответили 1 из 9; итоги появятся, когда ответят не меньше 3." in text
    assert "Индекс компании" not in text
    assert "Q1:" not in text
    assert await export_rows(tg) == []
    # The second respondent gives nothing away either.
    await answer(tg, people[1][0], [2] * 6)
    assert "Ответили 2 из 9; итоги появятся, когда ответят не меньше 3." in await report(tg)
    await answer(tg, people[2][0], [3] * 6)
    text = await report(tg)
    assert "Индекс компании: 15,33 из 30" in text, text


async def test_five_four_two_hides_the_four_with_the_two(app: BotApp, tg: BotAPIEmulator) -> None:
    people = await company(tg, {"Alpha": 5, "Beta": 4, "Gamma": 2})
    await start_wave(tg, app)
    for (user, _), scores in zip(people, SCORES, strict=True):
        await answer(tg, user, scores)
    text = await report(tg)
    assert "Company score" in text
    assert "Alpha: 5 respondents, index" in text
    assert "Beta:" not in text
    assert "Gamma" not in text
    assert "Others (2 departments): 6 respondents, index" in text
    assert "Departments hidden to protect a smaller group: 1" in text
    rows = await export_rows(tg)
    people_by_department: dict[str, set[str]] = {}
    for r in rows:
        people_by_department.setdefault(r["department"], set()).add(r["respondent"])
    assert {k: len(v) for k, v in people_by_department.items()} == {"Alpha": 5, "": 6}


_SCORE = re.compile(r"Company score: ([0-9.]+) of 30")
_COUNTED = re.compile(r"The figures count (\d+) of the (\d+) respondents")
_RESPONDED = re.compile(r"responded: (\d+)")
_DEPARTMENT = re.compile(
    r"^(Alpha|Beta|Gamma|Others \(\d departments\)): (\d+) respondents, index ([0-9.]+)$", re.M
)


async def test_reports_after_each_completion_isolate_nobody(
    app: BotApp, tg: BotAPIEmulator
) -> None:
    people = await company(tg, {"Alpha": 5, "Beta": 4, "Gamma": 2})
    await start_wave(tg, app)
    department = {i: d for i, (_, d) in enumerate(people)}
    rows: list[frozenset[int]] = []
    exported_sets: list[frozenset[str]] = []
    completed: list[int] = []
    previous_counted = 0
    for i, ((user, _), scores) in enumerate(zip(people, SCORES, strict=True)):
        await answer(tg, user, scores)
        completed.append(i)
        text = await report(tg)
        responded = int(_RESPONDED.search(text).group(1))  # type: ignore[union-attr]
        assert responded == len(completed)  # the live count is always there
        score = _SCORE.search(text)
        if score is None:
            assert responded < 3
            continue
        match = _COUNTED.search(text)
        counted = int(match.group(1)) if match else responded
        assert counted == previous_counted or counted - previous_counted >= 3
        previous_counted = counted
        # What the adversary reads: the company's set is the first `counted` to complete, and
        # the printed mean of the total gives its exact sum back.
        everyone = frozenset(completed[:counted])
        assert len(sums_from_print(score.group(1), counted, 6, 30)) == 1
        rows.append(everyone)
        shown: set[int] = set()
        for name, n, _mean in _DEPARTMENT.findall(text):
            if name.startswith("Others"):
                continue
            group = frozenset([p for p in completed if department[p] == name][: int(n)])
            shown |= group
            rows.append(group)
        rows.append(everyone - shown)  # «Others», or nobody
        exported_sets.append(frozenset(r["respondent"] for r in await export_rows(tg)))
    assert findings(rows, list(department), 3, known=0) == []
    # Each export adds nobody or at least three pseudonyms to the one before.
    for before, after in itertools.pairwise(exported_sets):
        assert before <= after
        assert len(after - before) in (0, *range(3, 12))


async def test_a_move_mid_wave_keeps_the_department_of_the_invitation(
    app: BotApp, tg: BotAPIEmulator
) -> None:
    people = await company(tg, {"Alpha": 3, "Beta": 3})
    await start_wave(tg, app)
    mover = people[0][0]
    await answer(tg, mover, [3, 3, 3])
    await join(tg, mover, await invite_link(tg, "Beta"))  # moves half-way through
    mover.send("/survey")
    await tg.settle()
    await answer(tg, mover, [3, 3, 3])
    async with (
        app.db.read() as conn,
        conn.execute(
            "SELECT DISTINCT d.name FROM survey_answers a JOIN departments d "
            "ON d.id = a.department_id"
        ) as cur,
    ):
        departments = [r[0] for r in await cur.fetchall()]
    assert departments == ["Alpha"]


async def test_pseudonyms_differ_between_waves(app: BotApp, tg: BotAPIEmulator) -> None:
    people = await company(tg, {"Alpha": 3})
    seen: list[set[str]] = []
    for title in ("Волна 1", "Волна 2"):
        await start_wave(tg, app, title)
        for user, _ in people:
            await answer(tg, user, [4] * 6)
        rows = await export_rows(tg)
        seen.append({r["respondent"] for r in rows if r["wave"] == title})
        admin(tg).send("/survey_close")
        await tg.settle()
    assert len(seen[0]) == len(seen[1]) == 3
    assert not seen[0] & seen[1]
    async with (
        app.db.read() as conn,
        conn.execute("SELECT COUNT(DISTINCT respondent) FROM survey_answers") as cur,
    ):
        stored = await cur.fetchone()
    assert stored is not None
    assert stored[0] == 6  # stored per wave too: the database cannot join the two waves


async def test_every_export_cell_is_defused(
    app: BotApp, tg: BotAPIEmulator, start_app: Callable[..., Any]
) -> None:
    async with app.db.write() as conn:
        await conn.execute(
            "INSERT INTO customers (external_id, link_token, created_at) "
            "VALUES ('=cmd|x', 't1', '2026-01-12T09:00:00.000000Z')"
        )
        await conn.execute(
            "INSERT INTO reviews (customer_id, created_at, requested_at, rating, rated_at, "
            "status) VALUES (1, '2026-01-10T09:00:00.000000Z', '2026-01-10T09:00:00.000000Z', "
            "5, '2026-01-10T09:00:00.000000Z', 'answered')"
        )
        await conn.execute(
            "INSERT INTO orders (order_id, customer_id, purchased_at, created_at, review_id) "
            "VALUES ('=HYPERLINK(\"http://evil\")', 1, '2026-01-03T09:00:00.000000Z', "
            "'2026-01-03T09:00:00.000000Z', 1)"
        )
    boss = admin(tg)
    boss.send("/export")
    await tg.settle()
    # The CSVs (the workbook beside them keeps text cells as strings: tests/test_workbook.py).
    files = {
        f.filename: f.content.decode("utf-8-sig")
        for f in boss.documents()
        if f.filename.endswith(".csv")
    }
    reviews = list(csv.DictReader(io.StringIO(files["reviews.csv"], newline="")))
    assert reviews[0]["order_id"] == '\'=HYPERLINK("http://evil")'
    assert reviews[0]["customer_id"] == "'=cmd|x"
    for content in files.values():
        for row in csv.reader(io.StringIO(content, newline="")):
            assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row)


async def test_the_digest_shows_the_same_released_figures(
    start_app: Callable[..., Any], tg: BotAPIEmulator, clock: FakeClock
) -> None:
    app = await start_app(report_cron="0 10 * * tue")
    people = await company(tg, {"Alpha": 5, "Beta": 4, "Gamma": 2}, language="ru")
    await start_wave(tg, app)
    for (user, _), scores in zip(people[:5], SCORES, strict=False):
        await answer(tg, user, scores)
    first = await report(tg)  # Alpha's five: the figures of five respondents
    await answer(tg, people[5][0], SCORES[5])  # one more: not enough to change them
    clock.set(datetime(2026, 1, 13, 7, 1, tzinfo=UTC))  # Tuesday 10:01 in Moscow
    digest = app.digest
    assert isinstance(digest, DigestJob)
    assert await digest.run() == 1
    texts = "\n".join(admin(tg).texts())
    digest_text = texts[texts.rindex("Отчёт по расписанию") :]
    score = re.search(r"Индекс компании: ([0-9,]+) из 30", digest_text)
    assert score is not None
    assert f"Индекс компании: {score.group(1)} из 30" in first  # unchanged by the sixth
    assert "Итоги учитывают 5 из 6 ответивших" in digest_text
    assert "Beta" not in digest_text
