"""The disclosure rules as pure functions over plain data (no database, no texts).

Vocabulary:
- a *respondent* is a person with complete answers (all six questions) in one wave; nobody else
  is counted anywhere;
- a *department* is the one the person had when invited to (or joining) the wave, fixed for it;
- a *structure* says which groups one view shows: departments on their own (*named*), the
  pooled «Others», and — implicitly — the company as a whole;
- a *release* is one structure applied to the respondents counted so far, with their answers as
  they stood when a release first counted them (*members*); releases of a wave are numbered
  (epochs) and stored, and every surface shows the latest one.

The guarantee behind `is_safe`: every released set (the company, a named department, «Others»,
and the hidden rest, which is the company minus the others) of every epoch is a union of
*cells*, where a cell is the set of respondents that every release treated alike (same group
in each epoch, counted since the same epoch). When every cell has at least `min_group`
respondents, every linear combination of released sums — within one view or across moments —
is constant on cells, so it can never single out a person nor a set smaller than `min_group`;
and someone who knows their own answers still faces `min_group - 1` others in their cell.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

Department = int | None  # a department id; None: no department recorded (always pooled)

HIDDEN = "h"  # counted by the release, in no group shown on its own (or the company only)
OTHERS = "o"
ABSENT = "-"  # not yet counted by that release


@dataclass(frozen=True)
class Respondent:
    """A complete response as it stands now."""

    key: str  # the stored pseudonym
    department: Department
    scores: tuple[int, ...]


@dataclass(frozen=True)
class Member:
    """A respondent counted by released figures, with the answers of that moment."""

    key: str
    department: Department
    epoch: int  # the release that first counted them (1, 2, ...)
    scores: tuple[int, ...]


@dataclass(frozen=True)
class Structure:
    """Which groups one release shows; everyone else it counts is in the company figure only."""

    named: tuple[int, ...] = ()  # departments shown on their own
    others: tuple[Department, ...] = ()  # departments pooled as «Others» (empty: no such row)
    protected: int = 0  # departments big enough to show, hidden to protect a smaller group

    def label(self, department: Department) -> str:
        if department is not None and department in self.named:
            return f"d{department}"
        if department in self.others:
            return OTHERS
        return HIDDEN

    def to_json(self) -> dict[str, object]:
        return {"named": list(self.named), "others": list(self.others), "protected": self.protected}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Structure:
        named = data.get("named") or []
        others = data.get("others") or []
        assert isinstance(named, list)
        assert isinstance(others, list)
        protected = data.get("protected") or 0
        assert isinstance(protected, int)
        return cls(tuple(int(d) for d in named), tuple(others), protected)


def _order(department: Department) -> tuple[bool, int]:
    return (department is None, department or 0)


# --- rules 1 and 2: one view ------------------------------------------------------------------
def plan_structure(
    counts: Mapping[Department, int], min_group: int, suppress: Iterable[int] = ()
) -> Structure | None:
    """The groups one view may show for these respondent counts; None: nothing at all.

    Rule 1: no group (the company included) under `min_group`. Rule 2 (complementary
    suppression): the respondents in no shown group are none or at least `min_group` — the
    small departments are pooled as «Others» when the pool reaches the minimum, and otherwise the
    smallest shown department joins the pool, until it does.
    """
    total = sum(counts.values())
    if total < min_group:
        return None
    skipped = set(suppress)
    named = {d for d, n in counts.items() if d is not None and n >= min_group and d not in skipped}
    protected = 0
    while True:
        rest = total - sum(counts[d] for d in named)
        if rest == 0 or rest >= min_group:
            break
        named.remove(min(named, key=lambda d: (counts[d], d)))
        protected += 1
    if not named:
        return Structure(protected=protected)
    others = sorted((d for d, n in counts.items() if n > 0 and d not in named), key=_order)
    return Structure(tuple(sorted(named)), tuple(others), protected)


def keep_structure(
    last: Structure, counts: Mapping[Department, int], min_group: int
) -> Structure | None:
    """The last release's groups over the current counts (new departments go to «Others»)."""
    if not last.named:
        return Structure(protected=last.protected) if sum(counts.values()) >= min_group else None
    if any(counts.get(d, 0) < min_group for d in last.named):
        return None
    rest = sum(n for d, n in counts.items() if d not in last.named)
    if 0 < rest < min_group:
        return None
    others = sorted((d for d, n in counts.items() if n > 0 and d not in last.named), key=_order)
    return Structure(last.named, tuple(others) if rest else (), last.protected)


# --- rule 3: across moments -------------------------------------------------------------------
def cells(
    blocks: Mapping[tuple[Department, int], int], structures: Sequence[Structure]
) -> Counter[tuple[str, ...]]:
    """Respondents per signature: their group in each epoch (ABSENT before they were counted).

    `blocks` counts respondents by (department, epoch first counted); `structures[e - 1]` is
    the structure of epoch e.
    """
    found: Counter[tuple[str, ...]] = Counter()
    for (department, first), n in blocks.items():
        signature = tuple(
            s.label(department) if first <= epoch else ABSENT
            for epoch, s in enumerate(structures, start=1)
        )
        found[signature] += n
    return found


def is_safe(
    blocks: Mapping[tuple[Department, int], int],
    structures: Sequence[Structure],
    min_group: int,
) -> bool:
    """True when every cell of these releases holds at least `min_group` respondents."""
    return all(n >= min_group for n in cells(blocks, structures).values())


@dataclass(frozen=True)
class Decision:
    """A new release to store: its epoch and structure, and the respondents it adds."""

    epoch: int
    structure: Structure
    new_members: tuple[Member, ...]


def choose_release(
    members: Sequence[Member],
    live: Sequence[Respondent],
    history: Sequence[Structure],
    min_group: int,
    *,
    closed: bool,
) -> Decision | None:
    """The next release, or None: the latest one (or nothing, before the first) stays.

    A new release counts every complete respondent; it is made only when it keeps every cell at
    `min_group` or more. While the wave is open only the full view and the last release's groups
    are tried: a release that drops a department would merge its cells for the rest of the wave.
    Once the wave is closed nothing can follow, so views with fewer departments are tried too.
    """
    counted = {m.key for m in members}
    new = [r for r in live if r.key not in counted]
    if not new:
        return None
    epoch = len(history) + 1
    blocks: Counter[tuple[Department, int]] = Counter((m.department, m.epoch) for m in members)
    blocks.update((r.department, epoch) for r in new)
    counts: Counter[Department] = Counter()
    for (department, _), n in blocks.items():
        counts[department] += n
    full = plan_structure(counts, min_group)
    if full is None:
        return None
    candidates: list[Structure | None] = [full]
    if history:
        candidates.append(keep_structure(history[-1], counts, min_group))
    if closed:
        by_size = sorted(full.named, key=lambda d: (counts[d], d))
        candidates += [
            plan_structure(counts, min_group, suppress=by_size[:k])
            for k in range(1, len(by_size) + 1)
        ]
    for candidate in candidates:
        if candidate is not None and is_safe(blocks, [*history, candidate], min_group):
            added = tuple(Member(r.key, r.department, epoch, r.scores) for r in new)
            return Decision(epoch, candidate, added)
    return None


# --- the figures of a release -----------------------------------------------------------------
@dataclass(frozen=True)
class GroupFigures:
    respondents: int
    sums: tuple[int, ...]  # per question

    @property
    def means(self) -> tuple[float, ...]:
        return tuple(s / self.respondents for s in self.sums)

    @property
    def total(self) -> int:
        return sum(self.sums)

    @property
    def mean_total(self) -> float:
        return self.total / self.respondents


def _figures(members: Iterable[Member], questions: int) -> GroupFigures:
    count, sums = 0, [0] * questions
    for member in members:
        count += 1
        for i, score in enumerate(member.scores):
            sums[i] += score
    return GroupFigures(count, tuple(sums))


@dataclass(frozen=True)
class Release:
    """What every surface may show of one wave."""

    epoch: int
    structure: Structure
    company: GroupFigures
    named: dict[int, GroupFigures] = field(default_factory=dict)
    others: GroupFigures | None = None
    small: int = 0  # departments counted, not shown on their own (pooled or hidden)

    def label(self, department: Department) -> str:
        return self.structure.label(department)


def release_figures(
    members: Sequence[Member], structure: Structure, epoch: int, questions: int = 6
) -> Release:
    """The figures of release `epoch` from the members it counts (epoch ≤ that one)."""
    counted = [m for m in members if m.epoch <= epoch]
    named = {
        d: _figures((m for m in counted if m.department == d), questions) for d in structure.named
    }
    others = (
        _figures((m for m in counted if m.department in structure.others), questions)
        if structure.others
        else None
    )
    departments = {m.department for m in counted}
    small = sum(1 for d in departments if d is not None and d not in structure.named)
    return Release(epoch, structure, _figures(counted, questions), named, others, small)


def release_from_groups(
    groups: Mapping[Department, GroupFigures], structure: Structure, epoch: int
) -> Release:
    """The same figures as `release_figures`, from members already summed by department."""
    questions = len(next(iter(groups.values())).sums) if groups else 6

    def total(parts: Iterable[GroupFigures]) -> GroupFigures:
        count, sums = 0, [0] * questions
        for part in parts:
            count += part.respondents
            sums = [a + b for a, b in zip(sums, part.sums, strict=True)]
        return GroupFigures(count, tuple(sums))

    named = {d: total([groups[d]] if d in groups else []) for d in structure.named}
    others = (
        total(g for d, g in groups.items() if d in structure.others) if structure.others else None
    )
    small = sum(1 for d in groups if d is not None and d not in structure.named)
    return Release(epoch, structure, total(groups.values()), named, others, small)
