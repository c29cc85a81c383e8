"""Notification widgets: the inbox and its cards, the bell, the admin send form and statistics, and the delivery
trace dialog."""

from components.notifications.trace import TraceLinks, TraceLoad, show_trace, trace_button

__all__ = ["TraceLinks", "TraceLoad", "show_trace", "trace_button"]
