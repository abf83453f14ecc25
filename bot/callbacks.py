"""Callback data of every inline button, through aiogram's CallbackData factory.

Prefixes carry a version (…1) so that a future change of fields can tell old buttons from new
ones. Packed data must stay within Telegram's 64 bytes; tests check the longest case.
Handlers still check that the values make sense for this user now: the data comes from the
client and can be forged.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

# A row id as SQLite can hold it: forged data with a larger number fails to parse (the press
# falls through to «this button is no longer active») instead of overflowing in a query.
DbId = Annotated[int, Field(ge=1, le=2**63 - 1)]


class SurveyAnswerCb(CallbackData, prefix="sa1"):
    wave: DbId
    question: int
    score: int
    change: bool = False  # True when the question was reopened with «Back» to change it


class SurveyBackCb(CallbackData, prefix="sb1"):
    wave: DbId
    question: int


class PrivacyAction(StrEnum):
    FORGET = "forget"  # a customer deletes their personal data
    LEAVE = "leave"  # an employee leaves the survey


class PrivacyCb(CallbackData, prefix="pv1"):
    # No person id here: the action applies to whoever presses, so forged data can only ever
    # touch the presser's own record.
    action: PrivacyAction
    confirm: bool


class ForgetCustomerCb(CallbackData, prefix="pf1"):
    customer: DbId  # customers.id (internal), for the admin's confirmation button
    confirm: bool


# --- reviews, restock reminders and negative-review alerts --------------------------------------
class ReviewRatingCb(CallbackData, prefix="rv1"):
    review: DbId  # reviews.id; the handler checks it is the presser's own review
    rating: int  # 1..5 stars


class ReviewNpsCb(CallbackData, prefix="rn1"):
    review: DbId
    score: int  # 0..10


class ReviewSkipCb(CallbackData, prefix="rs1"):
    review: DbId  # «Skip» the comment


class ReviewEffortCb(CallbackData, prefix="re1"):
    review: DbId
    score: int  # 1..5 (CES); 0 = «Skip» the question


class RestockAction(StrEnum):
    SNOOZE = "snooze"  # «Remind me in a week»
    STOP = "stop"  # «Don't remind me again» (this product)
    BUY_AGAIN = "buy"  # «Buy again» when the product has no shop link: the shop calls back


class RestockCb(CallbackData, prefix="rk1"):
    item: DbId  # order_items.id the reminder was about; checked against the presser
    action: RestockAction


class AlertResolveCb(CallbackData, prefix="ar1"):
    alert: DbId  # alerts.id; admins only (the admin router's filter)


class AdminsAction(StrEnum):
    ADD = "add"
    REMOVE = "remove"


class AdminsCb(CallbackData, prefix="ad1"):
    """«Confirm» under /admins add|remove: the handler checks the presser is an admin now."""

    action: AdminsAction
    user: DbId


# --- action plans, survey comments, the voice of the customer, the pulse (bot/plans, bot/voc,
# bot/pulse) -------------------------------------------------------------------------------------
class PlanQuestionCb(CallbackData, prefix="pq1"):
    question: int  # 1..6; checked by the handler


class PlanOwnerCb(CallbackData, prefix="po1"):
    owner: int  # a Telegram id offered in the list (the admin, or an earlier owner); checked


class PlanDueCb(CallbackData, prefix="pd1"):
    preset: str  # bot.plans.model.DuePreset; checked


class PlanCancelCb(CallbackData, prefix="px1"):
    pass


class PlanReassignCb(CallbackData, prefix="pa1"):
    initiative: DbId  # an initiative whose owner is gone; admins only


class PlanStatusCb(CallbackData, prefix="ps1"):
    initiative: DbId  # checked: the presser owns it (or is an admin)
    status: str  # bot.plans.model.Status; checked


class PlanNoteCb(CallbackData, prefix="pn1"):
    initiative: DbId


class CommentSkipCb(CallbackData, prefix="cs1"):
    wave: DbId


class CommentToPlanCb(CallbackData, prefix="cp1"):
    comment: DbId  # survey_comments.id (random); admins only


class VocSuggestCb(CallbackData, prefix="vs1"):
    issue: DbId  # voc_issues.id
    signed: bool | None = None  # None: ask whether to sign


class SuggestionToPlanCb(CallbackData, prefix="sp1"):
    suggestion: DbId  # admins only


class PulsePickCb(CallbackData, prefix="pp1"):
    round: DbId
    department: DbId  # checked: not the presser's own, at most three


class PulseDoneCb(CallbackData, prefix="pk1"):
    round: DbId


class PulseScoreCb(CallbackData, prefix="pr1"):
    round: DbId
    department: DbId
    score: int  # 1..5; checked


# --- cases (bot/cases/) --------------------------------------------------------------------------
class CaseAction(StrEnum):
    REPLY = "reply"  # «Reply to the customer»: the admin's next message answers the case
    RESOLVE = "resolve"  # «Resolved»: the customer is asked to confirm


class CaseCb(CallbackData, prefix="ca1"):
    case: DbId  # cases.id; admins only (the admin router's filter)
    action: CaseAction


class CaseConfirmCb(CallbackData, prefix="cc1"):
    case: DbId  # cases.id; the handler checks it is the presser's own case
    solved: bool  # «Yes» / «No» to «Is your issue resolved?»
