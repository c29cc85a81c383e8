"""/admin Metrics tab: the explorer follows recorded values, custom metrics, alert rules that fire, and cleanup."""

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from nicegui.testing import User
from nicegui.testing.user_interaction import UserInteraction

from app.db import create_db_engine
from services.metrics import MetricStore
from services.metrics.types import MinutePoint
from tests.app_fixtures import log_in, open_admin_tab

METRICS = "/api/v1/metrics"


@pytest.fixture(autouse=True)
def fast_push(monkeypatch: pytest.MonkeyPatch) -> None:
    """Push and evaluate alert rules every 0.2 s instead of every 5 s (set before `user` starts the app)."""
    monkeypatch.setenv("METRICS_PUSH_INTERVAL", "0.2")


async def open_metrics_tab(user: User) -> None:
    await log_in(user)
    await open_admin_tab(user, "metrics", "explorer-summary")


def choose(user: User, marker: str, label: str) -> None:
    """Open the select marked `marker` and click its option `label`, as a person would."""
    found = user.find(marker=marker)
    found.click()
    UserInteraction(user, found.elements, label).click()


def element(user: User, marker: str) -> Any:
    return next(iter(user.find(marker=marker).elements))


async def shown(user: User, marker: str, accept: Callable[[str], bool], attempts: int = 100) -> str:
    """The text of the element marked `marker`, once `accept` likes it (within about 5 seconds)."""
    text = ""
    for _ in range(attempts):
        elements = user.find(marker=marker).elements
        text = str(getattr(next(iter(elements)), "text", "")) if elements else ""
        if accept(text):
            return text
        await asyncio.sleep(0.05)
    raise AssertionError(f"{marker} shows {text!r}")


async def queue_rules(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    rules = (await client.get(f"{METRICS}/alert-rules", headers=headers)).json()["rules"]
    return [r for r in rules if r["metric_name"] == "queue_depth"]


async def create_queue_metric(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await client.post(METRICS, headers=headers, json={
        "name": "queue_depth", "metric_type": "gauge", "category": "performance", "unit": "jobs",
        "description": "Jobs waiting"})
    assert response.status_code == 201, response.text


async def record(client: httpx.AsyncClient, headers: dict[str, str], name: str, value: float) -> None:
    response = await client.post(f"{METRICS}/{name}/record", headers=headers, json={"value": value})
    assert response.status_code == 200, response.text


async def test_explorer_shows_a_metrics_summary_and_follows_new_values(user: User, client: httpx.AsyncClient,
                                                                      admin_headers: dict[str, str]) -> None:
    await create_queue_metric(client, admin_headers)
    for value in (10, 20, 30):
        await record(client, admin_headers, "queue_depth", value)
    await open_metrics_tab(user)
    choose(user, "explorer-metric", "queue_depth · performance")
    await user.should_see("gauge · performance · unit jobs · Jobs waiting")
    expected = {"count": "3", "min": "10 jobs", "max": "30 jobs", "mean": "20 jobs", "p50": "20 jobs",
                "latest": "30 jobs"}
    for key, text in expected.items():
        await shown(user, f"summary-{key}", lambda t, want=text: t == want)
    assert (await shown(user, "summary-p95", lambda t: t != "—")) == "29 jobs"
    assert (await shown(user, "summary-trend", lambda t: t.startswith("▲"))).endswith("%")
    assert "trend-up" in element(user, "summary-trend").classes
    await same_series_as_rest(user, client, admin_headers, window=3600, step=60)
    assert element(user, "explorer-chart").options["yAxis"]["name"] == "jobs"

    element(user, "explorer-window").set_value("15 min")  # 15-second buckets from the raw points
    await shown(user, "summary-count", lambda t: t == "3")
    await same_series_as_rest(user, client, admin_headers, window=900, step=15)

    await record(client, admin_headers, "queue_depth", 60)  # the next push brings it in, no reload
    await shown(user, "summary-count", lambda t: t == "4")
    await shown(user, "summary-latest", lambda t: t == "60 jobs")
    await shown(user, "summary-max", lambda t: t == "60 jobs")
    await same_series_as_rest(user, client, admin_headers, window=900, step=15)  # merged live = loaded fresh


async def same_series_as_rest(user: User, client: httpx.AsyncClient, headers: dict[str, str], *, window: int,
                              step: int) -> None:
    """The chart comes to hold what the history route answers for the same window and step (within ~5 s)."""
    chart, expected = [], []
    for _ in range(100):
        history = await client.get(f"{METRICS}/queue_depth/history", headers=headers,
                                   params={"window": window, "step": step})
        expected = [[p["timestamp"], p["value"]] for p in history.json()["points"]]
        chart = element(user, "explorer-chart").options["series"][0]["data"]
        if expected and chart == expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"chart {chart} != history {expected}")

async def test_custom_metric_form_explains_errors_and_lists_the_new_metric(user: User, client: httpx.AsyncClient,
                                                                          admin_headers: dict[str, str]) -> None:
    await open_metrics_tab(user)
    user.find(marker="metric-name").type("9lives")
    user.find(marker="metric-create").click()
    await user.should_see("Use letters, digits and underscores, not a digit first")
    assert "error" in element(user, "metric-name").props

    user.find(marker="metric-name").clear().type("housing_units_built")
    choose(user, "metric-type", "counter")
    choose(user, "metric-category", "resource")
    user.find(marker="metric-unit").type("count")
    user.find(marker="metric-description").type("Homes finished")
    user.find(marker="metric-create").click()
    await user.should_see("created housing_units_built")
    assert "error" not in element(user, "metric-name").props
    stored = (await client.get(f"{METRICS}/housing_units_built", headers=admin_headers)).json()
    assert (stored["type"], stored["category"], stored["unit"]) == ("counter", "resource", "count")
    picker = element(user, "explorer-metric")
    assert picker.value == "housing_units_built"  # listed and shown at once
    await user.should_see("counter · resource · unit count · Homes finished")
    assert "housing_units_built" in element(user, "rule-metric").options

    user.find(marker="metric-name").type("housing_units_built")
    user.find(marker="metric-create").click()
    await user.should_see("There is already a metric named housing_units_built.")
    assert "There is already" in element(user, "metric-name").props["error-message"]


async def test_alert_rule_is_created_fires_live_and_is_deleted(user: User, client: httpx.AsyncClient,
                                                               admin_headers: dict[str, str]) -> None:
    await create_queue_metric(client, admin_headers)
    await open_metrics_tab(user)
    choose(user, "rule-metric", "queue_depth")
    user.find(marker="rule-create").click()
    await user.should_see("Enter the value that sets the alert off.")
    assert "error" in element(user, "rule-threshold").props

    user.find(marker="rule-threshold").type("100")
    user.find(marker="rule-for").clear().type("0")
    choose(user, "rule-severity", "critical")
    user.find(marker="rule-create").click()
    await user.should_see("Rule added: queue_depth > 100 (critical)")
    rules = (await client.get(f"{METRICS}/alert-rules", headers=admin_headers)).json()["rules"]
    rule = next(r for r in rules if r["metric_name"] == "queue_depth")
    await user.should_see(marker=f"rule-{rule['id']}")
    assert (rule["threshold"], rule["condition"], rule["severity"]) == (100.0, ">", "critical")
    await shown(user, f"rule-state-{rule['id']}", lambda t: t == "ok")

    await record(client, admin_headers, "queue_depth", 150)
    firing = await shown(user, f"rule-state-{rule['id']}", lambda t: t.startswith("firing since"))
    assert firing.endswith("UTC (value 150)")
    await shown(user, "rule-summary", lambda t: "1 firing" in t and "system critical" in t)

    user.find(marker=f"rule-delete-{rule['id']}").click()
    await user.should_see(marker="rule-confirm")
    await user.should_see("It is firing now: deleting it announces it as resolved.")
    user.find(marker="rule-confirm-ok").click()
    await user.should_see("Rule deleted")
    await user.should_not_see(marker=f"rule-{rule['id']}")
    remaining = (await client.get(f"{METRICS}/alert-rules", headers=admin_headers)).json()["rules"]
    assert rule["id"] not in {r["id"] for r in remaining}


async def test_cleanup_reports_how_many_points_it_removed(user: User, app_env: Path) -> None:
    old = datetime.now(UTC) - timedelta(days=40)
    engine = create_db_engine(f"sqlite:///{app_env / 'liberation.db'}")
    try:
        await open_metrics_tab(user)  # the app has migrated the database by now
        MetricStore(engine).insert_points([
            MinutePoint("system_cpu_usage", (old + timedelta(minutes=k)).timestamp(), 1, 5.0, 5.0, 5.0, 5.0, 5.0)
            for k in range(3)])
    finally:
        engine.dispose()
    user.find(marker="metrics-prune").click()
    await user.should_see("removed 3 stored points older than 30 days")
    user.find(marker="metrics-prune").click()
    await user.should_see("removed 0 stored points older than 30 days")


async def test_a_negative_for_is_marked_in_plain_words_and_nothing_is_created(
        user: User, client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    await create_queue_metric(client, admin_headers)
    await open_metrics_tab(user)
    choose(user, "rule-metric", "queue_depth")
    user.find(marker="rule-threshold").type("100")
    user.find(marker="rule-for").clear().type("-5")
    user.find(marker="rule-create").click()
    await user.should_see("Can't be negative: 0 fires at once.")
    assert element(user, "rule-for").props["error"] is True
    assert element(user, "rule-for").value == -5  # not silently snapped to 0
    assert "error" not in element(user, "rule-threshold").props
    assert not [m for m in user.notify.messages if "negative" in str(m)]  # once, beside the field
    assert not await queue_rules(client, admin_headers)

    user.find(marker="rule-for").clear().type("0")
    user.find(marker="rule-for").trigger("keydown.enter")  # Enter in a number field adds the rule
    await user.should_see("Rule added: queue_depth > 100 (warning)")
    assert "error" not in element(user, "rule-for").props


async def test_deleting_a_firing_rule_shows_its_toast(user: User, client: httpx.AsyncClient,
                                                      admin_headers: dict[str, str]) -> None:
    """The confirmation dialog outlives the row it was opened from, which the push redraws while it is open."""
    await create_queue_metric(client, admin_headers)
    created = await client.post(f"{METRICS}/alert-rules", headers=admin_headers,
                                json={"metric_name": "queue_depth", "threshold": 10, "severity": "critical"})
    assert created.status_code == 201, created.text
    rule_id = created.json()["id"]
    await record(client, admin_headers, "queue_depth", 50)
    await open_metrics_tab(user)
    await shown(user, f"rule-state-{rule_id}", lambda t: t.startswith("firing since"))
    user.find(marker=f"rule-delete-{rule_id}").click()
    await user.should_see(marker="rule-confirm")
    await asyncio.sleep(0.5)  # a few pushes redraw the rule states while the dialog is open
    user.find(marker="rule-confirm-ok").click()
    await user.should_see("Rule deleted")
    await user.should_not_see(marker=f"rule-{rule_id}")
    await user.should_not_see(marker="rule-confirm")
    assert not await queue_rules(client, admin_headers)


async def test_a_custom_metric_error_shows_once_beside_its_field(user: User) -> None:
    await open_metrics_tab(user)
    name = element(user, "metric-name")
    assert name.props.get("stack-label") is True  # the label sits above the example, not on it
    assert element(user, "metric-unit").props.get("stack-label") is True
    user.find(marker="metric-name").type("9lives")
    user.find(marker="metric-create").click()
    await user.should_see("Use letters, digits and underscores, not a digit first")
    assert name.props["error"] is True
    assert element(user, "metric-result").text == ""  # not on the result line
    assert not [m for m in user.notify.messages if "letters" in str(m)]  # and not in a toast


def test_alert_severities_have_the_inbox_colours() -> None:
    from components.metrics.alert_rules import SEVERITY_COLORS
    from theme.tokens import LEVEL_COLORS

    assert {s: LEVEL_COLORS[s] for s in ("info", "warning", "error", "critical")} == SEVERITY_COLORS
    assert SEVERITY_COLORS["critical"] == LEVEL_COLORS["emergency"]
