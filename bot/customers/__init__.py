"""Customers and their purchases: schema, recording (API, CSV, batch), Telegram links, phones."""
