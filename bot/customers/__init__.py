"""Customers and their purchases: the purchases schema, recording (API, CSV, batch), linking Telegram, phones."""
