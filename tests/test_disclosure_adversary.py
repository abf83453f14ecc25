"""Issue 9's guarantee as a property: no sequence of views lets anyone work out a person's answers.

Random companies (departments of 1–12 people), several waves, people moving and leaving,
partial answers, answers changed after completing, and random report/export moments during and
after each wave. Every view is what the rules of bot/disclosure release at that moment; the
adversary (tests/disclosure_adversary.py) sees all of them and knows one member's answers.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from hypothesis import given
from hypothesis import strategies as st

from bot.disclosure import (
    Member,
    Release,
    Respondent,
    Structure,
    choose_release,
    export_pseudonym,
    release_figures,
)
from tests.disclosure_adversary import findings, printed, sums_from_print

KEY = b"adversary-test-key-0123456789"


@dataclass
class WaveRun:
    """One wave as the bot keeps it: live answers, and what has been released."""

    min_group: int
    invited: dict[int, int]  # person → department at invitation (fixed for the wave)
    live: dict[int, tuple[int, ...]] = field(default_factory=dict)
    completed_at: dict[int, int] = field(default_factory=dict)
    members: list[Member] = field(default_factory=list)
    history: list[Structure] = field(default_factory=list)
    views: list[tuple[int, Release]] = field(default_factory=list)  # (moment, release)
    exports: list[tuple[int, list[tuple[str, str, tuple[int, ...]]]]] = field(default_factory=list)
    answers_then: dict[int, dict[int, tuple[int, ...]]] = field(default_factory=dict)

    def key(self, person: int) -> str:
        return f"r_{person}"

    def show(self, moment: int, *, closed: bool) -> Release | None:
        live = [Respondent(self.key(p), self.invited[p], s) for p, s in self.live.items()]
        decision = choose_release(self.members, live, self.history, self.min_group, closed=closed)
        if decision is not None:
            self.members += decision.new_members
            self.history.append(decision.structure)
        self.answers_then[moment] = dict(self.live)
        if not self.history:
            return None
        return release_figures(self.members, self.history[-1], len(self.history))

    def view(self, moment: int, *, closed: bool = False) -> None:
        release = self.show(moment, closed=closed)
        if release is not None:
            self.views.append((moment, release))

    def export(self, moment: int, *, closed: bool = False) -> None:
        release = self.show(moment, closed=closed)
        rows = []
        if release is not None:
            for m in self.members:
                if m.epoch <= release.epoch:
                    label = release.label(m.department)
                    name = f"dept {m.department}" if label.startswith("d") else ""
                    rows.append((export_pseudonym(KEY, 1, m.key), name, m.scores))
            rows.sort()
            self.views.append((moment, release))
        self.exports.append((moment, rows))


def company_strategy() -> st.SearchStrategy[list[int]]:
    return st.lists(st.integers(1, 12), min_size=1, max_size=4)


scores = st.tuples(*[st.integers(1, 5)] * 6)


@st.composite
def runs(draw: st.DrawFn) -> tuple[int, list[WaveRun], int]:
    min_group = draw(st.integers(3, 5))
    sizes = draw(company_strategy())
    department = {}
    for d, size in enumerate(sizes):
        for _ in range(size):
            department[len(department)] = d
    left: set[int] = set()
    waves = []
    for _ in range(draw(st.integers(1, 3))):
        present = [p for p in department if p not in left]
        run = WaveRun(min_group, {p: department[p] for p in present})
        moment = 0
        for _ in range(draw(st.integers(0, 45))):
            moment += 1
            action = draw(
                st.sampled_from(["complete"] * 5 + ["partial", "edit", "move", "leave"]
                                + ["view"] * 3 + ["export"])
            )  # fmt: skip
            if action == "complete" and present:
                person = draw(st.sampled_from(present))
                if person not in run.live and person not in left:
                    run.live[person] = draw(scores)
                    run.completed_at[person] = moment
            elif action == "edit" and run.live:
                person = draw(st.sampled_from(sorted(run.live)))
                run.live[person] = draw(scores)
            elif action == "move":
                person = draw(st.sampled_from(sorted(department)))
                department[person] = draw(st.integers(0, len(sizes) - 1))
            elif action == "leave":
                left.add(draw(st.sampled_from(sorted(department))))
            elif action == "view":
                run.view(moment)
            elif action == "export":
                run.export(moment)
            # "partial": answers without completing are never counted, so nothing to record.
        moment += 1
        run.view(moment, closed=True)
        run.export(moment + 1, closed=True)
        waves.append(run)
    known = draw(st.integers(0, len(department) - 1))
    return min_group, waves, known


def _sets_of_view(run: WaveRun, release: Release) -> list[tuple[str, frozenset[int], object]]:
    """The people behind each figure, as the adversary reconstructs them from counts alone."""
    order = sorted(run.completed_at, key=lambda p: run.completed_at[p])
    company = frozenset(order[: release.company.respondents])
    found = [("company", company, release.company)]
    named_union: set[int] = set()
    for d, figures in release.named.items():
        members = frozenset([p for p in order if run.invited[p] == d][: figures.respondents])
        named_union |= members
        found.append((f"dept {d}", members, figures))
    if release.others is not None:
        found.append(("others", company - named_union, release.others))
    return found


@given(runs())
def test_no_view_sequence_gives_a_person_or_a_small_group_away(
    case: tuple[int, list[WaveRun], int],
) -> None:
    min_group, waves, known = case
    for run in waves:
        rows: list[frozenset[int]] = []
        first_counted: dict[int, int] = {}
        previous: dict[str, int] = {}
        for moment, release in run.views:
            for name, people, figures in _sets_of_view(run, release):
                # Rule 1 on every figure, the company included.
                assert len(people) >= min_group, (name, len(people))
                for p in people:
                    first_counted.setdefault(p, moment)
                # The printed rounding gives the exact sum back, and it is the sum of these
                # people's answers as they were when first counted (later changes never show).
                for q in range(6):
                    mean = printed(figures.sums[q] / figures.respondents)  # type: ignore[attr-defined]
                    (recovered,) = sums_from_print(mean, len(people))
                    truth = sum(run.answers_then[first_counted[p]][p][q] for p in people)
                    assert recovered == truth, (name, q)
                # Rule 3: a group changes by nothing or by at least the minimum.
                grown = len(people) - previous.get(name, len(people))
                assert grown == 0 or grown >= min_group or name == "others", (name, grown)
                previous[name] = len(people)
                rows.append(people)
            # Rule 2: the hidden rest is none or at least the minimum.
            shown = set().union(*(s for n, s, _ in _sets_of_view(run, release) if n != "company"))
            hidden = len(_sets_of_view(run, release)[0][1] - shown)
            assert release.named == {} or hidden == 0 or hidden >= min_group
        people = sorted(run.invited)
        assert findings(rows, people, min_group, known if known in run.invited else None) == []
        _check_exports(run, min_group)


def _check_exports(run: WaveRun, min_group: int) -> None:
    """Rows by pseudonym: the department column and the moments a pseudonym appears at must
    never narrow one person down to fewer than `min_group` pseudonyms."""
    signature: dict[str, list[str]] = defaultdict(list)
    for index, (_, rows) in enumerate(run.exports):
        labels = Counter(label for _, label, _ in rows)
        assert all(n >= min_group for n in labels.values()), labels
        for pseudonym, label, _ in rows:
            signature[pseudonym].append(f"{index}:{label}")
    sizes = Counter(tuple(s) for s in signature.values())
    assert all(n >= min_group for n in sizes.values()), sizes
