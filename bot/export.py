"""CSV exports: UTF-8 with a BOM (so Excel reads Cyrillic right), a header row, one fact a row."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

import aiosqlite

SURVEY_COLUMNS = ("wave", "department", "respondent", "question", "score", "answered_at")


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


async def survey_answers_csv(conn: aiosqlite.Connection) -> bytes:
    """Every answer by pseudonym; there is no Telegram id in the table to leak."""
    async with conn.execute(
        "SELECT w.title AS wave, d.name AS department, a.respondent, a.question, a.score, "
        "a.answered_at FROM survey_answers a JOIN waves w ON w.id = a.wave_id "
        "LEFT JOIN departments d ON d.id = a.department_id "
        "ORDER BY a.wave_id, d.name, a.respondent, a.question"
    ) as cur:
        rows = [tuple(r) for r in await cur.fetchall()]
    return to_csv(SURVEY_COLUMNS, rows)
