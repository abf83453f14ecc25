"""Report assembly: figures from SQL aggregates, rendered as text (and charts)."""
