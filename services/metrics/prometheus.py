"""Prometheus text exposition of our registry through `prometheus_client` (a custom collector, no second registry)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.core import Metric as Family
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from services.metrics.types import Counter, Gauge, Histogram, Metric, Rate, TagKey

__all__ = ["CONTENT_TYPE_LATEST", "PrometheusExport"]


class PrometheusExport:
    """Renders every metric of a registry (plus the process's own CPU/memory figures) as Prometheus text.

    `labels` go on every sample: the `replica` a series comes from, as Prometheus expects of several processes."""

    def __init__(self, metrics: Callable[[], Mapping[str, Metric]], process: bool = True,
                 labels: Mapping[str, str] | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        collectors: list[Collector] = [_RegistryCollector(metrics)]
        if process:
            collectors.append(ProcessCollector(registry=None))
        for collector in collectors:
            self.registry.register(_Labelled(collector, dict(labels or {})))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _Labelled(Collector):
    """Another collector's families with constant labels added to every sample."""

    def __init__(self, inner: Collector, labels: dict[str, str]) -> None:
        self._inner = inner
        self._labels = labels

    def collect(self) -> Iterator[Family]:
        for family in self._inner.collect():
            if self._labels:
                family.samples = [s._replace(labels={**s.labels, **self._labels}) for s in family.samples]
            yield family


class _RegistryCollector(Collector):
    def __init__(self, metrics: Callable[[], Mapping[str, Metric]]) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Family]:
        for metric in list(self._metrics().values()):
            yield _family(metric)


def _family(metric: Metric) -> Family:
    help_text = metric.description or metric.name
    if metric.unit:
        help_text = f"{help_text} ({metric.unit})"
    children = metric.children()
    labels = sorted({_label(key) for tag_key in children for key, _ in tag_key})
    if isinstance(metric, Histogram):  # timers too
        family: Any = HistogramMetricFamily(metric.name, help_text, labels=labels)
        _add_histograms(family, metric, children, labels)
        return family
    family = (CounterMetricFamily if isinstance(metric, Counter) else GaugeMetricFamily)(metric.name, help_text,
                                                                                          labels=labels)
    value = _value(metric)
    for key, child in children.items():
        child_value = _value(child)
        if child_value is not None:
            family.add_metric(_label_values(key, labels), child_value)
            if value is not None and not isinstance(metric, Gauge):  # a gauge's own sample is its latest value
                value -= child_value  # the others export the untagged remainder, so the series add up
    if value is not None:  # a gauge never set has no sample rather than a made-up one
        family.add_metric([""] * len(labels), value)
    return family


def _value(metric: Metric) -> float | None:
    if isinstance(metric, Counter):
        return metric.total
    if isinstance(metric, Rate):
        return metric.rate()
    latest = metric.get_latest_value()
    return None if latest is None else float(latest)


def _add_histograms(family: HistogramMetricFamily, metric: Histogram, children: Mapping[TagKey, Metric],
                    labels: list[str]) -> None:
    counts = list(metric.bucket_counts)
    total = metric.sum
    for key, child in children.items():
        assert isinstance(child, Histogram)
        family.add_metric(_label_values(key, labels), _buckets(child.bounds, child.bucket_counts), child.sum)
        counts = [a - b for a, b in zip(counts, child.bucket_counts, strict=True)]
        total -= child.sum
    family.add_metric([""] * len(labels), _buckets(metric.bounds, counts), total)


def _buckets(bounds: Iterable[float], counts: list[int]) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    running = 0
    for bound, n in zip((*bounds, float("inf")), counts, strict=True):
        running += n
        out.append((floatToGoString(bound), running))
    return out


def _label_values(key: TagKey, labels: list[str]) -> list[str]:
    tags = {_label(name): value for name, value in key}
    return [tags.get(label, "") for label in labels]


def _label(name: str) -> str:
    """A valid Prometheus label name for a tag name (`node-id` -> `node_id`)."""
    cleaned = _INVALID.sub("_", name)
    return cleaned if cleaned and not cleaned[0].isdigit() and not cleaned.startswith("__") else f"tag_{cleaned}"


_INVALID = re.compile(r"[^a-zA-Z0-9_]")
