"""Alert silences over REST and in the Metrics tab: create with a reason, listed, ended now, bad input refused."""

from __future__ import annotations

import httpx
from nicegui.testing import User

from tests.app_fixtures import log_in, open_admin_tab

SILENCES = "/api/v1/metrics/silences"


async def test_an_admin_silences_a_rule_sees_it_listed_and_ends_it(client: httpx.AsyncClient,
                                                                   admin_headers: dict[str, str]) -> None:
    made = await client.post(SILENCES, headers=admin_headers, json={
        "rule_id": "default-cpu-high", "duration_seconds": 3600, "reason": "ledger maintenance"})
    assert made.status_code == 201, made.text
    silence = made.json()
    assert silence["active"] is True and silence["created_by"] == "admin"
    [listed] = (await client.get(SILENCES, headers=admin_headers)).json()["silences"]
    assert listed["id"] == silence["id"] and listed["reason"] == "ledger maintenance"

    ended = await client.delete(f"{SILENCES}/{silence['id']}", headers=admin_headers)
    assert ended.status_code == 200 and ended.json()["ended_by"] == "admin"
    assert (await client.get(SILENCES, headers=admin_headers)).json()["silences"] == []
    assert (await client.delete(f"{SILENCES}/{silence['id']}", headers=admin_headers)).status_code == 404
    assert (await client.get(SILENCES, headers=admin_headers, params={"include_ended": True})).json()["count"] == 1

    for body, words in (({"rule_id": "no-such-rule", "duration_seconds": 600, "reason": "x"}, "no alert rule"),
                        ({"metric_name": "nope", "duration_seconds": 600, "reason": "x"}, "no metric"),
                        ({"metric_name": "system_cpu_usage", "duration_seconds": 5, "reason": "x"},
                         "duration_seconds"),
                        ({"duration_seconds": 600, "reason": "x"}, "exactly one")):
        refused = await client.post(SILENCES, headers=admin_headers, json=body)
        assert refused.status_code == 422 and words in refused.text, refused.text


async def test_the_metrics_tab_lists_silences_with_end_now(user: User, client: httpx.AsyncClient,
                                                           admin_headers: dict[str, str]) -> None:
    made = await client.post(SILENCES, headers=admin_headers, json={
        "metric_name": "system_memory_usage", "duration_seconds": 900, "reason": "swap test"})
    assert made.status_code == 201
    await log_in(user)
    await open_admin_tab(user, "metrics", "silence-list")
    await user.should_see("swap test — admin")
    user.find(marker=f"silence-end-{made.json()['id']}").click()
    await user.should_see("Silence ended")
    await user.should_see("No silences in force.")
