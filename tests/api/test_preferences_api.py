"""Preferences over REST: each caller's own, every field checked, and what they change for a live client."""

from __future__ import annotations

import httpx

from tests.app_fixtures import create_account

PREFS = "/api/v1/notifications/preferences"


async def test_a_person_reads_and_replaces_their_own_preferences(
        client: httpx.AsyncClient, admin_headers: dict[str, str], user_headers: dict[str, str]) -> None:
    default = (await client.get(PREFS, headers=user_headers)).json()
    assert default["min_priority"] == 1 and default["quiet_hours"] is None
    assert all(default["types"].values()) and len(default["types"]) == 10

    body = {"types": {"truth_update": False}, "min_priority": 3,
            "quiet_hours": {"start": "22:00", "end": "07:00", "timezone": "Europe/Berlin"}}
    saved = await client.put(PREFS, headers=user_headers, json=body)
    assert saved.status_code == 200, saved.text
    again = (await client.get(PREFS, headers=user_headers)).json()
    assert again["types"]["truth_update"] is False and again["types"]["info"] is True
    assert again["quiet_hours"] == body["quiet_hours"] and again["min_priority"] == 3
    bob = await create_account(client, admin_headers, "bob")
    assert (await client.get(PREFS, headers=bob)).json()["min_priority"] == 1, "one person's, not everyone's"


async def test_below_the_minimum_stays_in_the_inbox_without_counting_on_the_bell(
        client: httpx.AsyncClient, admin_headers: dict[str, str], user_headers: dict[str, str]) -> None:
    assert (await client.put(PREFS, headers=user_headers, json={"min_priority": 3})).status_code == 200
    for priority in (1, 4):
        sent = await client.post("/api/v1/notifications/send", headers=admin_headers, json={
            "user_id": "alice", "notification_type": "info", "priority": priority})
        assert sent.status_code == 201
    inbox = (await client.get("/api/v1/notifications", headers=user_headers)).json()
    assert (inbox["total_count"], inbox["unread_count"]) == (2, 1)


async def test_bad_preferences_answer_422_naming_the_field(client: httpx.AsyncClient,
                                                           user_headers: dict[str, str]) -> None:
    for body, words in (
        ({"types": {"gossip": False}}, "types.gossip: unknown type"),
        ({"min_priority": 9}, "min_priority: must be an integer from 1"),
        ({"quiet_hours": {"start": "25:00", "end": "07:00"}}, "quiet_hours.start: must be a time of day"),
        ({"quiet_hours": {"start": "22:00", "end": "07:00", "timezone": "Nowhere/Land"}},
         "quiet_hours.timezone: unknown time zone"),
        ({"quiet_hours": {"start": "22:00", "end": "22:00"}}, "quiet_hours.end: must differ"),
    ):
        answer = await client.put(PREFS, headers=user_headers, json=body)
        assert answer.status_code == 422, body
        assert words in answer.text, answer.text
    unknown = await client.put(PREFS, headers=user_headers, json={"colour": "red"})
    assert unknown.status_code == 422
    assert (await client.get(PREFS, headers=user_headers)).json()["min_priority"] == 1, "nothing was stored"


async def test_digest_windows_are_stored_per_type_and_a_bad_one_answers_422(
        client: httpx.AsyncClient, admin_headers: dict[str, str], user_headers: dict[str, str]) -> None:
    assert (await client.get(PREFS, headers=user_headers)).json()["digest_seconds"] == {}
    saved = await client.put(PREFS, headers=user_headers,
                             json={"digest_seconds": {"resource_distribution": 900, "info": None}})
    assert saved.status_code == 200, saved.text
    assert (await client.get(PREFS, headers=user_headers)).json()["digest_seconds"] == {"resource_distribution": 900}
    for bad, words in (({"info": 30}, "digest_seconds.info: must be null (off) or whole seconds from 60 to 86400"),
                       ({"info": 86_401}, "from 60 to 86400"),
                       ({"system_alert": 600}, "system alerts are never collected"),
                       ({"gossip": 600}, "digest_seconds.gossip: unknown type")):
        answer = await client.put(PREFS, headers=user_headers, json={"digest_seconds": bad})
        assert answer.status_code == 422, bad
        assert words in answer.text, answer.text

    for digest in (True, False):  # an admin's send is held for the digest unless it says digest: false
        sent = await client.post("/api/v1/notifications/send", headers=admin_headers, json={
            "user_id": "alice", "notification_type": "resource_distribution", "data": {"amount": 800},
            "title": f"digest {digest}", "digest": digest})
        assert sent.status_code == 201, sent.text
    inbox = (await client.get("/api/v1/notifications", headers=user_headers)).json()
    held = next(n for n in inbox["notifications"] if n["title"] == "digest True")
    read = await client.post(f"/api/v1/notifications/{held['id']}/read", headers=user_headers)
    assert read.status_code == 200
    titles = [n["title"] for n in (await client.get("/api/v1/notifications", headers=user_headers)).json()[
        "notifications"]]
    assert titles == ["💰 1 resource distribution, $800.00 in total", "digest False"], "reading it collapsed it"


async def test_the_inbox_asks_for_its_digests_whole(
        client: httpx.AsyncClient, admin_headers: dict[str, str], user_headers: dict[str, str]) -> None:
    window = {"digest_seconds": {"truth_update": 3600}}
    assert (await client.put(PREFS, headers=user_headers, json=window)).status_code == 200
    for text in ("first", "second"):
        sent = await client.post("/api/v1/notifications/send", headers=admin_headers, json={
            "user_id": "alice", "notification_type": "truth_update", "data": {"message": text}})
        assert sent.status_code == 201
    collapse = "/api/v1/notifications/digests/collapse"
    answer = (await client.post(collapse, headers=user_headers)).json()
    assert (answer["collapsed"], answer["unread_count"]) == (1, 1)
    [entry] = (await client.get("/api/v1/notifications", headers=user_headers)).json()["notifications"]
    assert entry["title"] == "🌐 2 truth updates"
    assert [item["data"]["message"] for item in entry["data"]["digest"]["items"]] == ["first", "second"]
    assert (await client.post(collapse, headers=user_headers)).json()["collapsed"] == 0
    assert (await client.post(collapse)).status_code == 401
