"""Metrics: typed metrics (counter, gauge, histogram, timer, rate) with a window in memory and minutes on disk,
summaries and trends, alert rules, event-fed domain metrics, host samples and the Prometheus exposition."""

from __future__ import annotations

from services.metrics.alerts import CONDITIONS, SEVERITIES, AlertRule, AlertRuleError
from services.metrics.analysis import iso
from services.metrics.base import MetricCategory, MetricType
from services.metrics.defaults import DASHBOARD_KEYS, SYSTEM_KEYS
from services.metrics.feeds import CumulativeFeed, DomainFeeds, collect_event_system, collect_websocket
from services.metrics.host import HostSample, HostSampler
from services.metrics.prometheus import CONTENT_TYPE_LATEST, PrometheusExport
from services.metrics.service import MetricError, MetricsService
from services.metrics.store import MetricStore
from services.metrics.types import TYPES, Counter, Rate

__all__ = [
    "CONDITIONS",
    "CONTENT_TYPE_LATEST",
    "DASHBOARD_KEYS",
    "SEVERITIES",
    "SYSTEM_KEYS",
    "TYPES",
    "AlertRule",
    "AlertRuleError",
    "Counter",
    "CumulativeFeed",
    "DomainFeeds",
    "HostSample",
    "HostSampler",
    "MetricCategory",
    "MetricError",
    "MetricStore",
    "MetricType",
    "MetricsService",
    "PrometheusExport",
    "Rate",
    "collect_event_system",
    "collect_websocket",
    "iso",
]
