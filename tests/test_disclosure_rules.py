"""The disclosure rules, case by case (the property test covers them all at once)."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.disclosure import (
    KeyCheck,
    KeyFileError,
    Respondent,
    Structure,
    check_key,
    choose_release,
    comment_structure,
    export_pseudonym,
    fingerprint,
    may_show_comments,
    neutralise,
    parse_key_file,
    plan_structure,
    release_figures,
    wave_pseudonym,
)
from bot.disclosure.keys import legacy_pseudonym
from bot.disclosure.rules import GroupFigures, Member, release_from_groups


def test_the_company_itself_needs_the_minimum() -> None:
    assert plan_structure({1: 2}, 3) is None
    assert plan_structure({1: 1, 2: 1}, 3) is None
    assert plan_structure({1: 3}, 3) == Structure(named=(1,))


def test_five_four_two_hides_the_four_to_protect_the_two() -> None:
    # Shown 5 and 4 would leave the 2 as company − 5 − 4: the 4 is pooled with them.
    structure = plan_structure({1: 5, 2: 4, 3: 2}, 3)
    assert structure == Structure(named=(1,), others=(2, 3), protected=1)


def test_small_departments_pool_as_others_when_the_pool_reaches_the_minimum() -> None:
    assert plan_structure({1: 5, 2: 2, 3: 1}, 3) == Structure(named=(1,), others=(2, 3))


def test_a_department_on_its_own_leaves_nobody_hidden() -> None:
    assert plan_structure({1: 3, 2: 3}, 3) == Structure(named=(1, 2))


def test_people_without_a_department_are_never_named() -> None:
    assert plan_structure({None: 4, 1: 3}, 3) == Structure(named=(1,), others=(None,))


def _live(*departments: int) -> list[Respondent]:
    return [Respondent(f"r{i}", d, (3,) * 6) for i, d in enumerate(departments)]


def test_figures_change_only_by_the_minimum() -> None:
    history: list[Structure] = []
    members: list = []
    for n, expect_new in [(3, True), (4, False), (5, False), (6, True)]:
        decision = choose_release(members, _live(*[1] * n), history, 3, closed=False)
        assert (decision is not None) is expect_new, n
        if decision:
            members += decision.new_members
            history.append(decision.structure)
    assert [m.epoch for m in members] == [1, 1, 1, 2, 2, 2]


def test_closing_the_wave_does_not_release_a_step_under_the_minimum() -> None:
    first = choose_release([], _live(1, 1, 1), [], 3, closed=False)
    assert first is not None
    assert choose_release(list(first.new_members), _live(1, 1, 1, 1), [first.structure], 3,
                          closed=True) is None  # fmt: skip


def test_an_early_mixed_release_keeps_its_people_together() -> None:
    # Released together first (a, b, c of three departments), a department can no longer be
    # split out on its own: its first member would be company@1 − the others' later figures.
    first = choose_release([], _live(1, 2, 3), [], 3, closed=False)
    assert first is not None
    assert first.structure == Structure()
    live = _live(1, 2, 3, 1, 1, 2, 2, 3, 3)
    second = choose_release(list(first.new_members), live, [first.structure], 3, closed=False)
    assert second is not None
    assert second.structure == Structure()  # company only, again


def test_answers_changed_after_a_release_are_not_shown() -> None:
    first = choose_release([], _live(1, 1, 1), [], 3, closed=False)
    assert first is not None
    members = list(first.new_members)
    changed = [Respondent(r.key, r.department, (5,) * 6) for r in _live(1, 1, 1)]
    assert choose_release(members, changed, [first.structure], 3, closed=True) is None
    release = release_figures(members, first.structure, 1)
    assert release.company.sums == (9,) * 6


def test_comment_threshold_is_its_own() -> None:
    assert not may_show_comments(4, 5)
    assert may_show_comments(5, 5)
    # The 4 are protected by hiding the 5: the company figure alone.
    assert comment_structure({1: 5, 2: 4}, 5) == Structure(protected=1)
    assert plan_structure({1: 5, 2: 4}, 3) == Structure(named=(1, 2))


# --- keys and pseudonyms ------------------------------------------------------------------------
def test_fingerprint_tells_keys_apart_and_is_not_the_key() -> None:
    key = b"k" * 43
    assert check_key(None, key) is KeyCheck.NEW
    assert check_key(fingerprint(key), key) is KeyCheck.MATCH
    assert check_key(fingerprint(b"x" * 43), key) is KeyCheck.MISMATCH
    assert "k" * 8 not in fingerprint(key)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [(b"", "empty"), (b"  \n", "empty"), (b"\xff\xfe\x00", "not text"), (b"short", "not a key"),
     (b"has spaces inside it, 12345678", "not a key")],
)  # fmt: skip
def test_a_bad_key_file_is_refused_with_its_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(KeyFileError, match=reason):
        parse_key_file(raw, "bot.sqlite3.pseudonym-key")


def test_a_key_file_is_read_without_its_newline() -> None:
    assert parse_key_file(b"A" * 43 + b"\n", "f") == b"A" * 43


def test_pseudonyms_differ_between_waves_and_people() -> None:
    key = b"secret-key-for-tests"
    assert wave_pseudonym(key, 1, 42) != wave_pseudonym(key, 2, 42)
    assert wave_pseudonym(key, 1, 42) != wave_pseudonym(key, 1, 43)
    assert wave_pseudonym(key, 1, 42) == wave_pseudonym(key, 1, 42)
    legacy = legacy_pseudonym(key, 42)
    assert export_pseudonym(key, 1, legacy) != export_pseudonym(key, 2, legacy)


# --- CSV cells ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text", ['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "＝1"]
)
def test_formula_cells_get_an_apostrophe(text: str) -> None:
    assert neutralise(text) == "'" + text


def test_plain_cells_and_numbers_stay() -> None:
    assert neutralise("A-1001") == "A-1001"
    assert neutralise(-3) == -3
    assert neutralise(None) == ""


@given(
    st.lists(
        st.tuples(st.sampled_from([None, 1, 2, 3]), st.tuples(*[st.integers(1, 5)] * 6)),
        max_size=20,
    ),
    st.integers(2, 4),
)
def test_figures_summed_by_department_are_the_figures_of_the_members(
    people: list[tuple[int | None, tuple[int, ...]]], min_group: int
) -> None:
    members = [Member(f"m{i}", d, 1, s) for i, (d, s) in enumerate(people)]
    counts = Counter(m.department for m in members)
    structure = plan_structure(counts, min_group)
    if structure is None:
        return
    groups = {}
    for d in counts:
        mine = [m for m in members if m.department == d]
        groups[d] = GroupFigures(len(mine), tuple(sum(m.scores[q] for m in mine) for q in range(6)))
    assert release_from_groups(groups, structure, 1) == release_figures(members, structure, 1)
