"""Which anonymous survey comments admins may read, and in what order.

A comment is shown only inside a group of at least `min_group` comments (each respondent can
leave one per wave, so comments count commenters): a department's own group when it is large
enough, else pooled with the other small ones as «other departments» when the pool is large
enough, else not at all. Within a group the order is shuffled, so it tells nothing of who
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
    by_department: dict[str | None, list[Comment]] = {}
    for comment in comments:
        by_department.setdefault(comment.department, []).append(comment)
    groups: list[CommentGroup] = []
    pool: list[Comment] = list(by_department.pop(None, []))
    for department in sorted(by_department, key=str):
        items = by_department[department]
        if len(items) >= min_group:
            groups.append(CommentGroup(department, _shuffled(items, rng)))
        else:
            pool.extend(items)
    hidden = 0
    if len(pool) >= min_group:
        groups.append(CommentGroup(None, _shuffled(pool, rng)))
    else:
        hidden = len(pool)
    return VisibleComments(tuple(groups), len(comments), hidden)


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
