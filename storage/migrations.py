"""Numbered SQL migrations, applied at start and tracked with PRAGMA user_version.

A migration is `storage/migrations/NNNN_name.sql`; after it runs the database's user_version is
NNNN. Each file runs in its own transaction together with the version bump, so a crash leaves the
database at the previous version, never half-migrated.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources

import aiosqlite

log = logging.getLogger(__name__)

_NAME_RE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations() -> list[Migration]:
    found: list[Migration] = []
    for entry in resources.files("storage").joinpath("migrations").iterdir():
        match = _NAME_RE.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a number: {versions}")
    return found


async def current_version(conn: aiosqlite.Connection) -> int:
    async with conn.execute("PRAGMA user_version") as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def apply_migrations(conn: aiosqlite.Connection) -> int:
    """Bring the database up to the newest migration; returns the resulting version."""
    version = await current_version(conn)
    migrations = load_migrations()
    newest = migrations[-1].version if migrations else 0
    if version > newest:
        raise RuntimeError(
            f"the database is at version {version}, newer than this program ({newest}); "
            "upgrade the program"
        )
    for migration in migrations:
        if migration.version <= version:
            continue
        log.info("applying migration %s", migration.name)
        script = f"BEGIN IMMEDIATE;\n{migration.sql}\nPRAGMA user_version = {migration.version};\n"
        try:
            await conn.executescript(script)
            await conn.commit()
        except BaseException:
            if conn.in_transaction:
                await conn.rollback()
            raise
        version = migration.version
    return version
