"""Metric widgets: live cards, the explorer, custom metrics, alert rules and retention for admins."""
