"""Fault tests: crashes, Bot API storms, a second process, a locked database, backups under load."""
