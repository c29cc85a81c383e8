"""Notification widgets: the inbox and its cards, the bell, and the admin send form and statistics."""
