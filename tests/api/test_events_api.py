"""Publishing through REST, searching history, health, and history surviving a restart."""

from pathlib import Path

import httpx
from nicegui.testing.user_simulation import user_simulation

from tests.app_fixtures import ADMIN, ADMIN_PASSWORD, bearer, token_for

MAIN = Path(__file__).parents[2] / "main.py"
PUBLISH = "/api/v1/realtime/events/publish"
HISTORY = "/api/v1/realtime/events/history"


async def test_publish_returns_the_event_and_history_finds_it(client: httpx.AsyncClient,
                                                              system_headers: dict[str, str],
                                                              admin_headers: dict[str, str]) -> None:
    response = await client.post(PUBLISH, headers=system_headers, json={
        "event_type": "resource.distributed", "data": {"human_id": "alice", "amount": 800}, "source": "ledger"})
    assert response.status_code == 201
    event = response.json()
    assert event["type"] == "resource.distributed" and event["data"]["amount"] == 800
    assert event["source"] == "ledger" and event["user_id"] == "ingest"
    assert event["timestamp"].endswith("+00:00")

    found = (await client.get(HISTORY, headers=admin_headers, params={"event_type": "resource.distributed"})).json()
    assert found["total_count"] == 1
    assert found["events"][0]["id"] == event["id"]


async def test_history_filters(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    for n in range(5):
        await client.post(PUBLISH, headers=admin_headers, json={
            "event_type": "truth.message.sent", "data": {"message": f"truth number {n}"}, "source": f"s{n % 2}"})
    truth = {"event_type": "truth.message.sent"}  # other features publish events of their own in reaction
    first = (await client.get(HISTORY, headers=admin_headers, params={**truth, "limit": 2})).json()
    assert [e["data"]["message"] for e in first["events"]] == ["truth number 4", "truth number 3"]
    assert first["total_count"] == 5
    page2 = (await client.get(HISTORY, headers=admin_headers, params={**truth, "limit": 2, "offset": 2})).json()
    assert [e["data"]["message"] for e in page2["events"]] == ["truth number 2", "truth number 1"]
    by_source = (await client.get(HISTORY, headers=admin_headers, params={**truth, "source": "s1"})).json()
    assert by_source["total_count"] == 2
    by_text = (await client.get(HISTORY, headers=admin_headers, params={**truth, "q": "NUMBER 3"})).json()
    assert [e["data"]["message"] for e in by_text["events"]] == ["truth number 3"]
    cid = first["events"][0]["correlation_id"]
    by_correlation = (await client.get(HISTORY, headers=admin_headers, params={"correlation_id": cid})).json()
    assert first["events"][0]["id"] in {e["id"] for e in by_correlation["events"]}
    assert {e["correlation_id"] for e in by_correlation["events"]} == {cid}
    assert not any(e["data"].get("message") == "truth number 3" for e in by_correlation["events"])
    future = (await client.get(HISTORY, headers=admin_headers, params={"since": "2999-01-01T00:00:00Z"})).json()
    assert future["total_count"] == 0
    bad = await client.get(HISTORY, headers=admin_headers, params={"limit": 0})
    assert bad.status_code == 422
    # An offset no database integer holds is refused, not a 500 (found by fuzzing the OpenAPI schema).
    huge = await client.get(HISTORY, headers=admin_headers, params={"offset": 56157717095036011675648})
    assert huge.status_code == 422 and huge.json()["detail"][0]["loc"] == ["query", "offset"]
    last_page = await client.get(HISTORY, headers=admin_headers, params={"offset": 1_000_000_000})
    assert last_page.status_code == 200 and last_page.json()["events"] == []


async def test_invalid_events_are_refused_with_a_message(client: httpx.AsyncClient,
                                                         admin_headers: dict[str, str]) -> None:
    missing = await client.post(PUBLISH, headers=admin_headers,
                                json={"event_type": "resource.distributed", "data": {"amount": 5}})
    assert missing.status_code == 422 and "human_id" in missing.json()["detail"]
    negative = await client.post(PUBLISH, headers=admin_headers, json={
        "event_type": "resource.distributed", "data": {"human_id": "a", "amount": -1}})
    assert negative.status_code == 422 and "amount" in negative.json()["detail"]
    bad_type = await client.post(PUBLISH, headers=admin_headers, json={"event_type": "Not A Type!", "data": {}})
    assert bad_type.status_code == 422
    not_json = await client.post(PUBLISH, headers=admin_headers, content=b"{nope")
    assert not_json.status_code == 422
    assert (await client.get(HISTORY, headers=admin_headers)).json()["total_count"] == 0


async def test_health_reports_each_part(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["status"] == "ok" and body["database"]["backend"] == "sqlite"
    assert body["broker"]["backend"] == "memory" and body["broker"]["status"] == "ok"
    assert body["leadership"] == {"status": "ok", "role": "leader", "backend": "memory"}
    assert {j["id"] for j in body["scheduler"]["jobs"]} >= {"prune_events"}


async def test_history_survives_a_restart() -> None:
    async with user_simulation(main_file=MAIN) as first:
        headers = bearer(await token_for(first.http_client, ADMIN, ADMIN_PASSWORD))
        published = await first.http_client.post(PUBLISH, headers=headers, json={
            "event_type": "human.registered", "data": {"human_id": "carol"}})
        assert published.status_code == 201
    async with user_simulation(main_file=MAIN) as second:
        headers = bearer(await token_for(second.http_client, ADMIN, ADMIN_PASSWORD))
        history = (await second.http_client.get(HISTORY, headers=headers,
                                                params={"event_type": "human.registered"})).json()
        assert [e["id"] for e in history["events"]] == [published.json()["id"]]


async def test_validation_errors_do_not_echo_non_json_input(client: httpx.AsyncClient,
                                                            admin_headers: dict[str, str]) -> None:
    response = await client.post(PUBLISH, headers={**admin_headers, "Content-Type": "application/json"},
                                 content=b'{"event_type": 1e999, "data": {}}')
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail[0]["loc"] == ["body", "event_type"] and "input" not in detail[0]
