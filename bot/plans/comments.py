"""Which anonymous survey comments admins may read, and in what order.

A comment is shown only inside a group of at least `min_group` comments (each respondent can
leave one per wave, so comments count commenters). Which groups is the anonymity module's
decision (`bot.disclosure.comment_structure`, rules 1 and 2 with SURVEY_COMMENT_MIN_GROUP):
departments with at least `min_group` comments are shown on their own; the rest are pooled,
without a department, and the pool must be empty or at least `min_group` too — otherwise the
smallest shown department joins the pool until it is; under `min_group` comments in all,
nothing is shown. Within a group the order is shuffled, so it tells nothing of who finished
the survey first. Comments are shown once their wave is closed: while it is open, two reports a
day apart would show which comment came in between; a closed wave's comments never change, so
one view is all there is (rule 3, no differencing over time).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bot.disclosure import comment_structure


@dataclass(frozen=True)
class Comment:
    id: int
    department: str | None  # None: stored without a department (too small a team)
    body: str


@dataclass(frozen=True)
class CommentGroup:
    department: str | None  # None: the pool of small departments (or the whole company)
    comments: tuple[Comment, ...]


@dataclass(frozen=True)
class VisibleComments:
    groups: tuple[CommentGroup, ...]
    total: int
    hidden: int  # in groups under the minimum

    @property
    def shown(self) -> int:
        return self.total - self.hidden


def visible_comments(
    comments: Sequence[Comment], min_group: int, rng: random.Random | None = None
) -> VisibleComments:
    rng = rng or random.Random()  # an order to hide, not a secret
    # The disclosure rules speak of department ids; names sorted give stable ones (and ties
    # between equal groups fall to the first name).
    names = sorted({c.department for c in comments if c.department is not None})
    ids = {name: number for number, name in enumerate(names, start=1)}
    counts = Counter(ids.get(c.department) if c.department is not None else None for c in comments)
    structure = comment_structure(counts, min_group)
    if structure is None:
        return VisibleComments((), len(comments), len(comments))
    named = [names[i - 1] for i in structure.named]
    groups = [
        CommentGroup(name, _shuffled([c for c in comments if c.department == name], rng))
        for name in named
    ]
    pool = [c for c in comments if c.department not in named]
    if pool:
        groups.append(CommentGroup(None, _shuffled(pool, rng)))
    return VisibleComments(tuple(groups), len(comments), 0)


def _shuffled(items: list[Comment], rng: random.Random) -> tuple[Comment, ...]:
    out = list(items)
    rng.shuffle(out)
    return tuple(out)


def clean_comment(raw: str | None, limit: int = 2000) -> str | None:
    """A comment as typed, stripped; None when empty or longer than the limit."""
    if raw is None:
        return None
    text = raw.strip()
    return text if text and len(text) <= limit else None
