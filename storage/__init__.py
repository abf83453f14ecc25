"""SQLite storage: the connection, migrations and the queries, grouped by what they store."""

from storage.db import Database, DatabaseLockedByAnotherProcess

__all__ = ["Database", "DatabaseLockedByAnotherProcess"]
