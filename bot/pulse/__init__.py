"""The internal service pulse: departments rate each other as internal clients (1–5)."""
