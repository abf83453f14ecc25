"""Web entry points on the bot's aiohttp app: health, the purchases API, the Telegram webhook."""
