"""Which anonymous survey comments admins may read, and in what order.

A comment is shown only inside a group of at least `min_group` comments (each respondent can
leave one per wave, so comments count commenters). The groups follow the rule of the anonymity
module (issue 9, `bot.disclosure.comment_structure`, which is not on main yet; this is the same
rule for one view): departments with at least `min_group` comments are shown on their own; the
rest are pooled, without a department, and the pool must be empty or at least `min_group` too —
otherwise the smallest shown department joins the pool until it is; under `min_group` comments
in all, nothing is shown. Within a group the order is shuffled, so it tells nothing of who
finished the survey first. Comments are shown once their wave is closed: while it is open, two
reports a day apart would show which comment came in between.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass


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
    if len(comments) < min_group:
        return VisibleComments((), len(comments), len(comments))
    by_department: dict[str | None, list[Comment]] = {}
    for comment in comments:
        by_department.setdefault(comment.department, []).append(comment)
    named = {d for d, items in by_department.items() if d is not None and len(items) >= min_group}
    while True:
        rest = len(comments) - sum(len(by_department[d]) for d in named)
        if rest == 0 or rest >= min_group:
            break
        # Complementary suppression: a pool under the minimum takes the smallest department.
        named.remove(min(named, key=lambda d: (len(by_department[d]), d)))
    groups = [CommentGroup(d, _shuffled(by_department[d], rng)) for d in sorted(named)]
    pool = [c for d, items in by_department.items() if d not in named for c in items]
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
