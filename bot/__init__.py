"""Customer-centricity Telegram bot: the application, its domain and its command line."""
