"""Admins without editing files: the first one by a one-time /claim code, the rest by /admins."""
