"""Online backup: a consistent copy of a live database, taken while the bot keeps writing."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def backup(source: Path, target: Path, *, pages_per_step: int = 1024) -> int:
    """Copy `source` to `target` with SQLite's backup API; returns the number of pages copied.

    Works beside a running bot: WAL lets the copy read a snapshot while the bot writes, and
    the backup restarts a step if a write lands in pages already copied, so the result is
    always one consistent moment.
    """
    if not source.exists():
        raise FileNotFoundError(f"no database at {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".partial")
    tmp.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(tmp)
    try:
        src.backup(dst, pages=pages_per_step)
        pages = dst.execute("PRAGMA page_count").fetchone()[0]
        check = dst.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise OSError(f"the copy failed its integrity check: {check}")
    finally:
        dst.close()
        src.close()
    tmp.replace(target)
    return int(pages)
