"""The month's voice of the customer: its figures and three to five real comments, scrubbed.

`pick_comments` chooses what employees read: scrubbed comments long enough to say something
(a comment that is mostly masks says nothing), one per customer, the harshest and the warmest
taken in turn so the month is not only praise or only complaints. `issue_body` is what is stored
once per VOC_CRON slot (so every employee reads the same issue, and a restart sends the same
one); `render_issue` turns it into the message in the reader's language.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.texts import N_
from bot.voc.scrub import Masks, mask_share, scrub

COMMENTS_MAX = 5
COMMENTS_MIN = 3
COMMENT_MIN_LENGTH = 12  # characters left after scrubbing
COMMENT_MAX_LENGTH = 400  # longer ones are cut (a digest is read on a phone)
MASKED_MAX = 0.5


@dataclass(frozen=True)
class CommentCandidate:
    review_id: int
    customer_id: int
    rating: int | None
    body: str
    names: tuple[str, ...] = ()  # the customer's name on record
    order_ids: tuple[str, ...] = ()  # the shop's ids of the orders the review was about


@dataclass(frozen=True)
class MonthFigures:
    nps_promoters: int = 0
    nps_passives: int = 0
    nps_detractors: int = 0
    ratings: int = 0
    satisfied: int = 0
    ces: float | None = None  # not collected by the review conversation (yet)
    complaints: int = 0
    complaints_answered: int = 0
    answer_hours: list[float] = field(default_factory=list)  # per answered complaint

    @property
    def nps(self) -> float | None:
        total = self.nps_promoters + self.nps_passives + self.nps_detractors
        return (self.nps_promoters - self.nps_detractors) * 100 / total if total else None

    @property
    def csat(self) -> float | None:
        return self.satisfied / self.ratings if self.ratings else None

    @property
    def median_answer_hours(self) -> float | None:
        return statistics.median(self.answer_hours) if self.answer_hours else None


def pick_comments(
    candidates: Iterable[CommentCandidate], *, limit: int = COMMENTS_MAX
) -> list[tuple[int | None, str]]:
    """Up to `limit` scrubbed comments as (rating, text), the harshest and warmest in turn."""
    masks = Masks()
    seen_customers: set[int] = set()
    usable: list[tuple[int | None, str, int]] = []
    # The newest first, so a customer who wrote twice is heard with their latest words.
    for c in sorted(candidates, key=lambda c: -c.review_id):
        if c.customer_id in seen_customers:
            continue
        text = scrub(" ".join(c.body.split()), names=c.names, order_ids=c.order_ids, masks=masks)
        if len(text) < COMMENT_MIN_LENGTH or mask_share(text, masks) > MASKED_MAX:
            continue
        if len(text) > COMMENT_MAX_LENGTH:
            text = text[: COMMENT_MAX_LENGTH - 1].rstrip() + "…"
        seen_customers.add(c.customer_id)
        usable.append((c.rating, text, c.review_id))
    low = sorted(usable, key=lambda u: (u[0] if u[0] is not None else 3, -u[2]))
    out: list[tuple[int | None, str]] = []
    taken: set[int] = set()
    front, back = 0, len(low) - 1
    while len(out) < limit and front <= back:
        for index in (front, back):
            if len(out) < limit and low[index][2] not in taken:
                taken.add(low[index][2])
                out.append((low[index][0], low[index][1]))
        front, back = front + 1, back - 1
    return out


def issue_body(figures: MonthFigures, comments: Sequence[tuple[int | None, str]]) -> dict[str, Any]:
    return {
        "nps": figures.nps,
        "nps_counts": [figures.nps_promoters, figures.nps_passives, figures.nps_detractors],
        "csat": figures.csat,
        "ratings": figures.ratings,
        "ces": figures.ces,
        "complaints": figures.complaints,
        "complaints_answered": figures.complaints_answered,
        "median_answer_hours": figures.median_answer_hours,
        "comments": [{"rating": r, "text": t} for r, t in comments],
    }


Translate = Callable[..., str]

TITLE = N_("🗣 The voice of the customer: {month}")
NPS_LINE = N_("NPS: {nps} (promoters {p}, passives {n}, detractors {d})")
CSAT_LINE = N_("CSAT: {csat} of {count} ratings")
CES_NONE = N_("CES: not measured yet")
CES_LINE = N_("CES: {ces}")
COMPLAINTS_LINE = N_("Complaints: {count}, answered {answered}")
ANSWER_SPEED = N_("median time to an answer: {hours} h")
COMMENTS_TITLE = N_("What customers wrote:")
FEW_COMMENTS = N_("Only {count} comments this month.")
NO_COMMENTS = N_("No comments this month.")
SUGGEST_HINT = N_("What would you change? Press «Suggest an improvement».")


def _num(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "—"
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:.0f}"
    return text


def _unmask(tr: Translate, text: str) -> str:
    masks = Masks()
    for value in (masks.name, masks.phone, masks.email, masks.order):
        text = text.replace(value, tr(value))
    return text


def render_issue(
    tr: Translate, body: dict[str, Any], month: str, escape: Callable[[str], str]
) -> str:
    """The digest text; `escape` is html.escape for the comments (they came from customers)."""
    p, n, d = body["nps_counts"]
    lines = [f"<b>{escape(tr(TITLE, month=month))}</b>", ""]
    lines.append(tr(NPS_LINE, nps=_num(body["nps"], 0), p=p, n=n, d=d))
    csat = body["csat"]
    lines.append(
        tr(
            CSAT_LINE,
            csat=_num(csat * 100 if csat is not None else None, 0) + " %"
            if csat is not None
            else "—",
            count=body["ratings"],
        )
    )
    lines.append(tr(CES_LINE, ces=_num(body["ces"])) if body["ces"] is not None else tr(CES_NONE))
    complaints = tr(COMPLAINTS_LINE, count=body["complaints"], answered=body["complaints_answered"])
    if body["median_answer_hours"] is not None:
        complaints += "; " + tr(ANSWER_SPEED, hours=_num(body["median_answer_hours"]))
    lines.append(complaints)
    comments = body["comments"]
    lines.append("")
    if comments:
        lines.append(tr(COMMENTS_TITLE))
        for item in comments:
            stars = "⭐" * item["rating"] if item["rating"] else "💬"
            lines.append(f"{stars} «{escape(_unmask(tr, item['text']))}»")
        if len(comments) < COMMENTS_MIN:
            lines.append(tr(FEW_COMMENTS, count=len(comments)))
    else:
        lines.append(tr(NO_COMMENTS))
    lines.append("")
    lines.append(tr(SUGGEST_HINT))
    return "\n".join(lines)
