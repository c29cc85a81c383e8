"""The metrics every installation has: the original system's 23 (DESIGN.md §8) plus the event and notification ones."""

from __future__ import annotations

from typing import NamedTuple


class MetricSpec(NamedTuple):
    name: str
    type: str
    category: str
    unit: str
    description: str


DEFAULT_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("system_uptime", "timer", "system", "seconds", "Seconds since this server process started"),
    MetricSpec("system_memory_usage", "gauge", "system", "percent", "Host memory in use"),
    MetricSpec("system_cpu_usage", "gauge", "system", "percent", "Host CPU in use"),
    MetricSpec("system_disk_usage", "gauge", "system", "percent", "Disk space in use on the data volume"),
    MetricSpec("resources_distributed_total", "counter", "resource", "dollars", "Resources distributed to humans"),
    MetricSpec("resources_distributed_rate", "rate", "resource", "dollars/second", "Resources distributed per second"),
    MetricSpec("active_humans", "gauge", "resource", "count", "Humans registered and active"),
    MetricSpec("weekly_distributions", "counter", "resource", "count", "Distributions made"),
    MetricSpec("truth_messages_sent", "counter", "truth", "count", "Truth messages sent"),
    MetricSpec("truth_channels_active", "gauge", "truth", "count", "Truth channels in use"),
    MetricSpec("truth_reach_total", "counter", "truth", "count", "People reached by truth messages"),
    MetricSpec("truth_effectiveness", "gauge", "truth", "percent", "Channel conversions per truth message sent"),
    MetricSpec("mesh_nodes_active", "gauge", "mesh", "count", "Mesh nodes heard from within the node timeout"),
    MetricSpec("mesh_connections_total", "counter", "mesh", "count", "Mesh node connections made"),
    MetricSpec("mesh_latency_avg", "gauge", "mesh", "milliseconds", "Mean latency reported by active mesh nodes"),
    MetricSpec("mesh_throughput", "gauge", "mesh", "bytes/second", "Throughput reported by the mesh network"),
    MetricSpec("websocket_connections", "gauge", "user", "count", "Open raw WebSocket connections"),
    MetricSpec("user_sessions_active", "gauge", "user", "count", "Open browser views"),
    MetricSpec("user_actions_rate", "rate", "user", "actions/second", "User actions per second"),
    MetricSpec("api_response_time", "histogram", "performance", "milliseconds", "REST response time (/api/)"),
    MetricSpec("websocket_message_rate", "rate", "performance", "messages/second", "WebSocket messages sent"),
    MetricSpec("database_query_time", "histogram", "performance", "milliseconds", "Database statement time"),
    MetricSpec("error_rate", "rate", "performance", "errors/second", "REST responses with a server error (5xx)"),
    # Ours: the event bus, notifications and alerting, so the platform watches itself too.
    MetricSpec("events_published_total", "counter", "performance", "count", "Events published on the bus"),
    MetricSpec("event_handler_failures_total", "counter", "performance", "count", "Event handler calls that failed"),
    MetricSpec("events_pending_writes", "gauge", "performance", "count", "Events waiting to be written to history"),
    MetricSpec("events_lost_total", "counter", "performance", "count", "Events that could not be stored"),
    MetricSpec("notifications_sent_total", "counter", "user", "count", "Notifications sent"),
    MetricSpec("notifications_read_total", "counter", "user", "count", "Notifications marked read"),
    MetricSpec("notifications_dismissed_total", "counter", "user", "count", "Notifications dismissed"),
    MetricSpec("metric_alerts_firing", "gauge", "system", "count", "Metric alert rules firing now"),
)

ORIGINAL_METRICS = tuple(spec.name for spec in DEFAULT_METRICS[:23])

DASHBOARD_KEYS = ("resources_distributed_total", "active_humans", "truth_messages_sent", "mesh_nodes_active",
                  "websocket_connections", "system_cpu_usage", "system_memory_usage")
"""The original's key metrics, in its order (DESIGN.md §8)."""

SYSTEM_KEYS = ("system_cpu_usage", "system_memory_usage", "system_disk_usage", "system_uptime")

TRUTH_CHANNEL_REACH = {"billboard": 50_000, "social": 100_000, "media": 25_000, "direct": 1_000}
