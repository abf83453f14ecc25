"""Phone numbers to E.164 (`+79991234567`), the form purchases and Telegram contacts are matched in.

Parsing is Google's libphonenumber (the `phonenumberslite` port): it knows every country's
lengths and national prefixes, so the Russian `8 (999) 123-45-67`, `+7 (999) 123-45-67`,
`79991234567` and `9991234567` all come out as `+79991234567` without hand-written rules.

A number must be *valid* (a real number range of its country), not only of a plausible length:
a typo in the shop's data then fails loudly at import instead of never matching anyone.
"""

from __future__ import annotations

import functools
import re

import phonenumbers

DEFAULT_REGION = "RU"
MAX_RAW_LENGTH = 32
# What people and shop systems write around the digits. Letters are refused on purpose
# (libphonenumber would read "1-800-FLOWERS" as digits, and "ext." as an extension).
_ALLOWED = re.compile(r"^[0-9+()\-.\s]+$")


class InvalidPhone(ValueError):
    """The text is not a phone number we can match; the message says why (in English)."""


def to_e164(raw: str, *, region: str = DEFAULT_REGION) -> str:
    """The E.164 form of a phone number written in any usual way; raises InvalidPhone."""
    text = raw.strip()
    if len(text) > MAX_RAW_LENGTH:  # checked before the cache, which must hold short keys only
        raise InvalidPhone(f"phone number is longer than {MAX_RAW_LENGTH} characters")
    e164, problem = _parse(text, region)
    if e164 is None:
        raise InvalidPhone(problem)
    return e164


@functools.lru_cache(maxsize=65536)
def _parse(text: str, region: str) -> tuple[str | None, str]:
    # Cached: libphonenumber takes ~0.1 ms a number, and a CSV repeats a customer's phone on
    # every row of every order.
    try:
        return _parse_uncached(text, region), ""
    except InvalidPhone as exc:
        return None, str(exc)


def _parse_uncached(text: str, region: str) -> str:
    if not text:
        raise InvalidPhone("phone number is empty")
    if not _ALLOWED.match(text):
        raise InvalidPhone("phone number may contain only digits, spaces, +, (, ), - and .")
    if text.count("+") > 1 or ("+" in text and not text.startswith("+")):
        raise InvalidPhone("'+' may only start a phone number")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone("not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize(raw: str | None, *, region: str = DEFAULT_REGION) -> str | None:
    """E.164, or None when the text is not a usable number."""
    if raw is None:
        return None
    try:
        return to_e164(raw, region=region)
    except InvalidPhone:
        return None


def from_telegram_contact(phone_number: str) -> str | None:
    """E.164 of a shared Telegram contact, or None.

    Telegram sends the full international number, usually without the '+' ("79991234567"),
    so the digits are read as international rather than through the default region: a UK
    number "447911123456" must not become +7 447...
    """
    text = phone_number.strip()
    if text and not text.startswith("+"):
        text = "+" + text
    return normalize(text)
