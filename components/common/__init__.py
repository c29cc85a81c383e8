"""Pieces every feature uses: the JSON view, the admin-action guard, the dashboard layout, browser time helpers."""
