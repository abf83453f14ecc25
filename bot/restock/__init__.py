"""Restock reminders: when a consumable runs out, and the customer's answers to them."""
