"""What the bot says about itself: one welcome per role and the profile's descriptions.

A customer, an employee, an admin and a stranger each get their own welcome (a person who is
both a customer and an employee gets both parts). Customers read the shop's name (SHOP_NAME),
employees the company's (COMPANY_NAME, else the shop's). setMyDescription («What can this bot
do?», before /start) and setMyShortDescription (the profile) are set in Russian and English.
"""

from __future__ import annotations

import asyncio
import logging
from html import escape

from aiogram import Bot

from bot.admins.service import current_admins
from bot.i18n import I18n, Translator
from bot.liveness import describe
from bot.settings import Settings
from bot.shop import company_name, shop_name
from bot.texts import N_
from storage import Database
from storage.people import Roles, roles_of

log = logging.getLogger(__name__)

DESCRIPTION_MAX = 512  # Telegram's limits for the two descriptions
SHORT_DESCRIPTION_MAX = 120


def _bold(text: str) -> str:
    return "<b>" + escape(text) + "</b>"


def customer_welcome(tr: Translator, settings: Settings) -> str:
    return "\n".join(
        [
            "🏪 " + _bold(shop_name(tr, settings)),
            "",
            tr(
                "Hello! Here you rate your purchases and get a reminder when it is time to "
                "restock. Have a question? Just write it here: the shop answers in this chat."
            ),
            tr("/stop — no more messages · /forget — delete my data"),
        ]
    )


def employee_welcome(tr: Translator, settings: Settings) -> str:
    return "\n".join(
        [
            tr(
                "Hello! This is the customer-centricity survey of {company}: once a year, six "
                "short confidential questions. Admins see only totals, never your answers.",
                company=_bold(company_name(tr, settings)),
            ),
            tr("/survey — continue the survey · /leave — leave it"),
        ]
    )


def admin_welcome(tr: Translator, settings: Settings) -> str:
    return "\n".join(
        [
            tr(
                "Hello! You are an administrator of the {shop} bot.",
                shop=_bold(shop_name(tr, settings)),
            ),
            "",
            # The commands' <arguments> are text, not markup (parse mode is HTML).
            *(
                escape(tr(line))
                for line in (
                    N_("/report — the report: survey, customers, cases"),
                    N_("/invite <department> — an invitation link for employees"),
                    N_("/departments — departments and their members"),
                    N_("/survey_start [title] · /survey_close — open and close a survey wave"),
                    N_("/target <6..30> — the target for the next wave"),
                    N_("/export — CSV files of answers, reviews, reminders and cases"),
                    N_("/forget_customer <id> — forget a customer's personal data"),
                )
            ),
            "",
            tr(
                "Alerts about customers come here with «Reply to the customer» and «Resolved»: "
                "your next message after «Reply to the customer», or a reply to an alert, goes "
                "to the customer with the shop's name."
            ),
        ]
    )


def stranger_welcome(tr: Translator, settings: Settings) -> str:
    company = _bold(company_name(tr, settings))
    return "\n".join(
        [
            "🏪 " + _bold(shop_name(tr, settings)),
            "",
            tr("Hello! This is the customer-centricity bot of {company}.", company=company),
            "",
            tr(
                "If you are a customer, open the link from your receipt or press /link to share "
                "your phone number: then you can rate purchases and write to the shop here."
            ),
            tr(
                "If you work at {company}, open the invitation link from your manager or HR.",
                company=company,
            ),
        ]
    )


def welcome(tr: Translator, settings: Settings, roles: Roles, *, admin: bool) -> str:
    parts = []
    if admin:
        parts.append(admin_welcome(tr, settings))
    if roles.customer:
        parts.append(customer_welcome(tr, settings))
    if roles.employee:
        parts.append(employee_welcome(tr, settings))
    if not parts:
        parts.append(stranger_welcome(tr, settings))
    return "\n\n".join(parts)


async def welcome_for(db: Database, settings: Settings, tr: Translator, telegram_id: int) -> str:
    """The welcome for whoever this is now (roles read from the database)."""
    async with db.read() as conn:
        roles = await roles_of(conn, telegram_id)
        admin = telegram_id in await current_admins(conn, settings.admin_ids)
    return welcome(tr, settings, roles, admin=admin)


def description(tr: Translator, settings: Settings) -> str:
    return tr(
        "{shop}: rate your purchases, get restock reminders and write to the shop — it answers "
        "here. Employees take the customer-centricity survey here too.",
        shop=shop_name(tr, settings),
    )[:DESCRIPTION_MAX]


def short_description(tr: Translator, settings: Settings) -> str:
    return tr(
        "{shop}: reviews, restock reminders and a direct line to the shop",
        shop=shop_name(tr, settings),
    )[:SHORT_DESCRIPTION_MAX]


async def register_descriptions(bot: Bot, settings: Settings, i18n: I18n) -> None:
    """Best effort, like the command menu: a failure must not keep the bot from starting."""
    try:
        for locale in ("ru", "en"):
            tr = Translator(i18n, locale)
            language_code = None if locale == settings.default_language else locale
            await bot.set_my_description(description(tr, settings), language_code=language_code)
            await bot.set_my_short_description(
                short_description(tr, settings), language_code=language_code
            )
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # any failure: a non-JSON 500 is no TelegramAPIError
        log.warning("bot descriptions not set: %s", describe(exc))
