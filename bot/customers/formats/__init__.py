"""Shops' own files: header mapping and presets, cell parsing, fill-down, guest identity (pure)."""

from bot.customers.formats.headers import FORMATS, Mapping, UnreadableHeader, detect, map_header
from bot.customers.formats.rows import (
    Assembled,
    CellError,
    ItemDraft,
    OrderDraft,
    assemble,
    guest_id,
)
from bot.customers.formats.values import CellProblem, When, parse_price, parse_quantity, parse_when

__all__ = [
    "FORMATS",
    "Assembled",
    "CellError",
    "CellProblem",
    "ItemDraft",
    "Mapping",
    "OrderDraft",
    "UnreadableHeader",
    "When",
    "assemble",
    "detect",
    "guest_id",
    "map_header",
    "parse_price",
    "parse_quantity",
    "parse_when",
]
