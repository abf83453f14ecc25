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


class RestockAction(StrEnum):
    SNOOZE = "snooze"  # «Remind me in a week»
    STOP = "stop"  # «Don't remind me again» (this product)


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
