"""Customers handlers (filled in by the customers feature)."""

from __future__ import annotations

from handlers.routes import Routes

routes = Routes(__name__)
