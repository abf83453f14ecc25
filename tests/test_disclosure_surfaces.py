"""The adversary against the real surfaces: report text and figures, chart data, export rows.

Random companies (departments of 1–12 people), two waves, people moving between them, partial
answers and changed answers, and random report/export moments: every view goes through the
production code (bot.reports.survey.release_survey, survey_report, the rendered survey section
that the report and the digest send, the department table the heatmap draws, and
survey_answers.csv), over a real database. The adversary reads the printed numbers.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.i18n import Translator, build_i18n
from bot.pseudonym import Pseudonymizer
from bot.reports.export import survey_answers_csv
from bot.reports.render import survey_section
from bot.reports.survey import release_survey, survey_report
from storage import Database
from storage.timestamps import to_db
from tests.disclosure_adversary import findings, sums_from_print

START = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
TZ = ZoneInfo("Europe/Moscow")
EN = Translator(build_i18n("en"), "en")
PSEUDONYMS = Pseudonymizer(b"surfaces-test-key")

_SCORE = re.compile(r"Company score: ([0-9.]+) of 30")
_COUNTED = re.compile(r"The figures count (\d+) of the (\d+) respondents")
_ROW = re.compile(r"^(D\d+|Others \(\d+ departments\)): (\d+), ([0-9.]+)$", re.M)


@dataclass
class Wave:
    id: int
    department: dict[int, int]  # person → department at invitation
    completed: list[int] = field(default_factory=list)  # in order
    rows: list[frozenset[int]] = field(default_factory=list)
    exports: list[list[dict[str, str]]] = field(default_factory=list)


def _steps(kinds: list[str], size: int) -> st.SearchStrategy[list]:
    return st.lists(
        st.tuples(st.sampled_from(kinds), st.integers(0, 100), st.tuples(*[st.integers(1, 5)] * 6)),
        max_size=size,
    )


# A quiet start (answers, nobody looking) and then answers mixed with views: a first view
# after many answers shows departments, whose later steps are then what the adversary works on.
actions = st.builds(
    lambda quiet, busy: quiet + busy,
    _steps(["complete"] * 4 + ["partial", "edit"], 30),
    _steps(["complete"] * 4 + ["partial", "edit", "view", "view", "export"], 30),
)


@st.composite
def cases(draw: st.DrawFn) -> tuple[int, list[int], list[list], int, list[int]]:
    min_group = draw(st.integers(3, 5))
    sizes = draw(st.lists(st.integers(1, 12), min_size=1, max_size=4))
    n = sum(sizes)
    moves = draw(st.lists(st.integers(0, len(sizes) - 1), min_size=n, max_size=n))
    return min_group, sizes, [draw(actions), draw(actions)], draw(st.integers(0, n - 1)), moves


async def _run(path: Path, case: tuple[int, list[int], list[list], int, list[int]]) -> None:
    min_group, sizes, waves_actions, known, moves = case
    department = {}
    for d, size in enumerate(sizes):
        for _ in range(size):
            department[len(department)] = d
    db = Database(path)
    await db.open(process_lock=False)
    now = START
    try:
        async with db.write() as conn:
            for d in range(len(sizes)):
                await conn.execute(
                    "INSERT INTO departments (id, name, created_at) VALUES (?, ?, ?)",
                    (d + 1, f"D{d}", to_db(now)),
                )
        for index, wave_actions in enumerate(waves_actions):
            if index == 1:  # between the waves, some people move
                department = {p: moves[p] for p in department}
            wave = await _open(db, index + 1, department, now)
            answered: dict[int, int] = {}  # person → questions answered
            for kind, pick, scores in wave_actions:
                now += timedelta(minutes=1)
                person = sorted(department)[pick % len(department)]
                if kind == "complete" and answered.get(person, 0) < 6:
                    await _write(db, wave, person, scores, now)
                    answered[person] = 6
                    wave.completed.append(person)
                elif kind == "partial" and person not in answered:
                    await _write(db, wave, person, scores[: 1 + pick % 5], now)
                    answered[person] = 1 + pick % 5
                elif kind == "edit" and answered.get(person) == 6:
                    await _write(db, wave, person, scores, now)
                elif kind == "view":
                    await _view(db, wave, min_group, now)
                elif kind == "export":
                    await _export(db, wave, min_group, now)
            now += timedelta(minutes=1)
            async with db.write() as conn:
                await conn.execute(
                    "UPDATE waves SET closed_at = ? WHERE id = ?", (to_db(now), wave.id)
                )
            await _view(db, wave, min_group, now)
            await _export(db, wave, min_group, now)
            people = sorted(wave.department)
            assert findings(wave.rows, people, min_group, known) == []
            _check_exports(wave, min_group)
    finally:
        await db.close()


async def _open(db: Database, wave_id: int, department: dict[int, int], now: datetime) -> Wave:
    async with db.write() as conn:
        await conn.execute(
            "INSERT INTO waves (id, title, opened_by, opened_at) VALUES (?, ?, 1, ?)",
            (wave_id, f"W{wave_id}", to_db(now)),
        )
    return Wave(wave_id, dict(department))


async def _write(db: Database, wave: Wave, person: int, scores: tuple, now: datetime) -> None:
    async with db.write() as conn:
        for question, score in enumerate(scores, start=1):
            await conn.execute(
                "INSERT INTO survey_answers (wave_id, respondent, department_id, question, "
                "score, answered_at) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT DO UPDATE SET score = excluded.score",
                (wave.id, PSEUDONYMS(person, wave.id), wave.department[person] + 1, question,
                 score, to_db(now)),
            )  # fmt: skip


async def _view(db: Database, wave: Wave, min_group: int, now: datetime) -> None:
    async with db.write() as conn:
        await release_survey(conn, min_group=min_group, now=now)
    async with db.read() as conn:
        report = await survey_report(conn, min_group)
    assert report is not None
    assert report.latest.wave.id == wave.id
    # What the admin reads: the HTML as Telegram shows it, tags gone.
    text = unescape(re.sub(r"<[^>]+>", "", survey_section(EN, report, TZ)))
    assert report.latest.responded == len(wave.completed)  # the live count, always
    score = _SCORE.search(text)
    if score is None:
        assert not report.departments.rows
        return
    match = _COUNTED.search(text)
    counted = int(match.group(1)) if match else len(wave.completed)
    assert counted >= min_group
    everyone = frozenset(wave.completed[:counted])
    (total,) = sums_from_print(score.group(1), counted, 6, 30)
    assert total == report.latest.score_total
    wave.rows.append(everyone)
    named: set[int] = set()
    for name, n, mean in _ROW.findall(text):
        assert int(n) >= min_group
        if name.startswith("Others"):
            continue
        d = int(name[1:])
        group = frozenset([p for p in wave.completed if wave.department[p] == d][: int(n)])
        assert len(sums_from_print(mean, int(n), 6, 30)) == 1
        named |= group
        wave.rows.append(group)
    rest = everyone - named
    assert not named or len(rest) == 0 or len(rest) >= min_group
    wave.rows.append(rest)
    # The heatmap draws the same table the text prints.
    assert all(row.respondents >= min_group for row in report.departments.rows)


async def _export(db: Database, wave: Wave, min_group: int, now: datetime) -> None:
    async with db.write() as conn:
        await release_survey(conn, min_group=min_group, now=now)
    async with db.read() as conn:
        content, _ = await survey_answers_csv(
            conn, min_group=min_group, tz=TZ, pseudonyms=PSEUDONYMS
        )
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    wave.exports.append([r for r in rows if r["wave"] == f"W{wave.id}"])


def _check_exports(wave: Wave, min_group: int) -> None:
    signature: dict[str, list[str]] = defaultdict(list)
    for index, rows in enumerate(wave.exports):
        people: dict[str, set[str]] = defaultdict(set)
        for r in rows:
            people[r["department"]].add(r["respondent"])
        assert all(len(v) >= min_group for v in people.values()), people
        pseudonyms = [r["respondent"] for r in rows]
        assert pseudonyms == sorted(pseudonyms)
        for department, members in people.items():
            for pseudonym in members:
                signature[pseudonym].append(f"{index}:{department}")
    sizes = Counter(tuple(s) for s in signature.values())
    assert all(n >= min_group for n in sizes.values()), sizes


@settings(max_examples=40)
@given(cases())
def test_the_real_surfaces_give_nobody_away(
    case: tuple[int, list[int], list[list], int, list[int]],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(_run(Path(folder) / "bot.sqlite3", case))
