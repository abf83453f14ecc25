"""SQLite storage: the connection, migrations and the queries, grouped by what they store."""

from storage.db import Database, DatabaseFileGone, DatabaseLockedByAnotherProcess

__all__ = ["Database", "DatabaseFileGone", "DatabaseLockedByAnotherProcess"]
