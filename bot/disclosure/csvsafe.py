"""Cells a spreadsheet would run as a formula, defused (OWASP: CSV injection).

Every export passes every cell through `neutralise`, whatever column it is in: an order id or
an SKU comes from a shop's system and can be `=HYPERLINK(...)` as easily as a comment can.
"""

from __future__ import annotations

# Excel, LibreOffice and Google Sheets start a formula with = + - @; a tab or carriage return
# in front hides it from a casual look; a full-width equals sign is folded to «=» by some.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralise(value: object) -> object:
    """Text that would start a formula gets a leading apostrophe; numbers stay numbers.

    Numbers of our own (a score, a negative NPS change) are not text from anyone and stay
    as they are, so the file still reads as numbers in pandas and Excel.
    """
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def neutralise_row(row: tuple[object, ...] | list[object]) -> tuple[object, ...]:
    return tuple(neutralise(cell) for cell in row)
