"""Extreme values (near the largest float, either sign) in every metric type: answers stay finite or None, running
totals refuse to overflow, history still persists, and one broken metric or push part does not stop the others."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Engine

from app.wiring.metrics import push
from services.metrics.service import MetricsService
from services.metrics.types import TYPES, Counter, Metric
from tests.clocks import SecondsClock

pytestmark = pytest.mark.reliability

BIGGEST = 1.7976931348623157e308
MIX = (1e308, -1e308, BIGGEST, -BIGGEST, 1e-300, 5e-324, 0.0, 1e308, 1e308, -BIGGEST, 42.0)


def strict_json(payload: Any) -> Any:
    """The payload through JSON that refuses inf and NaN, as a standard JSON client reads it."""
    return json.loads(json.dumps(payload, allow_nan=False))


@pytest.fixture
async def service(engine: Engine) -> AsyncIterator[MetricsService]:
    clock = SecondsClock(1_800_000_000.0)
    metrics = MetricsService(engine, clock=clock)
    await metrics.start()
    for kind in TYPES:
        metrics.create_custom_metric(f"extreme_{kind}", kind)
    for value in MIX * 3:
        clock.now += 7.0  # several minutes, so minute rollups close and are stored
        for kind in TYPES:
            metrics.record_metric(f"extreme_{kind}", abs(value) if kind in ("counter", "rate") else value)
    yield metrics
    await metrics.stop()


async def test_every_answer_about_extreme_values_is_strict_json(service: MetricsService) -> None:
    for kind in TYPES:
        name = f"extreme_{kind}"
        assert service.metrics[name].records > 0, name
        found = service.get_metric_summary(name)
        assert found is not None
        # A histogram's last bucket bound is +Inf by definition (not a statistic); REST writes it as null.
        summary = strict_json({k: v for k, v in found.items() if k != "buckets"})
        assert summary["count"] > 0 and summary["min"] is not None, name
        strict_json(service.card(name))
        strict_json(service.get_metric_history(name, window=3600))
        strict_json(service.get_metric_history(name, window=3600, step=60))
        strict_json(await service.fetch_metric_history(name, window=3600, step=60))
    dashboard = strict_json(await service.get_dashboard_metrics())
    assert len(dashboard["key_metrics"]) == 7
    strict_json(await service.get_admin_metrics())
    assert await service.persist() >= 0  # minutes with extreme totals are stored like any other


async def test_a_gauge_set_to_plus_and_minus_1e308_summarises_exactly(service: MetricsService) -> None:
    service.create_custom_metric("swing", "gauge")
    service.record_metric("swing", 1e308)
    service.record_metric("swing", -1e308)
    summary = service.get_metric_summary("swing")
    assert summary is not None
    assert (summary["mean"], summary["stddev"], summary["min"], summary["max"]) == (0.0, 1e308, -1e308, 1e308)
    card = service.card("swing")
    assert card is not None and card["average"] == 0.0 and card["value"] == -1e308


async def test_running_totals_refuse_to_overflow(service: MetricsService) -> None:
    for kind in ("counter", "rate", "histogram", "timer"):
        name = f"total_{kind}"
        service.create_custom_metric(name, kind)
        assert service.record_metric(name, BIGGEST)
        assert not service.record_metric(name, BIGGEST), f"a {kind}'s total would be inf"
        assert service.record_metric(name, 1.0)  # still recording: only the value that overflows is refused
    assert service.metrics["total_counter"].get_latest_value() == BIGGEST
    service.create_custom_metric("level", "gauge")
    service.record_metric("level", BIGGEST)
    gauge = service.metrics["level"]
    with pytest.raises(ValueError, match="range"):
        gauge.inc(BIGGEST)  # type: ignore[attr-defined]
    assert gauge.get_latest_value() == BIGGEST


async def test_one_metric_that_cannot_be_summarised_leaves_the_others(service: MetricsService,
                                                                      monkeypatch: pytest.MonkeyPatch,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    broken = service.metrics["resources_distributed_total"]
    points = Counter.points

    def fail(metric: Metric, since: float = -math.inf) -> tuple[list[float], list[float]]:
        if metric is broken:
            raise RuntimeError("corrupt ring")
        return points(metric, since)

    monkeypatch.setattr(Counter, "points", fail)
    with caplog.at_level(logging.WARNING):
        dashboard = await service.get_dashboard_metrics()
    cards = {card["name"]: card for card in dashboard["key_metrics"]}
    assert len(cards) == 7
    assert cards["resources_distributed_total"]["value"] is None
    assert cards["resources_distributed_total"]["trend"]["direction"] == "stable"
    assert cards["mesh_nodes_active"]["trend"]["points"] >= 0
    admin = await service.get_admin_metrics()
    assert sum(len(group) for group in admin["categories"].values()) == len(service.metrics)
    assert "resources_distributed_total" in caplog.text


class Delivery:
    """Fails the dashboard push; records the others."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def deliver(self, channel: str, message_type: str, data: dict[str, Any]) -> None:
        if channel == "dashboard":
            raise RuntimeError("dashboard channel is broken")
        self.sent.append(message_type)


async def test_a_failing_push_part_does_not_stop_the_other(service: MetricsService,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    delivery = Delivery()
    services = SimpleNamespace(metrics=service, delivery=delivery, leadership=SimpleNamespace(leader=True))
    with caplog.at_level(logging.WARNING):
        await push(services)  # type: ignore[arg-type]
    assert delivery.sent == ["admin_metrics"]
    assert "metrics_update" in caplog.text
