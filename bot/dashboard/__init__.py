"""The web dashboard's domain: signing in through Telegram and recording what admins do there."""
