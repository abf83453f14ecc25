"""The names people read: the shop's (SHOP_NAME) for customers, the company's for employees."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.i18n import Translator
    from bot.settings import Settings


def shop_name(tr: Translator, settings: Settings) -> str:
    """The shop's name as set, else «Наш магазин» (plain text: escape it for HTML)."""
    return settings.shop_name.strip() or tr("Our shop")


def company_name(tr: Translator, settings: Settings) -> str:
    """«компании «X»» (COMPANY_NAME, else SHOP_NAME) or «нашей компании», to follow «of»."""
    name = settings.company_name.strip() or settings.shop_name.strip()
    return tr("the company «{name}»", name=name) if name else tr("our company")


def shop_header(tr: Translator, name: str | None) -> str:
    """The first line of every customer message: the shop's name (SHOP_NAME, else «our shop»)."""
    return "🏪 <b>" + escape((name or "").strip() or tr("Our shop")) + "</b>"
