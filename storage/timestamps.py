"""How every timestamp is stored: UTC ISO-8601 text that sorts like time."""

from __future__ import annotations

from datetime import UTC, datetime


def to_db(moment: datetime) -> str:
    """UTC ISO-8601 text that sorts like time (the storage format of every timestamp)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime reached storage")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_db(text: str) -> datetime:
    # fromisoformat is ~70× faster than strptime, which matters when a tick claims 500 rows;
    # the shape check keeps it exactly as strict about the stored form.
    if len(text) != 27 or text[-1] != "Z" or text[10] != "T":
        raise ValueError(f"not a stored timestamp: {text!r}")
    return datetime.fromisoformat(text)
