"""Charts: valid phone-sized PNGs, labels in the reader's language, drawn off the event loop."""

from __future__ import annotations

import struct
import threading
import zlib
from datetime import timedelta
from typing import Any

import pytest

from bot.app import BotApp
from bot.emulator import BotAPIEmulator
from bot.i18n import Translator, build_i18n
from bot.reports import delivery
from bot.reports.assemble import Report
from bot.reports.charts import customers_chart, departments_chart, drawings, survey_chart
from bot.reports.customers import CustomerReport, WeekPoint
from bot.reports.metrics import NpsCounts, RatingCounts
from bot.reports.periods import ReportRequest, periods, week_starts
from bot.reports.survey import (
    DepartmentGroup,
    SurveyReport,
    Target,
    department_table,
    target_status,
    wave_figures,
)
from storage.survey import Wave
from tests.conftest import START
from tests.report_factories import Facts
from tests.test_metrics import MOSCOW
from tests.test_report_survey import ask, boss, two_waves

I18N = build_i18n("ru")
RU, EN = Translator(I18N, "ru"), Translator(I18N, "en")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, after checking the signature and the chunk's CRC."""
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR"
    assert length == 13
    body = data[16 : 16 + length]
    (crc,) = struct.unpack(">I", data[16 + length : 20 + length])
    assert zlib.crc32(kind + body) == crc
    width, height = struct.unpack(">II", body[:8])
    assert data.endswith(b"IEND\xaeB`\x82")
    return width, height


def survey(titles: tuple[str, ...] = ("2025", "2026"), department: str = "Sales") -> SurveyReport:
    history = []
    groups: list[DepartmentGroup] = []
    for number, title in enumerate(titles, start=1):
        wave = Wave(number, title, START, None if number == len(titles) else START)
        groups = [
            DepartmentGroup(department, 4, (12 + number, 14, 16, 10, 13, 15)),
            DepartmentGroup("Legal", 1, (5, 5, 5, 5, 5, 5)),
            DepartmentGroup("IT", 2, (2, 2, 2, 2, 2, 2)),
        ]
        history.append(wave_figures(wave, 9, groups))
    target = target_status(Target(24, START, 1), history, history[-1])
    return SurveyReport(
        history[-1], history[-2] if len(history) > 1 else None, history,
        department_table(groups, 3), target,
    )  # fmt: skip


def customers(with_data: bool = True) -> CustomerReport:
    from bot.reports.customers import CustomerFigures

    weeks = [
        WeekPoint(
            start,
            RatingCounts(count=4, total=16, satisfied=3) if with_data and i % 3 else RatingCounts(),
            NpsCounts(3, 1, 1 + i % 4) if with_data else NpsCounts(),
        )
        for i, start in enumerate(week_starts(START, MOSCOW, 12))
    ]
    return CustomerReport(periods(START, 30), CustomerFigures(), CustomerFigures(), weeks)


def test_survey_chart_is_a_valid_phone_sized_png() -> None:
    drawing = survey_chart(EN, survey())
    assert drawing is not None
    chart = drawing.to_chart()
    assert png_size(chart.png) == (1080, 1350)
    assert 20_000 < len(chart.png) < 1_000_000
    assert chart.filename == "survey.png"
    assert len(chart.caption) <= 1024


def test_every_chart_renders() -> None:
    report = Report(START, ReportRequest(), MOSCOW, survey(), customers())
    found = drawings(EN, report)
    assert [d.filename for d in found] == ["survey.png", "departments.png", "customers.png"]
    for drawing in found:
        width, height = png_size(drawing.to_chart().png)
        assert width == 1080
        assert 400 <= height <= 1350


def test_labels_in_russian() -> None:
    texts = survey_chart(RU, survey()).texts()  # type: ignore[union-attr]
    assert "Среднее по вопросам (1–5)" in texts
    assert "Индекс компании по волнам (6–30)" in texts
    assert "Q4 Использование обратной связи" in texts
    assert "Переходный уровень" in texts
    assert "цель 24" in texts
    assert {"2025", "2026"} <= set(texts)
    assert "2,86" in texts  # values with a decimal comma, on the previous wave's bars too
    weekly = customers_chart(RU, customers(), MOSCOW).texts()  # type: ignore[union-attr]
    assert "NPS по неделям (−100…+100), внизу — число ответов" in weekly
    assert "CSAT по неделям, % оценок 4–5, внизу — число оценок" in weekly
    assert "Неделя с" in weekly
    assert "12.01" in weekly  # the current week, by its local Monday
    heat = departments_chart(RU, survey().departments).texts()  # type: ignore[union-attr]
    assert "Другие" in heat
    assert "Legal" not in heat  # too small to show alone
    assert "Клиент в\nрешениях" in heat  # short question names, not «Q1…Q6»
    assert "Q1" not in heat
    assert "Формирующийся\nуровень" in heat  # the squares' levels on the colour bar


def test_labels_in_english() -> None:
    texts = survey_chart(EN, survey()).texts()  # type: ignore[union-attr]
    assert "Mean per question (1–5)" in texts
    assert "Q4 Using feedback" in texts
    assert "Transitional level" in texts


def test_names_are_shown_as_typed() -> None:
    # «$…$» would be TeX to matplotlib (and a broken formula an exception); «<» is HTML to Telegram.
    tricky = survey(titles=("$x$ <draft", r"\frac{1}{0} $$"), department="R&D $ <b>")
    drawing = survey_chart(EN, tricky)
    assert drawing is not None
    # Stored with «\$», which matplotlib draws as a plain «$».
    assert r"\frac{1}{0} \$\$" in drawing.texts()
    assert "&lt;draft" not in " ".join(drawing.texts())
    png_size(drawing.to_chart().png)
    heat = departments_chart(EN, tricky.departments)
    assert heat is not None
    assert r"R&D \$ <b>" in heat.texts()
    png_size(heat.to_chart().png)
    assert "&lt;" in survey_chart(EN, survey(titles=("a<b",))).caption  # type: ignore[union-attr]


def test_nothing_to_draw() -> None:
    assert customers_chart(EN, customers(with_data=False), MOSCOW) is None
    assert departments_chart(EN, department_table([], 3)) is None
    empty = survey()
    no_answers = SurveyReport(
        wave_figures(empty.latest.wave, 5, []), None, [], department_table([], 3), None
    )
    assert survey_chart(EN, no_answers) is None


async def test_report_photos_through_the_wire(
    app: BotApp, tg: BotAPIEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []
    original = delivery.render_charts

    def spy(*args: Any) -> Any:
        threads.append(threading.current_thread().name)
        return original(*args)

    monkeypatch.setattr(delivery, "render_charts", spy)
    facts = Facts(app.db, START)
    await two_waves(facts)
    shopper = await facts.customer()
    await facts.review(shopper, requested_at=START - timedelta(days=3), rating=5, nps=10)
    _, photos = await ask(tg, boss(tg), "/report")

    assert threads
    assert threads[0] != threading.main_thread().name
    assert len(photos) == 3
    uploaded = [f for f in boss(tg).documents() if f.filename.endswith(".png")]
    assert [f.filename for f in uploaded] == ["survey.png", "departments.png", "customers.png"]
    for upload in uploaded:
        assert png_size(upload.content)[0] == 1080
    captions = [p.params.get("caption", "") for p in photos]
    assert all(0 < len(c) <= 1024 for c in captions)


def test_a_week_with_few_answers_is_drawn_as_too_few_not_as_a_score() -> None:
    from bot.reports.customers import CustomerFigures

    starts = week_starts(START, MOSCOW, 12)
    weeks = [WeekPoint(s, RatingCounts(), NpsCounts()) for s in starts[:-2]]
    weeks.append(WeekPoint(starts[-2], RatingCounts(6, 30, 6), NpsCounts(4, 1, 1)))  # enough
    weeks.append(
        WeekPoint(starts[-1], RatingCounts(2, 10, 2), NpsCounts(2, 0, 0))
    )  # a partial week
    report = CustomerReport(periods(START, 30), CustomerFigures(), CustomerFigures(), weeks)
    texts = customers_chart(RU, report, MOSCOW).texts()  # type: ignore[union-attr]
    assert "+50" in texts  # the full week: (4 − 1) / 6
    assert "+100" not in texts  # the partial week's two promoters are not a score
    assert texts.count("мало") == 2  # its NPS and its CSAT
    assert "2" in texts  # answers under the week
    assert "6" in texts
