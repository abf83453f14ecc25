"""Action plans, pure: status moves, due presets, weakest-first questions, the plan beside the
change, comment visibility and the check-in / VOC ritual slots."""

from __future__ import annotations

import html
import random
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.plans.comments import Comment, clean_comment, visible_comments
from bot.plans.model import (
    OPEN,
    DuePreset,
    Move,
    PlanItem,
    Status,
    add_months,
    checkin_choices,
    clean_text,
    decide_move,
    due_day,
    is_overdue,
    question_effects,
    weakest_first,
)
from bot.plans.rituals import next_slot, parse_cron

statuses = st.sampled_from(list(Status))


@given(statuses, statuses, st.booleans())
def test_a_move_is_unchanged_changed_or_refused_and_admins_may_do_more(
    current: Status, new: Status, by_admin: bool
) -> None:
    move = decide_move(current, new, by_admin=by_admin)
    if current == new:
        assert move == Move.UNCHANGED
    owner = decide_move(current, new, by_admin=False)
    # An admin may do everything an owner may.
    if owner == Move.CHANGED:
        assert decide_move(current, new, by_admin=True) == Move.CHANGED
    # A finished initiative cannot be moved by its owner (an old check-in button).
    if current not in OPEN and current != new:
        assert owner == Move.REFUSED


def test_moves_by_example() -> None:
    assert decide_move(Status.PLANNED, Status.IN_PROGRESS, by_admin=False) == Move.CHANGED
    assert decide_move(Status.STUCK, Status.IN_PROGRESS, by_admin=False) == Move.CHANGED
    assert decide_move(Status.DONE, Status.IN_PROGRESS, by_admin=False) == Move.REFUSED
    assert decide_move(Status.DONE, Status.IN_PROGRESS, by_admin=True) == Move.CHANGED
    assert decide_move(Status.IN_PROGRESS, Status.PLANNED, by_admin=True) == Move.REFUSED


@given(statuses)
def test_checkin_buttons_are_the_current_status_and_the_owners_moves(current: Status) -> None:
    choices = checkin_choices(current)
    assert current in choices
    for choice in choices:
        assert decide_move(current, choice, by_admin=False) != Move.REFUSED


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)), st.integers(0, 24))
def test_add_months_lands_in_the_right_month_and_never_overflows(day: date, months: int) -> None:
    later = add_months(day, months)
    assert (later.year * 12 + later.month) - (day.year * 12 + day.month) == months
    assert later.day <= day.day
    assert later.day == day.day or later.day in (28, 29, 30)


def test_due_presets() -> None:
    today = date(2026, 1, 31)
    assert due_day(DuePreset.MONTH, today) == date(2026, 2, 28)
    assert due_day(DuePreset.QUARTER, today) == date(2026, 4, 30)
    assert due_day(DuePreset.HALF_YEAR, today) == date(2026, 7, 31)
    assert due_day(DuePreset.NEXT_WAVE, today) is None


def test_overdue_only_when_open_and_past_its_day_or_its_wave() -> None:
    due = date(2026, 3, 1)
    assert not is_overdue(Status.IN_PROGRESS, due, date(2026, 3, 1))
    assert is_overdue(Status.IN_PROGRESS, due, date(2026, 3, 2))
    assert is_overdue(Status.STUCK, due, date(2026, 3, 2))
    assert not is_overdue(Status.DONE, due, date(2026, 3, 2))
    assert not is_overdue(Status.PLANNED, None, date(2026, 3, 2), due_next_wave=True)
    assert is_overdue(
        Status.PLANNED, None, date(2026, 3, 2), due_next_wave=True, next_wave_opened=True
    )


def test_weakest_first_with_stable_ties_and_without_a_wave() -> None:
    order = weakest_first([3.0, 2.5, 4.0, 2.5, 3.5, 1.9])
    assert [c.question for c in order] == [6, 2, 4, 1, 5, 3]
    assert [c.question for c in weakest_first(None)] == [1, 2, 3, 4, 5, 6]
    with pytest.raises(ValueError, match="six"):
        weakest_first([1.0, 2.0])


def _item(i: int, question: int, status: Status) -> PlanItem:
    return PlanItem(i, question, f"i{i}", status, None, None, False, None)


def test_question_effects_put_the_change_beside_the_done_initiatives() -> None:
    items = [
        _item(1, 4, Status.DONE),
        _item(2, 4, Status.DONE),
        _item(3, 4, Status.DONE),
        _item(4, 2, Status.STUCK),
        _item(5, 1, Status.DROPPED),
    ]
    previous = [3.0, 3.0, 3.0, 2.4, 3.0, 3.0]
    latest = [3.1, 2.9, 3.0, 3.0, 3.0, 3.0]
    effects = {e.question: e for e in question_effects(items, latest, previous)}
    assert set(effects) == {2, 4}  # a dropped initiative alone is no plan for question 1
    assert effects[4].done == 3
    assert effects[4].change == pytest.approx(0.6)
    assert effects[2].done == 0
    assert effects[2].open == 1
    no_previous = question_effects(items, latest, None)
    assert all(e.change is None for e in no_previous)


def test_clean_text() -> None:
    assert clean_text("  Обзвон клиентов  ", 200) == "Обзвон клиентов"
    assert clean_text("   ", 200) is None
    assert clean_text("x" * 201, 200) is None
    assert clean_text(None, 200) is None
    assert clean_comment("  ") is None


# --- comments ---------------------------------------------------------------------------------
@st.composite
def comment_sets(draw: st.DrawFn) -> list[Comment]:
    departments = draw(st.lists(st.sampled_from(["Продажи", "Склад", "ИТ", None]), max_size=30))
    return [Comment(i + 1, d, f"c{i}") for i, d in enumerate(departments)]


@given(comment_sets(), st.integers(1, 8), st.integers(0, 1000))
def test_every_shown_comment_is_in_a_group_of_at_least_the_minimum(
    comments: list[Comment], min_group: int, seed: int
) -> None:
    visible = visible_comments(comments, min_group, random.Random(seed))
    shown = [c for g in visible.groups for c in g.comments]
    assert all(len(g.comments) >= min_group for g in visible.groups)
    assert len(shown) == len({c.id for c in shown}) == visible.shown
    assert visible.shown + visible.hidden == len(comments)
    # Nothing is hidden but everything when there are too few in all; the unnamed pool is
    # never a small group that the named ones would point at.
    assert visible.hidden in (0, len(comments))
    assert (visible.hidden == len(comments)) == (len(comments) < min_group)
    # A department's name appears only over that department's own comments.
    for group in visible.groups:
        if group.department is not None:
            assert all(c.department == group.department for c in group.comments)


def test_comments_by_example_pooled_protected_and_shuffled() -> None:
    sales = [Comment(i, "Продажи", f"p{i}") for i in range(1, 6)]
    stock = [Comment(10 + i, "Склад", f"s{i}") for i in range(5)]
    both = visible_comments([*sales, *stock], 5, random.Random(1))
    assert [g.department for g in both.groups] == ["Продажи", "Склад"]
    # Two more from a small team: a pool of 2 would be too small, so Продажи (the smaller of
    # the two, by name on a tie) joins it; Склад stays on its own.
    small = [Comment(20, "ИТ", "i1"), Comment(21, None, "x")]
    pooled = visible_comments([*sales, *stock, *small], 5, random.Random(1))
    assert [g.department for g in pooled.groups] == ["Склад", None]
    assert len(pooled.groups[1].comments) == 7
    assert pooled.hidden == 0
    assert visible_comments(sales[:4], 5).groups == ()
    assert visible_comments(sales[:4], 5).hidden == 4
    orders = {
        tuple(c.id for c in visible_comments(sales, 5, random.Random(s)).groups[0].comments)
        for s in range(20)
    }
    assert len(orders) > 1


# --- rituals ----------------------------------------------------------------------------------
MSK = ZoneInfo("Europe/Moscow")


def test_the_first_monday_of_the_month_at_ten() -> None:
    trigger = parse_cron("0 10 1-7 * mon", MSK)
    last = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
    assert next_slot(trigger, last, datetime(2026, 2, 2, 6, 59, tzinfo=UTC)) is None
    slot = next_slot(trigger, last, datetime(2026, 2, 2, 7, 0, tzinfo=UTC))
    assert slot == datetime(2026, 2, 2, 7, 0, tzinfo=UTC)  # 10:00 in Moscow
    # Months missed: one ritual, the newest.
    late = next_slot(trigger, last, datetime(2026, 5, 20, tzinfo=UTC))
    assert late == datetime(2026, 5, 4, 7, 0, tzinfo=UTC)
    assert next_slot(trigger, late, datetime(2026, 5, 20, tzinfo=UTC)) is None


def test_an_empty_cron_disables_the_ritual() -> None:
    assert parse_cron("", MSK) is None
    assert (
        next_slot(None, datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)) is None
    )


def test_comment_pages_fit_a_message_and_never_cut_a_comment() -> None:
    from handlers.admin.plans import PAGE_BUTTONS, PAGE_CHARS, _comment_pages

    comments = [Comment(i, None, ("<&" * 500)[: 200 + i * 37 % 1800]) for i in range(1, 80)]
    pages = _comment_pages(comments)
    assert [c for page in pages for _n, c in page] == comments
    assert [n for page in pages for n, _c in page] == list(range(1, 80))
    for page in pages:
        assert len(page) <= PAGE_BUTTONS
        assert len(page) == 1 or sum(len(html.escape(c.body)) + 8 for _n, c in page) <= PAGE_CHARS
    assert _comment_pages([]) == [[]]
