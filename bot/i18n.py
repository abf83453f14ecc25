"""Texts in Russian (the default) and English, through aiogram's gettext i18n.

Why gettext with Babel rather than Fluent: it is built into aiogram (no extra package), msgids
are the English texts themselves so code reads naturally, and `.po` files are what translators'
tools already open. English is the msgid, so the catalogues are Russian ones.

Each feature keeps its own catalogue (`locales/ru/LC_MESSAGES/<feature>.po`); they are merged at
start. Catalogues are read straight from `.po` with Babel, so there is no compiled `.mo` to
forget to rebuild and no binary file in git.
"""

from __future__ import annotations

import gettext
import io
from pathlib import Path
from typing import Any

from aiogram.types import TelegramObject, User
from aiogram.utils.i18n import I18n, I18nMiddleware
from aiogram.utils.i18n import gettext as _  # noqa: F401  (re-exported for handlers)
from aiogram.utils.i18n import lazy_gettext as __  # noqa: F401
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).parent / "locales"
SUPPORTED = ("ru", "en")
DOMAIN = "messages"


def load_catalogues(path: Path) -> dict[str, gettext.GNUTranslations]:
    """Every supported locale's catalogues, merged; English is served by its msgids.

    Merged into one table per locale (the first file, in name order, wins a msgid both
    have) rather than chained with `add_fallback`: a chain makes every lookup of a later
    file's text walk every earlier file first, and texts are looked up on every button press.
    """
    translations: dict[str, gettext.GNUTranslations] = {}
    for locale in SUPPORTED:
        folder = path / locale / "LC_MESSAGES"
        merged = Catalog(locale=locale)
        for po_path in sorted(folder.glob("*.po")) if folder.exists() else []:
            with po_path.open("rb") as fh:
                catalog = read_po(fh, locale=locale)
            for message in catalog:
                if message.id and message.id not in merged:
                    merged[message.id] = message
        translations[locale] = _compile(merged)
    return translations


def _compile(catalog: Catalog) -> gettext.GNUTranslations:
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def build_i18n(default_language: str = "ru") -> I18n:
    # A plain I18n (aiogram's context helpers look up exactly this class), given catalogues
    # read from .po: its own loader finds no compiled "messages.mo" here and loads nothing.
    i18n = I18n(path=LOCALES_DIR, default_locale=default_language, domain=DOMAIN)
    i18n.locales = load_catalogues(LOCALES_DIR)
    return i18n


def pick_locale(language_code: str | None, default: str) -> str:
    """English for users whose Telegram speaks English, Russian for Russian, else the default."""
    if language_code:
        base = language_code.split("-")[0].lower()
        if base in SUPPORTED:
            return base
    return default


class LocaleMiddleware(I18nMiddleware):
    """Chooses the locale from the user's Telegram language."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user: User | None = data.get("event_from_user")
        return pick_locale(user.language_code if user else None, self.i18n.default_locale)


class Translator:
    """Texts for one locale, for code that runs outside a handler (the outbox, reports)."""

    def __init__(self, i18n: I18n, locale: str) -> None:
        self.i18n = i18n
        self.locale = locale if locale in SUPPORTED else i18n.default_locale

    def __call__(self, text: str, **params: Any) -> str:
        translated = self.i18n.gettext(text, locale=self.locale)
        return translated.format(**params) if params else translated

    def plural(self, singular: str, plural: str, n: int, **params: Any) -> str:
        translated = self.i18n.gettext(singular, plural, n, locale=self.locale)
        return translated.format(n=n, **params)
