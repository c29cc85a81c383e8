"""Admin-only widgets: accounts and live connections."""
